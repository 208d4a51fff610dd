// grpc.health.v1 on its own plaintext listener (--health_listen), for
// kubelet's gRPC probes and grpc_health_probe: the overall status ("",
// readiness) is NOT_SERVING from the first instant until SetServing(true),
// and again from SetServing(false) or Shutdown() on. "liveness" is SERVING
// until Shutdown(): a process waiting for its first state is alive, and
// restarting it would not help. A service name given to SetServiceServing
// (weft-controller's "weft.store") is SERVING as it was last set. Any other
// service name is NOT_FOUND (Check) / SERVICE_UNKNOWN (Watch). Shared by weft-agent and
// weft-controller.
#ifndef WEFT_COMMON_SERVING_HEALTH_H_
#define WEFT_COMMON_SERVING_HEALTH_H_

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/serving/bounded_acceptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/server.h"

namespace weft {

inline constexpr char kLivenessService[] = "liveness";

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

  void SetServing(bool serving);
  // The status of the named service `service` (not "" nor liveness).
  void SetServiceServing(const std::string& service, bool serving);
  // NOT_SERVING for good; ends every Watch.
  void Shutdown();

 private:
  bool KnownLocked(const std::string& service) const;
  grpc::health::v1::HealthCheckResponse::ServingStatus StatusLocked(
      const std::string& service) const;

  std::mutex mu_;
  std::condition_variable cv_;
  bool serving_ = false;
  bool shutdown_ = false;
  std::map<std::string, bool> named_;  // SetServiceServing's
};

class HealthServer {
 public:
  // Plaintext gRPC on `address` (ParseListenAddress: local unless it says
  // otherwise) serving only grpc.health.v1, to at most
  // options.max_connections clients at a time; one that sends nothing for
  // options.idle_timeout is closed (a Watch answers the server's pings).
  static absl::StatusOr<std::unique_ptr<HealthServer>> Start(const std::string& address,
                                                             BoundedAcceptorOptions options = {});
  ~HealthServer();

  void SetServing(bool serving) { service_.SetServing(serving); }
  void SetServiceServing(const std::string& service, bool serving) {
    service_.SetServiceServing(service, serving);
  }
  // NOT_SERVING, then stops the listener (waiting at most a second).
  void Shutdown();
  int port() const { return acceptor_->port(); }

 private:
  HealthService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<BoundedAcceptor> acceptor_;  // hands connections to server_
};

// Asks `address` (plaintext) for the status of `service`: SERVING,
// NOT_SERVING, ... or the RPC's error.
absl::StatusOr<std::string> CheckHealth(const std::string& address, const std::string& service,
                                        absl::Duration timeout);

}  // namespace weft

#endif  // WEFT_COMMON_SERVING_HEALTH_H_
