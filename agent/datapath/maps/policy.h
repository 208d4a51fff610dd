// The firewall's maps as the API shows them: the rules and tenant defaults
// of a slot (the control word is Datapath::PolicyControl).
#ifndef WEFT_AGENT_DATAPATH_MAPS_POLICY_H_
#define WEFT_AGENT_DATAPATH_MAPS_POLICY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps/entries.h"
#include "weft/abi.h"

namespace weft {

using RuleEntry = Entry<weft_rule_key, weft_rule>;
using TenantPolicyEntry = Entry<weft_tenant_key, weft_tenant_policy>;

// weft_pol_rules / weft_pol_tenant entries of `slot`.
absl::StatusOr<std::vector<RuleEntry>> ReadPolicyRules(const Datapath& dp, uint32_t slot);
absl::StatusOr<std::vector<TenantPolicyEntry>> ReadTenantDefaults(const Datapath& dp,
                                                                  uint32_t slot);
// The rule at bit `index` of `slot`; NotFound when the map has none.
absl::StatusOr<weft_rule> LookupPolicyRule(const Datapath& dp, uint32_t slot, uint32_t index);

// "allow", "deny", "reject" (enum weft_rule_action); the number when
// unknown.
std::string ActionName(unsigned action);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_MAPS_POLICY_H_
