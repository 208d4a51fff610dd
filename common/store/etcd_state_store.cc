#include "common/store/etcd_state_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "common/store/learned_txn.h"
#include "common/store/state_codec.h"

namespace weft {
namespace {

// How often the store thread writes queued realization and checks the lease.
constexpr absl::Duration kTick = absl::Milliseconds(100);

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdStateStore>> EtcdStateStore::Connect(
    const EtcdStoreOptions& options) {
  if (options.max_txn_ops < 2) {
    return absl::InvalidArgumentError("store: max_txn_ops below 2 (a head and one object)");
  }
  etcd::EtcdConfig config;
  config.endpoints = options.endpoints;
  config.ca_file = options.ca;
  config.cert_file = options.cert;
  config.key_file = options.key;
  ASSIGN_OR_RETURN(std::unique_ptr<etcd::Client> client, etcd::Client::Create(config));
  return std::unique_ptr<EtcdStateStore>(new EtcdStateStore(options, std::move(client)));
}

EtcdStateStore::EtcdStateStore(const EtcdStoreOptions& options,
                               std::unique_ptr<etcd::Client> client)
    : options_(options),
      client_(std::move(client)),
      keys_(options_.prefix),
      mirror_(keys_),
      writer_(*client_, keys_, options_, &mirror_mu_, &mirror_),
      fleet_(*client_, keys_, options_) {}

EtcdStateStore::~EtcdStateStore() { Halt(); }

absl::Status EtcdStateStore::Start(
    std::function<void(StoreSnapshot)> on_change,
    std::function<void(bool reachable, const std::string& why)> on_reachable) {
  on_change_ = std::move(on_change);
  on_reachable_ = std::move(on_reachable);
  RETURN_IF_ERROR(Load());
  RETURN_IF_ERROR(fleet_.Lease().status());
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

absl::Status EtcdStateStore::Load() {
  ASSIGN_OR_RETURN(StoredState stored, ReadStoredState(*client_, keys_));
  etcd::RangeOptions at;
  at.revision = stored.revision;
  ASSIGN_OR_RETURN(etcd::RangeResult learned,
                   client_->Range(keys_.Learned(), etcd::PrefixEnd(keys_.Learned()), at));
  const int64_t revision = stored.revision;
  StoreSnapshot snapshot;
  {
    absl::MutexLock lock(&mirror_mu_);
    mirror_.Reset(std::move(stored), learned.kvs);
    snapshot = mirror_.Snapshot(/*state_changed=*/true, /*learned_changed=*/true);
  }
  on_change_(std::move(snapshot));
  etcd::WatchCallbacks callbacks;
  callbacks.on_revision = [this](int64_t revision, const std::vector<mvccpb::Event>& events) {
    OnRevision(revision, events);
  };
  callbacks.on_health = [this](const absl::Status& why) {
    if (!why.ok()) WEFT_LOG_WARN("store: watch broken: %s", why.message());
    SetHealth(&watch_ok_, why);
  };
  callbacks.on_end = [this](const absl::Status& why) {
    WEFT_LOG_WARN("store: %s; reading everything again", why.message());
    absl::MutexLock lock(&mu_);
    watch_ended_ = true;
  };
  // From the learned keys up to the end of state/: one range, so that the
  // two arrive in revision order.
  watch_ = std::make_unique<etcd::Watch>(*client_, keys_.Learned(), keys_.StateEnd(), revision + 1,
                                         std::move(callbacks));
  return absl::OkStatus();
}

void EtcdStateStore::OnRevision(int64_t revision, const std::vector<mvccpb::Event>& events) {
  {
    absl::MutexLock lock(&mu_);
    if (watch_ended_) return;  // a reload is due, which supersedes this
  }
  StoreSnapshot snapshot;
  {
    absl::MutexLock lock(&mirror_mu_);
    StoreMirror::Changes changes = mirror_.Apply(revision, events);
    if (!changes.state && !changes.learned) return;
    if (changes.generation_switched) {
      // The whole new generation, as it was at the switch.
      const std::string prefix = keys_.Generation(mirror_.generation());
      etcd::RangeOptions at;
      at.revision = revision;
      absl::StatusOr<etcd::RangeResult> objects;
      while (!(objects = client_->Range(prefix, etcd::PrefixEnd(prefix), at)).ok()) {
        WEFT_LOG_WARN("store: reading generation %d at revision %d: %s", mirror_.generation(),
                      revision, objects.status().message());
        absl::MutexLock stop(&mu_);
        if (objects.status().code() == absl::StatusCode::kOutOfRange) {  // compacted
          watch_ended_ = true;  // the store thread reads everything again
          return;
        }
        auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
        if (mu_.AwaitWithTimeout(absl::Condition(&stopping), absl::Milliseconds(500))) return;
      }
      mirror_.LoadGeneration(objects->kvs);
    }
    snapshot = mirror_.Snapshot(changes.state, changes.learned);
  }
  on_change_(std::move(snapshot));
}

void EtcdStateStore::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), kTick)) return;
    }
    bool regranted = false;
    absl::Status lease = fleet_.Tick(&regranted);
    SetHealth(&lease_ok_, lease);
    if (regranted) {
      std::map<std::string, std::pair<std::string, LearnedSnapshot>> learned;
      {
        absl::MutexLock lock(&mu_);
        learned = learned_;
      }
      for (const auto& [node, report] : learned) {
        if (absl::Status status = PutLearned(node, report.first, report.second); !status.ok()) {
          WEFT_LOG_WARN("store: learned routes of %s again under the new lease: %s", node,
                        status.message());
        }
      }
    }
    bool reload = false;
    {
      absl::MutexLock lock(&mu_);
      reload = watch_ended_;
    }
    if (reload) {
      watch_.reset();  // its thread has returned
      absl::Status loaded = Load();
      SetHealth(&watch_ok_, loaded);
      absl::MutexLock lock(&mu_);
      watch_ended_ = !loaded.ok();
    }
  }
}

