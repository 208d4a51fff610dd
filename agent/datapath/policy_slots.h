// The firewall's two slots (docs/ARCHITECTURE.md §4): every key of the seven
// policy maps carries a slot, weft_pol_ctl says which one packets read.
// Datapath::ApplyPolicy stages a rule set into the other slot, switches to
// it in one write and clears the old one; these are its steps.
#ifndef WEFT_AGENT_DATAPATH_POLICY_SLOTS_H_
#define WEFT_AGENT_DATAPATH_POLICY_SLOTS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps/entries.h"
#include "common/plan/policy_tables.h"
#include "common/plan/tables.h"

namespace weft {

// The seven policy tables, in BuildPolicyTables' order.
inline constexpr std::array<Map, 7> kPolicyMaps = {
    Map::kPolTenant,  Map::kPolRules, Map::kPolL4,      Map::kPolPeer,
    Map::kPolApplied, Map::kPolPeer6, Map::kPolApplied6};
static_assert(kPolicyMaps.size() == kPolicyTableCount);
// One T per policy map, in kPolicyMaps order.
template <typename T>
using PerPolicyMap = std::array<T, kPolicyMaps.size()>;
using PolicyTables = PerPolicyMap<MapTable>;
using PolicyKeys = PerPolicyMap<std::vector<std::string>>;
using PolicyEntries = PerPolicyMap<RawEntries>;

// The policy maps as they are.
struct LivePolicy {
  PolicyEntries slot[2];
  // Every key outside the active slot (the other slot and keys of neither):
  // no packet reads them.
  PolicyKeys outside_active;
};

// Identifies a rule set within this process (absl::Hash is seeded).
size_t Fingerprint(const PolicyTables& tables);
// `live` holds exactly `tables`.
bool Holds(const PolicyEntries& live, const PolicyTables& tables);
PolicyKeys KeysOf(const PolicyEntries& entries);
// `keys` without those `tables` has.
PolicyKeys KeysNotIn(const PolicyKeys& keys, const PolicyTables& tables);

class PolicySlots {
 public:
  PolicySlots(const Datapath& dp, const Datapath::PolicyTablesBuilder& build)
      : dp_(dp), build_(build) {}

  // build(slot) as one table per policy map (a map the builder left out:
  // empty), checked against the maps: entry sizes, every key in `slot`.
  absl::StatusOr<PolicyTables> Build(uint32_t slot) const;
  absl::StatusOr<LivePolicy> Read(uint32_t active_slot) const;
  // Writes `tables` into `slot`, but for the entries `live` (that slot as
  // it is) already holds.
  absl::Status Stage(uint32_t slot, const PolicyTables& tables, const PolicyEntries& live) const;
  // weft_pol_ctl[0] := ctl: slot and generation in one write.
  absl::Status Switch(const weft_policy_ctl& ctl) const;
  // Deletes keys in reverse map order; a key already gone is fine.
  absl::Status Remove(const PolicyKeys& keys) const;

 private:
  const Datapath& dp_;
  const Datapath::PolicyTablesBuilder& build_;
};

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_POLICY_SLOTS_H_
