// weft_ep_by_ip, weft_ep_by_ip6: the endpoints the datapath knows, by
// tenant and address.
#ifndef WEFT_AGENT_DATAPATH_MAPS_ENDPOINTS_H_
#define WEFT_AGENT_DATAPATH_MAPS_ENDPOINTS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps/entries.h"
#include "weft/abi.h"

namespace weft {

using EndpointEntry = Entry<weft_ip_key, weft_endpoint>;
using Endpoint6Entry = Entry<weft_ip6_key, weft_endpoint>;

absl::StatusOr<std::vector<EndpointEntry>> ReadEndpointsByIp(const Datapath& dp);
absl::StatusOr<std::vector<Endpoint6Entry>> ReadEndpointsByIp6(const Datapath& dp);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_MAPS_ENDPOINTS_H_
