#include "agent/datapath/maps/policy.h"

#include "absl/strings/str_cat.h"
#include "common/base/status.h"

namespace weft {
namespace {

// The entries of `map` whose key is in `slot`.
template <typename Key, typename Value>
absl::StatusOr<std::vector<Entry<Key, Value>>> ReadSlot(const Datapath& dp, Map map,
                                                        uint32_t slot) {
  ASSIGN_OR_RETURN(auto entries, (ReadEntries<Key, Value>(dp, map)));
  std::erase_if(entries, [&](const Entry<Key, Value>& e) { return e.key.slot != slot; });
  return entries;
}

}  // namespace

absl::StatusOr<std::vector<RuleEntry>> ReadPolicyRules(const Datapath& dp, uint32_t slot) {
  return ReadSlot<weft_rule_key, weft_rule>(dp, Map::kPolRules, slot);
}

absl::StatusOr<std::vector<TenantPolicyEntry>> ReadTenantDefaults(const Datapath& dp,
                                                                  uint32_t slot) {
  return ReadSlot<weft_tenant_key, weft_tenant_policy>(dp, Map::kPolTenant, slot);
}

absl::StatusOr<weft_rule> LookupPolicyRule(const Datapath& dp, uint32_t slot, uint32_t index) {
  return Lookup<weft_rule_key, weft_rule>(dp, Map::kPolRules, weft_rule_key{slot, index});
}

std::string ActionName(unsigned action) {
  switch (action) {
    case WEFT_ACTION_ALLOW:
      return "allow";
    case WEFT_ACTION_DENY:
      return "deny";
    case WEFT_ACTION_REJECT:
      return "reject";
  }
  return absl::StrCat(action);
}

}  // namespace weft
