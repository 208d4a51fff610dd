// weft-controller as a replica on etcd (docs/CONTROL_PLANE.md "Replicas on
// etcd: operating them"): the store's snapshots become the controller's
// state, each validated first (a bad state written into the store directly
// is refused and the last good one served); whether the store answers is
// kept for health and metrics.
#ifndef WEFT_CONTROLLER_REPLICA_H_
#define WEFT_CONTROLLER_REPLICA_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "common/store/state_store.h"
#include "controller/controller.h"

namespace weft {

class Replica {
 public:
  // Called (on the store's thread) when ready() or store_up() may have
  // changed.
  using StatusChanged = std::function<void(const Replica&)>;

  // `controller` was made with `store`; both outlive this.
  Replica(Controller* controller, StateStore* store, std::string name,
          StatusChanged on_status = nullptr);
  ~Replica();
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // Reads the store and installs its state (the store's first snapshot),
  // then follows it. An error when the store could not be read.
  absl::Status Start();
  // Stops following the store (before the controller's streams end).
  void Stop();

  // The store's callbacks (public for tests).
  void OnSnapshot(StoreSnapshot snapshot);
  void OnReachable(bool reachable, const std::string& why);

  const std::string& name() const { return name_; }
  // A valid state is served: the store's, or the empty state when the store
  // holds none. False while every state the store held was refused.
  bool ready() const { return ready_; }
  bool store_up() const { return store_up_; }
  const Controller& controller() const { return *controller_; }

 private:
  // Controller::Republish off the store's thread, whenever the store
  // answers again.
  void RepublishLoop();

  Controller* const controller_;
  StateStore* const store_;
  const std::string name_;
  const StatusChanged on_status_;
  bool first_ = true;  // on the store's thread only
  bool stopped_ = false;
  std::atomic<bool> ready_{false};
  std::atomic<bool> store_up_{false};

  std::mutex mu_;
  std::condition_variable cv_;
  bool republish_ = false;  // under mu_
  bool stopping_ = false;   // under mu_
  std::thread republisher_;
};

}  // namespace weft

#endif  // WEFT_CONTROLLER_REPLICA_H_
