// weft-controller's core: the desired state of the fleet, each node's view
// of it, and what each node has acknowledged (docs/ARCHITECTURE.md §5). The gRPC
// services (service.h) and the state-file watcher (server.cc) drive it.
#ifndef WEFT_CONTROLLER_CONTROLLER_H_
#define WEFT_CONTROLLER_CONTROLLER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/model/state.h"
#include "controller/views.h"
#include "weft/v1/admin.pb.h"
#include "weft/v1/state.pb.h"

namespace weft {

class Controller {
 public:
  // The highest version a state may ask for. Versions only grow (agents
  // refuse one that goes backwards), one per change from the highest asked
  // for: above this one there would be no room, and a wrap to 1 would leave
  // every agent refusing every later state.
  static constexpr uint64_t kMaxRequestedVersion = uint64_t{1} << 63;

  // Installs a state that passed ValidateState. Its version becomes
  // max(state.version, the previous version + 1). Returns that version, or
  // InvalidArgument (and changes nothing) when state.version is over
  // kMaxRequestedVersion. Only the nodes whose view changed are sent
  // anything.
  absl::StatusOr<uint64_t> Apply(State state, absl::string_view source);

  uint64_t version() const;
  State state() const;

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

  void StreamOpened(const std::string& node, uint64_t applied_version);
  void StreamClosed(const std::string& node);
  void Sent(const std::string& node, const NodeView& view, const std::string& nonce);
  void Acked(const std::string& node, uint64_t version, const std::string& nonce);
  void Nacked(const std::string& node, uint64_t version, const std::string& nonce,
              const std::string& error);

  // Per Weft node (foreign nodes run no agent): acked/nacked versions,
  // connected, the version it enforces; and who enforces `version` (0: the
  // current one).
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
    uint64_t nacked_version = 0;
    std::string nack_error;
    uint64_t nacks = 0;
    std::string sent_nonce;
    uint64_t sent_version = 0;
    std::string sent_fingerprint;
  };

  std::shared_ptr<const NodeView> ViewLocked(const std::string& node) const;

  // Serializes Apply; held while views are built so that mu_, which the
  // streams wait on, is only taken to install them.
  std::mutex apply_mu_;
  ViewBuilder builder_;  // under apply_mu_

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  State state_;
  uint64_t version_ = 0;
  std::map<std::string, std::shared_ptr<const NodeView>> views_;
  std::shared_ptr<const NodeView> nodes_only_;  // for a node not in the state
  std::map<std::string, NodeStatus> status_;
  std::atomic<uint64_t> rejected_edits_{0};
};

}  // namespace weft

#endif  // WEFT_CONTROLLER_CONTROLLER_H_
