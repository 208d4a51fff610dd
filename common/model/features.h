// Parts of the state that an agent realizes only when it says so: its Hello
// names them among its capabilities. So a controller reports what a node's
// agent does not realize (NodeRealization.unrealized), and an agent says it
// of itself (weftctl status), by the same names.
#ifndef WEFT_COMMON_MODEL_FEATURES_H_
#define WEFT_COMMON_MODEL_FEATURES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/model/state.h"

namespace weft {

// IPv6 in tenants' segments (docs/design/DUAL_STACK.md §6).
inline constexpr char kCapabilityIpv6Tenants[] = "ipv6-tenants";
// Segments bridged to a VLAN (docs/design/VLAN_BRIDGING.md).
inline constexpr char kCapabilityVlanBridging[] = "vlan-bridging";

// Features as bits, in the order above: sets of them combine with `|`.
using FeatureSet = uint32_t;

// The features `segments` use: kCapabilityIpv6Tenants when a segment has an
// IPv6 subnet (an endpoint's IPv6 address needs one), kCapabilityVlanBridging
// when one is bridged to a VLAN (every node of its tenant would send to the
// VLAN's hosts).
FeatureSet FeaturesUsed(const std::vector<const Segment*>& segments);

// The names of the features in `used` that `capabilities` do not name, in
// the order above.
std::vector<std::string> Unrealized(FeatureSet used, const std::vector<std::string>& capabilities);

}  // namespace weft

#endif  // WEFT_COMMON_MODEL_FEATURES_H_
