#include "bench/packet_fuzz_world.h"

#include <algorithm>
#include <variant>

namespace weft::fuzz {

bool WorldSegment::IsGateway(const Address& a) const {
  return a.is_v6() ? gateway6 == a.v6 : a.v4 == gateway_ip;
}

bool WorldEndpoint::Owns(const Address& a) const { return a.is_v6() ? ip6 == a.v6 : a.v4 == ip; }

bool WorldRoute::Covers(const Address& a) const {
  if (const auto* p6 = std::get_if<Ipv6Prefix>(&prefix)) return a.is_v6() && p6->Contains(*a.v6);
  return !a.is_v6() && std::get<Ipv4Prefix>(prefix).Contains(a.v4);
}

uint8_t WorldRoute::Length() const {
  return std::visit([](const auto& p) { return p.length; }, prefix);
}

const WorldSegment* World::Segment(uint32_t vni) const {
  auto it = segments.find(vni);
  return it == segments.end() ? nullptr : &it->second;
}

const WorldEndpoint* World::BoundTo(uint32_t ifindex) const {
  if (ifindex == 0) return nullptr;
  for (const auto& ep : endpoints)
    if (ep.ifindex == ifindex) return &ep;
  return nullptr;
}

const WorldEndpoint* World::OnSegment(uint32_t vni, const Mac& mac, uint32_t ip) const {
  for (const auto& ep : endpoints)
    if (ep.vni == vni && ep.mac == mac && ep.ip == ip) return &ep;
  return nullptr;
}

const WorldEndpoint* World::OnSegment(uint32_t vni, const Mac& mac) const {
  for (const auto& ep : endpoints)
    if (ep.vni == vni && ep.mac == mac) return &ep;
  return nullptr;
}

const WorldEndpoint* World::Owner(uint32_t tenant_id, const Address& a) const {
  for (const auto& ep : endpoints)
    if (ep.tenant_id == tenant_id && ep.Owns(a)) return &ep;
  return nullptr;
}

const WorldRoute* World::Route(uint32_t tenant_id, const Address& dst) const {
  const WorldRoute* best = nullptr;
  for (const auto& r : routes)
    if (r.tenant_id == tenant_id && r.Covers(dst) &&
        (best == nullptr || r.Length() > best->Length()))
      best = &r;
  return best;
}

bool World::TenantMayReach(uint32_t tenant_id, uint32_t vtep) const {
  auto it = tenant_vteps.find(tenant_id);
  return it != tenant_vteps.end() &&
         std::find(it->second.begin(), it->second.end(), vtep) != it->second.end();
}

const WorldUplink* World::Uplink(uint32_t ifindex) const {
  for (const auto& u : uplinks)
    if (u.ifindex == ifindex) return &u;
  return nullptr;
}

World BuildWorld(const State& state, const std::string& node,
                 const std::function<uint32_t(const std::string&)>& ifindex_of) {
  World w;
  std::map<std::string, uint32_t> tenant_ids, node_vteps;
  std::map<std::string, const WorldSegment*> segment_by_name;
  for (const auto& t : state.tenants) tenant_ids[t.name] = t.id;
  for (const auto& n : state.nodes) {
    // The oracle's fleet is on an IPv4 underlay (the fixture's state).
    node_vteps[n.name] = n.vtep.v4;
    w.vteps[n.vtep.v4] = n.foreign;
    if (n.name == node) w.local_vtep = n.vtep.v4;
  }
  for (const auto& s : state.segments) {
    const uint32_t tenant_id = tenant_ids.at(s.tenant);
    w.segments[s.vni] = WorldSegment{.name = s.name,
                                     .vni = s.vni,
                                     .tenant_id = tenant_id,
                                     .gateway_ip = s.gateway,
                                     .gateway_mac = s.gateway_mac,
                                     .gateway6 = s.gateway6};
    // The connected routes the agent writes for each subnet.
    w.routes.push_back(
        WorldRoute{.tenant_id = tenant_id, .prefix = s.subnet, .connected = true, .vni = s.vni});
    if (s.subnet6)
      w.routes.push_back(WorldRoute{
          .tenant_id = tenant_id, .prefix = *s.subnet6, .connected = true, .vni = s.vni});
  }
  for (const auto& [vni, seg] : w.segments) segment_by_name[seg.name] = &seg;
  auto reach = [&w](uint32_t tenant_id, uint32_t vtep) {
    auto& v = w.tenant_vteps[tenant_id];
    if (std::find(v.begin(), v.end(), vtep) == v.end()) v.push_back(vtep);
  };
  for (const auto& e : state.endpoints) {
    const WorldSegment& seg = *segment_by_name.at(e.segment);
    const bool local = e.node == node;
    w.endpoints.push_back(WorldEndpoint{.name = e.name,
                                        .tenant_id = seg.tenant_id,
                                        .vni = seg.vni,
                                        .ip = e.ip,
                                        .ip6 = e.ip6,
                                        .mac = e.mac,
                                        .vtep = node_vteps.at(e.node),
                                        .ifindex = local ? ifindex_of(e.interface) : 0});
    if (!local) reach(seg.tenant_id, node_vteps.at(e.node));
  }
  auto add_route = [&](const auto& r) {
    WorldRoute route{
        .tenant_id = tenant_ids.at(r.tenant), .prefix = r.prefix, .blackhole = r.blackhole};
    if (!r.blackhole) route.vni = segment_by_name.at(r.segment)->vni;
    for (const auto& n : r.nodes) {
      route.vteps.push_back(node_vteps.at(n));
      reach(route.tenant_id, node_vteps.at(n));
    }
    w.routes.push_back(std::move(route));
  };
  for (const auto& r : state.routes) add_route(r);
  for (const auto& r : state.routes6) add_route(r);
  return w;
}

}  // namespace weft::fuzz
