// What an edge's BGP speaker must hold, computed from the state alone: one
// session per uplink of this node, each in its tenant's VRF, announcing
// Announcements(state, tenant) with the uplink's own transit address as the
// next hop (docs/NORTH_SOUTH.md#announcing).
#ifndef WEFT_AGENT_EDGE_BGP_PLAN_H_
#define WEFT_AGENT_EDGE_BGP_PLAN_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "agent/bgp/gobgp_client.h"
#include "common/model/state.h"

namespace weft::edge {

// One uplink's session and what it announces.
struct UplinkSession {
  std::string uplink;                // its name, for messages
  bgp::UplinkPeer peer;              // vrf = the tenant's name, vrf_number = its id
  uint32_t next_hop = 0;             // the uplink's address in its transit
  std::vector<Ipv4Prefix> prefixes;  // sorted by (addr, length), distinct
};

struct EdgeBgpPlan {
  uint32_t router_id = 0;  // the node's underlay address (its VTEP)
  // The speaker's own AS, which gobgpd needs to start and which names the
  // VRFs' route distinguishers: the first uplink's local_as. Each session
  // speaks its own uplink's local_as (UplinkPeer::local_asn), so the uplinks
  // of one edge may use different ones.
  uint32_t asn = 0;
  std::map<std::string, UplinkSession> by_tenant;  // at most one uplink per tenant on an edge
};

// The plan for `node`: empty (no sessions) when it is not an edge or carries
// no uplinks. `state` passed ValidateState.
EdgeBgpPlan PlanEdgeBgp(const State& state, absl::string_view node);

// Whether two sessions need the peer to be set up again (anything but the
// announced prefixes differs).
bool SameSession(const UplinkSession& a, const UplinkSession& b);

// Orders prefixes for the announced-set diffs.
bool PrefixLess(const Ipv4Prefix& a, const Ipv4Prefix& b);

}  // namespace weft::edge

#endif  // WEFT_AGENT_EDGE_BGP_PLAN_H_
