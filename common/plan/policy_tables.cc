#include "common/plan/policy_tables.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/base/status.h"
#include "weft/abi.h"

namespace weft {
namespace {

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

// A rule's place: its bit, and what it belongs to.
struct NumberedRule {
  uint32_t index;
  const Policy* policy;
  const Rule* rule;
};

// Rule indexes; duplicates harmless.
using RuleSet = std::vector<uint32_t>;

void SetBits(weft_rule_bits& bits, const RuleSet& rules) {
  for (uint32_t i : rules) bits.words[i / 64] |= uint64_t{1} << (i % 64);
}

bool Empty(const weft_rule_bits& bits) {
  return std::all_of(std::begin(bits.words), std::end(bits.words),
                     [](uint64_t w) { return w == 0; });
}

__u32 ActionValue(RuleAction action) {
  switch (action) {
    case RuleAction::kAllow:
      return WEFT_ACTION_ALLOW;
    case RuleAction::kDeny:
      return WEFT_ACTION_DENY;
    case RuleAction::kReject:
      return WEFT_ACTION_REJECT;
  }
  return WEFT_ACTION_DENY;  // unreachable for a valid state
}

uint8_t ProtocolNumber(RuleProtocol protocol) {
  switch (protocol) {
    case RuleProtocol::kTcp:
      return kProtoTcp;
    case RuleProtocol::kUdp:
      return kProtoUdp;
    case RuleProtocol::kIcmp:
      return kProtoIcmp;
    case RuleProtocol::kAny:
      break;
  }
  return 0;
}

// An entry of weft_pol_l4, ordered as its key would sort: prefixlen is
// WEFT_L4_KEY_ANY_PROTOCOL, WEFT_L4_KEY_PROTOCOL or
// WEFT_L4_KEY_PORT_PREFIXLEN(bits).
using L4Entry = std::tuple<uint32_t /*prefixlen*/, uint8_t /*protocol*/, uint16_t /*port*/>;

uint16_t PortMask(int bits) {
  return bits == 0 ? 0 : static_cast<uint16_t>(0xffffu << (16 - bits));
}

class PolicyBuilder {
 public:
  PolicyBuilder(const State& state, const Node& self, uint32_t slot)
      : state_(state), self_(self), slot_(slot) {}

  // The rules in bit order (NumberPolicyRules).
  absl::StatusOr<std::vector<NumberedPolicyRule>> Numbered() {
    Index();
    RETURN_IF_ERROR(NumberRules());
    std::vector<NumberedPolicyRule> out;
    for (const NumberedRule& r : rules_) {
      out.push_back(
          {r.index, r.policy, static_cast<uint32_t>(r.rule - r.policy->rules.data()) + 1});
    }
    return out;
  }

