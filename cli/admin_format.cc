#include "cli/admin_format.h"

#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/format.h"
#include "common/model/announcements.h"
#include "common/model/net_format.h"

namespace weft::cli {
namespace {

using Rows = std::vector<std::vector<std::string>>;

// A titled table, only when there is something to list.
void AppendTable(std::string* out, const std::string& title, const std::vector<std::string>& header,
                 const Rows& rows) {
  if (rows.empty()) return;
  absl::StrAppend(out, "\n", title, " (", rows.size(), ")\n", FormatTable(header, rows));
}

std::string Route(const v1::Route& r) {
  std::vector<std::string> via;
  if (r.blackhole()) via.push_back("blackhole");
  if (!r.segment().empty()) via.push_back("segment " + r.segment());
  if (!r.nodes().empty()) via.push_back("nodes " + absl::StrJoin(r.nodes(), ","));
  if (r.advertise()) via.push_back("advertised");
  return OrDash(absl::StrJoin(via, ", "));
}

std::string Bridge(const v1::Segment& s) {
  if (!s.has_vlan_bridge()) return "-";
  const v1::VlanBridge& b = s.vlan_bridge();
  std::string text = absl::StrCat(b.node(), " ", b.trunk(), " vlan ", b.vlan());
  if (!b.standby().empty()) absl::StrAppend(&text, " (standby ", b.standby(), ")");
  return text;
}

std::string NodeKind(const v1::Node& n) {
  if (n.foreign()) return "foreign";
  return n.role() == v1::NODE_ROLE_EDGE ? "edge" : "weft";
}

}  // namespace

std::string FormatState(const v1::GetStateResponse& r) {
  const v1::State& s = r.state();
  std::string out = absl::StrCat("version: ", s.version(), "\n");
  Rows rows;
  for (const auto& n : s.nodes()) {
    rows.push_back({n.name(), n.vtep(), NodeKind(n)});
  }
  AppendTable(&out, "NODES", {"NAME", "VTEP", "KIND"}, rows);
  rows.clear();
  for (const auto& t : s.tenants()) {
    // FIREWALL_ACTION_UNSPECIFIED is allow, as in the YAML file.
    rows.push_back({t.name(), absl::StrCat(t.id()),
                    t.default_action() == v1::FIREWALL_ACTION_DENY ? "deny" : "allow"});
  }
  AppendTable(&out, "TENANTS", {"NAME", "ID", "DEFAULT"}, rows);
  rows.clear();
  for (const auto& g : s.segments()) {
    rows.push_back({g.tenant(), g.name(), absl::StrCat(g.vni()),
                    BothFamilies(g.subnet(), g.subnet6()), BothFamilies(g.gateway(), g.gateway6()),
                    Bridge(g)});
  }
  AppendTable(&out, "SEGMENTS", {"TENANT", "NAME", "VNI", "SUBNET", "GATEWAY", "VLAN BRIDGE"},
              rows);
  rows.clear();
  for (const auto& e : s.endpoints()) {
    rows.push_back({e.segment(), OrDash(e.name()), BothFamilies(e.ip(), e.ip6()), e.mac(), e.node(),
                    OrDash(e.interface()), absl::StrJoin(e.groups(), ",")});
  }
  AppendTable(&out, "ENDPOINTS", {"SEGMENT", "NAME", "IP", "MAC", "NODE", "INTERFACE", "GROUPS"},
              rows);
  rows.clear();
  for (const auto& h : s.physical_hosts()) {
    rows.push_back({h.segment(), h.name(), BothFamilies(h.ip(), h.ip6()),
                    h.mac().empty() ? "learned" : h.mac(), absl::StrJoin(h.groups(), ",")});
  }
  AppendTable(&out, "PHYSICAL HOSTS", {"SEGMENT", "NAME", "IP", "MAC", "GROUPS"}, rows);
  rows.clear();
  for (const auto& x : s.routes()) rows.push_back({x.tenant(), x.prefix(), Route(x)});
  for (const auto& x : s.routes6()) rows.push_back({x.tenant(), x.prefix(), Route(x)});
  AppendTable(&out, "ROUTES", {"TENANT", "PREFIX", "VIA"}, rows);
  rows.clear();
  for (const auto& p : s.policies()) {
    std::vector<std::string> to(p.applied_to().groups().begin(), p.applied_to().groups().end());
    for (const auto& e : p.applied_to().endpoints()) to.push_back("endpoint " + e);
    rows.push_back({p.tenant(), p.name(), p.has_priority() ? absl::StrCat(p.priority()) : "default",
                    absl::StrCat(p.rules_size()), absl::StrJoin(to, ",")});
  }
  AppendTable(&out, "POLICIES", {"TENANT", "NAME", "PRIORITY", "RULES", "APPLIED TO"}, rows);
  rows.clear();
  for (const auto& u : s.uplinks()) {
    rows.push_back({u.tenant(), u.name(), u.node(),
                    u.has_vlan() ? absl::StrCat(u.interface(), " vlan ", u.vlan()) : u.interface(),
                    u.peer(), absl::StrCat(u.peer_as())});
  }
  AppendTable(&out, "UPLINKS", {"TENANT", "NAME", "EDGE", "LINK", "PEER", "PEER AS"}, rows);
  return out;
}

std::string FormatRealization(const v1::GetRealizationResponse& r) {
  std::string out = absl::StrCat("controller version: ", r.controller_version(), "\n");
  absl::StrAppend(&out, "version ", r.version(), " enforced by ", r.enforcing_size(), " of ",
                  r.nodes_size(), " nodes", r.all_enforcing() ? " (all)" : "", "\n");
  // The controller's answer says who enforces; not recomputed here.
  const absl::flat_hash_set<std::string> enforcing(r.enforcing().begin(), r.enforcing().end());
  Rows rows;
  for (const auto& n : r.nodes()) {
    // Replicas on etcd: which of them holds the node's stream.
    std::string connected = n.connected() ? "yes" : "no";
    if (n.replicas_size() > 0)
      absl::StrAppend(&connected, " (", absl::StrJoin(n.replicas(), ","), ")");
    rows.push_back({n.node(), connected, absl::StrCat(n.acked_version()),
                    absl::StrCat(n.enforced_version()), enforcing.contains(n.node()) ? "yes" : "no",
                    n.nacked_version() ? absl::StrCat(n.nacked_version()) : "-",
                    OrDash(absl::StrJoin(n.unrealized(), ",")), OrDash(n.nack_error())});
  }
  absl::StrAppend(
      &out, "\n",
      FormatTable({"NODE", "CONNECTED", "ACKED", "ENFORCED", absl::StrCat("ENFORCES ", r.version()),
                   "NACKED", "NOT REALIZED", "NACK ERROR"},
                  rows));
  return out;
}

namespace {

template <typename Prefix>
std::string RouteVia(const weft::BasicRoute<Prefix>& r) {
  return r.blackhole ? "blackhole"
                     : absl::StrCat(absl::StrJoin(r.nodes, ","), " (", r.segment, ")");
}

}  // namespace

std::string FormatRoutes(const State& state, const std::vector<weft::Route>& learned) {
  std::string out = absl::StrCat("version: ", state.version, "\n");
  Rows rows;
  for (const weft::Route& r : state.routes) {
    rows.push_back({r.tenant, FormatIpv4Prefix(r.prefix), RouteVia(r),
                    r.advertise ? "state, advertised" : "state"});
  }
  for (const weft::Route6& r : state.routes6) {
    rows.push_back({r.tenant, FormatIpv6Prefix(r.prefix), RouteVia(r), "state"});
  }
  for (const weft::Route& r : learned) {
    rows.push_back({r.tenant, FormatIpv4Prefix(r.prefix), RouteVia(r),
                    absl::StrCat("learned by ", absl::StrJoin(r.learned_by, ","))});
  }
  AppendTable(&out, "ROUTES", {"TENANT", "PREFIX", "VIA (SEGMENT)", "FROM"}, rows);
  return out;
}

std::string FormatUplinks(const State& state, const std::vector<weft::Route>& learned) {
  std::string out = absl::StrCat("version: ", state.version, "\n");
  if (state.uplinks.empty()) return absl::StrCat(out, "no uplinks\n");
  Rows rows;
  for (const Uplink& u : state.uplinks) {
    rows.push_back({u.tenant, u.name, u.node,
                    u.vlan ? absl::StrCat(u.interface, " vlan ", *u.vlan) : u.interface,
                    absl::StrCat(FormatIpv4(u.address), "/", u.transit.length), FormatIpv4(u.peer),
                    absl::StrCat(u.peer_as), absl::StrCat(u.local_as),
                    absl::StrCat(u.HoldTime(), "/", u.Keepalive())});
  }
  AppendTable(&out, "UPLINKS",
              {"TENANT", "NAME", "EDGE", "LINK", "ADDRESS", "PEER", "PEER AS", "LOCAL AS",
               "HOLD/KEEPALIVE"},
              rows);
  rows.clear();
  absl::flat_hash_set<absl::string_view> with_uplinks;
  for (const Uplink& u : state.uplinks) with_uplinks.insert(u.tenant);
  for (const Tenant& t : state.tenants) {
    if (!with_uplinks.contains(t.name)) continue;
    for (const Announcement& a : Announcements(state, t.name)) {
      rows.push_back({t.name, FormatIpv4Prefix(a.prefix),
                      a.segment.empty() ? "route (advertise)" : "segment " + a.segment});
    }
  }
  AppendTable(&out, "ANNOUNCED UPSTREAM", {"TENANT", "PREFIX", "FROM"}, rows);
  rows.clear();
  Rows overlaps;
  for (const weft::Route& r : learned) {
    rows.push_back({r.tenant, FormatIpv4Prefix(r.prefix), absl::StrJoin(r.nodes, ","),
                    absl::StrJoin(r.learned_by, ",")});
    for (const Segment& s : state.segments) {
      if (s.tenant == r.tenant && s.subnet.Overlaps(r.prefix)) {
        overlaps.push_back(
            {r.tenant, FormatIpv4Prefix(r.prefix), s.name, FormatIpv4Prefix(s.subnet)});
      }
    }
  }
  AppendTable(&out, "LEARNED UPSTREAM", {"TENANT", "PREFIX", "EDGES", "UPLINKS"}, rows);
  if (!overlaps.empty()) {
    AppendTable(&out, "LEARNED PREFIXES OVERLAPPING A SEGMENT (allowed: the longest prefix wins)",
                {"TENANT", "PREFIX", "SEGMENT", "SUBNET"}, overlaps);
  }
  return out;
}

std::string FormatApplied(const v1::ApplyStateResponse& r) {
  return absl::StrCat("applied: controller version ", r.version(), "\n");
}

}  // namespace weft::cli
