// Writes a desired state into etcd: a diff against the current generation's
// objects, put with the head in one transaction guarded by the head's
// mod_revision; a write over etcd's per-transaction limits stages a new
// generation in batches and switches the head to it in one guarded
// transaction that also deletes the old generation (readers see the old
// state or the new, never a mix).
#ifndef WEFT_COMMON_STORE_STATE_WRITER_H_
#define WEFT_COMMON_STORE_STATE_WRITER_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
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

class StateWriter {
 public:
  StateWriter(etcd::Client& client, const StoreKeys& keys, const EtcdStoreOptions& options)
      : client_(client), keys_(keys), options_(options) {}

  // The commit's revision (the new state version).
  absl::StatusOr<uint64_t> Write(const State& state, const StoreWriteOptions& write);

 private:
  // One attempt against `current`: the commit revision, or 0 when the head
  // moved meanwhile.
  absl::StatusOr<int64_t> TryWrite(const StoredState& current, const EncodedState& desired,
                                   const std::string& source);
  absl::StatusOr<int64_t> Staged(const StoredState& current, const EncodedState& desired,
                                 const std::string& source);

  etcd::Client& client_;
  const StoreKeys& keys_;
  const EtcdStoreOptions& options_;
};

// "the state is at version M, not N: ..." (Aborted).
absl::Status VersionConflict(int64_t actual, uint64_t expected);

}  // namespace weft

#endif  // WEFT_COMMON_STORE_STATE_WRITER_H_
