// Writes a desired state into etcd: a diff against the current generation's
// objects (a replica's mirror of them when it is current, else read from
// etcd), put with the head in one transaction guarded by the head's
// mod_revision; a write over etcd's per-transaction limits stages a new
// generation in batches and switches the head to it in one guarded
// transaction that also deletes the old generation (readers see the old
// state or the new, never a mix).
#ifndef WEFT_COMMON_STORE_STATE_WRITER_H_
#define WEFT_COMMON_STORE_STATE_WRITER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/etcd/client.h"
#include "common/model/state.h"
#include "common/store/state_codec.h"
#include "common/store/state_store.h"
#include "common/store/store_keys.h"
#include "common/store/store_options.h"
#include "weft/v1/store.pb.h"

namespace weft {

// The state as etcd holds it at one revision.
struct StoredState {
  int64_t revision = 0;  // read at
  int64_t version = 0;   // mod_revision of the head (0: never written)
  v1::StoreHead head;
  EncodedState objects;  // of head.generation
};

// Reads head and objects at one revision (linearizably unless
// `serializable`).
absl::StatusOr<StoredState> ReadStoredState(etcd::Client& client, const StoreKeys& keys,
                                            bool serializable = false);

class StoreMirror;

class StateWriter {
 public:
  // `mirror` (guarded by `mirror_mu`): a replica's copy of the stored state,
  // which a write diffs against when it is at the version the write is
  // guarded on (the guard catches a copy gone stale meanwhile). Null, or a
  // mirror never loaded (a store not started): each write reads the state
  // from etcd.
  StateWriter(etcd::Client& client, const StoreKeys& keys, const EtcdStoreOptions& options,
              absl::Mutex* mirror_mu = nullptr, const StoreMirror* mirror = nullptr)
      : client_(client), keys_(keys), options_(options), mirror_mu_(mirror_mu), mirror_(mirror) {}

  // The commit's revision (the new state version).
  absl::StatusOr<uint64_t> Write(const State& state, const StoreWriteOptions& write);

 private:
  // One attempt's transaction, computed against the stored state at
  // `version`.
  struct Plan {
    int64_t version = 0;            // the head's mod_revision it is guarded on
    uint64_t generation = 0;        // the generation it changes, or replaces when staged
    bool staged = false;            // over the transaction limits: `diff` is unused
    etcdserverpb::TxnRequest diff;  // the guard and the changed objects
  };
  // How one attempt ended: the commit's revision, or 0 when the head had
  // moved (to `head_version`).
  struct Outcome {
    int64_t revision = 0;
    int64_t head_version = 0;
  };

  static Outcome OutcomeOf(const etcdserverpb::TxnResponse& response);
  Plan Diff(const StoredState& current, const EncodedState& desired) const;
  // The plan against the mirror once it has seen revision `at_least`
  // (waiting for its watch, bounded), if it is then whole and, when
  // `version` is given, at that state version.
  std::optional<Plan> DiffMirror(int64_t at_least, std::optional<int64_t> version,
                                 const EncodedState& desired);
  absl::StatusOr<Outcome> Commit(Plan plan, const EncodedState& desired, const std::string& source);
  absl::StatusOr<Outcome> Staged(const Plan& plan, const EncodedState& desired,
                                 const std::string& source);

  etcd::Client& client_;
  const StoreKeys& keys_;
  const EtcdStoreOptions& options_;
  absl::Mutex* const mirror_mu_;
  const StoreMirror* const mirror_;
};

// "the state is at version M, not N: ..." (Aborted).
absl::Status VersionConflict(int64_t actual, uint64_t expected);

}  // namespace weft

#endif  // WEFT_COMMON_STORE_STATE_WRITER_H_
