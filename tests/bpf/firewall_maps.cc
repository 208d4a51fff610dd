#include "tests/bpf/firewall_maps.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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

bool Covers(const Prefix4& outer, const Prefix4& inner) {
  if (outer.len > inner.len) return false;
  const uint32_t mask = outer.len == 0 ? 0 : ~uint32_t{0} << (32 - outer.len);
  return (outer.addr & mask) == (inner.addr & mask);
}

}  // namespace

std::string FirewallMaps::Reset() {
  for (uint32_t slot : {0u, 1u})
    if (std::string e = ClearSlot(slot); !e.empty()) return e;
  for (const auto& [table, name] :
       {std::pair{Map::kCt, WEFT_MAP_CT}, std::pair{Map::kCtPending, WEFT_MAP_CT_PENDING}}) {
    if (std::string e =
            DeleteKeys<weft_ct_key>(Fd(table), name, [](const weft_ct_key&) { return false; });
        !e.empty())
      return e;
  }
  DrainEvents();
  return SetCtl(0, 0);
}

std::string FirewallMaps::ClearSlot(uint32_t slot) {
  std::string e;
  e = DeleteKeys<weft_tenant_key>(Fd(Map::kPolTenant), WEFT_MAP_POL_TENANT,
                                  [&](const weft_tenant_key& k) { return k.slot != slot; });
  if (!e.empty()) return e;
  e = DeleteKeys<weft_applied_key>(Fd(Map::kPolApplied), WEFT_MAP_POL_APPLIED,
                                   [&](const weft_applied_key& k) { return k.slot != slot; });
  if (!e.empty()) return e;
  e = DeleteKeys<weft_peer_key>(Fd(Map::kPolPeer), WEFT_MAP_POL_PEER,
                                [&](const weft_peer_key& k) { return ntohl(k.slot_be) != slot; });
  if (!e.empty()) return e;
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

  // Applied: (direction, tenant, ip) -> rules.
  std::map<std::tuple<uint32_t, uint32_t, uint32_t>, Bits> applied;
  // Peers per tenant: every prefix named, each with the rules covering it.
  std::map<uint32_t, std::set<std::pair<uint32_t, uint8_t>>> prefixes;
  for (const RuleSpec& r : policy.rules) {
    if (r.peers.empty()) prefixes[r.tenant].insert({0, 0});
    for (const Prefix4& p : r.peers) prefixes[r.tenant].insert({p.addr, p.len});
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
    for (uint32_t ip : r.applied) SetBit(applied[{r.direction, r.tenant, ip}], i);
    weft_rule_key rk{.slot = slot, .index = i};
    weft_rule rv{.action = r.action, .flags = r.flags};
    if (bpf_map_update_elem(Fd(Map::kPolRules), &rk, &rv, BPF_ANY) != 0)
      return Err("weft_pol_rules");
  }
  for (const auto& [k3, bits] : applied) {
    weft_applied_key k{.slot = slot,
                       .direction = std::get<0>(k3),
                       .tenant_id = std::get<1>(k3),
                       .ip_be = htonl(std::get<2>(k3))};
    if (bpf_map_update_elem(Fd(Map::kPolApplied), &k, &bits, BPF_ANY) != 0)
      return Err("weft_pol_applied");
  }
  for (const auto& [tenant, set] : prefixes) {
    for (const auto& [addr, len] : set) {
      const Prefix4 here{addr, len};
      Bits bits{};
      for (uint32_t i = 0; i < policy.rules.size(); ++i) {
        const RuleSpec& r = policy.rules[i];
        if (r.tenant != tenant) continue;
        bool covered = r.peers.empty();
        for (const Prefix4& p : r.peers) covered = covered || Covers(p, here);
        if (covered) SetBit(bits, i);
      }
      weft_peer_key k{.prefixlen = WEFT_PEER_KEY_PREFIXLEN(len),
                      .slot_be = htonl(slot),
                      .tenant_id_be = htonl(tenant),
                      .addr_be = htonl(addr)};
      if (bpf_map_update_elem(Fd(Map::kPolPeer), &k, &bits, BPF_ANY) != 0)
        return Err("weft_pol_peer");
    }
  }
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
  const weft_ct_key k = ConntrackKey(tenant, protocol, a, port_a, b, port_b);
  weft_ct_entry e{};
  if (bpf_map_lookup_elem(Fd(table), &k, &e) != 0) return std::nullopt;
  return e;
}

size_t FirewallMaps::CtCount() const { return CtCountIn(Map::kCt) + CtCountIn(Map::kCtPending); }

size_t FirewallMaps::CtCountIn(Map table) const { return CountEntries(dp_, table).value_or(0); }

std::array<uint64_t, WEFT_CT_STAT_COUNT> FirewallMaps::Stats() const {
  return ReadCtStats(dp_).value_or(CtStats{});
}

std::vector<weft_event> FirewallMaps::DrainEvents() const {
  std::vector<weft_event> out;
  auto cb = [](void* ctx, void* data, size_t size) -> int {
    if (size >= sizeof(weft_event)) {
      weft_event ev;
      std::memcpy(&ev, data, sizeof ev);
      static_cast<std::vector<weft_event>*>(ctx)->push_back(ev);
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
