#include "common/plan/tables.h"

#include <arpa/inet.h>

#include <algorithm>

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
               const Node& self)
      : state_(state), settings_(settings), resolve_(resolve), self_(self) {
    for (const Node& node : state.nodes) nodes_[node.name] = &node;
    for (const Tenant& tenant : state.tenants) tenants_[tenant.name] = &tenant;
    for (const Segment& seg : state.segments) segments_[seg.name] = &seg;
    // The node's tenants: those with an endpoint here. Other tenants'
    // traffic never starts or ends on this node, so their tables stay out.
    for (const Endpoint& ep : state.endpoints) {
      if (ep.node == self.name) {
        local_tenants_.insert(segments_.at(ep.segment)->tenant);
      }
    }
  }

  NodeTables Build() {
    NodeTables out;
    out.tables = {Config(), Vteps(), Segments()};
    MapTable by_ip{WEFT_MAP_EP_BY_IP, {}};
    MapTable by_mac{WEFT_MAP_EP_BY_MAC, {}};
    MapTable by_if{WEFT_MAP_EP_BY_IF, {}};
    Endpoints(by_ip, by_mac, by_if, out.local_interfaces);
    out.tables.push_back(std::move(by_ip));
    out.tables.push_back(std::move(by_mac));
    out.tables.push_back(std::move(by_if));
    out.tables.push_back(Routes());
    return out;
  }

 private:
  bool IsLocalTenant(const std::string& tenant) const { return local_tenants_.contains(tenant); }

  MapTable Config() const {
    MapTable table{WEFT_MAP_CONFIG, {}};
    weft_config config{};
    config.underlay_ifindex = settings_.underlay_ifindex;
    config.local_vtep_be = htonl(self_.vtep);
    config.underlay_mtu = settings_.underlay_mtu;
    config.ct = settings_.ct_timeouts;
    config.state_version = state_.version;
    table.Put(__u32{0}, config);
    return table;
  }

  MapTable Vteps() const {
    MapTable table{WEFT_MAP_VTEPS, {}};
    for (const Node& node : state_.nodes) {
      if (node.name == self_.name) continue;
      weft_vtep vtep{};
      vtep.flags = node.foreign ? WEFT_VTEP_FOREIGN : 0;
      table.Put(__be32{htonl(node.vtep)}, vtep);
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

  void Endpoints(MapTable& by_ip, MapTable& by_mac, MapTable& by_if,
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
        value.vtep_be = htonl(nodes_.at(ep.node)->vtep);
      }
      weft_ip_key ip_key{};
      ip_key.tenant_id = value.tenant_id;
      ip_key.ip_be = value.ip_be;
      by_ip.Put(ip_key, value);
      weft_mac_key mac_key{};
      mac_key.vni = value.vni;
      std::copy(ep.mac.begin(), ep.mac.end(), mac_key.mac);
      by_mac.Put(mac_key, value);
    }
  }

  MapTable Routes() const {
    MapTable table{WEFT_MAP_ROUTES, {}};
    for (const Segment& seg : state_.segments) {
      if (!IsLocalTenant(seg.tenant)) continue;
      weft_route value{};
      value.kind = WEFT_ROUTE_CONNECTED;
      value.vni = seg.vni;
      table.Put(RouteKey(seg.tenant, seg.subnet), value);
    }
    for (const Route& route : state_.routes) {
      if (!IsLocalTenant(route.tenant)) continue;
      weft_route value{};
      if (route.blackhole) {
        value.kind = WEFT_ROUTE_BLACKHOLE;
      } else {
        const Segment& seg = *segments_.at(route.segment);
        value.kind = WEFT_ROUTE_REMOTE;
        value.vni = seg.vni;
        std::copy(seg.gateway_mac.begin(), seg.gateway_mac.end(), value.gateway_mac);
        value.nhop_count = static_cast<__u32>(route.nodes.size());
        for (size_t i = 0; i < route.nodes.size(); ++i) {
          value.nhops_be[i] = htonl(nodes_.at(route.nodes[i])->vtep);
        }
      }
      table.Put(RouteKey(route.tenant, route.prefix), value);
    }
    return table;
  }

  weft_route_key RouteKey(const std::string& tenant, const Ipv4Prefix& prefix) const {
    weft_route_key key{};
    key.prefixlen = WEFT_ROUTE_KEY_PREFIXLEN(prefix.length);
    key.tenant_id_be = htonl(tenants_.at(tenant)->id);
    key.addr_be = htonl(prefix.addr);
    return key;
  }

  const State& state_;
  const NodeSettings& settings_;
  const InterfaceResolver& resolve_;
  const Node& self_;
  absl::flat_hash_map<std::string_view, const Node*> nodes_;
  absl::flat_hash_map<std::string_view, const Tenant*> tenants_;
  absl::flat_hash_map<std::string_view, const Segment*> segments_;
  absl::flat_hash_set<std::string_view> local_tenants_;
};

}  // namespace

const MapTable* NodeTables::Find(std::string_view map_name) const {
  for (const MapTable& table : tables) {
    if (table.map_name == map_name) return &table;
  }
  return nullptr;
}

absl::StatusOr<NodeTables> BuildNodeTables(const State& state, const NodeSettings& settings,
                                           const InterfaceResolver& resolve) {
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
  return TableBuilder(state, settings, resolve, *self).Build();
}

}  // namespace weft
