// Where replicated weft-controllers keep what they share: the desired state,
// the routes edges learned upstream, and the fleet's realization
// (docs/CONTROL_PLANE.md "Replicas on etcd"). EtcdStateStore
// (etcd_state_store.h) is the implementation; tests of the controller's
// replica logic use FakeStateStore (tests/unit/controller/).
//
// Versions: a replica's version is an etcd revision, the same on every
// replica for the same store contents, so an agent moving between replicas
// never sees one go backwards (docs/CONTROL_PLANE.md).
#ifndef WEFT_COMMON_STORE_STATE_STORE_H_
#define WEFT_COMMON_STORE_STATE_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/state.h"
#include "common/wire/learned_chunk.h"

namespace weft {

struct StoreWriteOptions {
  // The state version the writer read (GetState, `weftctl get state`): the
  // write happens only if the state is still at it, else Aborted naming both
  // versions. Absent: the write replaces whatever state is there.
  std::optional<uint64_t> if_version;
  std::string source;  // who writes, kept beside the state ("ApplyState from ...")
};

// What the store holds at one revision, as a replica's views need it.
struct StoreSnapshot {
  uint64_t revision = 0;  // the store revision this snapshot is at
  // The revision of the desired state's last change (0: none written yet;
  // `state` is then the empty state).
  uint64_t state_version = 0;
  bool state_changed = false;    // since the previous snapshot delivered
  bool learned_changed = false;  // since the previous snapshot delivered
  // Decoded, not validated (the replica validates it); an error names the
  // key that does not decode.
  absl::StatusOr<State> state;
  std::map<std::string, LearnedSnapshot> learned;  // by edge node
};

struct RealizedNode {
  std::string node;
  uint64_t acked_version = 0;
  std::string acked_digest;
  uint64_t nacked_version = 0;
  std::string nack_error;
  std::vector<std::string> replicas;  // holding its stream now (leased)
  std::vector<std::string> capabilities;  // its agent's, from its last Hello
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Reads everything at one revision and calls `on_change` with it, then
  // watches: `on_change` again for each later revision where the state or
  // the learned routes changed, in revision order, on the store's own
  // thread. `on_reachable` when the store stops or starts answering (its
  // argument says why). Returns after the first `on_change`, or the error
  // when the store could not be read.
  virtual absl::Status Start(std::function<void(StoreSnapshot)> on_change,
                             std::function<void(bool reachable, const std::string& why)>
                                 on_reachable) = 0;
  virtual void Stop() = 0;

  // Writes `state` (the caller validated it) in one transaction; the new
  // state version (the commit's revision). Aborted when if_version does not
  // match; Unavailable when the store is unreachable (nothing written).
  virtual absl::StatusOr<uint64_t> WriteState(const State& state,
                                              const StoreWriteOptions& options) = 0;
  // The desired state, its version set, read linearizably (export, seeding).
  virtual absl::StatusOr<State> ReadState() = 0;

  // An edge's learned routes as reported on stream `stream` of this
  // replica, kept under this replica's lease (gone when it dies).
  virtual absl::Status PutLearned(const std::string& node, const std::string& stream,
                                  const LearnedSnapshot& snapshot) = 0;
  // Removes them if they are still stream `stream`'s.
  virtual absl::Status DeleteLearned(const std::string& node, const std::string& stream) = 0;

  // Realization: queued, written in batches by the store's own thread.
  virtual void SetRealized(const RealizedNode& node) = 0;
  // This replica holds (or no longer holds) a stream of `node` (leased).
  virtual void SetConnected(const std::string& node, bool connected) = 0;
  // Every node's realization, as last written by any replica.
  virtual absl::StatusOr<std::vector<RealizedNode>> ReadRealization() = 0;
};

}  // namespace weft

#endif  // WEFT_COMMON_STORE_STATE_STORE_H_
