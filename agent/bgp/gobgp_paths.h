// GoBGP's API carries NLRI and path attributes as google.protobuf.Any; this
// file is the one place that packs and unpacks them (IPv4 unicast only).
#ifndef WEFT_AGENT_BGP_GOBGP_PATHS_H_
#define WEFT_AGENT_BGP_GOBGP_PATHS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/model/state.h"
#include "gobgp.pb.h"

namespace weft::bgp {

// A route a peer announced to us.
struct LearnedRoute {
  Ipv4Prefix prefix;
  uint32_t next_hop = 0;  // host order
  friend bool operator==(const LearnedRoute&, const LearnedRoute&) = default;
};

apipb::Family Ipv4UnicastFamily();

// An IPv4 unicast path for `prefix` via `next_hop`, origin IGP.
apipb::Path Ipv4UnicastPath(const Ipv4Prefix& prefix, uint32_t next_hop);

// The prefix and next hop of a path GoBGP reports; an error for anything
// but an IPv4 prefix with a next hop.
absl::StatusOr<LearnedRoute> ParseIpv4UnicastPath(const apipb::Path& path);

// A two-octet-AS route distinguisher / route target "asn:number".
google::protobuf::Any RouteDistinguisher(uint32_t asn, uint32_t number);
google::protobuf::Any RouteTarget(uint32_t asn, uint32_t number);

}  // namespace weft::bgp

#endif  // WEFT_AGENT_BGP_GOBGP_PATHS_H_
