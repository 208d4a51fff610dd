#include "tests/bpf/firewall_maps.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <tuple>

#include "agent/datapath/maps/conntrack.h"
#include "agent/datapath/maps/entries.h"
#include "common/plan/conntrack_key.h"

namespace weft::testing {
namespace {

using Bits = weft_rule_bits;

void SetBit(Bits& b, uint32_t i) { b.words[i / 64] |= uint64_t{1} << (i % 64); }

std::string Err(const std::string& what) { return what + ": " + std::strerror(errno); }

// Deletes every key of the map for which `keep` is false.
template <typename Key, typename Keep>
std::string DeleteKeys(int fd, const char* name, Keep keep) {
  std::vector<Key> keys;
  Key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
  }
  for (const Key& k : keys)
    if (!keep(k) && bpf_map_delete_elem(fd, &k) != 0 && errno != ENOENT)
      return Err(std::string("deleting from ") + name);
  return "";
}

template <typename Key>
std::string DeleteAllKeys(int fd, const char* name) {
  return DeleteKeys<Key>(fd, name, [](const Key&) { return false; });
}

// What the applied and peer tables of the two address families differ in:
// the rule's addresses and prefixes of the family, and the keys.
template <typename Prefix>
struct Family;

template <>
struct Family<Prefix4> {
  using Addr = uint32_t;
  using AppliedKey = weft_applied_key;
  using PeerKey = weft_peer_key;
  static constexpr Map kApplied = Map::kPolApplied;
  static constexpr Map kPeer = Map::kPolPeer;
  static constexpr const char* kAppliedName = WEFT_MAP_POL_APPLIED;
  static constexpr const char* kPeerName = WEFT_MAP_POL_PEER;

  static const std::vector<Addr>& Applied(const RuleSpec& r) { return r.applied; }
  static const std::vector<Prefix4>& Peers(const RuleSpec& r) { return r.peers; }
  static bool Bit(Addr a, int i) { return (a >> (31 - i)) & 1; }
  static AppliedKey MakeAppliedKey(uint32_t slot, uint32_t dir, uint32_t tenant, Addr a) {
    return {.slot = slot, .direction = dir, .tenant_id = tenant, .ip_be = htonl(a)};
  }
  static PeerKey MakePeerKey(uint32_t slot, uint32_t tenant, const Prefix4& p) {
    return {.prefixlen = WEFT_PEER_KEY_PREFIXLEN(p.len),
            .slot_be = htonl(slot),
            .tenant_id_be = htonl(tenant),
            .addr_be = htonl(p.addr)};
  }
};

template <>
struct Family<Prefix6> {
  using Addr = Ipv6Address;
  using AppliedKey = weft_applied6_key;
  using PeerKey = weft_peer6_key;
  static constexpr Map kApplied = Map::kPolApplied6;
  static constexpr Map kPeer = Map::kPolPeer6;
  static constexpr const char* kAppliedName = WEFT_MAP_POL_APPLIED6;
  static constexpr const char* kPeerName = WEFT_MAP_POL_PEER6;

