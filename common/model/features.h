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

// What one object uses: kCapabilityIpv6Tenants for a segment with an IPv6
// subnet (an endpoint's IPv6 address needs one), an IPv6 route, or a policy
// with an IPv6 peer prefix; kCapabilityVlanBridging for a segment bridged to
// a VLAN (every node of its tenant would send to the VLAN's hosts).
FeatureSet FeaturesOf(const Segment& segment);
FeatureSet FeaturesOf(const Route6& route);
FeatureSet FeaturesOf(const Policy& policy);
// What all of `state`'s objects use.
FeatureSet FeaturesUsed(const State& state);

// The names of the features in `used` that `capabilities` do not name, in
// the order above.
std::vector<std::string> Unrealized(FeatureSet used, const std::vector<std::string>& capabilities);

}  // namespace weft

#endif  // WEFT_COMMON_MODEL_FEATURES_H_
