#include "controller/learned_routes.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/model/net_format.h"
#include "common/model/validate.h"
#include "weft/abi.h"

namespace weft {
namespace {

using PrefixKey = std::pair<uint32_t, uint8_t>;

PrefixKey KeyOf(const Ipv4Prefix& p) { return {p.addr, p.length}; }

// Who learns one prefix of a tenant: edges and their uplinks.
struct Learners {
  std::set<std::string> nodes;
  std::set<std::string> uplinks;
};

}  // namespace

absl::Status CheckLearnedReport(const State& state, const std::string& node,
                                const LearnedSnapshot& snapshot) {
  const Node* self = nullptr;
  for (const Node& n : state.nodes) {
    if (n.name == node) self = &n;
  }
  bool any = false;
  for (const auto& [name, prefixes] : snapshot) any = any || !prefixes.empty();
  if (any && (self == nullptr || self->role != NodeRole::kEdge)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", QuoteBounded(node), " reports learned routes but is not an edge of the state"));
  }
  for (const auto& [name, prefixes] : snapshot) {
    for (const Uplink& uplink : state.uplinks) {
      if (uplink.name == name && uplink.node != node) {
        return absl::FailedPreconditionError(
            absl::StrCat("node ", QuoteBounded(node), " reports routes of uplink ",
                         QuoteBounded(name), ", which is edge ", QuoteBounded(uplink.node), "'s"));
      }
    }
  }
  return absl::OkStatus();
}

TenantLearnedRoutes LearnedRoutes(const State& state, const LearnedReports& reports) {
  // tenant -> prefix -> learners, over the uplinks the state has on the
  // reporting node.
  absl::flat_hash_map<std::string, const Uplink*> uplinks;
  for (const Uplink& u : state.uplinks) uplinks[u.name] = &u;
  std::map<std::string, std::map<PrefixKey, Learners>> learned;
  for (const auto& [node, snapshot] : reports) {
    for (const auto& [name, prefixes] : snapshot) {
      auto it = uplinks.find(name);
      if (it == uplinks.end() || it->second->node != node) continue;
      std::map<PrefixKey, Learners>& tenant = learned[it->second->tenant];
      for (const Ipv4Prefix& prefix : prefixes) {
        Learners& l = tenant[KeyOf(prefix)];
        l.nodes.insert(node);
        l.uplinks.insert(name);
      }
    }
  }

  // What the state routes already, per tenant, and each tenant's transit
  // segment (lowest VNI).
  absl::flat_hash_set<std::pair<std::string, PrefixKey>> routed;
  for (const Route& r : state.routes) routed.insert({r.tenant, KeyOf(r.prefix)});
  std::map<std::string, const Segment*> transit;
  for (const Segment& s : state.segments) {
    routed.insert({s.tenant, KeyOf(s.subnet)});
    const Segment*& t = transit[s.tenant];
    if (t == nullptr || s.vni < t->vni) t = &s;
  }

  TenantLearnedRoutes out;
  const size_t used = state.routes.size() + state.segments.size();
  size_t room = used < WEFT_MAX_ROUTES ? WEFT_MAX_ROUTES - used : 0;
  for (const auto& [tenant, prefixes] : learned) {
    auto segment = transit.find(tenant);
    if (segment == transit.end()) continue;
    for (const auto& [key, learners] : prefixes) {
      if (routed.contains({tenant, key})) continue;
      if (room == 0) {
        ++out.dropped;
        continue;
      }
      --room;
      Route route;
      route.tenant = tenant;
      route.prefix = Ipv4Prefix{key.first, key.second};
      route.nodes.assign(learners.nodes.begin(), learners.nodes.end());
      route.segment = segment->second->name;
      route.learned_by.assign(learners.uplinks.begin(), learners.uplinks.end());
      out.by_tenant[tenant].push_back(std::move(route));
    }
  }
  return out;
}

}  // namespace weft
