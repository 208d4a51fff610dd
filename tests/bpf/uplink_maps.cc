#include "tests/bpf/uplink_maps.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <iterator>

#include "tests/bpf/fixture.h"

namespace weft::testing {
namespace {

const FixtureUplink kUplinks[] = {
    {kUplinkBlue, kBlueTenant, kUp0Ip, kBluePeerIp, kUp0Mac},
    {kUplinkRed, kRedTenant, kUp1Ip, kRedPeerIp, kUp1Mac},
};

struct UplinkRoute {
  uint32_t tenant_id;
  const char* prefix;
  const char* uplink;
};
const UplinkRoute kRoutes[] = {
    {kBlueTenant, kUpstreamPrefix, kUplinkBlue},
    {kBlueTenant, kBlueViaRedUplinkPrefix, kUplinkRed},
    {kRedTenant, kUpstreamPrefix, kUplinkRed},
};

const FixtureUplink& Named(const char* ifname) {
  for (const FixtureUplink& u : kUplinks)
    if (std::strcmp(u.ifname, ifname) == 0) return u;
  return kUplinks[0];
}

weft_route_key RouteKey(const UplinkRoute& r) {
  weft_route_key key{};
  key.prefixlen = WEFT_ROUTE_KEY_PREFIXLEN(24);
  key.tenant_id_be = htonl(r.tenant_id);
  key.addr_be = htonl(Ip(r.prefix));
  return key;
}

}  // namespace

const FixtureUplink* FixtureUplinks(size_t* count) {
  *count = std::size(kUplinks);
  return kUplinks;
}

std::string BindUplinks(const Datapath& dp) {
  for (const FixtureUplink& u : kUplinks) {
    const uint32_t ifindex = if_nametoindex(u.ifname);
    if (ifindex == 0) return std::string("no interface ") + u.ifname;
    weft_uplink value{};
    value.tenant_id = u.tenant_id;
    value.address_be = htonl(u.address);
    value.peer_be = htonl(u.peer);
    std::memcpy(value.mac, u.mac.data(), sizeof value.mac);
    if (bpf_map_update_elem(dp.MapFd(Map::kUplinks), &ifindex, &value, BPF_ANY) != 0)
      return std::string("writing weft_uplinks: ") + std::strerror(errno);
  }
  for (const UplinkRoute& r : kRoutes) {
    const FixtureUplink& u = Named(r.uplink);
    const weft_route_key key = RouteKey(r);
    weft_route route{};
    route.kind = WEFT_ROUTE_UPLINK;
    route.ifindex = if_nametoindex(u.ifname);
    route.nhop_count = 1;
    route.nhops_be[0] = htonl(u.peer);
    if (bpf_map_update_elem(dp.MapFd(Map::kRoutes), &key, &route, BPF_ANY) != 0)
      return std::string("writing weft_routes: ") + std::strerror(errno);
  }
  return "";
}

void UnbindUplinks(const Datapath& dp) {
  for (const UplinkRoute& r : kRoutes) {
    const weft_route_key key = RouteKey(r);
    bpf_map_delete_elem(dp.MapFd(Map::kRoutes), &key);
  }
  for (const FixtureUplink& u : kUplinks) {
    const uint32_t ifindex = if_nametoindex(u.ifname);
    bpf_map_delete_elem(dp.MapFd(Map::kUplinks), &ifindex);
  }
}

}  // namespace weft::testing
