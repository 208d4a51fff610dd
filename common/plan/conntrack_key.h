// The conntrack key of a flow as the datapath builds it (bpf/lib/conntrack.h,
// ct_key_from_tuple): the tenant, then the lower (address, port) end first, so both
// directions of a flow find one entry. For reading weft_ct from userspace.
#ifndef WEFT_COMMON_PLAN_CONNTRACK_KEY_H_
#define WEFT_COMMON_PLAN_CONNTRACK_KEY_H_

#include <cstdint>

#include "weft/abi.h"

namespace weft {

// Addresses and ports in host order; either end may be given first.
weft_ct_key ConntrackKey(uint32_t tenant_id, uint8_t protocol, uint32_t addr_a, uint16_t port_a,
                         uint32_t addr_b, uint16_t port_b);

}  // namespace weft

#endif  // WEFT_COMMON_PLAN_CONNTRACK_KEY_H_
