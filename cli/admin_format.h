// weftctl's text for the answers of the controller's Admin API
// (proto/weft/v1/admin.proto); --json prints the answers themselves instead
// (format.h ToJson). No I/O.
#ifndef WEFT_CLI_ADMIN_FORMAT_H_
#define WEFT_CLI_ADMIN_FORMAT_H_

#include <string>

#include "common/model/state.h"
#include "weft/v1/admin.pb.h"

namespace weft::cli {

// The version line, then one table per kind of object that has any, with
// the fields an operator looks for first (every field: --json).
std::string FormatState(const v1::GetStateResponse& r);
// The controller's version, who enforces the version asked about, and a
// table of the nodes.
std::string FormatRealization(const v1::GetRealizationResponse& r);
std::string FormatApplied(const v1::ApplyStateResponse& r);
// The version line, a table of the uplinks (link, transit, BGP session,
// timers in force) and one of what each tenant with an uplink announces
// upstream (docs/NORTH_SOUTH.md).
std::string FormatUplinks(const State& state);

}  // namespace weft::cli

#endif  // WEFT_CLI_ADMIN_FORMAT_H_
