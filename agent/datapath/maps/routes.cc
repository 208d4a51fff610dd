#include "agent/datapath/maps/routes.h"

#include <arpa/inet.h>

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/base/status.h"

namespace weft {

absl::StatusOr<std::vector<RouteEntry>> ReadRoutes(const Datapath& dp) {
  ASSIGN_OR_RETURN(std::vector<RouteEntry> routes,
                   (ReadEntries<weft_route_key, weft_route>(dp, Map::kRoutes)));
  auto order = [](const weft_route_key& k) {
    return std::tuple(ntohl(k.tenant_id_be), ntohl(k.addr_be), k.prefixlen);
  };
  std::sort(routes.begin(), routes.end(),
            [&](const RouteEntry& a, const RouteEntry& b) { return order(a.key) < order(b.key); });
  return routes;
}

std::string RouteKindName(unsigned kind) {
  switch (kind) {
    case WEFT_ROUTE_CONNECTED:
      return "connected";
    case WEFT_ROUTE_REMOTE:
      return "remote";
    case WEFT_ROUTE_BLACKHOLE:
      return "blackhole";
  }
  return absl::StrCat(kind);
}

}  // namespace weft
