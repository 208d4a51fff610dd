// weft_ep_by_ip: the endpoints the datapath routes to, by tenant and address.
#ifndef WEFT_AGENT_DATAPATH_MAPS_ENDPOINTS_H_
#define WEFT_AGENT_DATAPATH_MAPS_ENDPOINTS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps/entries.h"
#include "weft/abi.h"

namespace weft {

using EndpointEntry = Entry<weft_ip_key, weft_endpoint>;

absl::StatusOr<std::vector<EndpointEntry>> ReadEndpointsByIp(const Datapath& dp);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_MAPS_ENDPOINTS_H_
