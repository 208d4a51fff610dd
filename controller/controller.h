// weft-controller's core: the desired state of the fleet, each node's view
// of it, and what each node has acknowledged (docs/ARCHITECTURE.md §5). The gRPC
// services (service.h) and the state-file watcher (server.cc) drive it; with
// replicas on etcd (docs/CONTROL_PLANE.md "Replicas on etcd"), the store's
// snapshots (replica.h) do instead, and writes, learned routes and
// realization go through the StateStore.
#ifndef WEFT_CONTROLLER_CONTROLLER_H_
#define WEFT_CONTROLLER_CONTROLLER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/model/state.h"
#include "common/store/state_store.h"
#include "common/wire/learned_chunk.h"
#include "controller/learned_routes.h"
#include "controller/views.h"
#include "weft/v1/admin.pb.h"
#include "weft/v1/state.pb.h"

namespace weft {

class Controller {
 public:
  // File mode: the state comes from Apply (the state file, ApplyState).
  Controller() = default;
  // Store mode: `store` (outliving this) holds the state; InstallAt puts
  // its snapshots in the views. `replica` names this replica in the
  // store (the owner of the learned routes its edges report).
  Controller(StateStore* store, std::string replica)
      : store_(store), replica_(std::move(replica)) {}

  // The highest version a state may ask for. Versions only grow (agents
  // refuse one that goes backwards), one per change from the highest asked
  // for: above this one there would be no room, and a wrap to 1 would leave
  // every agent refusing every later state.
  static constexpr uint64_t kMaxRequestedVersion = uint64_t{1} << 63;

  // Installs a state that passed ValidateState. Its version becomes
  // max(state.version, the previous version + 1). Returns that version, or
  // InvalidArgument (and changes nothing) when state.version is over
  // kMaxRequestedVersion, Aborted when `if_version` is given and is not the
  // current version. Only the nodes whose view changed are sent anything.
  // Store mode: writes the state to the store instead (the store compares
  // if_version; Unavailable when it cannot be reached) and returns once
  // this replica has installed it (at most kWriteVisibleTimeout later), so
  // that the writer reads its write here.
  absl::StatusOr<uint64_t> Apply(State state, absl::string_view source,
                                 std::optional<uint64_t> if_version = std::nullopt);
  static constexpr absl::Duration kWriteVisibleTimeout = absl::Seconds(5);

  // Store mode: the store at `revision`. `state` (absent: the current one
  // stays) passed ValidateState and has its version set (the store's state
  // version); `learned` (absent: unchanged) are every edge's learned routes.
  // The views that change get `revision` as their version, and the
  // controller's version becomes `revision` when any did or the state
  // changed. FailedPrecondition (nothing changes) unless `revision` is above
  // revision().
  absl::Status InstallAt(uint64_t revision, std::optional<State> state,
                         std::optional<LearnedReports> learned, absl::string_view source);
  // The store revision this replica has seen through (store mode: the last
  // InstallAt's; file mode: version()).
  uint64_t revision() const;
  // Whether a node may be served here after applying `applied_version`
  // (Hello): in store mode waits at most `timeout` for revision() to reach
  // it, unless `applied_digest` is the digest of this replica's view of the
  // node (the same content: nothing to send). File mode: always (another
  // controller's versions are no clue to this one's).
  bool AwaitVersion(const std::string& node, uint64_t applied_version,
                    const std::string& applied_digest, absl::Duration timeout) const;

  uint64_t version() const;
  State state() const;
  bool has_store() const { return store_ != nullptr; }

  std::shared_ptr<const NodeView> View(const std::string& node) const;
  // `node` is a node of the current state that runs an agent (not foreign).
  bool HasWeftNode(const std::string& node) const;
  // Waits until the node's view differs from `fingerprint`, `closed` is set,
  // or `timeout` passes; returns the view then.
  std::shared_ptr<const NodeView> WaitForView(const std::string& node,
                                              const std::string& fingerprint,
                                              const std::atomic<bool>& closed,
                                              absl::Duration timeout) const;
  // Wakes every WaitForView (a stream closed).
  void Wake() const { cv_.notify_all(); }

  // `capabilities`: the Hello's, reported in Realization.
  void StreamOpened(const std::string& node, uint64_t applied_version,
                    std::vector<std::string> capabilities);
  void StreamClosed(const std::string& node);
  void Sent(const std::string& node, const NodeView& view, const std::string& nonce);
  void Acked(const std::string& node, uint64_t version, const std::string& nonce);
  // The node's view when its agent has applied one with the same content
  // (Hello.applied_digest equal to the view's digest, as version
  // `applied_version`, from this or another controller): recorded as acked
  // at that version, and nothing need be sent until the view changes.
  // Null when the stream is to start with the view (no digest, another one).
  std::shared_ptr<const NodeView> Resume(const std::string& node, uint64_t applied_version,
                                         const std::string& applied_digest);
  void Nacked(const std::string& node, uint64_t version, const std::string& nonce,
              const std::string& error);

