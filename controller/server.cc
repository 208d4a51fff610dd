#include "controller/server.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/base/signals.h"
#include "common/base/status.h"
#include "common/model/state_yaml.h"
#include "common/serving/file_limit.h"
#include "common/serving/flags.h"
#include "common/serving/health.h"
#include "common/serving/metrics_endpoint.h"
#include "common/store/etcd_state_store.h"
#include "common/wire/chunk.h"
#include "common/wire/credentials.h"
#include "common/wire/keepalive.h"
#include "controller/file_events.h"
#include "common/serving/loopback.h"
#include "controller/metrics.h"
#include "controller/replica.h"
#include "controller/replica_store.h"
#include "controller/service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

ABSL_FLAG(std::string, state, "",
          "YAML desired-state file, watched for changes (or --store: replicas on etcd)");
ABSL_FLAG(std::string, listen, "", "address of the Sync service, e.g. 0.0.0.0:7000");
ABSL_FLAG(std::string, admin_listen, "",
          "address of the Admin service (same CA; callers need a spiffe://weft/admin/ "
          "certificate); none when empty");
ABSL_FLAG(bool, insecure_listen_any, false,
          "with --insecure, listen on addresses other than loopback too (anyone who reaches "
          "them can read every node's view and replace the state)");
ABSL_FLAG(int, max_learned_prefixes, 100000,
          "the most prefixes one edge may report as learned upstream (all its uplinks "
          "together); a bigger report is refused and its stream closed");
ABSL_FLAG(int, poll_ms, 1000,
          "how often the state file is checked for changes besides the wake-ups of "
          "inotify on its directory (the only check where inotify does not work)");

namespace weft {
namespace {

std::string Stamp(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "";
  return absl::StrCat(st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, "/", st.st_size, "/", st.st_ino,
                      "/", st.st_ctim.tv_sec, ".", st.st_ctim.tv_nsec);
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "weft-controller: %s\n", status.ToString().c_str());
  return 1;
}

// Plaintext has no identities: only on loopback, unless asked for by name.
absl::Status CheckPlaintextAddresses(const std::vector<std::string>& addresses) {
  if (absl::GetFlag(FLAGS_insecure_listen_any)) return absl::OkStatus();
  for (const std::string& address : addresses) {
    if (!address.empty() && !IsLoopback(address)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--insecure serves without credentials: ", address,
                       " is not a loopback address (use 127.0.0.1 or [::1], mutual TLS, or "
                       "--insecure_listen_any)"));
    }
  }
  return absl::OkStatus();
}

// Listens on `address` with `service`, or an error naming the address.
absl::StatusOr<GrpcListener> Listen(const std::string& address,
                                    const std::shared_ptr<grpc::ServerCredentials>& creds,
                                    grpc::Service* service, int max_receive_bytes) {
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(max_receive_bytes);
  GrpcListener listener;
  builder.AddListeningPort(address, creds, &listener.port);
  builder.RegisterService(service);
  // Agents ping to notice a dead controller, on an idle stream too: allow
  // it (pings more often than this would close the connection).
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kSyncMinPingIntervalMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // And pings each peer itself, to drop the stream of a node that died
  // silently; an open stream sends no data for long, so unbounded pings
  // without data.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kNodeKeepaliveTimeMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kNodeKeepaliveTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  listener.server = builder.BuildAndStart();
  if (listener.server == nullptr || listener.port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  }
  return listener;
}

