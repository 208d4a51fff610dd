#include "agent/api/names.h"

#include <arpa/inet.h>
#include <net/if.h>

#include "absl/strings/str_cat.h"
#include "common/model/net_format.h"
#include "weft/abi.h"

namespace weft::api {
std::string IfName(uint32_t ifindex) {
  char buf[IF_NAMESIZE] = {};
  return ifindex && if_indextoname(ifindex, buf) ? std::string(buf) : "";
}

Names::Names(const Agent::View& v) {
  for (const weft::Tenant& t : v.state.tenants) tenants[t.id] = &t;
  for (const Segment& s : v.state.segments) {
    segments[s.name] = &s;
    segments_by_vni[s.vni] = &s;
  }
  for (const Node& n : v.state.nodes) nodes[n.name] = &n;
  if (v.has_state) {
    if (auto numbered = NumberPolicyRules(v.state, v.options.node); numbered.ok()) {
      for (const NumberedPolicyRule& r : *numbered) rules[r.index] = r;
    }
  }
}

std::string Names::TenantName(uint32_t id) const {
  auto it = tenants.find(id);
  return it == tenants.end() ? "" : it->second->name;
}

std::string Names::VtepAddress(uint32_t ref_be) const {
  const uint32_t ref = ntohl(ref_be);
  for (const auto& [name, node] : nodes) {
    if (node->vtep.Ref() == ref) return FormatUnderlayAddress(node->vtep);
  }
  return FormatIpv4(ref);
}

uint32_t Names::TenantId(const std::string& name) const {
  for (const auto& [id, t] : tenants) {
    if (t->name == name) return id;
  }
  return 0;
}

std::pair<std::string, uint32_t> Names::RuleName(uint32_t index) const {
  auto it = rules.find(index);
  if (index == WEFT_RULE_NONE || it == rules.end()) return {"", 0};
  return {it->second.policy->name, it->second.rule_number};
}

}  // namespace weft::api