  static const std::vector<Addr>& Applied(const RuleSpec& r) { return r.applied6; }
  static const std::vector<Prefix6>& Peers(const RuleSpec& r) { return r.peers6; }
  static bool Bit(const Addr& a, int i) { return (a[i / 8] >> (7 - i % 8)) & 1; }
  static AppliedKey MakeAppliedKey(uint32_t slot, uint32_t dir, uint32_t tenant, const Addr& a) {
    AppliedKey k{.slot = slot, .direction = dir, .tenant_id = tenant, .addr = {}};
    std::copy(a.begin(), a.end(), k.addr);
    return k;
  }
  static PeerKey MakePeerKey(uint32_t slot, uint32_t tenant, const Prefix6& p) {
    PeerKey k{.prefixlen = WEFT_PEER_KEY_PREFIXLEN(p.len),
              .slot_be = htonl(slot),
              .tenant_id_be = htonl(tenant),
              .addr = {}};
    std::copy(p.addr.begin(), p.addr.end(), k.addr);
    return k;
  }
};

// No peer of either family: any peer of both.
bool AnyPeer(const RuleSpec& r) { return r.peers.empty() && r.peers6.empty(); }

template <typename Prefix>
bool Covers(const Prefix& outer, const Prefix& inner) {
  if (outer.len > inner.len) return false;
  for (int i = 0; i < outer.len; ++i)
    if (Family<Prefix>::Bit(outer.addr, i) != Family<Prefix>::Bit(inner.addr, i)) return false;
  return true;
}

// Removes the family's applied and peer entries of `slot`.
template <typename Prefix>
std::string ClearFamily(const Datapath& dp, uint32_t slot) {
  using F = Family<Prefix>;
  std::string e = DeleteKeys<typename F::AppliedKey>(
      dp.MapFd(F::kApplied), F::kAppliedName,
      [&](const typename F::AppliedKey& k) { return k.slot != slot; });
  if (!e.empty()) return e;
  return DeleteKeys<typename F::PeerKey>(
      dp.MapFd(F::kPeer), F::kPeerName,
      [&](const typename F::PeerKey& k) { return ntohl(k.slot_be) != slot; });
}

// Writes the family's applied and peer entries of `slot` for `rules`.
template <typename Prefix>
std::string WriteFamily(const Datapath& dp, uint32_t slot, const std::vector<RuleSpec>& rules) {
  using F = Family<Prefix>;
  // Applied: (direction, tenant, address) -> rules.
  std::map<std::tuple<uint32_t, uint32_t, typename F::Addr>, Bits> applied;
  // Peers per tenant: every prefix named (the tenant's /0 for a rule
  // without peers), each with the rules covering it.
  std::map<uint32_t, std::set<std::pair<typename F::Addr, uint8_t>>> prefixes;
  for (uint32_t i = 0; i < rules.size(); ++i) {
    const RuleSpec& r = rules[i];
    for (const auto& a : F::Applied(r)) SetBit(applied[{r.direction, r.tenant, a}], i);
    if (AnyPeer(r)) prefixes[r.tenant].insert({typename F::Addr{}, 0});
    for (const Prefix& p : F::Peers(r)) prefixes[r.tenant].insert({p.addr, p.len});
  }
  for (const auto& [k3, bits] : applied) {
    const auto& [direction, tenant, addr] = k3;
    const typename F::AppliedKey k = F::MakeAppliedKey(slot, direction, tenant, addr);
    if (bpf_map_update_elem(dp.MapFd(F::kApplied), &k, &bits, BPF_ANY) != 0)
      return Err(F::kAppliedName);
  }
  for (const auto& [tenant, set] : prefixes) {
    for (const auto& [addr, len] : set) {
      const Prefix here{addr, len};
      Bits bits{};
      for (uint32_t i = 0; i < rules.size(); ++i) {
        const RuleSpec& r = rules[i];
        if (r.tenant != tenant) continue;
        bool covered = AnyPeer(r);
        for (const Prefix& p : F::Peers(r)) covered = covered || Covers(p, here);
        if (covered) SetBit(bits, i);
      }
      const typename F::PeerKey k = F::MakePeerKey(slot, tenant, here);
      if (bpf_map_update_elem(dp.MapFd(F::kPeer), &k, &bits, BPF_ANY) != 0)
        return Err(F::kPeerName);
    }
  }
  return "";
}

// The IPv6 conntrack key as bpf/lib/conntrack.h builds it: lower (address,
// port) first; addresses in network order compare as numbers bytewise.
weft_ct6_key Ct6Key(uint32_t tenant, uint8_t protocol, const Ipv6Address& a, uint16_t port_a,
                    const Ipv6Address& b, uint16_t port_b) {
  const bool a_lo = a < b || (a == b && port_a <= port_b);
  const Ipv6Address& lo = a_lo ? a : b;
  const Ipv6Address& hi = a_lo ? b : a;
  weft_ct6_key k{};
  k.tenant_id = tenant;
  k.protocol = protocol;
  std::copy(lo.begin(), lo.end(), k.addr_lo);
  std::copy(hi.begin(), hi.end(), k.addr_hi);
  k.port_lo_be = htons(a_lo ? port_a : port_b);
  k.port_hi_be = htons(a_lo ? port_b : port_a);
  return k;
}

template <typename Key>
std::optional<weft_ct_entry> Lookup(int fd, const Key& k) {
  weft_ct_entry e{};
  if (bpf_map_lookup_elem(fd, &k, &e) != 0) return std::nullopt;
  return e;
}

}  // namespace

