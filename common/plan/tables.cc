#include "common/plan/tables.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <type_traits>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "weft/abi.h"

namespace weft {
namespace {

// Builds the tables of one (valid) state for one node. Every key and value
// starts value-initialized (`{}`) so padding is zero and equal contents give
// equal bytes, which is what the diff against the live maps compares.
class TableBuilder {
 public:
  TableBuilder(const State& state, const NodeSettings& settings, const InterfaceResolver& resolve,
               const MacResolver& mac_of, const Node& self)
      : state_(state), settings_(settings), resolve_(resolve), mac_of_(mac_of), self_(self) {
    for (const Node& node : state.nodes) nodes_[node.name] = &node;
    for (const Tenant& tenant : state.tenants) tenants_[tenant.name] = &tenant;
    for (const Segment& seg : state.segments) segments_[seg.name] = &seg;
    // The node's tenants: those with an endpoint or an uplink here. Other
    // tenants' traffic never starts or ends on this node, so their tables
    // stay out.
    for (const Endpoint& ep : state.endpoints) {
      if (ep.node == self.name) {
        local_tenants_.insert(segments_.at(ep.segment)->tenant);
      }
    }
    for (const Uplink& uplink : state.uplinks) {
      if (uplink.node != self.name) continue;
      local_tenants_.insert(uplink.tenant);
      uplink_tenants_.insert(uplink.tenant);
    }
  }

  NodeTables Build() {
    NodeTables out;
    out.tables = {Config(), Vteps(), Vtep6(), Segments(), Segments6()};
    MapTable by_ip{WEFT_MAP_EP_BY_IP, {}};
    MapTable by_ip6{WEFT_MAP_EP_BY_IP6, {}};
    MapTable by_mac{WEFT_MAP_EP_BY_MAC, {}};
    MapTable by_if{WEFT_MAP_EP_BY_IF, {}};
    Endpoints(by_ip, by_ip6, by_mac, by_if, out.local_interfaces);
    out.tables.push_back(std::move(by_ip));
    out.tables.push_back(std::move(by_ip6));
    out.tables.push_back(std::move(by_mac));
    out.tables.push_back(std::move(by_if));
    // Before the routes that send traffic out of them.
    out.tables.push_back(Uplinks(out.uplink_interfaces));
    out.tables.push_back(Routes(WEFT_MAP_ROUTES, state_.routes));
    out.tables.push_back(Routes(WEFT_MAP_ROUTES6, state_.routes6));
    return out;
  }

 private:
  bool IsLocalTenant(const std::string& tenant) const { return local_tenants_.contains(tenant); }

  MapTable Config() const {
    MapTable table{WEFT_MAP_CONFIG, {}};
    weft_config config{};
    config.underlay_ifindex = settings_.underlay_ifindex;
    config.local_vtep_be = htonl(self_.vtep.Ref());
    config.flags = self_.vtep.is_v6() ? WEFT_CONFIG_F_UNDERLAY6 : 0;
    config.underlay_mtu = settings_.underlay_mtu;
    config.ct = settings_.ct_timeouts;
    config.state_version = state_.version;
    table.Put(__u32{0}, config);
    return table;
  }

  MapTable Vteps() const {
    MapTable table{WEFT_MAP_VTEPS, {}};
    for (const Node& node : state_.nodes) {
      if (node.name == self_.name || node.vtep.is_v6()) continue;
      weft_vtep vtep{};
      vtep.flags = node.foreign ? WEFT_VTEP_FOREIGN : 0;
      table.Put(__be32{htonl(node.vtep.v4)}, vtep);
    }
    return table;
  }

  // An IPv6 underlay's VTEPs by reference, this node's own among them (its
  // address is the outer source of what it sends).
  MapTable Vtep6() const {
    MapTable table{WEFT_MAP_VTEP6, {}};
    for (const Node& node : state_.nodes) {
      if (!node.vtep.is_v6()) continue;
      weft_vtep6 vtep{};
      std::copy(node.vtep.v6->begin(), node.vtep.v6->end(), vtep.addr);
      vtep.flags =
          (node.foreign ? WEFT_VTEP_FOREIGN : 0) | (node.name == self_.name ? WEFT_VTEP_LOCAL : 0);
      table.Put(__be32{htonl(node.vtep.Ref())}, vtep);
    }
    return table;
  }

  MapTable Segments() const {
    MapTable table{WEFT_MAP_SEGMENTS, {}};
    for (const Segment& seg : state_.segments) {
      if (!IsLocalTenant(seg.tenant)) continue;
      weft_segment value{};
      value.tenant_id = tenants_.at(seg.tenant)->id;
      value.gateway_ip_be = htonl(seg.gateway);
      std::copy(seg.gateway_mac.begin(), seg.gateway_mac.end(), value.gateway_mac);
      table.Put(__u32{seg.vni}, value);
    }
    return table;
  }

