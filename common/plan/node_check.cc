#include "common/plan/node_check.h"

#include "common/base/status.h"
#include "common/model/validate.h"
#include "common/plan/policy_tables.h"
#include "common/plan/tables.h"

namespace weft {

absl::Status ValidateForNode(const State& state, const std::string& node) {
  RETURN_IF_ERROR(ValidateState(state));
  NodeSettings probe{.node = node};
  RETURN_IF_ERROR(BuildNodeTables(state, probe, [](const std::string&) { return 0u; }));
  // The firewall's tables for this node (the slot does not matter).
  return BuildPolicyTables(state, node, 0).status();
}

}  // namespace weft