std::string FirewallMaps::Reset() {
  for (uint32_t slot : {0u, 1u})
    if (std::string e = ClearSlot(slot); !e.empty()) return e;
  for (const auto& [table, name] :
       {std::pair{Map::kCt, WEFT_MAP_CT}, std::pair{Map::kCtPending, WEFT_MAP_CT_PENDING}})
    if (std::string e = DeleteAllKeys<weft_ct_key>(Fd(table), name); !e.empty()) return e;
  for (const auto& [table, name] :
       {std::pair{Map::kCt6, WEFT_MAP_CT6}, std::pair{Map::kCt6Pending, WEFT_MAP_CT6_PENDING}})
    if (std::string e = DeleteAllKeys<weft_ct6_key>(Fd(table), name); !e.empty()) return e;
  DrainEvents();
  return SetCtl(0, 0);
}

std::string FirewallMaps::ClearSlot(uint32_t slot) {
  std::string e;
  e = DeleteKeys<weft_tenant_key>(Fd(Map::kPolTenant), WEFT_MAP_POL_TENANT,
                                  [&](const weft_tenant_key& k) { return k.slot != slot; });
  if (!e.empty()) return e;
  if (e = ClearFamily<Prefix4>(dp_, slot); !e.empty()) return e;
  if (e = ClearFamily<Prefix6>(dp_, slot); !e.empty()) return e;
  e = DeleteKeys<weft_l4_key>(Fd(Map::kPolL4), WEFT_MAP_POL_L4,
                              [&](const weft_l4_key& k) { return ntohl(k.slot_be) != slot; });
  if (!e.empty()) return e;
  return DeleteKeys<weft_rule_key>(Fd(Map::kPolRules), WEFT_MAP_POL_RULES,
                                   [&](const weft_rule_key& k) { return k.slot != slot; });
}

std::string FirewallMaps::WriteSlot(uint32_t slot, const PolicySpec& policy) {
  if (std::string e = ClearSlot(slot); !e.empty()) return e;
  for (const auto& [tenant, action] : policy.tenant_default) {
    weft_tenant_key k{.slot = slot, .tenant_id = tenant};
    weft_tenant_policy v{.default_action = action};
    if (bpf_map_update_elem(Fd(Map::kPolTenant), &k, &v, BPF_ANY) != 0)
      return Err("weft_pol_tenant");
  }

  // L4 keys: (protocol, port, prefixlen).
  std::set<std::tuple<uint8_t, uint16_t, uint32_t>> l4keys;
  for (const RuleSpec& r : policy.rules) {
    if (r.protocol == 0)
      l4keys.insert({0, 0, WEFT_L4_KEY_ANY_PROTOCOL});
    else if (!r.port)
      l4keys.insert({r.protocol, 0, WEFT_L4_KEY_PROTOCOL});
    else
      l4keys.insert({r.protocol, *r.port, WEFT_L4_KEY_PORT_PREFIXLEN(r.port_bits)});
  }

  for (uint32_t i = 0; i < policy.rules.size(); ++i) {
    const RuleSpec& r = policy.rules[i];
    weft_rule_key rk{.slot = slot, .index = i};
    weft_rule rv{.action = r.action, .flags = r.flags};
    if (bpf_map_update_elem(Fd(Map::kPolRules), &rk, &rv, BPF_ANY) != 0)
      return Err("weft_pol_rules");
  }
  if (std::string e = WriteFamily<Prefix4>(dp_, slot, policy.rules); !e.empty()) return e;
  if (std::string e = WriteFamily<Prefix6>(dp_, slot, policy.rules); !e.empty()) return e;
  for (const auto& [proto, port, plen] : l4keys) {
    Bits bits{};
    for (uint32_t i = 0; i < policy.rules.size(); ++i) {
      const RuleSpec& r = policy.rules[i];
      bool covered =
          r.protocol == 0 ||
          (r.protocol == proto && plen >= WEFT_L4_KEY_PROTOCOL &&
           (!r.port || (plen >= WEFT_L4_KEY_PORT_PREFIXLEN(r.port_bits) &&
                        (port >> (16 - r.port_bits)) == (*r.port >> (16 - r.port_bits)))));
      if (covered) SetBit(bits, i);
    }
    weft_l4_key k{.prefixlen = plen,
                  .slot_be = htonl(slot),
                  .protocol = proto,
                  .pad0 = 0,
                  .port_be = htons(port)};
    if (bpf_map_update_elem(Fd(Map::kPolL4), &k, &bits, BPF_ANY) != 0) return Err("weft_pol_l4");
  }
  return "";
}