  // The IPv6 side of the segments that have one.
  MapTable Segments6() const {
    MapTable table{WEFT_MAP_SEGMENTS6, {}};
    for (const Segment& seg : state_.segments) {
      if (!IsLocalTenant(seg.tenant) || !seg.subnet6) continue;
      weft_segment6 value{};
      std::copy(seg.gateway6->begin(), seg.gateway6->end(), value.gateway);
      std::copy_n(seg.subnet6->addr.begin(), sizeof value.prefix, value.prefix);
      table.Put(__u32{seg.vni}, value);
    }
    return table;
  }

  void Endpoints(MapTable& by_ip, MapTable& by_ip6, MapTable& by_mac, MapTable& by_if,
                 std::map<std::string, uint32_t>& local_interfaces) const {
    for (const Endpoint& ep : state_.endpoints) {
      const Segment& seg = *segments_.at(ep.segment);
      if (!IsLocalTenant(seg.tenant)) continue;
      const bool local = ep.node == self_.name;
      weft_endpoint value{};
      value.tenant_id = tenants_.at(seg.tenant)->id;
      value.vni = seg.vni;
      value.ip_be = htonl(ep.ip);
      std::copy(ep.mac.begin(), ep.mac.end(), value.mac);
      if (local) {
        value.ifindex = resolve_(ep.interface);
        // Unresolved, it would read as remote (ifindex 0) with no VTEP:
        // better absent until its interface appears.
        if (value.ifindex == 0) continue;
        by_if.Put(__u32{value.ifindex}, value);
        local_interfaces[ep.interface] = value.ifindex;
      } else {
        value.vtep_be = htonl(nodes_.at(ep.node)->vtep.Ref());
      }
      weft_ip_key ip_key{};
      ip_key.tenant_id = value.tenant_id;
      ip_key.ip_be = value.ip_be;
      by_ip.Put(ip_key, value);
      if (ep.ip6) {
        weft_ip6_key ip6_key{};
        ip6_key.tenant_id = value.tenant_id;
        std::copy(ep.ip6->begin(), ep.ip6->end(), ip6_key.addr);
        by_ip6.Put(ip6_key, value);
      }
      weft_mac_key mac_key{};
      mac_key.vni = value.vni;
      std::copy(ep.mac.begin(), ep.mac.end(), mac_key.mac);
      by_mac.Put(mac_key, value);
    }
  }

  // Fills uplinks_ (tenant -> its uplink here, resolved) for Routes.
  MapTable Uplinks(std::map<std::string, uint32_t>& uplink_interfaces) {
    MapTable table{WEFT_MAP_UPLINKS, {}};
    for (const Uplink& uplink : state_.uplinks) {
      if (uplink.node != self_.name) continue;
      const std::string device = UplinkDevice(uplink);
      const uint32_t ifindex = resolve_(device);
      // Not there (yet): no traffic can arrive on it or leave through it.
      if (ifindex == 0) continue;
      weft_uplink value{};
      value.tenant_id = tenants_.at(uplink.tenant)->id;
      value.address_be = htonl(uplink.address);
      value.peer_be = htonl(uplink.peer);
      const MacAddress mac = mac_of_(ifindex);
      std::copy(mac.begin(), mac.end(), value.mac);
      table.Put(__u32{ifindex}, value);
      uplink_interfaces[device] = ifindex;
      uplinks_[uplink.tenant] = ResolvedUplink{.uplink = &uplink, .ifindex = ifindex};
    }
    return table;
  }

  // A route through other nodes (ECMP over their VTEPs), or out of this
  // edge's uplink when the route names this edge and the tenant has an
  // uplink here. False when it has nowhere to go. Uplinks carry IPv4 only:
  // an IPv6 route goes to the VTEPs of all its nodes, as an IPv4 route of a
  // tenant without an uplink here does.
  template <typename Prefix>
  bool NextHops(const BasicRoute<Prefix>& route, weft_route& value) const {
    const bool through_self =
        std::find(route.nodes.begin(), route.nodes.end(), self_.name) != route.nodes.end();
    const bool uplink_here =
        std::is_same_v<Prefix, Ipv4Prefix> && uplink_tenants_.contains(route.tenant);
    if (through_self && uplink_here) {
      if (auto it = uplinks_.find(route.tenant); it != uplinks_.end()) {
        value.kind = WEFT_ROUTE_UPLINK;
        value.ifindex = it->second.ifindex;
        value.nhop_count = 1;
        value.nhops_be[0] = htonl(it->second.uplink->peer);
        return true;
      }
    }
    const Segment& seg = *segments_.at(route.segment);
    value.kind = WEFT_ROUTE_REMOTE;
    value.vni = seg.vni;
    std::copy(seg.gateway_mac.begin(), seg.gateway_mac.end(), value.gateway_mac);
    for (const std::string& node : route.nodes) {
      // This edge's uplink for the tenant is not there (yet): the other
      // edges carry the route meanwhile.
      if (node == self_.name && uplink_here) continue;
      value.nhops_be[value.nhop_count++] = htonl(nodes_.at(node)->vtep.Ref());
    }
    return value.nhop_count > 0;
  }

