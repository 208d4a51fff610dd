// weft-agent: one per hypervisor. See docs/OPERATIONS.md.
#include <malloc.h>
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <atomic>
#include <fstream>
#include <mutex>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "agent/agent.h"
#include "agent/api/server.h"
#include "common/serving/health.h"
#include "common/base/log.h"
#include "agent/metrics/agent_metrics.h"
#include "common/serving/metrics_endpoint.h"
#include "agent/sync/client.h"
#include "common/wire/credentials.h"

ABSL_FLAG(std::string, state, "", "YAML desired-state file (standalone mode)");
ABSL_FLAG(std::string, node, "", "this hypervisor's node name in the state");
ABSL_FLAG(std::string, underlay, "", "underlay interface carrying VXLAN");
ABSL_FLAG(std::string, underlay_hook, "tc",
          "where to decapsulate on the underlay: tc (TC ingress) or xdp");
ABSL_FLAG(std::string, bpffs, "/sys/fs/bpf", "bpffs mount; maps pin under <bpffs>/weft/<node>");
ABSL_FLAG(std::string, ready_file, "", "written once programs are attached and state applied");
ABSL_FLAG(int, resync_seconds, 1,
          "how often interfaces are re-resolved and the VM programs' attachment checked");
ABSL_FLAG(int, full_resync_seconds, 60,
          "how often every map is rebuilt and compared even when nothing changed");