void EtcdStateStore::SetHealth(bool* part, const absl::Status& status) {
  bool changed = false;
  bool reachable = false;
  std::string why;
  {
    absl::MutexLock lock(&mu_);
    *part = status.ok();
    if (!status.ok()) why_ = std::string(status.message());
    reachable = watch_ok_ && lease_ok_;
    changed = reachable != reachable_;
    reachable_ = reachable;
    why = reachable ? "etcd answers again" : why_;
  }
  if (!changed || !on_reachable_) return;
  absl::MutexLock lock(&reachable_callback_mu_);
  on_reachable_(reachable, why);
}

void EtcdStateStore::Halt() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  if (watch_ != nullptr) watch_->Stop();
  watch_.reset();
}

void EtcdStateStore::Stop() {
  Halt();
  fleet_.Revoke();
}

absl::Status EtcdStateStore::Unreachable(const absl::Status& status) const {
  if (status.code() != absl::StatusCode::kUnavailable &&
      status.code() != absl::StatusCode::kDeadlineExceeded) {
    return status;
  }
  return absl::UnavailableError(absl::StrCat("store etcd://", client_->endpoints().Describe(),
                                             " unreachable: ", status.message()));
}

absl::StatusOr<uint64_t> EtcdStateStore::WriteState(const State& state,
                                                    const StoreWriteOptions& options) {
  {
    absl::MutexLock lock(&mu_);
    if (!reachable_) {
      return absl::UnavailableError(
          absl::StrCat("store etcd://", client_->endpoints().Describe(), " unreachable: ", why_));
    }
  }
  absl::StatusOr<uint64_t> version = writer_.Write(state, options);
  if (!version.ok()) return Unreachable(version.status());
  return version;
}

absl::StatusOr<State> EtcdStateStore::ReadState() {
  absl::StatusOr<StoredState> stored = ReadStoredState(*client_, keys_);
  if (!stored.ok()) return Unreachable(stored.status());
  State state;
  for (const auto& [key, value] : stored->objects) {
    ASSIGN_OR_RETURN(State object, DecodeObject(key, value));
    AppendObject(state, object);
  }
  state.version = stored->version;
  return state;
}

absl::Status EtcdStateStore::PutLearned(const std::string& node, const std::string& stream,
                                        const LearnedSnapshot& snapshot) {
  absl::StatusOr<int64_t> lease = fleet_.Lease();
  if (!lease.ok()) return Unreachable(lease.status());
  absl::Status status = client_->Txn(PutLearnedTxn(keys_, node, stream, snapshot, *lease)).status();
  if (!status.ok()) return Unreachable(status);
  absl::MutexLock lock(&mu_);
  learned_.insert_or_assign(node, std::make_pair(stream, snapshot));
  return absl::OkStatus();
}

absl::Status EtcdStateStore::DeleteLearned(const std::string& node, const std::string& stream) {
  absl::Status status = client_->Txn(DeleteLearnedTxn(keys_, node, stream)).status();
  if (!status.ok()) return Unreachable(status);
  absl::MutexLock lock(&mu_);
  if (auto it = learned_.find(node); it != learned_.end() && it->second.first == stream) {
    learned_.erase(it);
  }
  return absl::OkStatus();
}

void EtcdStateStore::SetRealized(const RealizedNode& node) { fleet_.SetRealized(node); }

void EtcdStateStore::SetConnected(const std::string& node, bool connected) {
  fleet_.SetConnected(node, connected);
}

absl::StatusOr<std::vector<RealizedNode>> EtcdStateStore::ReadRealization() {
  absl::StatusOr<std::vector<RealizedNode>> nodes = FleetWriter::Read(*client_, keys_);
  if (!nodes.ok()) return Unreachable(nodes.status());
  return nodes;
}

}  // namespace weft