  // weft_routes (IPv4) or weft_routes6: the connected subnets of the node's
  // tenants' segments (those of the family), and their static routes.
  template <typename Prefix>
  MapTable Routes(const char* map_name, const std::vector<BasicRoute<Prefix>>& routes) const {
    MapTable table{map_name, {}};
    for (const Segment& seg : state_.segments) {
      const std::optional<Prefix> subnet = Subnet<Prefix>(seg);
      if (!IsLocalTenant(seg.tenant) || !subnet) continue;
      weft_route value{};
      value.kind = WEFT_ROUTE_CONNECTED;
      value.vni = seg.vni;
      table.Put(RouteKey(seg.tenant, *subnet), value);
    }
    for (const BasicRoute<Prefix>& route : routes) {
      if (!IsLocalTenant(route.tenant)) continue;
      weft_route value{};
      if (route.blackhole) {
        value.kind = WEFT_ROUTE_BLACKHOLE;
      } else if (!NextHops(route, value)) {
        continue;
      }
      table.Put(RouteKey(route.tenant, route.prefix), value);
    }
    return table;
  }

  // The segment's subnet of the family of Prefix, if it has one.
  template <typename Prefix>
  static std::optional<Prefix> Subnet(const Segment& seg) {
    if constexpr (std::is_same_v<Prefix, Ipv4Prefix>) {
      return seg.subnet;
    } else {
      return seg.subnet6;
    }
  }

  weft_route_key RouteKey(const std::string& tenant, const Ipv4Prefix& prefix) const {
    weft_route_key key{};
    key.prefixlen = WEFT_ROUTE_KEY_PREFIXLEN(prefix.length);
    key.tenant_id_be = htonl(tenants_.at(tenant)->id);
    key.addr_be = htonl(prefix.addr);
    return key;
  }

  weft_route6_key RouteKey(const std::string& tenant, const Ipv6Prefix& prefix) const {
    weft_route6_key key{};
    key.prefixlen = WEFT_ROUTE_KEY_PREFIXLEN(prefix.length);
    key.tenant_id_be = htonl(tenants_.at(tenant)->id);
    std::copy(prefix.addr.begin(), prefix.addr.end(), key.addr);
    return key;
  }

  const State& state_;
  const NodeSettings& settings_;
  const InterfaceResolver& resolve_;
  const MacResolver& mac_of_;
  const Node& self_;
  struct ResolvedUplink {
    const Uplink* uplink;
    uint32_t ifindex;
  };
  absl::flat_hash_map<std::string_view, ResolvedUplink> uplinks_;  // by tenant, this node's
  absl::flat_hash_map<std::string_view, const Node*> nodes_;
  absl::flat_hash_map<std::string_view, const Tenant*> tenants_;
  absl::flat_hash_map<std::string_view, const Segment*> segments_;
  absl::flat_hash_set<std::string_view> local_tenants_;
  absl::flat_hash_set<std::string_view> uplink_tenants_;  // with an uplink here
};

}  // namespace

const MapTable* NodeTables::Find(std::string_view map_name) const {
  for (const MapTable& table : tables) {
    if (table.map_name == map_name) return &table;
  }
  return nullptr;
}

std::string UplinkDevice(const Uplink& uplink) {
  return uplink.vlan ? absl::StrCat(uplink.interface, ".", *uplink.vlan) : uplink.interface;
}

absl::StatusOr<NodeTables> BuildNodeTables(const State& state, const NodeSettings& settings,
                                           const InterfaceResolver& resolve,
                                           const MacResolver& mac_of) {
  auto self = std::find_if(state.nodes.begin(), state.nodes.end(),
                           [&](const Node& node) { return node.name == settings.node; });
  if (self == state.nodes.end()) {
    return absl::NotFoundError(absl::StrCat("node \"", settings.node, "\" is not in the state"));
  }
  if (self->foreign) {
    return absl::FailedPreconditionError(
        absl::StrCat("node \"", settings.node,
                     "\" is foreign (a plain vxlan host): it runs no Weft "
                     "datapath"));
  }
  return TableBuilder(state, settings, resolve, mac_of, *self).Build();
}

}  // namespace weft
