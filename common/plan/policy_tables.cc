#include "common/plan/policy_tables.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <iterator>
#include <map>
#include <optional>
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

// What the applied and peer tables of the two address families differ in:
// the rule's prefixes and the endpoint's address of the family, and the
// keys. The same code fills both from the same rule numbering, so one
// classification (one weft_pol_l4 and weft_pol_rules lookup) serves both
// (docs/design/DUAL_STACK.md §2).
template <typename Prefix>
struct Family;

template <>
struct Family<Ipv4Prefix> {
  static constexpr const char* kPeerMap = WEFT_MAP_POL_PEER;
  static constexpr const char* kAppliedMap = WEFT_MAP_POL_APPLIED;

  static const std::vector<Ipv4Prefix>& PeerCidrs(const Rule& rule) { return rule.peer_cidrs; }
  // The endpoint's address as a host prefix.
  static std::optional<Ipv4Prefix> Host(const Endpoint& ep) { return Ipv4Prefix{ep.ip, 32}; }
  // The first `length` bits of `prefix`.
  static Ipv4Prefix Cover(const Ipv4Prefix& prefix, uint8_t length) {
    Ipv4Prefix cover{0, length};
    cover.addr = prefix.addr & cover.Mask();
    return cover;
  }
  static weft_peer_key PeerKey(uint32_t slot, uint32_t tenant, const Ipv4Prefix& prefix) {
    weft_peer_key key{};
    key.prefixlen = WEFT_PEER_KEY_PREFIXLEN(prefix.length);
    key.slot_be = htonl(slot);
    key.tenant_id_be = htonl(tenant);
    key.addr_be = htonl(prefix.addr);
    return key;
  }
  static weft_applied_key AppliedKey(uint32_t slot, uint32_t direction, uint32_t tenant,
                                     const Ipv4Prefix& host) {
    weft_applied_key key{};
    key.slot = slot;
    key.direction = direction;
    key.tenant_id = tenant;
    key.ip_be = htonl(host.addr);
    return key;
  }
};

template <>
struct Family<Ipv6Prefix> {
  static constexpr const char* kPeerMap = WEFT_MAP_POL_PEER6;
  static constexpr const char* kAppliedMap = WEFT_MAP_POL_APPLIED6;

  static const std::vector<Ipv6Prefix>& PeerCidrs(const Rule& rule) { return rule.peer_cidrs6; }
  static std::optional<Ipv6Prefix> Host(const Endpoint& ep) {
    if (!ep.ip6) return std::nullopt;
    return Ipv6Prefix{*ep.ip6, 128};
  }
  static Ipv6Prefix Cover(const Ipv6Prefix& prefix, uint8_t length) {
    Ipv6Prefix cover{{}, length};
    cover.addr = cover.Masked(prefix.addr);
    return cover;
  }
  static weft_peer6_key PeerKey(uint32_t slot, uint32_t tenant, const Ipv6Prefix& prefix) {
    weft_peer6_key key{};
    key.prefixlen = WEFT_PEER_KEY_PREFIXLEN(prefix.length);
    key.slot_be = htonl(slot);
    key.tenant_id_be = htonl(tenant);
    std::copy(prefix.addr.begin(), prefix.addr.end(), key.addr);
    return key;
  }
  static weft_applied6_key AppliedKey(uint32_t slot, uint32_t direction, uint32_t tenant,
                                      const Ipv6Prefix& host) {
    weft_applied6_key key{};
    key.slot = slot;
    key.direction = direction;
    key.tenant_id = tenant;
    std::copy(host.addr.begin(), host.addr.end(), key.addr);
    return key;
  }
};

// One family's peer trie: the rules naming each (tenant, prefix), then
// every entry with the rules of every entry that covers it (the union
// trick, policy_tables.h).
template <typename Prefix>
class PeerTrie {
 public:
  void Add(uint32_t tenant, const Prefix& prefix, uint32_t rule) {
    own_[{tenant, prefix.addr, prefix.length}].push_back(rule);
    lengths_.insert(prefix.length);
  }

