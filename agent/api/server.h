// The agent's local introspection API (proto/weft/v1/agent_api.proto) on a
// unix socket only root may open: weftctl's other end. gRPC serves it from
// its own threads; a further thread drains the weft_events ring buffer
// (libbpf ring_buffer__poll) and fans events out to Monitor streams. The
// agent's state is read under the agent's mutex; the maps are read without
// it (element reads are atomic; the fds live as long as the agent).
#ifndef WEFT_AGENT_API_SERVER_H_
#define WEFT_AGENT_API_SERVER_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"

namespace grpc {
class ServerBuilder;
}  // namespace grpc

namespace weft {
class Agent;
class SyncClient;
}  // namespace weft

namespace weft::api {

struct ApiServerOptions {
  std::string socket_path;  // its directory is created (0755) if missing
  Agent* agent = nullptr;
  std::string controller;            // empty: standalone
  const SyncClient* sync = nullptr;  // controller mode
};

// Bounds of the API's concurrency: gRPC threads (each call in progress
// holds one, a monitor as long as it runs, and gRPC's pollers count too: a
// call that would need one more is refused, RESOURCE_EXHAUSTED), and calls
// at once on one connection (HTTP/2 MAX_CONCURRENT_STREAMS: a client's
// further calls wait for one to end).
inline constexpr int kMaxApiThreads = 64;
inline constexpr int kMaxStreamsPerConnection = 16;

// Sets both bounds on the builder of the API's server.
void BoundApiServer(grpc::ServerBuilder& builder);

class ApiServer {
 public:
  // Fails when the socket cannot be created, or when another live process
  // already serves that path (a stale socket is replaced).
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(ApiServerOptions options);
  ~ApiServer();
  // Ends the Monitor streams, stops serving, removes the socket (if it is
  // still ours). Idempotent.
  void Stop();

  class Impl;

 private:
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace weft::api

#endif  // WEFT_AGENT_API_SERVER_H_
