// weftctl's text for the answers of the controller's Admin API
// (proto/weft/v1/admin.proto); --json prints the answers themselves instead
// (format.h ToJson). No I/O.
#ifndef WEFT_CLI_ADMIN_FORMAT_H_
#define WEFT_CLI_ADMIN_FORMAT_H_

#include <string>
#include <vector>

#include "common/model/state.h"
#include "weft/v1/admin.pb.h"

namespace weft::cli {

// The version line, then one table per kind of object that has any, with
// the fields an operator looks for first (every field: --json).
std::string FormatState(const v1::GetStateResponse& r);
// The controller's version, who enforces the version asked about, and a
// table of the nodes (with replicas on etcd, CONNECTED names the replica
// holding each node's stream: "yes (r1)").
std::string FormatRealization(const v1::GetRealizationResponse& r);
std::string FormatApplied(const v1::ApplyStateResponse& r);
// The version line, a table of the uplinks (link, transit, BGP session,
// timers in force), one of what each tenant with an uplink announces
// upstream, and the routes `learned` upstream (GetStateResponse.learned_routes),
// with those that overlap a segment of their tenant flagged: allowed (the
// longest prefix wins) but usually a mistake (docs/NORTH_SOUTH.md).
std::string FormatUplinks(const State& state, const std::vector<Route>& learned);
// Every route the nodes are sent: the state's, then the learned ones with
// the uplinks that learn them.
std::string FormatRoutes(const State& state, const std::vector<Route>& learned);

}  // namespace weft::cli

#endif  // WEFT_CLI_ADMIN_FORMAT_H_