std::string FirewallMaps::SetCtl(uint32_t slot, uint32_t generation) {
  uint32_t zero = 0;
  weft_policy_ctl v{.active_slot = slot, .generation = generation};
  if (bpf_map_update_elem(Fd(Map::kPolCtl), &zero, &v, BPF_ANY) != 0) return Err("weft_pol_ctl");
  return "";
}

std::optional<weft_ct_entry> FirewallMaps::Ct(uint32_t tenant, uint8_t protocol, uint32_t a,
                                              uint16_t port_a, uint32_t b, uint16_t port_b) const {
  if (auto e = CtIn(Map::kCt, tenant, protocol, a, port_a, b, port_b)) return e;
  return CtIn(Map::kCtPending, tenant, protocol, a, port_a, b, port_b);
}

std::optional<weft_ct_entry> FirewallMaps::CtIn(Map table, uint32_t tenant, uint8_t protocol,
                                                uint32_t a, uint16_t port_a, uint32_t b,
                                                uint16_t port_b) const {
  return Lookup(Fd(table), ConntrackKey(tenant, protocol, a, port_a, b, port_b));
}

std::optional<weft_ct_entry> FirewallMaps::Ct6(uint32_t tenant, uint8_t protocol,
                                               const Ipv6Address& a, uint16_t port_a,
                                               const Ipv6Address& b, uint16_t port_b) const {
  if (auto e = Ct6In(Map::kCt6, tenant, protocol, a, port_a, b, port_b)) return e;
  return Ct6In(Map::kCt6Pending, tenant, protocol, a, port_a, b, port_b);
}

std::optional<weft_ct_entry> FirewallMaps::Ct6In(Map table, uint32_t tenant, uint8_t protocol,
                                                 const Ipv6Address& a, uint16_t port_a,
                                                 const Ipv6Address& b, uint16_t port_b) const {
  return Lookup(Fd(table), Ct6Key(tenant, protocol, a, port_a, b, port_b));
}

size_t FirewallMaps::CtCount() const {
  return CtCountIn(Map::kCt) + CtCountIn(Map::kCtPending) + CtCountIn(Map::kCt6) +
         CtCountIn(Map::kCt6Pending);
}

size_t FirewallMaps::CtCountIn(Map table) const { return CountEntries(dp_, table).value_or(0); }

std::array<uint64_t, WEFT_CT_STAT_COUNT> FirewallMaps::Stats() const {
  return ReadCtStats(dp_).value_or(CtStats{});
}

std::vector<weft_event6> FirewallMaps::DrainEvents() const {
  std::vector<weft_event6> out;
  auto cb = [](void* ctx, void* data, size_t size) -> int {
    if (size >= sizeof(weft_event)) {
      weft_event6 ev{};
      std::memcpy(&ev, data, std::min(size, sizeof ev));
      static_cast<std::vector<weft_event6>*>(ctx)->push_back(ev);
    }
    return 0;
  };
  ring_buffer* rb = ring_buffer__new(Fd(Map::kEvents), cb, &out, nullptr);
  if (rb == nullptr) return out;
  ring_buffer__consume(rb);
  ring_buffer__free(rb);
  return out;
}

}  // namespace weft::testing
