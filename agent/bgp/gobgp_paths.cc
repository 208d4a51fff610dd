#include "agent/bgp/gobgp_paths.h"

#include "absl/strings/str_cat.h"
#include "attribute.pb.h"
#include "common/base/status.h"
#include "common/model/net_format.h"

namespace weft::bgp {
namespace {

constexpr uint32_t kOriginIgp = 0;
constexpr uint32_t kRouteTargetSubType = 0x02;  // RFC 4360 §4: route target

template <typename Message>
google::protobuf::Any Packed(const Message& message) {
  google::protobuf::Any any;
  any.PackFrom(message);
  return any;
}

}  // namespace

apipb::Family Ipv4UnicastFamily() {
  apipb::Family family;
  family.set_afi(apipb::Family::AFI_IP);
  family.set_safi(apipb::Family::SAFI_UNICAST);
  return family;
}

apipb::Path Ipv4UnicastPath(const Ipv4Prefix& prefix, uint32_t next_hop) {
  apipb::IPAddressPrefix nlri;
  nlri.set_prefix(FormatIpv4(prefix.addr));
  nlri.set_prefix_len(prefix.length);
  apipb::OriginAttribute origin;
  origin.set_origin(kOriginIgp);
  apipb::NextHopAttribute hop;
  hop.set_next_hop(FormatIpv4(next_hop));

  apipb::Path path;
  *path.mutable_family() = Ipv4UnicastFamily();
  *path.mutable_nlri() = Packed(nlri);
  *path.add_pattrs() = Packed(origin);
  *path.add_pattrs() = Packed(hop);
  return path;
}

absl::StatusOr<LearnedRoute> ParseIpv4UnicastPath(const apipb::Path& path) {
  apipb::IPAddressPrefix nlri;
  if (!path.nlri().UnpackTo(&nlri)) {
    return absl::InvalidArgumentError(
        absl::StrCat("path NLRI is ", path.nlri().type_url(), ", not an IPv4 prefix"));
  }
  LearnedRoute route;
  ASSIGN_OR_RETURN(route.prefix,
                   ParseIpv4Prefix(absl::StrCat(nlri.prefix(), "/", nlri.prefix_len())));
  for (const google::protobuf::Any& attribute : path.pattrs()) {
    apipb::NextHopAttribute hop;
    if (!attribute.UnpackTo(&hop)) continue;
    ASSIGN_OR_RETURN(route.next_hop, ParseIpv4(hop.next_hop()));
    return route;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("path to ", FormatIpv4Prefix(route.prefix), " has no IPv4 next hop"));
}

google::protobuf::Any RouteDistinguisher(uint32_t asn, uint32_t number) {
  apipb::RouteDistinguisherTwoOctetASN rd;
  rd.set_admin(asn);
  rd.set_assigned(number);
  return Packed(rd);
}

google::protobuf::Any RouteTarget(uint32_t asn, uint32_t number) {
  apipb::TwoOctetAsSpecificExtended rt;
  rt.set_is_transitive(true);
  rt.set_sub_type(kRouteTargetSubType);
  rt.set_asn(asn);
  rt.set_local_admin(number);
  return Packed(rt);
}

}  // namespace weft::bgp
