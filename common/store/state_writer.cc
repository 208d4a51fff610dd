#include "common/store/state_writer.h"

#include <optional>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/status.h"
#include "common/store/store_mirror.h"

namespace weft {
namespace {

// Unguarded writes that lose a race are recomputed at most this often.
constexpr int kMaxAttempts = 5;
// A request's bytes beside its keys and values (headers, op framing).
constexpr size_t kOpOverhead = 16;
// How long a write waits for the replica's watch to bring its mirror to the
// version wanted before reading the state from etcd instead.
constexpr absl::Duration kMirrorWait = absl::Seconds(1);

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

// The head unchanged since `version` (0: never written); when it changed,
// the transaction answers with the head (OutcomeOf).
void GuardHead(TxnRequest& txn, const StoreKeys& keys, int64_t version) {
  Compare* compare = txn.add_compare();
  compare->set_key(keys.Head());
  compare->set_target(Compare::MOD);
  compare->set_result(Compare::EQUAL);
  compare->set_mod_revision(version);
  txn.add_failure()->mutable_request_range()->set_key(keys.Head());
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

StateWriter::Outcome StateWriter::OutcomeOf(const etcdserverpb::TxnResponse& response) {
  Outcome outcome;
  if (response.succeeded()) {
    outcome.revision = response.header().revision();
  } else if (response.responses_size() > 0 &&
             response.responses(0).response_range().kvs_size() > 0) {  // GuardHead's read
    outcome.head_version = response.responses(0).response_range().kvs(0).mod_revision();
  }
  return outcome;
}

absl::StatusOr<uint64_t> StateWriter::Write(const State& state, const StoreWriteOptions& write) {
  EncodedState desired = EncodeState(state);
  std::optional<int64_t> guarded;
  if (write.if_version) guarded = static_cast<int64_t>(*write.if_version);
  // The state version to diff against: the writer's, else (after losing a
  // race) the winner's; none at first: the mirror as it is.
  std::optional<int64_t> version = guarded;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    std::optional<Plan> plan = DiffMirror(version.value_or(0), version, desired);
    if (!plan) {
      ASSIGN_OR_RETURN(StoredState current, ReadStoredState(client_, keys_));
      if (guarded && *guarded != current.version) {
        return VersionConflict(current.version, *write.if_version);
      }
      plan = Diff(current, desired);
    }
    ASSIGN_OR_RETURN(Outcome outcome, Commit(*std::move(plan), desired, write.source));
    if (outcome.revision != 0) return outcome.revision;
    // Someone wrote since.
    if (guarded) return VersionConflict(outcome.head_version, *write.if_version);
    version = outcome.head_version;
  }
  return absl::AbortedError(absl::StrCat("the state changed under each of ", kMaxAttempts,
                                         " attempts to write it (concurrent writers)"));
}

std::optional<StateWriter::Plan> StateWriter::DiffMirror(int64_t at_least,
                                                         std::optional<int64_t> version,
                                                         const EncodedState& desired) {
  if (mirror_ == nullptr) return std::nullopt;
  absl::MutexLock lock(mirror_mu_);
  // A mirror never loaded (the store not started) has no watch to wait for.
  auto caught_up = [&] { return mirror_->revision() == 0 || mirror_->revision() >= at_least; };
  mirror_mu_->AwaitWithTimeout(absl::Condition(&caught_up), kMirrorWait);
  const StoredState* current = mirror_->stored();
  if (current == nullptr || current->revision < at_least ||
      (version && current->version != *version)) {
    return std::nullopt;
  }
  return Diff(*current, desired);
}

StateWriter::Plan StateWriter::Diff(const StoredState& current, const EncodedState& desired) const {
  Plan plan;
  plan.version = current.version;
  plan.generation = current.head.generation();
  const std::string prefix = keys_.Generation(plan.generation);
  GuardHead(plan.diff, keys_, plan.version);
  size_t bytes = 0;
  auto put = [&](const std::string& key, const std::string& value) {
    AddPut(plan.diff, prefix + key, value);
    bytes += prefix.size() + key.size() + value.size() + kOpOverhead;
  };
  auto remove = [&](const std::string& key) {
    AddDelete(plan.diff, prefix + key);
    bytes += prefix.size() + key.size() + kOpOverhead;
  };
  // Both sorted by key: one walk over the two.
  auto want = desired.begin();
  auto have = current.objects.begin();
  while (want != desired.end() || have != current.objects.end()) {
    if (have == current.objects.end() || (want != desired.end() && want->first < have->first)) {
      put(want->first, want->second);
      ++want;
    } else if (want == desired.end() || have->first < want->first) {
      remove(have->first);
      ++have;
    } else {
      if (want->second != have->second) put(want->first, want->second);
      ++want;
      ++have;
    }
  }
  if (static_cast<size_t>(plan.diff.success_size()) + 1 > options_.max_txn_ops ||
      bytes > options_.max_txn_bytes) {
    plan.staged = true;
    plan.diff.Clear();
  }
  return plan;
}

absl::StatusOr<StateWriter::Outcome> StateWriter::Commit(Plan plan, const EncodedState& desired,
                                                         const std::string& source) {
  if (plan.staged) return Staged(plan, desired, source);
  AddPut(plan.diff, keys_.Head(), HeadValue(plan.generation, source));
  ASSIGN_OR_RETURN(etcdserverpb::TxnResponse response, client_.Txn(plan.diff));
  return OutcomeOf(response);
}

absl::StatusOr<StateWriter::Outcome> StateWriter::Staged(const Plan& plan,
                                                         const EncodedState& desired,
                                                         const std::string& source) {
  const uint64_t generation = FreshGeneration(plan.generation);
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
  const std::string old_prefix = keys_.Generation(plan.generation);
  TxnRequest txn;
  GuardHead(txn, keys_, plan.version);
  AddPut(txn, keys_.Head(), HeadValue(generation, source));
  AddDelete(txn, old_prefix, etcd::PrefixEnd(old_prefix));
  absl::StatusOr<etcdserverpb::TxnResponse> response = client_.Txn(txn);
  // Not discarded when the outcome is unknown: the switch may have happened.
  if (!response.ok()) return response.status();
  if (!response->succeeded()) discard();
  return OutcomeOf(*response);
}

}  // namespace weft
