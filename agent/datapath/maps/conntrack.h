// weft_ct and weft_ct_pending (one entry per flow, both directions; confirmed
// flows and those seen one way only) and weft_ct_stats (what conntrack did
// besides passing packets).
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
#include "weft/abi.h"

namespace weft {

using ConntrackEntry = Entry<weft_ct_key, weft_ct_entry>;

// Both tables: the confirmed flows, then the pending ones.
absl::StatusOr<std::vector<ConntrackEntry>> ReadConntrack(const Datapath& dp);

// A flow as its initiator sent it (the key holds it normalised: lower
// address and port first); addresses and ports in host order.
struct ConntrackFlow {
  uint32_t src = 0;
  uint32_t dst = 0;
  uint16_t sport = 0;
  uint16_t dport = 0;
};
ConntrackFlow FlowOf(const ConntrackEntry& entry);

// "established", ... (enum weft_ct_state); the number when unknown.
std::string CtStateName(unsigned state);

using CtStats = std::array<uint64_t, WEFT_CT_STAT_COUNT>;
// weft_ct_stats summed over CPUs, indexed by enum weft_ct_stat.
absl::StatusOr<CtStats> ReadCtStats(const Datapath& dp);
// Metric label of an enum weft_ct_stat ("created", "picked_up", ...).
std::string_view CtStatLabel(int stat);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_MAPS_CONNTRACK_H_