  MapTable Table(uint32_t slot) const {
    MapTable table{Family<Prefix>::kPeerMap, {}};
    for (const auto& [entry, unused] : own_) {
      const auto& [tenant, addr, length] = entry;
      const Prefix prefix{addr, length};
      weft_rule_bits bits{};
      // The covering prefixes, this one included: its first `len` bits for
      // each len <= length. Only the lengths some entry has can match
      // (an IPv6 entry would otherwise probe 129 of them).
      for (const uint8_t len : lengths_) {
        if (len > length) break;
        const Prefix cover = Family<Prefix>::Cover(prefix, len);
        auto it = own_.find({tenant, cover.addr, cover.length});
        if (it != own_.end()) SetBits(bits, it->second);
      }
      table.Put(Family<Prefix>::PeerKey(slot, tenant, prefix), bits);
    }
    return table;
  }

 private:
  // (tenant id, address, length) -> rules naming exactly that prefix.
  std::map<std::tuple<uint32_t, decltype(Prefix::addr), uint8_t>, RuleSet> own_;
  std::set<uint8_t> lengths_;  // ascending
};

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
    const AppliedRules applied = Applied();
    std::vector<MapTable> tables = {Tenants(),
                                    Rules(),
                                    L4(),
                                    Peers<Ipv4Prefix>(),
                                    AppliedTable<Ipv4Prefix>(applied),
                                    Peers<Ipv6Prefix>(),
                                    AppliedTable<Ipv6Prefix>(applied)};
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
        {WEFT_MAX_POLICY_PEERS / 2, "IPv6 peer prefixes"},
        {WEFT_MAX_POLICY_APPLIED / 2, "IPv6 (endpoint, direction) entries"},
    };
    static_assert(std::size(capacities) == kPolicyTableCount);
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

  // One family's peer trie: each rule's prefixes of the family, the
  // addresses of the family of its peer groups' members, and the tenant's /0
  // for a rule without peers (Rule::AnyPeer). A rule whose peers are all of
  // the other family adds nothing here: it matches no peer of this one.
  template <typename Prefix>
  MapTable Peers() const {
    PeerTrie<Prefix> trie;
    for (const NumberedRule& r : rules_) {
      const Rule& rule = *r.rule;
      const uint32_t tenant = TenantId(r.policy->tenant);
      if (rule.AnyPeer()) trie.Add(tenant, Prefix{}, r.index);
      for (const Prefix& cidr : Family<Prefix>::PeerCidrs(rule)) trie.Add(tenant, cidr, r.index);
      for (const std::string& group : rule.peer_groups) {
        for (const Endpoint* ep : Members(r.policy->tenant, group)) {
          if (const std::optional<Prefix> host = Family<Prefix>::Host(*ep)) {
            trie.Add(tenant, *host, r.index);
          }
        }
      }
    }
    return trie.Table(slot_);
  }

  // (direction, local endpoint) -> rules of the policies applied to it.
  using AppliedRules = std::map<std::pair<__u32, const Endpoint*>, RuleSet>;

  AppliedRules Applied() const {
    AppliedRules applied;
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
    return applied;
  }

  // One family's applied table: the endpoints with an address of the
  // family, with the same bits in both families' tables.
  template <typename Prefix>
  MapTable AppliedTable(const AppliedRules& applied) const {
    MapTable table{Family<Prefix>::kAppliedMap, {}};
    for (const auto& [entry, rules] : applied) {
      const auto [direction, ep] = entry;
      const std::optional<Prefix> host = Family<Prefix>::Host(*ep);
      if (!host) continue;
      weft_rule_bits bits{};
      SetBits(bits, rules);
      if (Empty(bits)) continue;
      table.Put(
          Family<Prefix>::AppliedKey(slot_, direction, TenantId(endpoint_tenant_.at(ep)), *host),
          bits);
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
