#include "common/store/store_mirror.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/model/net_format.h"
#include "common/store/state_codec.h"

namespace weft {

void StoreMirror::Reset(StoredState stored, const std::vector<mvccpb::KeyValue>& learned) {
  stored_ = std::move(stored);
  whole_ = true;
  head_error_.clear();
  decoded_.clear();
  for (const auto& [key, value] : stored_.objects) decoded_.emplace(key, DecodeObject(key, value));
  learned_.clear();
  for (const mvccpb::KeyValue& kv : learned) PutLearned(kv);
}

const StoredState* StoreMirror::stored() const {
  return whole_ && head_error_.empty() ? &stored_ : nullptr;
}

void StoreMirror::PutObject(const std::string& key, const std::string& value) {
  stored_.objects.insert_or_assign(key, value);
  decoded_.insert_or_assign(key, DecodeObject(key, value));
}

void StoreMirror::EraseObject(const std::string& key) {
  stored_.objects.erase(key);
  decoded_.erase(key);
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
  stored_.revision = revision;
  const std::string head_key = keys_.Head();
  // The head first: it says which generation this revision's objects are of.
  for (const mvccpb::Event& event : events) {
    if (event.kv().key() != head_key) continue;
    changes.state = true;
    v1::StoreHead& head = stored_.head;
    uint64_t previous = head.generation();
    head.Clear();
    head_error_.clear();
    stored_.version = 0;
    if (event.type() == mvccpb::Event::PUT) {
      stored_.version = event.kv().mod_revision();
      if (!head.ParseFromString(event.kv().value())) {
        head_error_ = absl::StrCat("store key ", head_key, ": not a StoreHead");
      }
    }
    changes.generation_switched = head.generation() != previous;
  }
  const std::string prefix = keys_.Generation(stored_.head.generation());
  for (const mvccpb::Event& event : events) {
    const std::string& key = event.kv().key();
    if (absl::StartsWith(key, prefix)) {
      if (changes.generation_switched) continue;  // read whole by LoadGeneration
      changes.state = true;
      std::string object = key.substr(prefix.size());
      if (event.type() == mvccpb::Event::PUT) {
        PutObject(object, event.kv().value());
      } else {
        EraseObject(object);
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
  if (changes.generation_switched) {
    stored_.objects.clear();
    decoded_.clear();
    whole_ = false;  // until LoadGeneration
  }
  return changes;
}

void StoreMirror::LoadGeneration(const std::vector<mvccpb::KeyValue>& objects) {
  const std::string prefix = keys_.Generation(stored_.head.generation());
  stored_.objects.clear();
  decoded_.clear();
  for (const mvccpb::KeyValue& kv : objects) PutObject(kv.key().substr(prefix.size()), kv.value());
  whole_ = true;
}

absl::StatusOr<State> StoreMirror::AssembleState() const {
  if (!head_error_.empty()) return absl::DataLossError(head_error_);
  State state;
  state.version = stored_.version;
  for (const auto& [key, object] : decoded_) {
    if (!object.ok()) return object.status();
    AppendObject(state, *object);
  }
  return state;
}

StoreSnapshot StoreMirror::Snapshot(bool state_changed, bool learned_changed) const {
  StoreSnapshot snapshot;
  snapshot.revision = stored_.revision;
  snapshot.state_version = stored_.version;
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