  absl::StatusOr<std::vector<MapTable>> Build() {
    Index();
    RETURN_IF_ERROR(NumberRules());
    std::vector<MapTable> tables = {Tenants(), Rules(), L4(), Peers(), Applied()};
    struct Capacity {
      size_t max;
      const char* what;
    };
    // Both slots live side by side while a new set is staged: one set
    // gets half of each map.
    const Capacity capacities[] = {
        {WEFT_MAX_POLICY_TENANTS / 2, "tenants"},
        {WEFT_MAX_RULES, "rules"},
        {WEFT_MAX_POLICY_L4 / 2, "protocol/port prefixes"},
        {WEFT_MAX_POLICY_PEERS / 2, "peer prefixes"},
        {WEFT_MAX_POLICY_APPLIED / 2, "(endpoint, direction) entries"},
    };
    for (size_t i = 0; i < tables.size(); ++i) {
      if (tables[i].entries.size() > capacities[i].max) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "node \"", self_.name, "\": ", tables[i].entries.size(), " ", capacities[i].what,
            " in ", tables[i].map_name, " exceed the capacity of ", capacities[i].max,
            " per rule set (the map holds two rule sets while one is "
            "staged)"));
      }
    }
    return tables;
  }

 private:
  void Index() {
    absl::flat_hash_map<std::string_view, const Segment*> segments;
    for (const Segment& seg : state_.segments) segments[seg.name] = &seg;
    for (const Tenant& tenant : state_.tenants) tenants_[tenant.name] = &tenant;
    for (const Endpoint& ep : state_.endpoints) {
      const std::string& tenant = segments.at(ep.segment)->tenant;
      endpoint_tenant_[&ep] = tenant;
      endpoints_[ep.name] = &ep;
      if (ep.node == self_.name) local_tenants_.insert(tenant);
      for (const std::string& group : ep.groups) {
        members_[{tenant, group}].push_back(&ep);
      }
    }
  }

  bool IsLocalTenant(std::string_view tenant) const { return local_tenants_.contains(tenant); }

  uint32_t TenantId(std::string_view tenant) const { return tenants_.at(tenant)->id; }

  const std::vector<const Endpoint*>& Members(std::string_view tenant,
                                              std::string_view group) const {
    static const std::vector<const Endpoint*> kNone;
    auto it = members_.find(std::pair(tenant, group));
    return it == members_.end() ? kNone : it->second;
  }

  absl::Status NumberRules() {
    for (const Policy& policy : state_.policies) {
      if (IsLocalTenant(policy.tenant)) policies_.push_back(&policy);
    }
    std::sort(policies_.begin(), policies_.end(), [](const Policy* a, const Policy* b) {
      return std::tie(a->priority, a->name) < std::tie(b->priority, b->name);
    });
    size_t count = 0;
    for (const Policy* policy : policies_) count += policy->rules.size();
    if (count > WEFT_MAX_RULES) {
      return absl::ResourceExhaustedError(
          absl::StrCat("node \"", self_.name,
                       "\": too many rules for the configured "
                       "capacity ",
                       WEFT_MAX_RULES, " (its tenants' policies have ", count, " rules)"));
    }
    uint32_t index = 0;
    for (const Policy* policy : policies_) {
      for (const Rule& rule : policy->rules) {
        rules_.push_back({index++, policy, &rule});
      }
    }
    return absl::OkStatus();
  }

  MapTable Tenants() const {
    MapTable table{WEFT_MAP_POL_TENANT, {}};
    for (const Tenant& tenant : state_.tenants) {
      if (!IsLocalTenant(tenant.name)) continue;
      weft_tenant_key key{};
      key.slot = slot_;
      key.tenant_id = tenant.id;
      weft_tenant_policy value{};
      value.default_action =
          tenant.default_action == FirewallAction::kAllow ? WEFT_ACTION_ALLOW : WEFT_ACTION_DENY;
      table.Put(key, value);
    }
    return table;
  }

  MapTable Rules() const {
    MapTable table{WEFT_MAP_POL_RULES, {}};
    for (const NumberedRule& r : rules_) {
      weft_rule_key key{};
      key.slot = slot_;
      key.index = r.index;
      weft_rule value{};
      value.action = ActionValue(r.rule->action);
      value.flags = r.rule->log ? WEFT_RULE_F_LOG : 0;
      table.Put(key, value);
    }
    return table;
  }

  MapTable L4() const {
    std::map<L4Entry, RuleSet> own;
    for (const NumberedRule& r : rules_) {
      const Rule& rule = *r.rule;
      const uint8_t protocol = ProtocolNumber(rule.protocol);
      if (rule.protocol == RuleProtocol::kAny) {
        own[{WEFT_L4_KEY_ANY_PROTOCOL, 0, 0}].push_back(r.index);
      } else if (rule.protocol == RuleProtocol::kIcmp && rule.icmp_type.has_value()) {
        // type << 8 | code: the type is the port's first 8 bits.
        own[{WEFT_L4_KEY_PORT_PREFIXLEN(8), protocol, static_cast<uint16_t>(*rule.icmp_type << 8)}]
            .push_back(r.index);
      } else if (rule.ports.empty()) {
        own[{WEFT_L4_KEY_PROTOCOL, protocol, 0}].push_back(r.index);
      } else {
        for (const PortRange& range : rule.ports) {
          for (const PortPrefix& p : PortRangePrefixes(range.first, range.last)) {
            own[{WEFT_L4_KEY_PORT_PREFIXLEN(p.bits), protocol, p.port}].push_back(r.index);
          }
        }
      }
    }
    auto rules_of = [&](const L4Entry& entry) -> const RuleSet* {
      auto it = own.find(entry);
      return it == own.end() ? nullptr : &it->second;
    };
    MapTable table{WEFT_MAP_POL_L4, {}};
    for (const auto& [entry, unused] : own) {
      const auto [prefixlen, protocol, port] = entry;
      // Every entry that covers this one, this one included.
      weft_rule_bits bits{};
      if (const RuleSet* r = rules_of({WEFT_L4_KEY_ANY_PROTOCOL, 0, 0})) {
        SetBits(bits, *r);
      }
      if (prefixlen >= WEFT_L4_KEY_PROTOCOL) {
        if (const RuleSet* r = rules_of({WEFT_L4_KEY_PROTOCOL, protocol, 0})) {
          SetBits(bits, *r);
        }
      }
      if (prefixlen >= WEFT_L4_KEY_PORT_PREFIXLEN(0)) {
        const int port_bits = static_cast<int>(prefixlen) - WEFT_L4_KEY_PORT_PREFIXLEN(0);
        for (int b = 0; b <= port_bits; ++b) {
          if (const RuleSet* r = rules_of({WEFT_L4_KEY_PORT_PREFIXLEN(b), protocol,
                                           static_cast<uint16_t>(port & PortMask(b))})) {
            SetBits(bits, *r);
          }
        }
      }
      weft_l4_key key{};
      key.prefixlen = prefixlen;
      key.slot_be = htonl(slot_);
      key.protocol = protocol;
      key.port_be = htons(port);
      table.Put(key, bits);
    }
    return table;
  }

  MapTable Peers() const {
    // (tenant id, addr, length) -> rules naming exactly that prefix.
    std::map<std::tuple<uint32_t, uint32_t, uint8_t>, RuleSet> own;
    for (const NumberedRule& r : rules_) {
      const Rule& rule = *r.rule;
      const uint32_t tenant = TenantId(r.policy->tenant);
      if (rule.AnyPeer()) {
        own[{tenant, 0, 0}].push_back(r.index);
      }
      for (const Ipv4Prefix& cidr : rule.peer_cidrs) {
        own[{tenant, cidr.addr, cidr.length}].push_back(r.index);
      }
      for (const std::string& group : rule.peer_groups) {
        for (const Endpoint* ep : Members(r.policy->tenant, group)) {
          own[{tenant, ep->ip, 32}].push_back(r.index);
        }
      }
    }
    MapTable table{WEFT_MAP_POL_PEER, {}};
    for (const auto& [entry, unused] : own) {
      const auto [tenant, addr, length] = entry;
      weft_rule_bits bits{};
      // The covering prefixes: this one's first `len` bits, len <= length.
      for (int len = 0; len <= length; ++len) {
        const Ipv4Prefix cover{addr, static_cast<uint8_t>(len)};
        auto it = own.find({tenant, addr & cover.Mask(), cover.length});
        if (it != own.end()) SetBits(bits, it->second);
      }
      weft_peer_key key{};
      key.prefixlen = WEFT_PEER_KEY_PREFIXLEN(length);
      key.slot_be = htonl(slot_);
      key.tenant_id_be = htonl(tenant);
      key.addr_be = htonl(addr);
      table.Put(key, bits);
    }
    return table;
  }

  MapTable Applied() const {
    // (direction, endpoint) -> rules of the policies applied to it.
    std::map<std::pair<__u32, const Endpoint*>, RuleSet> applied;
    for (const NumberedRule& r : rules_) {
      const Policy& policy = *r.policy;
      const __u32 direction =
          r.rule->direction == RuleDirection::kIngress ? WEFT_DIR_INGRESS : WEFT_DIR_EGRESS;
      auto add = [&](const Endpoint* ep) {
        if (ep->node == self_.name) applied[{direction, ep}].push_back(r.index);
      };
      for (const std::string& name : policy.applied_to_endpoints) {
        add(endpoints_.at(name));
      }
      for (const std::string& group : policy.applied_to_groups) {
        for (const Endpoint* ep : Members(policy.tenant, group)) add(ep);
      }
    }
    MapTable table{WEFT_MAP_POL_APPLIED, {}};
    for (const auto& [entry, rules] : applied) {
      const auto [direction, ep] = entry;
      weft_rule_bits bits{};
      SetBits(bits, rules);
      if (Empty(bits)) continue;
      weft_applied_key key{};
      key.slot = slot_;
      key.direction = direction;
      key.tenant_id = TenantId(endpoint_tenant_.at(ep));
      key.ip_be = htonl(ep->ip);
      table.Put(key, bits);
    }
    return table;
  }

  const State& state_;
  const Node& self_;
  const uint32_t slot_;
  absl::flat_hash_map<std::string_view, const Tenant*> tenants_;
  absl::flat_hash_map<std::string_view, const Endpoint*> endpoints_;
  absl::flat_hash_map<const Endpoint*, std::string_view> endpoint_tenant_;
  // (tenant, group) -> member endpoints, on every node, in state order.
  absl::flat_hash_map<std::pair<std::string_view, std::string_view>, std::vector<const Endpoint*>>
      members_;
  absl::flat_hash_set<std::string_view> local_tenants_;
  std::vector<const Policy*> policies_;  // of local tenants, in rule order
  std::vector<NumberedRule> rules_;
};

}  // namespace

