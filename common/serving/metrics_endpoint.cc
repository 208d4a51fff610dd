#include "common/serving/metrics_endpoint.h"

#include <CivetServer.h>

#include <exception>

#include "absl/cleanup/cleanup.h"
#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/base/status.h"
#include "common/serving/listen_address.h"

namespace weft {
namespace {

class CollectorCollectable : public prometheus::Collectable {
 public:
  explicit CollectorCollectable(MetricsEndpoint::Collector collector)
      : collector_(std::move(collector)) {}
  std::vector<prometheus::MetricFamily> Collect() const override { return collector_(); }

 private:
  MetricsEndpoint::Collector collector_;
};

// civetweb says why it could not listen only through its log callback, on
// the thread that starts it; the Exposer's exception just says it failed.
thread_local std::string* start_errors = nullptr;

int CaptureStartError(const mg_connection*, const char* message) {
  if (start_errors != nullptr) {
    absl::StrAppend(start_errors, start_errors->empty() ? "" : "; ", message);
  }
  return 1;  // handled: civetweb has no log of its own to write it to
}

// civetweb's listening_ports spelling of `address`.
absl::StatusOr<std::string> ListeningPort(const std::string& address) {
  ASSIGN_OR_RETURN(const ListenAddress parsed, ParseListenAddress(address));
  if (parsed.ipv6) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address ", address,
                     ": IPv6 is not supported (Debian's civetweb is built without it)"));
  }
  return parsed.ToString();
}

// Bounds of the listener, which anyone who reaches it may connect to: two
// threads answer (so one slow client does not hold every scrape), a request
// must arrive whole within 2 s, at most 4 accepted connections wait for a
// thread (civetweb stops accepting while they do) and 16 more for accept in
// the kernel. The server so holds at most ~8 descriptors whatever the load.
std::vector<std::string> CivetwebOptions(const std::string& listening_port) {
  return {"listening_ports",    listening_port, "num_threads",       "2",
          "request_timeout_ms", "2000",         "connection_queue",  "4",
          "listen_backlog",     "16",           "enable_keep_alive", "no"};
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(const std::string& address,
                                                                        Collector collector) {
  ASSIGN_OR_RETURN(const std::string port, ListeningPort(address));
  CivetCallbacks callbacks;
  callbacks.log_message = CaptureStartError;
  std::string errors;
  start_errors = &errors;
  absl::Cleanup stop_capturing = [] { start_errors = nullptr; };
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(CivetwebOptions(port), &callbacks);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics: listening on ", address, ": ", errors.empty() ? e.what() : errors));
  }
  auto collectable = std::make_shared<CollectorCollectable>(std::move(collector));
  exposer->RegisterCollectable(collectable);
  const int bound_port = exposer->GetListeningPorts().at(0);
  return absl::WrapUnique(
      new MetricsEndpoint(std::move(collectable), std::move(exposer), bound_port));
}

}  // namespace weft
