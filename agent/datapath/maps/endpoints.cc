#include "agent/datapath/maps/endpoints.h"

namespace weft {

absl::StatusOr<std::vector<EndpointEntry>> ReadEndpointsByIp(const Datapath& dp) {
  return ReadEntries<weft_ip_key, weft_endpoint>(dp, Map::kEpByIp);
}

absl::StatusOr<std::vector<Endpoint6Entry>> ReadEndpointsByIp6(const Datapath& dp) {
  return ReadEntries<weft_ip6_key, weft_endpoint>(dp, Map::kEpByIp6);
}

}  // namespace weft
