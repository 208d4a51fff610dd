// A TCP listener that holds at most a fixed number of connections and closes
// the idle ones, in front of a server that takes connections as descriptors
// (a gRPC server through AddInsecureChannelFromFd). gRPC 1.51 accepts every
// connection it is offered and keeps a silent one for its 120 s handshake
// timeout: 1,100 of them used up the agent's descriptors, after which it
// could open no socket. Here each accepted connection is relayed to the
// server through a socketpair by a thread of its own, so the count of
// connections is known and bounded (three descriptors and one thread each);
// one over the bound is accepted and closed at once.
#ifndef WEFT_COMMON_SERVING_BOUNDED_ACCEPTOR_H_
#define WEFT_COMMON_SERVING_BOUNDED_ACCEPTOR_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace weft {

struct BoundedAcceptorOptions {
  int max_connections = 16;
  // A connection whose client sent nothing this long is closed, as is one
  // whose client has not read what it was sent this long.
  absl::Duration idle_timeout = absl::Seconds(5);
};

class BoundedAcceptor {
 public:
  // Takes the server's end of a new connection (nonblocking, close-on-exec)
  // and owns it from then on.
  using Serve = std::function<void(int fd)>;

  // Listens on `address` (ParseListenAddress: local unless it says otherwise).
  static absl::StatusOr<std::unique_ptr<BoundedAcceptor>> Start(const std::string& address,
                                                                BoundedAcceptorOptions options,
                                                                Serve serve);
  ~BoundedAcceptor() { Stop(); }

  // Stops accepting and closes every connection; returns once they are closed.
  void Stop();

  int port() const { return port_; }

 private:
  BoundedAcceptor(int listen_fd, int stop_fd, int port, BoundedAcceptorOptions options, Serve serve)
      : listen_fd_(listen_fd),
        stop_fd_(stop_fd),
        port_(port),
        options_(options),
        serve_(std::move(serve)) {}

  void AcceptLoop();
  void Accept();
  // Copies bytes both ways until either side closes, the client idles, or Stop().
  void Relay(int client, int inner) const;

  const int listen_fd_;
  const int stop_fd_;  // an eventfd, readable from Stop() on
  const int port_;
  const BoundedAcceptorOptions options_;
  const Serve serve_;
  std::thread accept_thread_;

  std::mutex mu_;
  std::condition_variable relays_done_;
  int relays_ = 0;  // guarded by mu_
  bool stopped_ = false;
};

}  // namespace weft

#endif  // WEFT_COMMON_SERVING_BOUNDED_ACCEPTOR_H_
