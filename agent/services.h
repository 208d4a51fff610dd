// What runs beside weft-agent's Agent, each from its own threads and using
// the agent only through its methods: the grpc.health.v1 endpoint, the sync
// client (with --controller), the local API (weftctl) and /metrics.
#ifndef WEFT_AGENT_SERVICES_H_
#define WEFT_AGENT_SERVICES_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/agent.h"
#include "agent/api/server.h"
#include "agent/options.h"
#include "agent/router_adverts.h"
#include "agent/sync/client.h"
#include "common/serving/health.h"
#include "common/serving/metrics_endpoint.h"

namespace weft {

// The health endpoint at `address` (null when empty): NOT_SERVING until told
// otherwise, so it starts before the agent does.
absl::StatusOr<std::unique_ptr<HealthServer>> StartHealth(const std::string& address);

class AgentServices {
 public:
  // The sync client, the local API and /metrics around the started `agent`
  // and its router advertisements, which must outlive them. A local API that
  // cannot start is logged, not fatal: the datapath matters more than its
  // introspection.
  static absl::StatusOr<std::unique_ptr<AgentServices>> Start(const AgentProcessOptions& options,
                                                              Agent& agent,
                                                              const RouterAdverts& adverts);

  // Whether the state comes from the controller (not from a file).
  bool from_controller() const { return sync_ != nullptr; }

  // Stops /metrics, the local API, then the sync client.
  void Stop();

 private:
  AgentServices() = default;

  // Destroyed (and so stopped) in the reverse order: metrics_ first.
  std::unique_ptr<SyncClient> sync_;
  std::unique_ptr<api::ApiServer> api_;
  std::unique_ptr<MetricsEndpoint> metrics_;
};

}  // namespace weft

#endif  // WEFT_AGENT_SERVICES_H_
