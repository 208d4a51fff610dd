// The checks an agent makes on a state before it touches a map: the state is
// valid as a whole, and this node's datapath tables and firewall tables can
// be built from it and fit the maps.
#ifndef WEFT_COMMON_PLAN_NODE_CHECK_H_
#define WEFT_COMMON_PLAN_NODE_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "common/model/state.h"

namespace weft {

// ValidateState, then the checks that depend on the node that applies the
// state (the node exists and is not foreign; its tables and firewall tables
// fit the maps).
absl::Status ValidateForNode(const State& state, const std::string& node);

}  // namespace weft

#endif  // WEFT_COMMON_PLAN_NODE_CHECK_H_
