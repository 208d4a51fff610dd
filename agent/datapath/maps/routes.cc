#include "agent/datapath/maps/routes.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/base/status.h"

namespace weft {
namespace {

// The address of a route key, comparable in network order.
uint32_t Address(const weft_route_key& k) { return ntohl(k.addr_be); }
std::array<uint8_t, 16> Address(const weft_route6_key& k) { return std::to_array(k.addr); }

// Every entry of `map`, sorted by tenant, address, prefix length.
template <typename Key>
absl::StatusOr<std::vector<Entry<Key, weft_route>>> ReadSorted(const Datapath& dp, Map map) {
  ASSIGN_OR_RETURN(auto routes, (ReadEntries<Key, weft_route>(dp, map)));
  auto order = [](const Key& k) {
    return std::tuple(ntohl(k.tenant_id_be), Address(k), k.prefixlen);
  };
  std::sort(routes.begin(), routes.end(),
            [&](const auto& a, const auto& b) { return order(a.key) < order(b.key); });
  return routes;
}

}  // namespace

absl::StatusOr<std::vector<RouteEntry>> ReadRoutes(const Datapath& dp) {
  return ReadSorted<weft_route_key>(dp, Map::kRoutes);
}

absl::StatusOr<std::vector<Route6Entry>> ReadRoutes6(const Datapath& dp) {
  return ReadSorted<weft_route6_key>(dp, Map::kRoutes6);
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
