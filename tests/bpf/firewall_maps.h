// Direct access to the firewall's maps for the BPF tests: a small policy
// compiler (rules -> the slot's bit vectors, written with the abi.h structs,
// independent of the agent's compiler; both address families from one rule
// numbering), the policy control word, conntrack entries (IPv4 and IPv6)
// and counters, and the event ring buffer.
#ifndef WEFT_TESTS_BPF_FIREWALL_MAPS_H_
#define WEFT_TESTS_BPF_FIREWALL_MAPS_H_

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/datapath/datapath.h"
#include "common/model/state.h"
#include "weft/abi.h"

namespace weft::testing {

// Peer prefixes, host bits zero.
struct Prefix4 {
  uint32_t addr = 0;  // host order
  uint8_t len = 32;
};
struct Prefix6 {
  Ipv6Address addr{};
  uint8_t len = 128;
};

// One rule; its index is its position in PolicySpec::rules, the same bit in
// both families' tables. Peers: none of either family is any peer of both;
// peers of one family only match no peer of the other (as the agent
// compiles a rule whose CIDRs are all of one family).
struct RuleSpec {
  uint32_t tenant = 1;
  uint32_t direction = WEFT_DIR_EGRESS;
  std::vector<uint32_t> applied;      // local endpoint IPv4 addresses (host order)
  std::vector<Ipv6Address> applied6;  // and IPv6 ones
  std::vector<Prefix4> peers;
  std::vector<Prefix6> peers6;
  uint8_t protocol = 0;          // 0: any
  std::optional<uint16_t> port;  // TCP/UDP port, ICMP type << 8 | code; none: any
  uint8_t port_bits = 16;        // ICMP type only: 8
  uint32_t action = WEFT_ACTION_ALLOW;
  uint32_t flags = 0;  // WEFT_RULE_F_*
};

struct PolicySpec {
  std::map<uint32_t, uint32_t> tenant_default;  // tenant -> action
  std::vector<RuleSpec> rules;
};

class FirewallMaps {
 public:
  explicit FirewallMaps(const Datapath& dp) : dp_(dp) {}

  // Empties conntrack and every policy map (both families) and the ring
  // buffer; control word {slot 0, generation 0}. Returns "" or what failed.
  std::string Reset();
  // Replaces slot `slot`'s content with `policy`.
  std::string WriteSlot(uint32_t slot, const PolicySpec& policy);
  std::string ClearSlot(uint32_t slot);
  std::string SetCtl(uint32_t slot, uint32_t generation);

  // The entry of a flow (either direction's tuple), host-order addresses,
  // in either conntrack table (CtIn: in `table`, Map::kCt or kCtPending).
  std::optional<weft_ct_entry> Ct(uint32_t tenant, uint8_t protocol, uint32_t a, uint16_t port_a,
                                  uint32_t b, uint16_t port_b) const;
  std::optional<weft_ct_entry> CtIn(Map table, uint32_t tenant, uint8_t protocol, uint32_t a,
                                    uint16_t port_a, uint32_t b, uint16_t port_b) const;
  // The same for an IPv6 flow (Ct6In: Map::kCt6 or kCt6Pending).
  std::optional<weft_ct_entry> Ct6(uint32_t tenant, uint8_t protocol, const Ipv6Address& a,
                                   uint16_t port_a, const Ipv6Address& b, uint16_t port_b) const;
  std::optional<weft_ct_entry> Ct6In(Map table, uint32_t tenant, uint8_t protocol,
                                     const Ipv6Address& a, uint16_t port_a, const Ipv6Address& b,
                                     uint16_t port_b) const;
  // Entries in all four tables (both families); CtCountIn: in one.
  size_t CtCount() const;
  size_t CtCountIn(Map table) const;
  std::array<uint64_t, WEFT_CT_STAT_COUNT> Stats() const;
  // The records of weft_events: an IPv4 one fills only `ev`.
  std::vector<weft_event6> DrainEvents() const;

 private:
  int Fd(Map map) const { return dp_.MapFd(map); }
  const Datapath& dp_;
};

}  // namespace weft::testing

#endif  // WEFT_TESTS_BPF_FIREWALL_MAPS_H_
