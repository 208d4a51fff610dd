// weftctl's commands for the controller (apply, get): they ask its Admin API
// (proto/weft/v1/admin.proto) over mutual TLS, where the other commands ask
// the agent's socket.
#ifndef WEFT_CLI_ADMIN_H_
#define WEFT_CLI_ADMIN_H_

#include <string>

#include "absl/status/statusor.h"
#include "cli/format.h"

namespace weft::cli {

// What to print: text or, with --json, the answer as JSON. `args` is a
// parsed controller command (ForController). apply reads and validates the
// file first, as the controller reads its --state file, so a bad file is
// refused here, naming file, object and field, with nothing sent.
absl::StatusOr<std::string> RunAdmin(const Args& args);

}  // namespace weft::cli

#endif  // WEFT_CLI_ADMIN_H_