// Re-reads the state file whenever it may have changed (a wake-up of
// inotify, SIGHUP, or every --poll_ms) until SIGTERM or SIGINT arrives.
// Without a watcher (replicas on etcd: the store's own thread follows it),
// only waits for the signal.
absl::Status WatchUntilSignal(const sigset_t& signals, StateFileWatcher* watcher) {
  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
  if (signal_fd < 0) return absl::InternalError(absl::StrCat("signalfd: ", std::strerror(errno)));
  absl::Cleanup close_signal_fd = [signal_fd] { close(signal_fd); };
  absl::StatusOr<FileEvents> events = watcher != nullptr
                                          ? FileEvents::Watch(watcher->path())
                                          : absl::FailedPreconditionError("no state file");
  if (watcher != nullptr && !events.ok()) {
    WEFT_LOG_WARN("%s: the state file is only checked every --poll_ms", events.status().message());
  }
  const int poll_ms = watcher == nullptr ? -1 : std::max(10, absl::GetFlag(FLAGS_poll_ms));
  for (;;) {
    pollfd fds[2] = {{.fd = signal_fd, .events = POLLIN, .revents = 0},
                     {.fd = events.ok() ? events->fd() : -1, .events = POLLIN, .revents = 0}};
    if (poll(fds, 2, poll_ms) < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo signal;
      if (read(signal_fd, &signal, sizeof(signal)) != sizeof(signal)) continue;  // EINTR
      if (signal.ssi_signo != SIGHUP) return absl::OkStatus();  // SIGTERM or SIGINT
      if (watcher != nullptr) WEFT_LOG_INFO("SIGHUP: checking the state file");
    }
    if (fds[1].revents & POLLIN) events->Drain();
    if (watcher != nullptr) watcher->Poll();
  }
}

// Where the state comes from: a file, or etcd (`store` set).
struct StateSource {
  std::string path;
  std::optional<EtcdStoreOptions> store;
};