ABSL_FLAG(int, ct_tcp_syn_seconds, 30, "conntrack timeout of a TCP flow in its handshake");
ABSL_FLAG(int, ct_tcp_established_seconds, 3600, "conntrack timeout of an established TCP flow");
ABSL_FLAG(int, ct_tcp_closing_seconds, 30, "conntrack timeout of a TCP flow after FIN or RST");
ABSL_FLAG(int, ct_udp_seconds, 60, "conntrack timeout of a UDP flow");
ABSL_FLAG(int, ct_icmp_seconds, 30, "conntrack timeout of an ICMP echo flow");
ABSL_FLAG(std::string, controller, "",
          "weft-controller's Sync address (host:port), instead of --state");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate for the controller (mutual TLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA that signed the controller's certificate");
ABSL_FLAG(std::string, tls_server_name, "",
          "name to check the controller's certificate against (default: the host of --controller)");
ABSL_FLAG(bool, insecure, false, "plaintext to the controller, no authentication (tests only)");
ABSL_FLAG(int, sync_stall_seconds, 10,
          "drop a controller stream that leaves an update half received this long");
ABSL_FLAG(std::string, api_socket, "",
          "unix socket of the local API (weftctl), mode 0600; default /run/weft/<node>.sock; "
          "\"none\": no API");
ABSL_FLAG(std::string, metrics_listen, "",
          "address of the Prometheus /metrics endpoint (plain HTTP), e.g. 127.0.0.1:9464; "
          "none when empty");
ABSL_FLAG(std::string, health_listen, "",
          "address of the grpc.health.v1 endpoint (plaintext), e.g. 0.0.0.0:9465: SERVING "
          "once programs are attached and the first state applied; none when empty");
ABSL_FLAG(bool, detach_on_exit, true,
          "on SIGTERM/SIGINT detach the programs and remove the pins; false leaves them "
          "attached and pinned, forwarding with the last state, for the next agent to adopt "
          "(upgrades and restarts without loss)");

namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "weft-agent: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // A state from the controller is received, converted and applied on the
  // sync client's thread, so its temporaries live in that thread's malloc
  // arena. malloc_trim returns the free chunks of every arena but shrinks
  // only the main arena's top; free() shrinks another arena's top only past
  // M_TRIM_THRESHOLD, which glibc raises to twice the largest mmapped block
  // freed (up to 64 MiB): at 100,000 endpoints ~10 MiB of a new state's
  // freed temporaries stayed resident there. A fixed threshold (glibc's
  // default value) keeps it low; it also stops glibc raising the mmap
  // threshold, so blocks from 128 KiB are mmapped, and unmapped when freed.
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
  absl::SetProgramUsageMessage(
      "weft-agent (--state FILE | --controller ADDR (--tls_cert F --tls_key F --tls_ca F | "
      "--insecure)) --node NAME --underlay IFACE [--underlay_hook tc|xdp]");
  absl::ParseCommandLine(argc, argv);

  weft::AgentOptions options;
  options.state_path = absl::GetFlag(FLAGS_state);
  options.node = absl::GetFlag(FLAGS_node);
  options.underlay = absl::GetFlag(FLAGS_underlay);
  options.bpffs = absl::GetFlag(FLAGS_bpffs);
  options.full_resync = absl::Seconds(absl::GetFlag(FLAGS_full_resync_seconds));
  options.ct_timeouts = {
      .tcp_syn = static_cast<__u32>(absl::GetFlag(FLAGS_ct_tcp_syn_seconds)),
      .tcp_established = static_cast<__u32>(absl::GetFlag(FLAGS_ct_tcp_established_seconds)),
      .tcp_closing = static_cast<__u32>(absl::GetFlag(FLAGS_ct_tcp_closing_seconds)),
      .udp = static_cast<__u32>(absl::GetFlag(FLAGS_ct_udp_seconds)),
      .icmp = static_cast<__u32>(absl::GetFlag(FLAGS_ct_icmp_seconds))};
  for (int seconds : {absl::GetFlag(FLAGS_ct_tcp_syn_seconds),
                      absl::GetFlag(FLAGS_ct_tcp_established_seconds),
                      absl::GetFlag(FLAGS_ct_tcp_closing_seconds),
                      absl::GetFlag(FLAGS_ct_udp_seconds), absl::GetFlag(FLAGS_ct_icmp_seconds)}) {
    if (seconds <= 0) {
      return Fail(absl::InvalidArgumentError("--ct_*_seconds must be positive"));
    }
  }
  const std::string hook = absl::GetFlag(FLAGS_underlay_hook);
  const std::string controller = absl::GetFlag(FLAGS_controller);
  if (options.state_path.empty() == controller.empty() || options.node.empty() ||
      options.underlay.empty()) {
    return Fail(absl::InvalidArgumentError(
        "one of --state or --controller, and --node and --underlay are required"));
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (!controller.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
        weft::ClientCredentials({.cert = absl::GetFlag(FLAGS_tls_cert),
                                 .key = absl::GetFlag(FLAGS_tls_key),
                                 .ca = absl::GetFlag(FLAGS_tls_ca),
                                 .insecure = absl::GetFlag(FLAGS_insecure)});
    if (!creds.ok()) return Fail(creds.status());
    credentials = *std::move(creds);
  }
  if (hook != "tc" && hook != "xdp") {
    return Fail(absl::InvalidArgumentError("--underlay_hook must be tc or xdp, not " + hook));
  }
  options.underlay_hook = hook == "xdp" ? weft::Hook::kXdp : weft::Hook::kTc;

  // Signals are taken synchronously in the loop below, never mid-write.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  sigprocmask(SIG_BLOCK, &signals, nullptr);

  // Probes see NOT_SERVING from here until the first state is applied.
  std::unique_ptr<weft::HealthServer> health;
  if (const std::string a = absl::GetFlag(FLAGS_health_listen); !a.empty()) {
    absl::StatusOr<std::unique_ptr<weft::HealthServer>> h = weft::HealthServer::Start(a);
    if (!h.ok()) return Fail(h.status());
    health = *std::move(h);
  }

  absl::StatusOr<std::unique_ptr<weft::Agent>> agent = weft::Agent::Start(options);
  if (!agent.ok()) return Fail(agent.status());

  // With --controller the sync client's thread applies states; the agent is
  // used under agent_mu from both threads. Ready once the first is applied.
  std::mutex agent_mu;
  std::atomic<bool> applied{controller.empty()};
  std::unique_ptr<weft::SyncClient> sync;
  if (!controller.empty()) {
    weft::SyncClientOptions sync_options{
        .controller = controller,
        .credentials = credentials,
        .tls_server_name = absl::GetFlag(FLAGS_tls_server_name),
        .node = options.node,
        .vteps = weft::InterfaceIpv4Addresses(options.underlay),
        .applied_version = (*agent)->AppliedVersion(),
        .stall_timeout = absl::Seconds(absl::GetFlag(FLAGS_sync_stall_seconds))};
    sync = std::make_unique<weft::SyncClient>(
        std::move(sync_options), [&](weft::State state) {
          std::lock_guard<std::mutex> lock(agent_mu);
          absl::Status s = (*agent)->ApplyState(std::move(state));
          if (s.ok()) applied = true;
          return s;
        });
    sync->Start();
  }

  // The local API (weftctl): its own threads; the agent under agent_mu.
  std::unique_ptr<weft::api::ApiServer> api;
  if (std::string path = absl::GetFlag(FLAGS_api_socket); path != "none") {
    if (path.empty()) path = "/run/weft/" + options.node + ".sock";
    absl::StatusOr<std::unique_ptr<weft::api::ApiServer>> a = weft::api::ApiServer::Start(
        {.socket_path = path, .agent = agent->get(), .agent_mu = &agent_mu,
         .controller = controller, .sync = sync.get()});
    // Not fatal: the datapath matters more than its introspection.
    if (!a.ok()) WEFT_LOG_ERROR("local API not started: %s", a.status().ToString());
    if (a.ok()) api = *std::move(a);
  }

  std::unique_ptr<weft::MetricsEndpoint> metrics;
  if (const std::string a = absl::GetFlag(FLAGS_metrics_listen); !a.empty()) {
    absl::StatusOr<std::unique_ptr<weft::MetricsEndpoint>> m = weft::MetricsEndpoint::Start(
        a, [&, source = weft::AgentMetricsSource{
                   .node = options.node,
                   .mode = controller.empty() ? "file" : "controller",
                   .underlay_hook = hook,
                   .datapath = &(*agent)->datapath(),
                   .sync = sync.get()}]() mutable {
          source.ready = applied;
          return weft::CollectAgentMetrics(source);
        });
    if (!m.ok()) return Fail(m.status());
    metrics = *std::move(m);
  }

  bool ready_written = false;
  const timespec period = {absl::GetFlag(FLAGS_resync_seconds), 0};
  for (;;) {
    if (!ready_written && applied) {
      if (const std::string ready = absl::GetFlag(FLAGS_ready_file); !ready.empty()) {
        std::ofstream(ready) << "ready\n";
      }
      ready_written = true;
      if (health) health->SetServing(true);
    }
    const int sig = sigtimedwait(&signals, nullptr, &period);
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig == SIGHUP && sync) {
      WEFT_LOG_INFO("SIGHUP ignored: the state comes from the controller");
      continue;
    }
    std::lock_guard<std::mutex> lock(agent_mu);
    absl::Status status =
        sig == SIGHUP ? (*agent)->ReloadState() : (*agent)->Reconcile();
    if (!status.ok()) {
      WEFT_LOG_ERROR("%s; keeping the last good state", status.ToString());
    }
  }
  if (health) health->Shutdown();
  if (metrics) metrics->Stop();
  if (api) api->Stop();
  if (sync) sync->Stop();
  if (!absl::GetFlag(FLAGS_detach_on_exit)) {
    WEFT_LOG_INFO("leaving the programs attached and the maps pinned in %s "
                  "(--detach_on_exit=false); bye", (*agent)->PinDir());
    return 0;
  }
  if (absl::Status s = (*agent)->Shutdown(); !s.ok()) return Fail(s);
  WEFT_LOG_INFO("detached and unpinned; bye");
  return 0;
}