  // An edge's complete learned-routes report, on its stream `stream` (a
  // number unique per stream). It replaces the node's previous report, and
  // the views change as on Apply: the nodes whose view changed get a new
  // version, the others nothing (nor does the controller's version move when
  // no view changed). FailedPrecondition (CheckLearnedReport) when the node
  // may not report it: the caller drops the stream. Store mode: the report
  // is put in the store (the views change when its snapshot comes back); one
  // the store does not take now is put again by Republish.
  absl::Status ReportLearned(const std::string& node, uint64_t stream, LearnedSnapshot snapshot);
  // Stream `stream` of `node` ended: what it reported is learned no more.
  void ForgetLearned(const std::string& node, uint64_t stream);
  // Store mode, when the store answers again: puts the learned routes it
  // did not take, removes those it did not remove.
  void Republish();
  // The learned routes in the views (GetState), and how many were left out
  // for the datapath's capacity.
  std::vector<Route> LearnedRoutes() const;
  uint64_t learned_dropped() const { return learned_dropped_; }

  // Per Weft node (foreign nodes run no agent): acked/nacked versions,
  // connected, the version it enforces; and who enforces `version` (0: the
  // current one). Store mode: the whole fleet's, as the replicas wrote it
  // in the store, this replica's streams as it knows them.
  v1::GetRealizationResponse Realization(uint64_t version) const;

  // For metrics: Nacks per node since start, and desired states refused
  // (a bad state-file edit, an invalid ApplyState).
  std::map<std::string, uint64_t> NackCounts() const;
  void EditRejected() { ++rejected_edits_; }
  uint64_t rejected_edits() const { return rejected_edits_; }

 private:
  struct NodeStatus {
    int streams = 0;
    uint64_t acked_version = 0;
    std::string acked_fingerprint;
    std::string acked_digest;
    uint64_t nacked_version = 0;
    std::string nack_error;
    uint64_t nacks = 0;
    std::string sent_nonce;
    uint64_t sent_version = 0;
    std::string sent_fingerprint;
    std::string sent_digest;
    std::vector<std::string> capabilities;  // from its last Hello
  };
  // What this replica's stream reported last, and whether the store took it.
  struct OwnReport {
    uint64_t stream = 0;
    LearnedSnapshot snapshot;
    bool stored = false;
  };

  // The store's name of stream `stream` of this process.
  std::string StreamName(uint64_t stream) const;
  RealizedNode RealizedLocked(const std::string& node, const NodeStatus& s) const;
  // Installs `state` (its version set), the controller's version and the
  // views that change at `views_version`. Under apply_mu_.
  void InstallLocked(State state, uint64_t views_version, absl::string_view source);

  std::shared_ptr<const NodeView> ViewLocked(const std::string& node) const;
  // The learned routes of learned_ under `state` into builder_. Under apply_mu_.
  void SetLearnedLocked(const State& state);
  // builder_'s views of `state`'s Weft nodes at `version`, a view equal to
  // the one in views_ kept as it was; `changed` gets the others. Under apply_mu_.
  std::map<std::string, std::shared_ptr<const NodeView>> BuildViewsLocked(
      const State& state, uint64_t version, std::vector<std::string>* changed);
  // Recomputes the views for a change of learned routes; those that change
  // get `version` (0: the next version). Under apply_mu_.
  void RelearnLocked(absl::string_view why, uint64_t version = 0);
  // Store mode: waits at most `timeout` for revision() to reach `revision`.
  bool AwaitRevision(uint64_t revision, absl::Duration timeout) const;

  StateStore* const store_ = nullptr;
  const std::string replica_;

  // Serializes Apply; held while views are built so that mu_, which the
  // streams wait on, is only taken to install them.
  std::mutex apply_mu_;
  ViewBuilder builder_;  // under apply_mu_
  // Each edge's last report, and the stream it came on. Under apply_mu_.
  LearnedReports learned_;
  std::map<std::string, uint64_t> learned_stream_;
  // Store mode: the reports of this replica's streams, by node. Under apply_mu_.
  std::map<std::string, OwnReport> own_learned_;
  // Store mode: the streams whose reports the store did not remove yet.
  std::map<std::string, uint64_t> forgotten_;
  std::atomic<uint64_t> learned_dropped_{0};

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  State state_;
  uint64_t version_ = 0;
  uint64_t revision_ = 0;  // store mode
  std::map<std::string, std::shared_ptr<const NodeView>> views_;
  std::shared_ptr<const NodeView> nodes_only_;  // for a node not in the state
  std::vector<Route> learned_routes_;           // in the views, every tenant's
  std::map<std::string, NodeStatus> status_;
  std::atomic<uint64_t> rejected_edits_{0};
};

}  // namespace weft

#endif  // WEFT_CONTROLLER_CONTROLLER_H_
