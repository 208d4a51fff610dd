// A replica's copy of what it watches (the current generation's objects,
// decoded once each, and the learned routes), kept up to date from watch
// events revision by revision, and the StoreSnapshot of each.
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
  void Reset(const StoredState& stored, const std::vector<mvccpb::KeyValue>& learned);

  struct Changes {
    bool state = false;
    bool learned = false;
    // The head names a new generation: its objects are to be read at this
    // revision (LoadGeneration) before the snapshot.
    bool generation_switched = false;
  };
  Changes Apply(int64_t revision, const std::vector<mvccpb::Event>& events);
  uint64_t generation() const { return head_.generation(); }
  // The new generation's objects, read at the switch's revision.
  void LoadGeneration(const std::vector<mvccpb::KeyValue>& objects);

  StoreSnapshot Snapshot(bool state_changed, bool learned_changed) const;
  int64_t revision() const { return revision_; }

 private:
  void PutObject(const std::string& key, const std::string& value);
  void PutLearned(const mvccpb::KeyValue& kv);
  absl::StatusOr<State> AssembleState() const;

  const StoreKeys& keys_;
  int64_t revision_ = 0;
  int64_t version_ = 0;  // the head's mod_revision
  v1::StoreHead head_;
  std::string head_error_;                                // the head does not decode
  std::map<std::string, absl::StatusOr<State>> objects_;  // by key under the generation
  // Edge -> part key -> record (an error: the part does not decode).
  std::map<std::string, std::map<std::string, absl::StatusOr<v1::LearnedRecord>>> learned_;
};

}  // namespace weft

#endif  // WEFT_COMMON_STORE_STORE_MIRROR_H_
