// The text form of each enumeration of the model (state.h): one table per
// enum, in the enum's order. The YAML reader reads by them, and every error
// about a value outside an enum names the choices from them, so the names
// and the messages cannot drift apart.
#ifndef WEFT_COMMON_MODEL_ENUM_NAMES_H_
#define WEFT_COMMON_MODEL_ENUM_NAMES_H_

#include <cstddef>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/model/state.h"

namespace weft {

inline constexpr std::pair<const char*, FirewallAction> kFirewallActionNames[] = {
    {"allow", FirewallAction::kAllow}, {"deny", FirewallAction::kDeny}};
inline constexpr std::pair<const char*, NodeRole> kNodeRoleNames[] = {
    {"hypervisor", NodeRole::kHypervisor}, {"edge", NodeRole::kEdge}};
inline constexpr std::pair<const char*, RuleDirection> kRuleDirectionNames[] = {
    {"ingress", RuleDirection::kIngress}, {"egress", RuleDirection::kEgress}};
inline constexpr std::pair<const char*, RuleProtocol> kRuleProtocolNames[] = {
    {"any", RuleProtocol::kAny},
    {"tcp", RuleProtocol::kTcp},
    {"udp", RuleProtocol::kUdp},
    {"icmp", RuleProtocol::kIcmp}};
inline constexpr std::pair<const char*, RuleAction> kRuleActionNames[] = {
    {"allow", RuleAction::kAllow}, {"deny", RuleAction::kDeny}, {"reject", RuleAction::kReject}};

// Whether `value` is in the table: a value cast from a number may not be.
template <typename E, size_t N>
constexpr bool IsNamed(const std::pair<const char*, E> (&names)[N], E value) {
  for (const auto& entry : names) {
    if (entry.second == value) return true;
  }
  return false;
}

// The names of a table as a choice: "allow, deny or reject".
template <typename E, size_t N>
std::string ChoiceList(const std::pair<const char*, E> (&names)[N]) {
  std::string choices;
  for (size_t i = 0; i < N; ++i) {
    absl::StrAppend(&choices, i == 0 ? "" : i + 1 == N ? " or " : ", ", names[i].first);
  }
  return choices;
}

}  // namespace weft

#endif  // WEFT_COMMON_MODEL_ENUM_NAMES_H_
