// What the local API shows for numbers the maps hold: tenants, segments,
// nodes and rules named from the agent's state; interfaces from the kernel
// (the names of abi.h's values are the typed maps', agent/datapath/maps/). Shared by the
// handlers (server.cc) and the trace (trace.cc).
#ifndef WEFT_AGENT_API_NAMES_H_
#define WEFT_AGENT_API_NAMES_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "agent/agent.h"
#include "common/plan/policy_tables.h"

namespace weft::api {

std::string IfName(uint32_t ifindex);  // "" when there is none

// Names from the state: tenants by id, rules by index.
struct Names {
  std::map<uint32_t, const weft::Tenant*> tenants;
  std::map<std::string, const Segment*> segments;
  std::map<uint32_t, const Segment*> segments_by_vni;
  std::map<uint32_t, NumberedPolicyRule> rules;
  std::map<std::string, const Node*> nodes;

  explicit Names(const Agent::View& v);
  std::string TenantName(uint32_t id) const;
  uint32_t TenantId(const std::string& name) const;
  // The address of the VTEP a map's reference names (weft_endpoint.vtep_be,
  // weft_trace_result.vtep_be: on an IPv6 underlay, the last 32 bits of a
  // node's address), or the reference as IPv4 when no node has it.
  std::string VtepAddress(uint32_t ref_be) const;
  // (policy name, rule number) of a rule index, or ("", 0).
  std::pair<std::string, uint32_t> RuleName(uint32_t index) const;
};

}  // namespace weft::api

#endif  // WEFT_AGENT_API_NAMES_H_
