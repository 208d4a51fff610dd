#include "agent/run.h"

#include <fstream>
#include <memory>

#include "agent/agent.h"
#include "agent/router_adverts.h"
#include "agent/services.h"
#include "common/base/log.h"
#include "common/base/status.h"

namespace weft {
namespace {

// Reconciles every --resync_seconds (SIGHUP: re-reads the state file) and
// advertises the gateways every --router_advert_seconds until SIGTERM or
// SIGINT; says ready (ready file, health) once the agent is.
void ReconcileUntilStopped(const AgentProcessOptions& options, Agent& agent,
                           const AgentServices& services, RouterAdverts& adverts,
                           HealthServer* health, const sigset_t& signals) {
  bool ready_announced = false;
  const timespec period = absl::ToTimespec(options.resync);
  for (;;) {
    if (!ready_announced && agent.Ready()) {
      if (!options.ready_file.empty()) std::ofstream(options.ready_file) << "ready\n";
      if (health) health->SetServing(true);
      ready_announced = true;
    }
    const int sig = sigtimedwait(&signals, nullptr, &period);
    if (sig == SIGTERM || sig == SIGINT) return;
    if (sig == SIGHUP && services.from_controller()) {
      WEFT_LOG_INFO("SIGHUP ignored: the state comes from the controller");
      continue;
    }
    const absl::Status status = sig == SIGHUP ? agent.ReloadState() : agent.Reconcile();
    if (!status.ok()) WEFT_LOG_ERROR("%s; keeping the last good state", status.ToString());
    agent.ReconcileBgp();
    if (agent.Ready()) adverts.Tick(agent.datapath(), absl::Now());
  }
}

absl::Status Leave(const AgentProcessOptions& options, Agent& agent) {
  if (!options.detach_on_exit) {
    WEFT_LOG_INFO(
        "leaving the programs attached and the maps pinned in %s "
        "(--detach_on_exit=false); bye",
        agent.PinDir());
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(agent.Shutdown());
  WEFT_LOG_INFO("detached and unpinned; bye");
  return absl::OkStatus();
}

}  // namespace

absl::Status RunAgent(const AgentProcessOptions& options, const sigset_t& signals) {
  // Probes see NOT_SERVING from here until the agent is ready.
  ASSIGN_OR_RETURN(std::unique_ptr<HealthServer> health,
                   StartHealth(options.serving.health_listen));
  ASSIGN_OR_RETURN(std::unique_ptr<Agent> agent, Agent::Start(options.agent));
  RouterAdverts adverts(options.router_adverts);
  ASSIGN_OR_RETURN(std::unique_ptr<AgentServices> services,
                   AgentServices::Start(options, *agent, adverts));
  ReconcileUntilStopped(options, *agent, *services, adverts, health.get(), signals);
  if (health) health->Shutdown();
  agent->learned().SetSink(nullptr);  // the sync client goes with the services
  services->Stop();
  return Leave(options, *agent);
}

}  // namespace weft
