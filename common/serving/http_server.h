// A small dependency-free HTTP/1.1 server for Prometheus scrapes: GET
// /metrics answers with what the collector computes at that moment (no
// background polling); anything else is 404 (405 for other methods). One
// thread; connections are served one at a time, each closed after its
// answer, with a 5 s budget to send the request and read the answer.
// Shared by weft-agent and weft-controller (--metrics_listen).
#ifndef WEFT_COMMON_SERVING_HTTP_SERVER_H_
#define WEFT_COMMON_SERVING_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace weft {

class MetricsServer {
 public:
  // Returns the exposition text (ExpositionWriter::text()).
  using Collector = std::function<std::string()>;

  // Listens on `address` ("host:port", "[v6]:port", ":port" for every
  // address; port 0 picks a free one) and serves from its own thread.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                              Collector collector);
  ~MetricsServer();  // Stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Closes the listener and joins the thread (a scrape in progress ends first).
  void Stop();

  // The bound port (useful with port 0).
  int port() const { return port_; }

 private:
  MetricsServer(int listen_fd, int stop_fd, int port, Collector collector)
      : listen_fd_(listen_fd), stop_fd_(stop_fd), port_(port), collector_(std::move(collector)) {}
  void Run();
  void Serve(int fd);

  int listen_fd_;
  int stop_fd_;  // eventfd: written by Stop()
  int port_;
  Collector collector_;
  std::thread thread_;
};

}  // namespace weft

#endif  // WEFT_COMMON_SERVING_HTTP_SERVER_H_
