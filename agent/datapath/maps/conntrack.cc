#include "agent/datapath/maps/conntrack.h"

#include <arpa/inet.h>

#include <array>

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

// A family's confirmed flows, then its pending ones.
template <typename Key>
absl::StatusOr<std::vector<Entry<Key, weft_ct_entry>>> ReadBoth(const Datapath& dp, Map confirmed,
                                                                Map pending) {
  ASSIGN_OR_RETURN(auto entries, (ReadEntries<Key, weft_ct_entry>(dp, confirmed)));
  ASSIGN_OR_RETURN(const auto more, (ReadEntries<Key, weft_ct_entry>(dp, pending)));
  entries.insert(entries.end(), more.begin(), more.end());
  return entries;
}

// The flow of `entry` whose key holds the addresses `lo` and `hi` (host
// order for IPv4): the initiator's end first.
template <typename Key, typename Address>
BasicConntrackFlow<Address> Oriented(const Entry<Key, weft_ct_entry>& entry, const Address& lo,
                                     const Address& hi) {
  const Key& k = entry.key;
  const bool orig_lo = entry.value.flags & WEFT_CT_F_ORIG_IS_LO;
  return {.src = orig_lo ? lo : hi,
          .dst = orig_lo ? hi : lo,
          .sport = ntohs(orig_lo ? k.port_lo_be : k.port_hi_be),
          .dport = ntohs(orig_lo ? k.port_hi_be : k.port_lo_be)};
}

}  // namespace

absl::StatusOr<std::vector<ConntrackEntry>> ReadConntrack(const Datapath& dp) {
  return ReadBoth<weft_ct_key>(dp, Map::kCt, Map::kCtPending);
}

absl::StatusOr<std::vector<Conntrack6Entry>> ReadConntrack6(const Datapath& dp) {
  return ReadBoth<weft_ct6_key>(dp, Map::kCt6, Map::kCt6Pending);
}

ConntrackFlow FlowOf(const ConntrackEntry& entry) {
  return Oriented(entry, ntohl(entry.key.addr_lo_be), ntohl(entry.key.addr_hi_be));
}

Conntrack6Flow FlowOf(const Conntrack6Entry& entry) {
  return Oriented(entry, std::to_array(entry.key.addr_lo), std::to_array(entry.key.addr_hi));
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
