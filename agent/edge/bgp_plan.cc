#include "agent/edge/bgp_plan.h"

#include <algorithm>
#include <tuple>

#include "common/model/announcements.h"

namespace weft::edge {

bool PrefixLess(const Ipv4Prefix& a, const Ipv4Prefix& b) {
  return std::tie(a.addr, a.length) < std::tie(b.addr, b.length);
}

bool SameSession(const UplinkSession& a, const UplinkSession& b) {
  const bgp::UplinkPeer& x = a.peer;
  const bgp::UplinkPeer& y = b.peer;
  return a.next_hop == b.next_hop && x.vrf == y.vrf && x.vrf_number == y.vrf_number &&
         x.peer_address == y.peer_address && x.peer_asn == y.peer_asn &&
         x.local_asn == y.local_asn && x.hold_time_seconds == y.hold_time_seconds &&
         x.keepalive_seconds == y.keepalive_seconds;
}

EdgeBgpPlan PlanEdgeBgp(const State& state, absl::string_view node) {
  EdgeBgpPlan plan;
  auto self = std::find_if(state.nodes.begin(), state.nodes.end(),
                           [node](const Node& n) { return n.name == node; });
  if (self == state.nodes.end() || self->role != NodeRole::kEdge) return plan;
  // A 32-bit BGP identifier, unique in the fleet: the VTEP's reference
  // (its IPv4 address, or the last 32 bits of an IPv6 one).
  plan.router_id = self->vtep.Ref();
  for (const Uplink& uplink : state.uplinks) {
    if (uplink.node != node) continue;
    auto tenant = std::find_if(state.tenants.begin(), state.tenants.end(),
                               [&uplink](const Tenant& t) { return t.name == uplink.tenant; });
    if (tenant == state.tenants.end()) continue;  // not in a validated state
    if (plan.asn == 0) plan.asn = uplink.local_as;
    UplinkSession session{.uplink = uplink.name,
                          .peer = {.vrf = tenant->name,
                                   .vrf_number = tenant->id,
                                   .peer_address = uplink.peer,
                                   .peer_asn = uplink.peer_as,
                                   .local_asn = uplink.local_as,
                                   .hold_time_seconds = uplink.HoldTime(),
                                   .keepalive_seconds = uplink.Keepalive()},
                          .next_hop = uplink.address};
    for (const Announcement& announcement : Announcements(state, tenant->name)) {
      session.prefixes.push_back(announcement.prefix);
    }
    std::sort(session.prefixes.begin(), session.prefixes.end(), PrefixLess);
    session.prefixes.erase(std::unique(session.prefixes.begin(), session.prefixes.end()),
                           session.prefixes.end());
    plan.by_tenant.emplace(tenant->name, std::move(session));
  }
  return plan;
}

}  // namespace weft::edge
