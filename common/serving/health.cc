#include "common/serving/health.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/base/status.h"
#include "common/serving/grpc_status.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/ext/health_check_service_server_builder_option.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_posix.h"

namespace weft {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

bool HealthService::KnownLocked(const std::string& service) const {
  return service.empty() || service == kLivenessService || named_.count(service) > 0;
}

HealthCheckResponse::ServingStatus HealthService::StatusLocked(const std::string& service) const {
  auto named = named_.find(service);
  const bool up = service == kLivenessService ? !shutdown_
                  : named != named_.end()     ? named->second && !shutdown_
                                              : serving_ && !shutdown_;
  return up ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

grpc::Status HealthService::Check(grpc::ServerContext* context, const HealthCheckRequest* request,
                                  HealthCheckResponse* response) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!KnownLocked(request->service())) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat("unknown service ", request->service(), "; ask for \"\" (",
                                     "ready) or \"", kLivenessService, "\" (alive)"));
  }
  response->set_status(StatusLocked(request->service()));
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* context, const HealthCheckRequest* request,
                                  grpc::ServerWriter<HealthCheckResponse>* writer) {
  std::unique_lock<std::mutex> lock(mu_);
  const bool known = KnownLocked(request->service());
  bool first = true;
  bool sent = false;
  for (;;) {
    const bool now = known && StatusLocked(request->service()) == HealthCheckResponse::SERVING;
    if (first || now != sent) {
      HealthCheckResponse response;
      response.set_status(!known ? HealthCheckResponse::SERVICE_UNKNOWN
                          : now  ? HealthCheckResponse::SERVING
                                 : HealthCheckResponse::NOT_SERVING);
      lock.unlock();
      const bool ok = writer->Write(response);
      lock.lock();
      if (!ok) return grpc::Status::OK;
      first = false;
      sent = now;
    }
    if (shutdown_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down");
    // Woken by a change, or every 200 ms to notice a cancelled client.
    cv_.wait_for(lock, std::chrono::milliseconds(200));
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
  }
}

void HealthService::SetServing(bool serving) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    serving_ = serving;
  }
  cv_.notify_all();
}

void HealthService::SetServiceServing(const std::string& service, bool serving) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    named_[service] = serving;
  }
  cv_.notify_all();
}

void HealthService::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
}

absl::StatusOr<std::unique_ptr<HealthServer>> HealthServer::Start(const std::string& address,
                                                                  BoundedAcceptorOptions options) {
  std::unique_ptr<HealthServer> hs(new HealthServer());
  grpc::ServerBuilder builder;
  // Not gRPC's default health service (SERVING from the start): ours.
  builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
  builder.RegisterService(&hs->service_);
  // A Watch may see no change for hours: pings (which its client answers)
  // keep its connection from counting as idle.
  const int ping_ms = int(absl::ToInt64Milliseconds(options.idle_timeout / 2));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, std::max(ping_ms, 1));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // No listening port of its own: connections come from the acceptor.
  hs->server_ = builder.BuildAndStart();
  if (hs->server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("health: cannot start on ", address));
  }
  grpc::Server* server = hs->server_.get();
  absl::StatusOr<std::unique_ptr<BoundedAcceptor>> acceptor = BoundedAcceptor::Start(
      address, options, [server](int fd) { grpc::AddInsecureChannelFromFd(server, fd); });
  RETURN_IF_ERROR(WithContext(acceptor.status(), "health"));
  hs->acceptor_ = *std::move(acceptor);
  return hs;
}

HealthServer::~HealthServer() { Shutdown(); }

void HealthServer::Shutdown() {
  service_.Shutdown();
  // The acceptor first: closing its relays ends the server's connections.
  if (acceptor_) acceptor_->Stop();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
    server_.reset();
  }
}

absl::StatusOr<std::string> CheckHealth(const std::string& address, const std::string& service,
                                        absl::Duration timeout) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  RETURN_IF_ERROR(WithContext(FromGrpcStatus(status), address));
  return HealthCheckResponse::ServingStatus_Name(response.status());
}

}  // namespace weft
