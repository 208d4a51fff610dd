#include "common/store/state_writer.h"

#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/status.h"

namespace weft {
namespace {

// Unguarded writes that lose a race are recomputed at most this often.
constexpr int kMaxAttempts = 5;
// A request's bytes beside its keys and values (headers, op framing).
constexpr size_t kOpOverhead = 16;

using etcdserverpb::Compare;
using etcdserverpb::RequestOp;
using etcdserverpb::TxnRequest;

void AddPut(TxnRequest& txn, const std::string& key, const std::string& value) {
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
}

void AddDelete(TxnRequest& txn, const std::string& key, const std::string& range_end = "") {
  auto* del = txn.add_success()->mutable_request_delete_range();
  del->set_key(key);
  del->set_range_end(range_end);
}

// The head unchanged since `version` (0: never written).
void GuardHead(TxnRequest& txn, const StoreKeys& keys, int64_t version) {
  Compare* compare = txn.add_compare();
  compare->set_key(keys.Head());
  compare->set_target(Compare::MOD);
  compare->set_result(Compare::EQUAL);
  compare->set_mod_revision(version);
}

std::string HeadValue(uint64_t generation, const std::string& source) {
  v1::StoreHead head;
  head.set_generation(generation);
  head.set_source(source);
  head.set_written_unix_ms(absl::ToUnixMillis(absl::Now()));
  return head.SerializeAsString();
}

uint64_t FreshGeneration(uint64_t current) {
  // Random, so that two writers staging at once never share a prefix.
  std::random_device random;
  uint64_t generation = 0;
  do {
    generation = (static_cast<uint64_t>(random()) << 32) | random();
  } while (generation == 0 || generation == current);
  return generation;
}

}  // namespace

absl::Status VersionConflict(int64_t actual, uint64_t expected) {
  return absl::AbortedError(absl::StrCat("the state is at version ", actual, ", not ", expected,
                                         ": read it again (weftctl get state) and reapply"));
}

absl::StatusOr<StoredState> ReadStoredState(etcd::Client& client, const StoreKeys& keys,
                                            bool serializable) {
  StoredState stored;
  etcd::RangeOptions options;
  options.serializable = serializable;
  ASSIGN_OR_RETURN(etcd::RangeResult head, client.Range(keys.Head(), "", options));
  stored.revision = head.revision;
  if (!head.kvs.empty()) {
    stored.version = head.kvs[0].mod_revision();
    if (!stored.head.ParseFromString(head.kvs[0].value())) {
      return absl::DataLossError(absl::StrCat("store key ", keys.Head(), ": not a StoreHead"));
    }
  }
  std::string prefix = keys.Generation(stored.head.generation());
  options.revision = stored.revision;
  ASSIGN_OR_RETURN(etcd::RangeResult objects,
                   client.Range(prefix, etcd::PrefixEnd(prefix), options));
  for (mvccpb::KeyValue& kv : objects.kvs) {
    stored.objects.emplace(kv.key().substr(prefix.size()), std::move(*kv.mutable_value()));
  }
  return stored;
}

absl::StatusOr<uint64_t> StateWriter::Write(const State& state, const StoreWriteOptions& write) {
  EncodedState desired = EncodeState(state);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    ASSIGN_OR_RETURN(StoredState current, ReadStoredState(client_, keys_));
    if (write.if_version && static_cast<int64_t>(*write.if_version) != current.version) {
      return VersionConflict(current.version, *write.if_version);
    }
    ASSIGN_OR_RETURN(int64_t revision, TryWrite(current, desired, write.source));
    if (revision != 0) return revision;
    if (write.if_version) {  // someone wrote since: name their version
      ASSIGN_OR_RETURN(etcd::RangeResult head, client_.Range(keys_.Head(), ""));
      return VersionConflict(head.kvs.empty() ? 0 : head.kvs[0].mod_revision(), *write.if_version);
    }
  }
  return absl::AbortedError(absl::StrCat("the state changed under each of ", kMaxAttempts,
                                         " attempts to write it (concurrent writers)"));
}

absl::StatusOr<int64_t> StateWriter::TryWrite(const StoredState& current,
                                              const EncodedState& desired,
                                              const std::string& source) {
  const uint64_t generation = current.head.generation();
  const std::string prefix = keys_.Generation(generation);
  TxnRequest txn;
  GuardHead(txn, keys_, current.version);
  size_t bytes = 0;
  for (const auto& [key, value] : desired) {
    auto it = current.objects.find(key);
    if (it != current.objects.end() && it->second == value) continue;
    AddPut(txn, prefix + key, value);
    bytes += prefix.size() + key.size() + value.size() + kOpOverhead;
  }
  for (const auto& [key, value] : current.objects) {
    if (desired.contains(key)) continue;
    AddDelete(txn, prefix + key);
    bytes += prefix.size() + key.size() + kOpOverhead;
  }
  if (static_cast<size_t>(txn.success_size()) + 1 > options_.max_txn_ops ||
      bytes > options_.max_txn_bytes) {
    return Staged(current, desired, source);
  }
  AddPut(txn, keys_.Head(), HeadValue(generation, source));
  ASSIGN_OR_RETURN(etcdserverpb::TxnResponse response, client_.Txn(txn));
  return response.succeeded() ? response.header().revision() : 0;
}

absl::StatusOr<int64_t> StateWriter::Staged(const StoredState& current, const EncodedState& desired,
                                            const std::string& source) {
  const uint64_t generation = FreshGeneration(current.head.generation());
  const std::string prefix = keys_.Generation(generation);
  auto discard = [&] {
    TxnRequest txn;
    AddDelete(txn, prefix, etcd::PrefixEnd(prefix));
    (void)client_.Txn(txn);  // best effort: an unreferenced generation is only garbage
  };
  // Batches under both limits; nobody reads this generation until the head
  // names it.
  auto it = desired.begin();
  while (it != desired.end()) {
    TxnRequest batch;
    size_t bytes = 0;
    for (; it != desired.end() && static_cast<size_t>(batch.success_size()) < options_.max_txn_ops;
         ++it) {
      size_t size = prefix.size() + it->first.size() + it->second.size() + kOpOverhead;
      if (batch.success_size() > 0 && bytes + size > options_.max_txn_bytes) break;
      AddPut(batch, prefix + it->first, it->second);
      bytes += size;
    }
    absl::StatusOr<etcdserverpb::TxnResponse> staged = client_.Txn(batch);
    if (!staged.ok()) {
      discard();
      return WithContext(staged.status(), "staging a new state generation");
    }
  }
  const std::string old_prefix = keys_.Generation(current.head.generation());
  TxnRequest txn;
  GuardHead(txn, keys_, current.version);
  AddPut(txn, keys_.Head(), HeadValue(generation, source));
  AddDelete(txn, old_prefix, etcd::PrefixEnd(old_prefix));
  absl::StatusOr<etcdserverpb::TxnResponse> response = client_.Txn(txn);
  // Not discarded when the outcome is unknown: the switch may have happened.
  if (!response.ok()) return response.status();
  if (!response->succeeded()) {
    discard();
    return 0;
  }
  return response->header().revision();
}

}  // namespace weft
