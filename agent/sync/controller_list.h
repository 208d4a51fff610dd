// weft-agent's --controller: one controller's Sync address, or a list of
// them (replicas; docs/CONTROL_PLANE.md "Several controllers").
#ifndef WEFT_AGENT_SYNC_CONTROLLER_LIST_H_
#define WEFT_AGENT_SYNC_CONTROLLER_LIST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace weft {

// --controller's HOST:PORT list, comma-separated; InvalidArgument naming an
// entry that is empty or not HOST:PORT (port 1..65535; an IPv6 host in
// brackets).
absl::StatusOr<std::vector<std::string>> ParseControllerList(const std::string& flag);

}  // namespace weft

#endif  // WEFT_AGENT_SYNC_CONTROLLER_LIST_H_
