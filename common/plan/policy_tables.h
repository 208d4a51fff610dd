// The firewall maps of one node for one slot, computed from the desired
// state (docs/ARCHITECTURE.md §4, bpf/include/weft/abi.h "Distributed firewall").
// Pure: no BPF calls, so it is unit-tested without root; Datapath::
// ApplyPolicy writes the result into the inactive slot and flips.
//
// Classification of a new flow in the datapath is the AND of three bit
// vectors, one bit per rule:
//   weft_pol_applied {slot, dir, tenant, ip}   rules of the policies applied
//                                              to the local endpoint, in that
//                                              direction;
//   weft_pol_peer    LPM {slot, tenant, addr}  rules whose peer contains the
//                                              remote address;
//   weft_pol_l4      LPM {slot, proto, port}   rules whose protocol / port /
//                                              ICMP type cover the flow;
// and the lowest set bit of the result is the rule that decides
// (weft_pol_rules {slot, index}); none set: the tenant's default
// (weft_pol_tenant {slot, tenant}). An IPv6 flow reads weft_pol_appl6 and
// weft_pol_peer6 instead of the first two: the same tables for the IPv6
// addresses of endpoints and peers, with the same bit numbering (a rule's
// bit is the same in both families).
//
// Bit numbering. The rules of the node's tenants (tenants with an endpoint
// on the node) are numbered 0.. in one list: policies sorted by (priority,
// name), lower priority first, each policy's rules in file order. Within a
// tenant that is exactly the evaluation order; across tenants the order is
// immaterial (a tenant's vectors only ever hold its own rules). Bit i is
// words[i / 64] & (1 << (i % 64)), words in host order.
//
// Union trick. An LPM lookup returns one entry, the longest prefix that
// contains the key. So every entry holds the OR of the rules of every
// entry that covers it (shorter or equal prefix containing it): then the
// longest match holds exactly the rules whose peer (or port set) contains
// the looked-up address (or port). A rule with any peer (no peers at all,
// Rule::AnyPeer) is the tenant's /0 in both families; a rule whose peers
// are of one family only is in no entry of the other; a rule with any
// protocol the prefixlen-32 entry; a protocol without ports the prefixlen-40
// entry.
#ifndef WEFT_COMMON_PLAN_POLICY_TABLES_H_
#define WEFT_COMMON_PLAN_POLICY_TABLES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/state.h"
#include "common/plan/tables.h"

namespace weft {

// The policy maps BuildPolicyTables returns a table of each of.
inline constexpr size_t kPolicyTableCount = 7;

// The seven policy maps, in this order:
//   weft_pol_tenant, weft_pol_rules, weft_pol_l4, weft_pol_peer,
//   weft_pol_applied, weft_pol_peer6, weft_pol_appl6.
// Writes go into the inactive slot, which no packet reads, so their order
// does not matter; the order is chosen for the removal of the old slot
// after the flip, which runs in reverse (as NodeTables' removals do): a
// packet that read the old slot just before the flip may still be looking
// it up. Vectors go first (such a packet then matches no rule and gets its
// tenant's default), the rules they point at after them (a bit never names
// a missing rule), the tenant defaults last (so that packet never falls to
// "absent: allow" in a deny tenant).
//
// Every key carries `slot` (0 or 1). `state` must be valid
// (ValidateState). Fails when `node` is not in the state or is foreign,
// and with ResourceExhausted when the node's rules exceed WEFT_MAX_RULES or
// a map would hold more than half its capacity (both slots live side by
// side while a new rule set is staged).
absl::StatusOr<std::vector<MapTable>> BuildPolicyTables(const State& state, const std::string& node,
                                                        uint32_t slot);

// The rules BuildPolicyTables numbers for `node`, in bit order: the bit
// (index in the datapath's vectors, weft_ct_entry.rule_index) of each rule
// and the policy and rule it came from. Pointers into `state`.
struct NumberedPolicyRule {
  uint32_t index = 0;
  const Policy* policy = nullptr;
  uint32_t rule_number = 0;  // 1-based position in policy->rules
};
absl::StatusOr<std::vector<NumberedPolicyRule>> NumberPolicyRules(const State& state,
                                                                  const std::string& node);

// One aligned block of ports: the ports whose first `bits` bits equal
// those of `port` (the rest of `port` is zero).
struct PortPrefix {
  uint16_t port = 0;
  uint8_t bits = 0;  // 0..16
  friend bool operator==(const PortPrefix&, const PortPrefix&) = default;
};

// The fewest aligned blocks that together are exactly first..last
// (first <= last <= 65535), in ascending order; at most 30.
std::vector<PortPrefix> PortRangePrefixes(uint32_t first, uint32_t last);

}  // namespace weft

#endif  // WEFT_COMMON_PLAN_POLICY_TABLES_H_
