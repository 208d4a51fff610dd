// A fake of the StateStore (common/store/state_store.h) for the replica
// logic's tests: an in-memory store with one revision counter, whose
// snapshots are delivered on the writer's thread before the write returns,
// that can be made unreachable, and written into bypassing validation (as
// etcdctl would). Not etcd: no leases, no batching, no watch thread.
#ifndef WEFT_TESTS_UNIT_CONTROLLER_FAKE_STATE_STORE_H_
#define WEFT_TESTS_UNIT_CONTROLLER_FAKE_STATE_STORE_H_

#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/status.h"
#include "common/store/state_store.h"

namespace weft {

class FakeStateStore : public StateStore {
 public:
  // `replica`: the name SetConnected records this replica's streams under.
  explicit FakeStateStore(std::string replica = "r1") : replica_(std::move(replica)) {}

  absl::Status Start(std::function<void(StoreSnapshot)> on_change,
                     std::function<void(bool, const std::string&)> on_reachable) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (down_) return Unreachable();
    on_change_ = std::move(on_change);
    on_reachable_ = std::move(on_reachable);
    StoreSnapshot first = SnapshotLocked();
    first.state_changed = first.learned_changed = true;
    lock.unlock();
    on_change_(std::move(first));
    return absl::OkStatus();
  }
  void Stop() override {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
  }

  absl::StatusOr<uint64_t> WriteState(const State& state,
                                      const StoreWriteOptions& options) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (down_) return Unreachable();
    if (options.if_version.has_value() && *options.if_version != state_version_) {
      return absl::AbortedError(absl::StrCat("the state is at version ", state_version_, ", not ",
                                             *options.if_version,
                                             ": read it again (weftctl get state) and reapply"));
    }
    sources_.push_back(options.source);
    return PutStateLocked(state, std::move(lock));
  }
  absl::StatusOr<State> ReadState() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (down_) return Unreachable();
    if (!state_.ok()) return state_.status();
    State out = *state_;
    out.version = state_version_;
    return out;
  }

  absl::Status PutLearned(const std::string& node, const std::string& stream,
                          const LearnedSnapshot& snapshot) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (down_) return Unreachable();
    learned_[node] = {stream, snapshot};
    return DeliverLocked(/*state_changed=*/false, std::move(lock));
  }
  absl::Status DeleteLearned(const std::string& node, const std::string& stream) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (down_) return Unreachable();
    auto it = learned_.find(node);
    if (it == learned_.end() || it->second.first != stream) return absl::OkStatus();
    learned_.erase(it);
    return DeliverLocked(/*state_changed=*/false, std::move(lock));
  }

  void SetRealized(const RealizedNode& node) override {
    std::lock_guard<std::mutex> lock(mu_);
    realized_[node.node] = node;
  }
  void SetConnected(const std::string& node, bool connected) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (connected) {
      connected_[node].insert(replica_);
    } else {
      connected_[node].erase(replica_);
    }
  }
  absl::StatusOr<std::vector<RealizedNode>> ReadRealization() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (down_) return Unreachable();
    std::map<std::string, RealizedNode> all = realized_;
    for (const auto& [node, replicas] : connected_) {
      all[node].node = node;
      all[node].replicas.assign(replicas.begin(), replicas.end());
    }
    std::vector<RealizedNode> out;
    for (auto& [node, r] : all) out.push_back(std::move(r));
    return out;
  }

  // --- for tests ---
  // A state (or a key that does not decode) written around the validator.
  uint64_t PutRaw(absl::StatusOr<State> state) {
    std::unique_lock<std::mutex> lock(mu_);
    return *PutStateLocked(std::move(state), std::move(lock));
  }
  // What another replica `replica` wrote of a node it serves.
  void PutOtherReplicas(const RealizedNode& node, const std::string& replica) {
    std::lock_guard<std::mutex> lock(mu_);
    realized_[node.node] = node;
    connected_[node.node].insert(replica);
  }
  void SetDown(bool down) {
    std::function<void(bool, const std::string&)> on_reachable;
    {
      std::lock_guard<std::mutex> lock(mu_);
      down_ = down;
      on_reachable = on_reachable_;
    }
    if (on_reachable) on_reachable(!down, down ? "fake: connection refused" : "fake: back");
  }
  std::map<std::string, std::string> LearnedOwners() {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, std::string> out;
    for (const auto& [node, owned] : learned_) out[node] = owned.first;
    return out;
  }
  std::set<std::string> ConnectedHere() {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> out;
    for (const auto& [node, replicas] : connected_) {
      if (replicas.count(replica_) > 0) out.insert(node);
    }
    return out;
  }
  std::vector<std::string> sources() {
    std::lock_guard<std::mutex> lock(mu_);
    return sources_;
  }
  uint64_t revision() {
    std::lock_guard<std::mutex> lock(mu_);
    return revision_;
  }

 private:
  static absl::Status Unreachable() {
    return absl::UnavailableError("etcd at fake:2379: connection refused");
  }
  StoreSnapshot SnapshotLocked() const {
    StoreSnapshot s;
    s.revision = revision_;
    s.state_version = state_version_;
    s.state = state_;
    for (const auto& [node, owned] : learned_) s.learned[node] = owned.second;
    return s;
  }
  absl::StatusOr<uint64_t> PutStateLocked(absl::StatusOr<State> state,
                                          std::unique_lock<std::mutex> lock) {
    state_ = std::move(state);
    state_version_ = revision_ + 1;
    RETURN_IF_ERROR(DeliverLocked(/*state_changed=*/true, std::move(lock)));
    return state_version_;
  }
  // A new revision, delivered (the lock released first, as the store's own
  // thread holds none of its locks when it calls back).
  absl::Status DeliverLocked(bool state_changed, std::unique_lock<std::mutex> lock) {
    ++revision_;
    StoreSnapshot s = SnapshotLocked();
    s.state_changed = state_changed;
    s.learned_changed = !state_changed;
    std::function<void(StoreSnapshot)> on_change = stopped_ ? nullptr : on_change_;
    lock.unlock();
    if (on_change) on_change(std::move(s));
    return absl::OkStatus();
  }

  const std::string replica_;
  std::mutex mu_;
  std::function<void(StoreSnapshot)> on_change_;
  std::function<void(bool, const std::string&)> on_reachable_;
  bool down_ = false;
  bool stopped_ = false;
  uint64_t revision_ = 1;  // etcd's first revision
  uint64_t state_version_ = 0;
  absl::StatusOr<State> state_ = State();
  std::map<std::string, std::pair<std::string, LearnedSnapshot>> learned_;  // stream, routes
  std::map<std::string, RealizedNode> realized_;
  std::map<std::string, std::set<std::string>> connected_;
  std::vector<std::string> sources_;
};

}  // namespace weft

#endif  // WEFT_TESTS_UNIT_CONTROLLER_FAKE_STATE_STORE_H_
