// StateStore on etcd (docs/CONTROL_PLANE.md "Replicas on etcd: the store
// layout"): the state through StateWriter, a replica's copy kept by one
// watch over learned/ and state/ (so their events come in revision order),
// the lease and the fleet's realization through FleetWriter.
#ifndef WEFT_COMMON_STORE_ETCD_STATE_STORE_H_
#define WEFT_COMMON_STORE_ETCD_STATE_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/etcd/client.h"
#include "common/etcd/watch.h"
#include "common/store/fleet_writer.h"
#include "common/store/state_store.h"
#include "common/store/state_writer.h"
#include "common/store/store_keys.h"
#include "common/store/store_mirror.h"
#include "common/store/store_options.h"

namespace weft {

class EtcdStateStore : public StateStore {
 public:
  // Opens channels (no request yet: an unreachable etcd shows on first use).
  static absl::StatusOr<std::unique_ptr<EtcdStateStore>> Connect(const EtcdStoreOptions& options);
  // Without Stop: the threads end, the lease is left to expire (as if the
  // replica died).
  ~EtcdStateStore() override;

  absl::Status Start(
      std::function<void(StoreSnapshot)> on_change,
      std::function<void(bool reachable, const std::string& why)> on_reachable) override;
  // Ends the threads and revokes the lease (this replica's connected rows
  // and learned routes vanish at once).
  void Stop() override;

  absl::StatusOr<uint64_t> WriteState(const State& state,
                                      const StoreWriteOptions& options) override;
  absl::StatusOr<State> ReadState() override;
  absl::Status PutLearned(const std::string& node, const std::string& stream,
                          const LearnedSnapshot& snapshot) override;
  absl::Status DeleteLearned(const std::string& node, const std::string& stream) override;
  void SetRealized(const RealizedNode& node) override;
  void SetConnected(const std::string& node, bool connected) override;
  absl::StatusOr<std::vector<RealizedNode>> ReadRealization() override;

 private:
  EtcdStateStore(const EtcdStoreOptions& options, std::unique_ptr<etcd::Client> client);
  // Reads everything at a fresh revision, delivers it, watches from the
  // next revision.
  absl::Status Load();
  void OnRevision(int64_t revision, const std::vector<mvccpb::Event>& events);
  void Run();  // the store thread: lease, realization, reloads
  void Halt();
  // Called with the health of one of the two things that need etcd.
  void SetHealth(bool* part, const absl::Status& status);
  absl::Status Unreachable(const absl::Status& status) const;

  const EtcdStoreOptions options_;
  std::unique_ptr<etcd::Client> client_;
  const StoreKeys keys_;
  absl::Mutex mirror_mu_;  // the watch thread's, the reloads' and the writes'
  StoreMirror mirror_ ABSL_GUARDED_BY(mirror_mu_);
  StateWriter writer_;  // diffs against mirror_ once started
  FleetWriter fleet_;

  std::function<void(StoreSnapshot)> on_change_;
  std::function<void(bool, const std::string&)> on_reachable_;

  std::unique_ptr<etcd::Watch> watch_;  // the store thread's once started

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool watch_ended_ ABSL_GUARDED_BY(mu_) = false;  // compacted: reload
  bool watch_ok_ ABSL_GUARDED_BY(mu_) = true;
  bool lease_ok_ ABSL_GUARDED_BY(mu_) = true;
  bool reachable_ ABSL_GUARDED_BY(mu_) = true;
  std::string why_ ABSL_GUARDED_BY(mu_);  // when not reachable
  // What this replica's streams reported, put again under a new lease.
  std::map<std::string, std::pair<std::string, LearnedSnapshot>> learned_ ABSL_GUARDED_BY(mu_);
  absl::Mutex reachable_callback_mu_;  // one on_reachable at a time, in order
  std::thread thread_;
};

}  // namespace weft

#endif  // WEFT_COMMON_STORE_ETCD_STATE_STORE_H_
