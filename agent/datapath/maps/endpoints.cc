#include "agent/datapath/maps/endpoints.h"

namespace weft {

absl::StatusOr<std::vector<EndpointEntry>> ReadEndpointsByIp(const Datapath& dp) {
  return ReadEntries<weft_ip_key, weft_endpoint>(dp, Map::kEpByIp);
}

}  // namespace weft
