// A replica's copy of what it watches (the current generation's objects, as
// stored and decoded once each, and the learned routes), kept up to date from
// watch events revision by revision, and the StoreSnapshot of each. The
// stored objects are what a write from this replica diffs against.
#ifndef WEFT_COMMON_STORE_STORE_MIRROR_H_
#define WEFT_COMMON_STORE_STORE_MIRROR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/etcd/client.h"
#include "common/model/state.h"
#include "common/store/state_store.h"
#include "common/store/state_writer.h"
#include "common/store/store_keys.h"
#include "weft/v1/store.pb.h"

namespace weft {

class StoreMirror {
 public:
  explicit StoreMirror(const StoreKeys& keys) : keys_(keys) {}

  // Everything at `stored.revision`, with the learned keys read then.
  void Reset(StoredState stored, const std::vector<mvccpb::KeyValue>& learned);

  struct Changes {
    bool state = false;
    bool learned = false;
    // The head names a new generation: its objects are to be read at this
    // revision (LoadGeneration) before the snapshot.
    bool generation_switched = false;
  };
  Changes Apply(int64_t revision, const std::vector<mvccpb::Event>& events);
  uint64_t generation() const { return stored_.head.generation(); }
  // The new generation's objects, read at the switch's revision.
  void LoadGeneration(const std::vector<mvccpb::KeyValue>& objects);

  StoreSnapshot Snapshot(bool state_changed, bool learned_changed) const;
  int64_t revision() const { return stored_.revision; }
  // The state as of revision(), or null when there is no whole copy: before
  // the first Reset, when the head does not decode, or when the generation
  // switched and its objects are not loaded (reading them failed).
  const StoredState* stored() const;

 private:
  void PutObject(const std::string& key, const std::string& value);
  void EraseObject(const std::string& key);
  void PutLearned(const mvccpb::KeyValue& kv);
  absl::StatusOr<State> AssembleState() const;

  const StoreKeys& keys_;
  StoredState stored_;      // its objects: the values as stored
  bool whole_ = false;      // stored_.objects are all of the generation's
  std::string head_error_;  // the head does not decode
  // stored_.objects decoded, by the same keys.
  std::map<std::string, absl::StatusOr<State>> decoded_;
  // Edge -> part key -> record (an error: the part does not decode).
  std::map<std::string, std::map<std::string, absl::StatusOr<v1::LearnedRecord>>> learned_;
};

}  // namespace weft

#endif  // WEFT_COMMON_STORE_STORE_MIRROR_H_
