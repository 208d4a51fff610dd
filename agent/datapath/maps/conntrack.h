// weft_ct and weft_ct_pending (one entry per flow, both directions; confirmed
// flows and those seen one way only), their IPv6 twins weft_ct6 and
// weft_ct6_pend, and weft_ct_stats (what conntrack did besides passing
// packets, both families).
#ifndef WEFT_AGENT_DATAPATH_MAPS_CONNTRACK_H_
#define WEFT_AGENT_DATAPATH_MAPS_CONNTRACK_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps/entries.h"
#include "common/model/state.h"
#include "weft/abi.h"

namespace weft {

using ConntrackEntry = Entry<weft_ct_key, weft_ct_entry>;
using Conntrack6Entry = Entry<weft_ct6_key, weft_ct_entry>;

// Both tables of a family: the confirmed flows, then the pending ones.
absl::StatusOr<std::vector<ConntrackEntry>> ReadConntrack(const Datapath& dp);
absl::StatusOr<std::vector<Conntrack6Entry>> ReadConntrack6(const Datapath& dp);

// A flow as its initiator sent it (the key holds it normalised: lower
// address and port first); ports in host order, IPv4 addresses too.
template <typename Address>
struct BasicConntrackFlow {
  Address src{};
  Address dst{};
  uint16_t sport = 0;
  uint16_t dport = 0;
};
using ConntrackFlow = BasicConntrackFlow<uint32_t>;
using Conntrack6Flow = BasicConntrackFlow<Ipv6Address>;
ConntrackFlow FlowOf(const ConntrackEntry& entry);
Conntrack6Flow FlowOf(const Conntrack6Entry& entry);

// "established", ... (enum weft_ct_state); the number when unknown.
std::string CtStateName(unsigned state);

using CtStats = std::array<uint64_t, WEFT_CT_STAT_COUNT>;
// weft_ct_stats summed over CPUs, indexed by enum weft_ct_stat.
absl::StatusOr<CtStats> ReadCtStats(const Datapath& dp);
// Metric label of an enum weft_ct_stat ("created", "picked_up", ...).
std::string_view CtStatLabel(int stat);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_MAPS_CONNTRACK_H_
