#include "controller/server.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "common/model/state_yaml.h"
#include "common/serving/flags.h"
#include "common/serving/health.h"
#include "common/serving/metrics_endpoint.h"
#include "common/wire/credentials.h"
#include "controller/file_events.h"
#include "controller/metrics.h"
#include "controller/service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

ABSL_FLAG(std::string, state, "", "YAML desired-state file, watched for changes");
ABSL_FLAG(std::string, listen, "", "address of the Sync service, e.g. 0.0.0.0:7000");
ABSL_FLAG(std::string, admin_listen, "",
          "address of the Admin service (same credentials); none when empty");
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

// ApplyState carries a whole fleet's state (13 MiB at 100,000 endpoints),
// beyond gRPC's default 4 MiB; agents' messages are small.
constexpr int kMaxAdminMessageBytes = 256 << 20;

// Listens on `address` with `service`, or an error naming the address.
absl::StatusOr<std::unique_ptr<grpc::Server>> Listen(
    const std::string& address, const std::shared_ptr<grpc::ServerCredentials>& creds,
    grpc::Service* service, int max_receive_bytes = -1) {
  grpc::ServerBuilder builder;
  if (max_receive_bytes > 0) builder.SetMaxReceiveMessageSize(max_receive_bytes);
  int port = 0;
  builder.AddListeningPort(address, creds, &port);
  builder.RegisterService(service);
  // Agents ping every 10 s to notice a dead controller: allow it.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  }
  return server;
}

// Re-reads the state file whenever it may have changed (a wake-up of
// inotify, or every --poll_ms) until one of `signals` arrives.
absl::Status WatchUntilSignal(const sigset_t& signals, const std::string& path,
                              StateFileWatcher& watcher) {
  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
  if (signal_fd < 0) return absl::InternalError(absl::StrCat("signalfd: ", std::strerror(errno)));
  absl::Cleanup close_signal_fd = [signal_fd] { close(signal_fd); };
  absl::StatusOr<FileEvents> events = FileEvents::Watch(path);
  if (!events.ok()) {
    WEFT_LOG_WARN("%s: the state file is only checked every --poll_ms", events.status().message());
  }
  const int poll_ms = std::max(10, absl::GetFlag(FLAGS_poll_ms));
  for (;;) {
    pollfd fds[2] = {{.fd = signal_fd, .events = POLLIN, .revents = 0},
                     {.fd = events.ok() ? events->fd() : -1, .events = POLLIN, .revents = 0}};
    if (poll(fds, 2, poll_ms) < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
    }
    if (fds[0].revents & POLLIN) return absl::OkStatus();  // SIGTERM or SIGINT
    if (fds[1].revents & POLLIN) events->Drain();
    watcher.Poll();
  }
}

// Loads the state file, serves it until SIGTERM or SIGINT, then stops.
absl::Status Serve(const std::string& path, const std::string& listen,
                   const std::string& admin_listen) {
  const ServingFlags serving = ServingFlagsFromCommandLine();
  ASSIGN_OR_RETURN(const std::shared_ptr<grpc::ServerCredentials> creds,
                   ServerCredentials(serving.tls));

  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT}) sigaddset(&signals, sig);
  sigprocmask(SIG_BLOCK, &signals, nullptr);  // before gRPC starts threads

  // Probes see NOT_SERVING until the state is loaded and Sync listens.
  std::unique_ptr<HealthServer> health;
  if (const std::string& a = serving.health_listen; !a.empty()) {
    ASSIGN_OR_RETURN(health, HealthServer::Start(a));
  }

  Controller controller;
  StateFileWatcher watcher(path, &controller);
  RETURN_IF_ERROR(watcher.LoadInitial());

  grpc::EnableDefaultHealthCheckService(true);
  SyncService sync(&controller);
  ASSIGN_OR_RETURN(const std::unique_ptr<grpc::Server> sync_server, Listen(listen, creds, &sync));
  AdminService admin(&controller);
  std::unique_ptr<grpc::Server> admin_server;
  if (!admin_listen.empty()) {
    ASSIGN_OR_RETURN(admin_server, Listen(admin_listen, creds, &admin, kMaxAdminMessageBytes));
  }
  std::unique_ptr<MetricsEndpoint> metrics;
  if (const std::string& a = serving.metrics_listen; !a.empty()) {
    ASSIGN_OR_RETURN(metrics, MetricsEndpoint::Start(a, [&controller] {
                       return CollectControllerMetrics(controller);
                     }));
  }
  if (health) health->SetServing(true);
  WEFT_LOG_INFO("serving version %d of %s: Sync on %s%s%s (%s)", controller.version(), path, listen,
                admin_listen.empty() ? "" : ", Admin on ", admin_listen,
                serving.tls.insecure ? "plaintext" : "mutual TLS");

  RETURN_IF_ERROR(WatchUntilSignal(signals, path, watcher));
  WEFT_LOG_INFO("shutting down");
  if (health) health->Shutdown();
  if (metrics) metrics->Stop();
  const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  sync_server->Shutdown(deadline);
  if (admin_server) admin_server->Shutdown(deadline);
  return absl::OkStatus();
}

}  // namespace

absl::Status StateFileWatcher::LoadInitial() {
  stamp_ = Stamp(path_);
  ASSIGN_OR_RETURN(State state, LoadStateFile(path_));
  controller_->Apply(std::move(state), path_);
  return absl::OkStatus();
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
  if (!state.ok()) {
    controller_->EditRejected();
    WEFT_LOG_ERROR("refused the new state file: %s; still serving version %d",
                   state.status().message(), controller_->version());
    return true;
  }
  controller_->Apply(*std::move(state), path_);
  return true;
}

int RunController(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "weft-controller --state FILE --listen ADDR [--admin_listen ADDR] "
      "(--tls_cert F --tls_key F --tls_ca F | --insecure)");
  absl::ParseCommandLine(argc, argv);
  const std::string path = absl::GetFlag(FLAGS_state);
  const std::string listen = absl::GetFlag(FLAGS_listen);
  if (path.empty() || listen.empty()) {
    return Fail(absl::InvalidArgumentError("--state and --listen are required"));
  }
  const absl::Status status = Serve(path, listen, absl::GetFlag(FLAGS_admin_listen));
  if (!status.ok()) return Fail(status);
  return 0;
}

}  // namespace weft
