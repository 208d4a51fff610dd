#include "common/store/store_mirror.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/model/net_format.h"
#include "common/store/state_codec.h"

namespace weft {

void StoreMirror::Reset(const StoredState& stored, const std::vector<mvccpb::KeyValue>& learned) {
  revision_ = stored.revision;
  version_ = stored.version;
  head_ = stored.head;
  head_error_.clear();
  objects_.clear();
  for (const auto& [key, value] : stored.objects) PutObject(key, value);
  learned_.clear();
  for (const mvccpb::KeyValue& kv : learned) PutLearned(kv);
}

void StoreMirror::PutObject(const std::string& key, const std::string& value) {
  objects_.insert_or_assign(key, DecodeObject(key, value));
}

void StoreMirror::PutLearned(const mvccpb::KeyValue& kv) {
  std::optional<std::string> edge = keys_.EdgeOfLearnedKey(kv.key());
  if (!edge || !absl::StartsWith(kv.key(), keys_.LearnedParts(*edge))) return;  // the owner key
  v1::LearnedRecord record;
  absl::StatusOr<v1::LearnedRecord> decoded = record;
  if (record.ParseFromString(kv.value())) {
    decoded = std::move(record);
  } else {
    decoded = absl::DataLossError(absl::StrCat("store key ", kv.key(), ": not a LearnedRecord"));
  }
  learned_[*edge].insert_or_assign(kv.key(), std::move(decoded));
}

StoreMirror::Changes StoreMirror::Apply(int64_t revision,
                                        const std::vector<mvccpb::Event>& events) {
  Changes changes;
  revision_ = revision;
  const std::string head_key = keys_.Head();
  // The head first: it says which generation this revision's objects are of.
  for (const mvccpb::Event& event : events) {
    if (event.kv().key() != head_key) continue;
    changes.state = true;
    uint64_t previous = head_.generation();
    head_.Clear();
    head_error_.clear();
    version_ = 0;
    if (event.type() == mvccpb::Event::PUT) {
      version_ = event.kv().mod_revision();
      if (!head_.ParseFromString(event.kv().value())) {
        head_error_ = absl::StrCat("store key ", head_key, ": not a StoreHead");
      }
    }
    changes.generation_switched = head_.generation() != previous;
  }
  const std::string prefix = keys_.Generation(head_.generation());
  for (const mvccpb::Event& event : events) {
    const std::string& key = event.kv().key();
    if (absl::StartsWith(key, prefix)) {
      if (changes.generation_switched) continue;  // read whole by LoadGeneration
      changes.state = true;
      std::string object = key.substr(prefix.size());
      if (event.type() == mvccpb::Event::PUT) {
        PutObject(object, event.kv().value());
      } else {
        objects_.erase(object);
      }
    } else if (std::optional<std::string> edge = keys_.EdgeOfLearnedKey(key)) {
      changes.learned = true;
      if (event.type() == mvccpb::Event::PUT) {
        PutLearned(event.kv());
      } else if (auto it = learned_.find(*edge); it != learned_.end()) {
        it->second.erase(key);
        if (it->second.empty()) learned_.erase(it);
      }
    }
    // Anything else (another generation being staged or deleted) is not
    // the state until the head names it.
  }
  if (changes.generation_switched) objects_.clear();
  return changes;
}

void StoreMirror::LoadGeneration(const std::vector<mvccpb::KeyValue>& objects) {
  const std::string prefix = keys_.Generation(head_.generation());
  objects_.clear();
  for (const mvccpb::KeyValue& kv : objects) PutObject(kv.key().substr(prefix.size()), kv.value());
}

absl::StatusOr<State> StoreMirror::AssembleState() const {
  if (!head_error_.empty()) return absl::DataLossError(head_error_);
  State state;
  state.version = version_;
  for (const auto& [key, object] : objects_) {
    if (!object.ok()) return object.status();
    AppendObject(state, *object);
  }
  return state;
}

StoreSnapshot StoreMirror::Snapshot(bool state_changed, bool learned_changed) const {
  StoreSnapshot snapshot;
  snapshot.revision = revision_;
  snapshot.state_version = version_;
  snapshot.state_changed = state_changed;
  snapshot.learned_changed = learned_changed;
  snapshot.state = AssembleState();
  for (const auto& [edge, parts] : learned_) {
    LearnedSnapshot& routes = snapshot.learned[edge];
    for (const auto& [key, record] : parts) {
      if (!record.ok()) {
        WEFT_LOG_WARN("%s (skipped)", record.status().message());
        continue;
      }
      for (const v1::UplinkLearned& uplink : record->uplinks()) {
        std::vector<Ipv4Prefix>& prefixes = routes[uplink.uplink()];
        for (const std::string& text : uplink.prefixes()) {
          absl::StatusOr<Ipv4Prefix> prefix = ParseIpv4Prefix(text);
          if (prefix.ok()) prefixes.push_back(*prefix);
        }
      }
    }
    for (auto& [uplink, prefixes] : routes) SortLearnedPrefixes(prefixes);
  }
  return snapshot;
}

}  // namespace weft
