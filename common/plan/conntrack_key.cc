#include "common/plan/conntrack_key.h"

#include <arpa/inet.h>

namespace weft {

weft_ct_key ConntrackKey(uint32_t tenant_id, uint8_t protocol, uint32_t addr_a, uint16_t port_a,
                         uint32_t addr_b, uint16_t port_b) {
  const bool a_lo = addr_a < addr_b || (addr_a == addr_b && port_a <= port_b);
  weft_ct_key key{};
  key.tenant_id = tenant_id;
  key.protocol = protocol;
  key.addr_lo_be = htonl(a_lo ? addr_a : addr_b);
  key.port_lo_be = htons(a_lo ? port_a : port_b);
  key.addr_hi_be = htonl(a_lo ? addr_b : addr_a);
  key.port_hi_be = htons(a_lo ? port_b : port_a);
  return key;
}

}  // namespace weft