// Loads the state (the file, or the store's), serves it until SIGTERM or
// SIGINT, then stops. `signals` are blocked.
absl::Status Serve(const sigset_t& signals, const StateSource& source, const std::string& listen,
                   const std::string& admin_listen) {
  const ServingFlags serving = ServingFlagsFromCommandLine();
  ASSIGN_OR_RETURN(const std::shared_ptr<grpc::ServerCredentials> creds,
                   ServerCredentials(serving.tls));
  if (serving.tls.insecure) RETURN_IF_ERROR(CheckPlaintextAddresses({listen, admin_listen}));
  const PeerTrust trust = serving.tls.insecure ? PeerTrust::kAnyone : PeerTrust::kCertificate;

  // Probes see NOT_SERVING until the state is loaded and Sync listens.
  std::unique_ptr<HealthServer> health;
  if (const std::string& a = serving.health_listen; !a.empty()) {
    ASSIGN_OR_RETURN(health, HealthServer::Start(a));
  }

  // Store mode: the store, this replica's controller, and the replica
  // following the store into it; "" serves once Sync listens and a valid
  // state is installed, weft.store while the store answers.
  std::unique_ptr<EtcdStateStore> store;
  std::unique_ptr<Controller> controller;
  std::unique_ptr<Replica> replica;
  std::unique_ptr<StateFileWatcher> watcher;
  std::atomic<bool> listening{false};
  if (source.store.has_value()) {
    ASSIGN_OR_RETURN(store, EtcdStateStore::Connect(*source.store));
    controller = std::make_unique<Controller>(store.get(), source.store->replica);
    if (health) health->SetServiceServing(kStoreHealthService, false);
    replica =
        std::make_unique<Replica>(controller.get(), store.get(), source.store->replica,
                                  [&health, &listening](const Replica& r) {
                                    if (!health) return;
                                    health->SetServiceServing(kStoreHealthService, r.store_up());
                                    health->SetServing(listening && r.ready());
                                  });
    RETURN_IF_ERROR(WithContext(replica->Start(), "reading the store"));
  } else {
    controller = std::make_unique<Controller>();
    watcher = std::make_unique<StateFileWatcher>(source.path, controller.get());
    RETURN_IF_ERROR(watcher->LoadInitial());
  }

  grpc::EnableDefaultHealthCheckService(true);
  LearnedLimits learned_limits;
  learned_limits.prefixes =
      static_cast<size_t>(std::max(0, absl::GetFlag(FLAGS_max_learned_prefixes)));
  SyncService sync(controller.get(), trust, kMaxChunkBytes, learned_limits);
  ASSIGN_OR_RETURN(const GrpcListener sync_server, ListenSync(listen, creds, &sync));
  AdminService admin(controller.get(), trust);
  GrpcListener admin_server;
  if (!admin_listen.empty()) {
    ASSIGN_OR_RETURN(admin_server, ListenAdmin(admin_listen, creds, &admin));
  }
  std::unique_ptr<MetricsEndpoint> metrics;
  if (const std::string& a = serving.metrics_listen; !a.empty()) {
    ASSIGN_OR_RETURN(metrics, MetricsEndpoint::Start(a, [&controller, &replica] {
                       std::vector<prometheus::MetricFamily> families =
                           CollectControllerMetrics(*controller);
                       if (replica) {
                         for (prometheus::MetricFamily& f : CollectReplicaMetrics(*replica)) {
                           families.push_back(std::move(f));
                         }
                       }
                       return families;
                     }));
  }
  listening = true;
  if (health) health->SetServing(replica == nullptr || replica->ready());
  WEFT_LOG_INFO("serving version %d of %s: Sync on %s%s%s (%s)", controller->version(),
                replica ? absl::StrCat("the store, as replica ", replica->name()) : source.path,
                listen, admin_listen.empty() ? "" : ", Admin on ", admin_listen,
                serving.tls.insecure ? "plaintext" : "mutual TLS");
  if (replica && !replica->ready()) {
    WEFT_LOG_ERROR("the store holds no valid state: not ready until a valid one is written");
  }

  RETURN_IF_ERROR(WatchUntilSignal(signals, watcher.get()));
  WEFT_LOG_INFO("shutting down");
  if (health) health->Shutdown();
  if (metrics) metrics->Stop();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  sync_server.server->Shutdown(deadline);
  if (admin_server.server) admin_server.server->Shutdown(deadline);
  // After the streams: their learned routes are removed, then the lease.
  if (replica) replica->Stop();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GrpcListener> ListenSync(const std::string& address,
                                        const std::shared_ptr<grpc::ServerCredentials>& creds,
                                        SyncService* sync) {
  return Listen(address, creds, sync, kMaxAgentMessageBytes);
}

absl::StatusOr<GrpcListener> ListenAdmin(const std::string& address,
                                         const std::shared_ptr<grpc::ServerCredentials>& creds,
                                         AdminService* admin) {
  return Listen(address, creds, admin, kMaxAdminMessageBytes);
}

absl::Status StateFileWatcher::LoadInitial() {
  stamp_ = Stamp(path_);
  ASSIGN_OR_RETURN(State state, LoadStateFile(path_));
  return WithContext(controller_->Apply(std::move(state), path_).status(), path_);
}

bool StateFileWatcher::Poll() {
  const std::string stamp = Stamp(path_);
  if (stamp == stamp_) return false;
  stamp_ = stamp;
  absl::StatusOr<State> state = LoadStateFile(path_);
  if (absl::IsUnavailable(state.status())) {
    stamp_.clear();  // still being written: read at the next look
    WEFT_LOG_WARN("%s", state.status().message());
    return false;
  }
  absl::Status status = state.status();
  if (status.ok())
    status = WithContext(controller_->Apply(*std::move(state), path_).status(), path_);
  if (!status.ok()) {
    controller_->EditRejected();
    WEFT_LOG_ERROR("refused the new state file: %s; still serving version %d", status.message(),
                   controller_->version());
  }
  return true;
}

int RunController(int argc, char** argv) {
  const sigset_t signals = BlockDaemonSignals();
  absl::SetProgramUsageMessage(
      "weft-controller (--state FILE | --store etcd://HOST:PORT[,...] [--store_ca F --store_cert F "
      "--store_key F]) --listen ADDR [--admin_listen ADDR] "
      "(--tls_cert F --tls_key F --tls_ca F | --insecure)");
  absl::ParseCommandLine(argc, argv);
  // One descriptor per agent's stream and per probe or scrape connection.
  if (absl::StatusOr<long> limit = RaiseOpenFileLimit(); !limit.ok()) {
    WEFT_LOG_WARN("%s (continuing)", limit.status().message());
  }
  StateSource source;
  source.path = absl::GetFlag(FLAGS_state);
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string store_url = StoreUrlFromCommandLine();
  if (source.path.empty() == store_url.empty() || listen.empty()) {
    return Fail(absl::InvalidArgumentError(
        "--listen and exactly one of --state FILE and --store etcd://... are required"));
  }
  if (!store_url.empty()) {
    absl::StatusOr<EtcdStoreOptions> store = StoreOptionsFromCommandLine(listen);
    if (!store.ok()) return Fail(store.status());
    source.store = *std::move(store);
  }
  const absl::Status status = Serve(signals, source, listen, absl::GetFlag(FLAGS_admin_listen));
  if (!status.ok()) return Fail(status);
  return 0;
}

}  // namespace weft
