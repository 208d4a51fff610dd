#include "bench/packet_fuzz_world.h"

#include <algorithm>

namespace weft::fuzz {

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

std::vector<const WorldEndpoint*> World::LocalWithMac(const Mac& mac) const {
  std::vector<const WorldEndpoint*> found;
  for (const auto& ep : endpoints)
    if (ep.ifindex != 0 && ep.mac == mac) found.push_back(&ep);
  return found;
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
  for (const auto& s : state.segments)
    w.segments[s.vni] = WorldSegment{.name = s.name,
                                     .vni = s.vni,
                                     .tenant_id = tenant_ids.at(s.tenant),
                                     .gateway_ip = s.gateway,
                                     .gateway_mac = s.gateway_mac};
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
                                        .mac = e.mac,
                                        .vtep = node_vteps.at(e.node),
                                        .ifindex = local ? ifindex_of(e.interface) : 0});
    if (!local) reach(seg.tenant_id, node_vteps.at(e.node));
  }
  for (const auto& r : state.routes)
    for (const auto& n : r.nodes) reach(tenant_ids.at(r.tenant), node_vteps.at(n));
  return w;
}

}  // namespace weft::fuzz