std::vector<PortPrefix> PortRangePrefixes(uint32_t first, uint32_t last) {
  std::vector<PortPrefix> out;
  uint32_t lo = first;
  while (lo <= last && lo <= 0xffff) {
    // The largest block that starts at lo (aligned) and ends by `last`.
    int size_bits = lo == 0 ? 16 : std::min(std::countr_zero(lo), 16);
    while (size_bits > 0 && lo + (uint32_t{1} << size_bits) - 1 > last) {
      --size_bits;
    }
    out.push_back({static_cast<uint16_t>(lo), static_cast<uint8_t>(16 - size_bits)});
    lo += uint32_t{1} << size_bits;
  }
  return out;
}

namespace {

// The node BuildPolicyTables builds for: in the state, not foreign.
absl::StatusOr<const Node*> FirewallNode(const State& state, const std::string& node) {
  auto self = std::find_if(state.nodes.begin(), state.nodes.end(),
                           [&](const Node& n) { return n.name == node; });
  if (self == state.nodes.end()) {
    return absl::NotFoundError(absl::StrCat("node \"", node, "\" is not in the state"));
  }
  if (self->foreign) {
    return absl::FailedPreconditionError(
        absl::StrCat("node \"", node,
                     "\" is foreign (a plain vxlan host): it runs no Weft "
                     "firewall"));
  }
  return &*self;
}

}  // namespace

absl::StatusOr<std::vector<MapTable>> BuildPolicyTables(const State& state, const std::string& node,
                                                        uint32_t slot) {
  if (slot > 1) {
    return absl::InvalidArgumentError(absl::StrCat("policy slot ", slot, " is not 0 or 1"));
  }
  ASSIGN_OR_RETURN(const Node* self, FirewallNode(state, node));
  return PolicyBuilder(state, *self, slot).Build();
}

absl::StatusOr<std::vector<NumberedPolicyRule>> NumberPolicyRules(const State& state,
                                                                  const std::string& node) {
  ASSIGN_OR_RETURN(const Node* self, FirewallNode(state, node));
  return PolicyBuilder(state, *self, 0).Numbered();
}

}  // namespace weft
