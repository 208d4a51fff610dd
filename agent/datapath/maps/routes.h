// weft_routes and weft_routes6: the LPM tries of (tenant, prefix) -> route,
// one per address family, with the same values.
#ifndef WEFT_AGENT_DATAPATH_MAPS_ROUTES_H_
#define WEFT_AGENT_DATAPATH_MAPS_ROUTES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps/entries.h"
#include "weft/abi.h"

namespace weft {

using RouteEntry = Entry<weft_route_key, weft_route>;
using Route6Entry = Entry<weft_route6_key, weft_route>;

// Sorted by tenant, address, prefix length.
absl::StatusOr<std::vector<RouteEntry>> ReadRoutes(const Datapath& dp);
absl::StatusOr<std::vector<Route6Entry>> ReadRoutes6(const Datapath& dp);

// "connected", "remote", "blackhole" (enum weft_route_kind); the number
// when unknown.
std::string RouteKindName(unsigned kind);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_MAPS_ROUTES_H_
