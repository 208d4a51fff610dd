// weftctl store seed|export: the desired state in etcd, read and written
// through EtcdStateStore directly, with no replica running (migration from
// a state file to the store and back; docs/CONTROL_PLANE.md "Replicas on
// etcd").
#ifndef WEFT_CLI_STORE_COMMAND_H_
#define WEFT_CLI_STORE_COMMAND_H_

#include <string>

#include "absl/status/statusor.h"
#include "cli/format.h"

namespace weft::cli {

// What to print. seed reads and validates -f FILE as the controller
// validates a state (a refusal names file, object and field, and nothing is
// written), then writes it in one guarded write (--if-version) and answers
// the store's new version. export writes the state as YAML (the state
// reader reads it back) to -o FILE, or returns it to print.
absl::StatusOr<std::string> RunStore(const Args& args);

}  // namespace weft::cli

#endif  // WEFT_CLI_STORE_COMMAND_H_
