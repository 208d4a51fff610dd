#include "common/plan/node_check.h"

#include "common/model/validate.h"
#include "common/plan/policy_tables.h"
#include "common/plan/tables.h"

namespace weft {

absl::Status ValidateForNode(const State& state, const std::string& node) {
  if (absl::Status s = ValidateState(state); !s.ok()) return s;
  NodeSettings probe{.node = node};
  absl::StatusOr<NodeTables> tables =
      BuildNodeTables(state, probe, [](const std::string&) { return 0u; });
  if (!tables.ok()) return tables.status();
  // The firewall's tables for this node (the slot does not matter).
  return BuildPolicyTables(state, node, 0).status();
}

}  // namespace weft
