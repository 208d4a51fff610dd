#include "agent/services.h"

#include "absl/strings/str_join.h"
#include "agent/edge/bgp_metrics.h"
#include "agent/metrics/agent_metrics.h"
#include "common/base/log.h"
#include "common/base/status.h"

namespace weft {
namespace {

std::unique_ptr<SyncClient> StartSyncClient(const AgentProcessOptions& options, Agent& agent) {
  SyncClientOptions sync_options{.controllers = options.controllers,
                                 .credentials = options.credentials,
                                 .tls_server_name = options.tls_server_name,
                                 .node = options.agent.node,
                                 .vteps = InterfaceAddresses(options.agent.underlay),
                                 .applied_version = agent.AppliedVersion(),
                                 .stall_timeout = options.sync_stall_timeout};
  auto sync = std::make_unique<SyncClient>(std::move(sync_options), [&agent](State state) {
    return agent.ApplyState(std::move(state));
  });
  agent.learned().SetSink(
      [sync = sync.get()](LearnedSnapshot snapshot) { sync->SetLearned(std::move(snapshot)); });
  sync->Start();
  return sync;
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetrics(const AgentProcessOptions& options,
                                                              const Agent& agent,
                                                              const SyncClient* sync,
                                                              const RouterAdverts& adverts) {
  AgentMetricsSource source{
      .node = options.agent.node,
      .mode = options.controllers.empty() ? "file" : "controller",
      .underlay_hook = options.agent.underlay_hook == Hook::kXdp ? "xdp" : "tc",
      .datapath = &agent.datapath(),
      .sync = sync};
  return MetricsEndpoint::Start(options.serving.metrics_listen, [&agent, &adverts,
                                                                 source]() mutable {
    source.ready = agent.Ready();
    source.router_adverts = adverts.Counts();
    std::vector<prometheus::MetricFamily> families = CollectAgentMetrics(source);
    for (prometheus::MetricFamily& family : edge::CollectBgpMetrics(agent.bgp(), agent.learned())) {
      families.push_back(std::move(family));
    }
    return families;
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<HealthServer>> StartHealth(const std::string& address) {
  if (address.empty()) return nullptr;
  return HealthServer::Start(address);
}

absl::StatusOr<std::unique_ptr<AgentServices>> AgentServices::Start(
    const AgentProcessOptions& options, Agent& agent, const RouterAdverts& adverts) {
  std::unique_ptr<AgentServices> services(new AgentServices());
  if (!options.controllers.empty()) services->sync_ = StartSyncClient(options, agent);
  if (!options.api_socket.empty()) {
    absl::StatusOr<std::unique_ptr<api::ApiServer>> api =
        api::ApiServer::Start({.socket_path = options.api_socket,
                               .agent = &agent,
                               .controller = absl::StrJoin(options.controllers, ","),
                               .sync = services->sync_.get()});
    if (api.ok()) {
      services->api_ = *std::move(api);
    } else {
      WEFT_LOG_ERROR("local API not started: %s", api.status().ToString());
    }
  }
  if (!options.serving.metrics_listen.empty()) {
    ASSIGN_OR_RETURN(services->metrics_,
                     StartMetrics(options, agent, services->sync_.get(), adverts));
  }
  return services;
}

void AgentServices::Stop() {
  if (metrics_) metrics_->Stop();
  if (api_) api_->Stop();
  if (sync_) sync_->Stop();
}

}  // namespace weft
