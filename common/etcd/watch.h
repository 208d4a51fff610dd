// One etcd watch over a key range, on a thread of its own: events in
// revision order from a start revision; when the stream breaks, it is
// opened again (on the next member) from the last revision seen + 1, so no
// event is lost or repeated. A start revision etcd compacted away ends the
// watch with its own error: the caller reads everything again and starts a
// new watch.
#ifndef WEFT_COMMON_ETCD_WATCH_H_
#define WEFT_COMMON_ETCD_WATCH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/etcd/client.h"

namespace weft::etcd {

struct WatchCallbacks {
  // The events of one revision (etcd never splits a revision across
  // responses of an unfragmented watch), in commit order.
  std::function<void(int64_t revision, const std::vector<mvccpb::Event>& events)> on_revision;
  // The stream broke (`why`), or is back (OK status) after a break.
  std::function<void(const absl::Status& why)> on_health;
  // The watch ended for good: OutOfRange when its next revision was
  // compacted (read again and watch anew). Not called on Stop.
  std::function<void(const absl::Status& why)> on_end;
};

class Watch {
 public:
  // Watches [key, range_end) from `start_revision` (events at it included).
  Watch(Client& client, std::string key, std::string range_end, int64_t start_revision,
        WatchCallbacks callbacks);
  ~Watch();  // Stops.
  void Stop();

 private:
  void Run();
  // One stream until it breaks; the status says why (OutOfRange: compacted).
  absl::Status Stream(bool* healthy);

  Client& client_;
  const std::string key_;
  const std::string range_end_;
  const WatchCallbacks callbacks_;
  int64_t next_revision_;  // the watch thread's only

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace weft::etcd

#endif  // WEFT_COMMON_ETCD_WATCH_H_
