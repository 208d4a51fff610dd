// GET /metrics of weft-agent and weft-controller (--metrics_listen), served
// by prometheus-cpp's Exposer (an embedded civetweb): each scrape calls the
// collector, so every value is computed when scraped, never polled in the
// background. Bounded for a listener anyone may reach: two serving threads,
// 2 s for a request to arrive, a few connections waiting (metrics_endpoint.cc).
#ifndef WEFT_COMMON_SERVING_METRICS_ENDPOINT_H_
#define WEFT_COMMON_SERVING_METRICS_ENDPOINT_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/metric_family.h"

namespace weft {

class MetricsEndpoint {
 public:
  // The families of one scrape (MetricFamilies::Take()).
  using Collector = std::function<std::vector<prometheus::MetricFamily>()>;

  // Listens on `address`: "ipv4:port", or ":port" for 127.0.0.1 (every
  // address only when asked for: 0.0.0.0:port); port 0 picks a free one. No
  // IPv6: Debian 12's civetweb is built without it.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(const std::string& address,
                                                                Collector collector);

  // Stops listening; a scrape in progress is answered first.
  void Stop() { exposer_.reset(); }

  // The bound port (useful with port 0).
  int port() const { return port_; }

 private:
  MetricsEndpoint(std::shared_ptr<prometheus::Collectable> collectable,
                  std::unique_ptr<prometheus::Exposer> exposer, int port)
      : collectable_(std::move(collectable)), exposer_(std::move(exposer)), port_(port) {}

  // The Exposer holds it weakly.
  std::shared_ptr<prometheus::Collectable> collectable_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_;
};

}  // namespace weft

#endif  // WEFT_COMMON_SERVING_METRICS_ENDPOINT_H_
