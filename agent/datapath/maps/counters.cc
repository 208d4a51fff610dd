#include "agent/datapath/maps/counters.h"

#include "agent/datapath/maps/entries.h"

namespace weft {
namespace {

constexpr std::string_view kReasonLabels[] = {
#define WEFT_REASON_LABEL_(name, label) label,
    WEFT_REASONS(WEFT_REASON_LABEL_)
#undef WEFT_REASON_LABEL_
};
static_assert(std::size(kReasonLabels) == WEFT_REASON_COUNT);

}  // namespace

absl::StatusOr<Counters> ReadCounters(const Datapath& dp) {
  return SumPerCpuArray<weft_counter, WEFT_REASON_COUNT>(
      dp, Map::kStats, [](weft_counter& total, const weft_counter& one) {
        total.packets += one.packets;
        total.bytes += one.bytes;
      });
}

std::string_view ReasonLabel(int reason) {
  if (reason < 0 || reason >= WEFT_REASON_COUNT) return "unknown";
  return kReasonLabels[reason];
}

}  // namespace weft
