// The address of a gobgpd the agent drives but does not start (--gobgpd_api,
// a sidecar): gobgpd's API is plaintext and unauthenticated, and whoever
// reaches it decides what the edge announces upstream, so only a loopback
// listener is accepted.
#ifndef WEFT_AGENT_BGP_EXTERNAL_API_H_
#define WEFT_AGENT_BGP_EXTERNAL_API_H_

#include <string>

#include "absl/status/status.h"

namespace weft::bgp {

// OK for "host:port" with a loopback host (127.0.0.0/8, [::1] or localhost)
// and a port 1..65535; otherwise InvalidArgument naming --gobgpd_api.
absl::Status CheckExternalApi(const std::string& address);

}  // namespace weft::bgp

#endif  // WEFT_AGENT_BGP_EXTERNAL_API_H_
