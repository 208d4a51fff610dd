#include "agent/datapath/maps/conntrack.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"
#include "common/base/status.h"

namespace weft {
namespace {

constexpr std::string_view kCtStateNames[] = {"new",         "syn_sent", "syn_recv",
                                              "established", "fin_wait", "closing"};
static_assert(std::size(kCtStateNames) == WEFT_CT_CLOSING + 1);

constexpr std::string_view kCtStatLabels[] = {
#define WEFT_CT_STAT_LABEL_(name, label) label,
    WEFT_CT_STATS(WEFT_CT_STAT_LABEL_)
#undef WEFT_CT_STAT_LABEL_
};
static_assert(std::size(kCtStatLabels) == WEFT_CT_STAT_COUNT);

}  // namespace

absl::StatusOr<std::vector<ConntrackEntry>> ReadConntrack(const Datapath& dp) {
  ASSIGN_OR_RETURN(std::vector<ConntrackEntry> entries,
                   (ReadEntries<weft_ct_key, weft_ct_entry>(dp, Map::kCt)));
  ASSIGN_OR_RETURN(const std::vector<ConntrackEntry> pending,
                   (ReadEntries<weft_ct_key, weft_ct_entry>(dp, Map::kCtPending)));
  entries.insert(entries.end(), pending.begin(), pending.end());
  return entries;
}

ConntrackFlow FlowOf(const ConntrackEntry& entry) {
  const weft_ct_key& k = entry.key;
  const bool orig_lo = entry.value.flags & WEFT_CT_F_ORIG_IS_LO;
  return {.src = ntohl(orig_lo ? k.addr_lo_be : k.addr_hi_be),
          .dst = ntohl(orig_lo ? k.addr_hi_be : k.addr_lo_be),
          .sport = ntohs(orig_lo ? k.port_lo_be : k.port_hi_be),
          .dport = ntohs(orig_lo ? k.port_hi_be : k.port_lo_be)};
}

std::string CtStateName(unsigned state) {
  return state < std::size(kCtStateNames) ? std::string(kCtStateNames[state]) : absl::StrCat(state);
}

absl::StatusOr<CtStats> ReadCtStats(const Datapath& dp) {
  return SumPerCpuArray<uint64_t, WEFT_CT_STAT_COUNT>(
      dp, Map::kCtStats, [](uint64_t& total, uint64_t one) { total += one; });
}

std::string_view CtStatLabel(int stat) {
  if (stat < 0 || stat >= WEFT_CT_STAT_COUNT) return "unknown";
  return kCtStatLabels[stat];
}

}  // namespace weft
