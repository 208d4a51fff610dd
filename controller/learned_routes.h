// Routes learned upstream, as the controller hands them to the nodes
// (docs/NORTH_SOUTH.md#learned-routes): each edge's last report, per uplink,
// kept while the edge's stream lives, turned into each tenant's routes
// through its edges.
#ifndef WEFT_CONTROLLER_LEARNED_ROUTES_H_
#define WEFT_CONTROLLER_LEARNED_ROUTES_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/model/state.h"
#include "common/wire/learned_chunk.h"

namespace weft {

// Node -> its last complete report.
using LearnedReports = std::map<std::string, LearnedSnapshot>;

// OK when `node` may report `snapshot` under `state`: the node is an edge
// (or reports nothing), and every uplink it names that the state knows is
// one of its own. An uplink the state does not know is let through (and
// ignored by LearnedRoutes): the edge may not have applied a state that
// removed it yet.
absl::Status CheckLearnedReport(const State& state, const std::string& node,
                                const LearnedSnapshot& snapshot);

struct TenantLearnedRoutes {
  // By tenant name: Route{tenant, prefix, nodes = the edges learning it
  // (sorted), segment = the tenant's segment with the lowest VNI, learned_by
  // = their uplinks (sorted)}, by (address, length). A tenant without
  // segments has none; a prefix that the state already routes in the tenant
  // (a static route, or a segment's subnet) is the state's.
  std::map<std::string, std::vector<Route>> by_tenant;
  // Left out so that the views keep within the datapath's routes
  // (WEFT_MAX_ROUTES, with the state's routes and segments).
  size_t dropped = 0;
};

// The learned routes of `reports` under `state` (which passed ValidateState).
TenantLearnedRoutes LearnedRoutes(const State& state, const LearnedReports& reports);

}  // namespace weft

#endif  // WEFT_CONTROLLER_LEARNED_ROUTES_H_
