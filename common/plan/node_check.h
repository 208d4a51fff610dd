// The checks an agent makes on a state before it touches a map: the state is
// valid as a whole, no endpoint takes an interface the agent relies on, and
// this node's datapath tables and firewall tables can be built from it and
// fit the maps.
#ifndef WEFT_COMMON_PLAN_NODE_CHECK_H_
#define WEFT_COMMON_PLAN_NODE_CHECK_H_

#include <map>
#include <string>

#include "absl/status/status.h"
#include "common/model/state.h"

namespace weft {

// The interfaces an agent relies on itself (its underlay, loopback), by
// name, each with what it is to the agent, for messages: {"eth0", "the
// agent's underlay"}. The VM program on one of them would replace the
// agent's own program or cut its connection to the controller. An edge's
// uplinks are reserved too, from the state: no endpoint of the edge may take
// an uplink's link (ValidateState) or the VLAN subinterface the agent makes
// for it (CheckForNode).
using ReservedInterfaces = std::map<std::string, std::string>;

// The checks that depend on the node that applies the state: no endpoint of
// `node` is bound to one of `reserved` or to an uplink's VLAN subinterface,
// nor an untagged uplink of `node` (docs/NORTH_SOUTH.md); the VLAN
// subinterfaces' names fit the kernel's 15 characters; the node exists and is not foreign;
// its tables and firewall tables fit the maps. Assumes ValidateState passed.
absl::Status CheckForNode(const State& state, const std::string& node,
                          const ReservedInterfaces& reserved);

// ValidateState, then CheckForNode without reserved interfaces: for a caller
// that does not know them (the sync client); the agent checks its own when
// it applies the state.
absl::Status ValidateForNode(const State& state, const std::string& node);

}  // namespace weft

#endif  // WEFT_COMMON_PLAN_NODE_CHECK_H_
