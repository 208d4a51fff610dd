// weft_stats: what the programs did with every packet, by reason (abi.h's
// WEFT_REASONS), summed over CPUs.
#ifndef WEFT_AGENT_DATAPATH_MAPS_COUNTERS_H_
#define WEFT_AGENT_DATAPATH_MAPS_COUNTERS_H_

#include <array>
#include <string_view>

#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"
#include "weft/abi.h"

namespace weft {

using Counters = std::array<weft_counter, WEFT_REASON_COUNT>;

absl::StatusOr<Counters> ReadCounters(const Datapath& dp);

// Metric label of a reason ("deliver_local", "spoofed", ...); "unknown"
// out of range.
std::string_view ReasonLabel(int reason);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_MAPS_COUNTERS_H_
