#include "controller/controller.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "common/model/features.h"
#include "common/model/validate.h"
#include "common/wire/nack.h"
#include "weft/abi.h"

namespace weft {

namespace {

// At most the first few names, for a log line.
std::string NamesForLog(const std::vector<std::string>& names) {
  constexpr size_t kNamesLogged = 8;
  std::string out =
      absl::StrJoin(names.begin(), names.begin() + std::min(names.size(), kNamesLogged), ", ");
  if (names.size() > kNamesLogged) {
    absl::StrAppend(&out, " and ", names.size() - kNamesLogged, " more");
  }
  return out.empty() ? "none" : out;
}

}  // namespace

std::map<std::string, std::shared_ptr<const NodeView>> Controller::BuildViewsLocked(
    const State& state, uint64_t version, std::vector<std::string>* changed) {
  // Only the holder of apply_mu_ writes views_: reading it unlocked is safe.
  std::map<std::string, std::shared_ptr<const NodeView>> views;
  for (const Node& node : state.nodes) {
    if (node.foreign) continue;
    std::shared_ptr<const NodeView> view = builder_.View(node.name, version);
    auto old = views_.find(node.name);
    if (old != views_.end() && old->second->fingerprint == view->fingerprint) {
      view = old->second;  // unchanged: keeps its version, is not re-sent
    } else {
      changed->push_back(node.name);
    }
    views.emplace(node.name, std::move(view));
  }
  return views;
}

void Controller::SetLearnedLocked(const State& state) {
  TenantLearnedRoutes learned = weft::LearnedRoutes(state, learned_);
  if (learned.dropped != learned_dropped_.exchange(learned.dropped) && learned.dropped > 0) {
    WEFT_LOG_WARN(
        "%d routes learned upstream left out: the views would hold more than the datapath's "
        "%d routes",
        learned.dropped, WEFT_MAX_ROUTES);
  }
  builder_.SetLearned(learned.by_tenant);
  std::vector<Route> all;
  for (auto& [tenant, routes] : learned.by_tenant) {
    std::move(routes.begin(), routes.end(), std::back_inserter(all));
  }
  std::lock_guard<std::mutex> lock(mu_);
  learned_routes_ = std::move(all);
}

absl::StatusOr<uint64_t> Controller::Apply(State state, absl::string_view source,
                                           std::optional<uint64_t> if_version) {
  if (store_ != nullptr) {
    StoreWriteOptions options;
    options.if_version = if_version;
    options.source = std::string(source);
    absl::StatusOr<uint64_t> written = store_->WriteState(state, options);
    if (absl::IsUnavailable(written.status())) {
      return WithContext(written.status(), "the state store is unreachable, nothing was written");
    }
    RETURN_IF_ERROR(written.status());
    if (!AwaitRevision(*written, kWriteVisibleTimeout)) {
      WEFT_LOG_WARN("version %d from %s is in the store but not yet served here after %d s",
                    *written, source, absl::ToInt64Seconds(kWriteVisibleTimeout));
    }
    return *written;
  }
  if (state.version > kMaxRequestedVersion) {
    return FieldError("state", "version",
                      absl::StrCat(state.version, " is over ", kMaxRequestedVersion,
                                   ": later versions would have no room to grow"));
  }
  std::lock_guard<std::mutex> apply_lock(apply_mu_);
  if (if_version.has_value() && *if_version != this->version()) {
    return absl::AbortedError(absl::StrCat("the state is at version ", this->version(), ", not ",
                                           *if_version,
                                           ": read it again (weftctl get state) and reapply"));
  }
  // At most kMaxRequestedVersion + one per Apply: 2^63 changes from the
  // wrap, which no controller lives to make.
  const uint64_t version = std::max<uint64_t>(state.version, this->version() + 1);
  state.version = version;
  InstallLocked(std::move(state), version, source);
  return version;
}

void Controller::InstallLocked(State state, uint64_t views_version, absl::string_view source) {
  const absl::Time start = absl::Now();
  builder_.Update(state);
  SetLearnedLocked(state);
  std::vector<std::string> changed;
  std::map<std::string, std::shared_ptr<const NodeView>> views =
      BuildViewsLocked(state, views_version, &changed);
  std::shared_ptr<const NodeView> nodes_only = builder_.NodesOnly(views_version);
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::swap(nodes_only_, nodes_only);
    std::swap(state_, state);
    std::swap(views_, views);
    version_ = views_version;
  }
  cv_.notify_all();
  const State& now = state_;  // only the holder of apply_mu_ replaces it
  WEFT_LOG_INFO(
      "version %d from %s: %d nodes, %d tenants, %d segments, %d endpoints; "
      "views changed: %s (%d ms)",
      views_version, source, now.nodes.size(), now.tenants.size(), now.segments.size(),
      now.endpoints.size(), NamesForLog(changed), absl::ToInt64Milliseconds(absl::Now() - start));
}

absl::Status Controller::InstallAt(uint64_t revision, std::optional<State> state,
                                   std::optional<LearnedReports> learned,
                                   absl::string_view source) {
  std::lock_guard<std::mutex> apply_lock(apply_mu_);
  if (revision <= this->revision()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store revision ", revision, " is not above the revision served, ", this->revision()));
  }
  if (learned.has_value()) learned_ = *std::move(learned);
  if (state.has_value()) {
    InstallLocked(*std::move(state), revision, source);
  } else if (learned.has_value()) {
    RelearnLocked(absl::StrCat(source, ": the learned routes changed"), revision);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    revision_ = revision;
  }
  cv_.notify_all();
  return absl::OkStatus();
}

uint64_t Controller::revision() const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_ != nullptr ? revision_ : version_;
}

bool Controller::AwaitRevision(uint64_t revision, absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                      [&] { return revision_ >= revision; });
}

bool Controller::AwaitVersion(const std::string& node, uint64_t applied_version,
                              const std::string& applied_digest, absl::Duration timeout) const {
  if (store_ == nullptr) return true;
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
    if (revision_ >= applied_version) return true;
    auto view = views_.find(node);
    return !applied_digest.empty() && view != views_.end() &&
           view->second->digest == applied_digest;
  });
}

void Controller::RelearnLocked(absl::string_view why, uint64_t version) {
  const State& state = state_;  // only the holder of apply_mu_ replaces it
  SetLearnedLocked(state);
  if (version == 0) version = this->version() + 1;
  std::vector<std::string> changed;
  std::map<std::string, std::shared_ptr<const NodeView>> views =
      BuildViewsLocked(state, version, &changed);
  if (changed.empty()) return;  // no view changed: no new version
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::swap(views_, views);
    // In store mode the state's version is the desired state's (what
    // if_version compares with), which learned routes do not change.
    if (store_ == nullptr) state_.version = version;
    version_ = version;
    // nodes_only_ holds no tenant, so no learned route: it keeps its version.
  }
  cv_.notify_all();
  WEFT_LOG_INFO("version %d: %s; views changed: %s", version, why, NamesForLog(changed));
}

std::string Controller::StreamName(uint64_t stream) const {
  return absl::StrCat(replica_, "#", stream);
}

absl::Status Controller::ReportLearned(const std::string& node, uint64_t stream,
                                       LearnedSnapshot snapshot) {
  std::unique_lock<std::mutex> apply_lock(apply_mu_);
  RETURN_IF_ERROR(CheckLearnedReport(state_, node, snapshot));
  if (store_ != nullptr) {
    own_learned_[node] = OwnReport{stream, snapshot, /*stored=*/false};
    forgotten_.erase(node);
    apply_lock.unlock();  // the store's round trip holds no install back
    const absl::Status put = store_->PutLearned(node, StreamName(stream), snapshot);
    apply_lock.lock();
    if (auto own = own_learned_.find(node);
        own != own_learned_.end() && own->second.stream == stream) {
      own->second.stored = put.ok();
    }
    if (!put.ok()) {
      WEFT_LOG_WARN(
          "node %s: its learned routes are not in the store (put again when it answers): %s", node,
          put.message());
    }
    return absl::OkStatus();
  }
  auto old = learned_.find(node);
  const bool same = old != learned_.end() && old->second == snapshot;
  learned_stream_[node] = stream;
  if (same) return absl::OkStatus();
  size_t prefixes = 0;
  for (const auto& [uplink, list] : snapshot) prefixes += list.size();
  const size_t uplinks = snapshot.size();
  learned_[node] = std::move(snapshot);
  RelearnLocked(
      absl::StrCat("node ", node, " learns ", prefixes, " prefixes on ", uplinks, " uplinks"));
  return absl::OkStatus();
}

void Controller::ForgetLearned(const std::string& node, uint64_t stream) {
  std::unique_lock<std::mutex> apply_lock(apply_mu_);
  if (store_ != nullptr) {
    auto it = own_learned_.find(node);
    if (it == own_learned_.end() || it->second.stream != stream) return;  // a newer stream's
    own_learned_.erase(it);
    forgotten_[node] = stream;
    apply_lock.unlock();
    if (absl::Status deleted = store_->DeleteLearned(node, StreamName(stream)); !deleted.ok()) {
      WEFT_LOG_WARN("node %s: its learned routes stay in the store (removed when it answers): %s",
                    node, deleted.message());
      return;
    }
    std::lock_guard<std::mutex> relock(apply_mu_);
    if (auto f = forgotten_.find(node); f != forgotten_.end() && f->second == stream) {
      forgotten_.erase(f);
    }
    return;
  }
  auto it = learned_stream_.find(node);
  if (it == learned_stream_.end() || it->second != stream) return;  // a newer stream's
  learned_stream_.erase(it);
  learned_.erase(node);
  RelearnLocked(absl::StrCat("node ", node, "'s stream ended, its learned routes with it"));
}

void Controller::Republish() {
  if (store_ == nullptr) return;
  std::map<std::string, OwnReport> unstored;
  std::map<std::string, uint64_t> forgotten;
  {
    std::lock_guard<std::mutex> apply_lock(apply_mu_);
    for (const auto& [node, report] : own_learned_) {
      if (!report.stored) unstored.emplace(node, report);
    }
    forgotten = forgotten_;
  }
  // What the store did take it keeps itself (again under a new lease).
  for (const auto& [node, report] : unstored) {
    const absl::Status put = store_->PutLearned(node, StreamName(report.stream), report.snapshot);
    if (!put.ok()) {
      WEFT_LOG_WARN("node %s: its learned routes are still not in the store: %s", node,
                    put.message());
      continue;
    }
    std::lock_guard<std::mutex> apply_lock(apply_mu_);
    if (auto own = own_learned_.find(node);
        own != own_learned_.end() && own->second.stream == report.stream) {
      own->second.stored = true;
    }
  }
  for (const auto& [node, stream] : forgotten) {
    if (!store_->DeleteLearned(node, StreamName(stream)).ok()) continue;
    std::lock_guard<std::mutex> apply_lock(apply_mu_);
    if (auto f = forgotten_.find(node); f != forgotten_.end() && f->second == stream) {
      forgotten_.erase(f);
    }
  }
}

std::vector<Route> Controller::LearnedRoutes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return learned_routes_;
}

uint64_t Controller::version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return version_;
}

State Controller::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

std::shared_ptr<const NodeView> Controller::ViewLocked(const std::string& node) const {
  auto it = views_.find(node);
  if (it != views_.end()) return it->second;
  // Not a Weft node of the state: nodes only, at the current version.
  return nodes_only_ != nullptr ? nodes_only_ : std::make_shared<const NodeView>();
}

std::shared_ptr<const NodeView> Controller::View(const std::string& node) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ViewLocked(node);
}

bool Controller::HasWeftNode(const std::string& node) const {
  std::lock_guard<std::mutex> lock(mu_);
  return views_.count(node) > 0;
}

std::shared_ptr<const NodeView> Controller::WaitForView(const std::string& node,
                                                        const std::string& fingerprint,
                                                        const std::atomic<bool>& closed,
                                                        absl::Duration timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  std::shared_ptr<const NodeView> view = ViewLocked(node);
  cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
    view = ViewLocked(node);
    return closed.load() || view->fingerprint != fingerprint;
  });
  return view;
}

void Controller::StreamOpened(const std::string& node, uint64_t applied_version,
                              std::vector<std::string> capabilities) {
  std::lock_guard<std::mutex> lock(mu_);
  NodeStatus& s = status_[node];
  ++s.streams;
  s.capabilities = std::move(capabilities);
  // The store's queue keeps these in the order of mu_.
  if (store_ != nullptr && s.streams == 1) store_->SetConnected(node, true);
  // applied_version is only logged here: in file mode it may be a previous
  // controller's numbering (AwaitVersion compares it in store mode).
  WEFT_LOG_INFO("node %s connected (stream %d, applied version %d)", node, s.streams,
                applied_version);
}

void Controller::StreamClosed(const std::string& node) {
  std::lock_guard<std::mutex> lock(mu_);
  if (--status_[node].streams == 0 && store_ != nullptr) store_->SetConnected(node, false);
  WEFT_LOG_INFO("node %s disconnected", node);
}

void Controller::Sent(const std::string& node, const NodeView& view, const std::string& nonce) {
  std::lock_guard<std::mutex> lock(mu_);
  NodeStatus& s = status_[node];
  s.sent_nonce = nonce;
  s.sent_version = view.version;
  s.sent_fingerprint = view.fingerprint;
  s.sent_digest = view.digest;
}

RealizedNode Controller::RealizedLocked(const std::string& node, const NodeStatus& s) const {
  RealizedNode r;
  r.node = node;
  r.acked_version = s.acked_version;
  r.acked_digest = s.acked_digest;
  r.nacked_version = s.nacked_version;
  r.nack_error = s.nack_error;
  r.capabilities = s.capabilities;
  return r;
}

void Controller::Acked(const std::string& node, uint64_t version, const std::string& nonce) {
  std::lock_guard<std::mutex> lock(mu_);
  NodeStatus& s = status_[node];
  s.acked_version = version;
  s.acked_fingerprint = nonce == s.sent_nonce ? s.sent_fingerprint : "";
  s.acked_digest = nonce == s.sent_nonce ? s.sent_digest : "";
  s.nack_error.clear();
  if (store_ != nullptr) store_->SetRealized(RealizedLocked(node, s));
  WEFT_LOG_INFO("node %s acked version %d (nonce %s)", node, version, nonce);
}

std::shared_ptr<const NodeView> Controller::Resume(const std::string& node,
                                                   uint64_t applied_version,
                                                   const std::string& applied_digest) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<const NodeView> view = ViewLocked(node);
  if (applied_digest.empty() || applied_digest != view->digest) return nullptr;
  NodeStatus& s = status_[node];
  s.acked_version = applied_version;
  s.acked_fingerprint = view->fingerprint;
  s.acked_digest = view->digest;
  s.nack_error.clear();
  if (store_ != nullptr) store_->SetRealized(RealizedLocked(node, s));
  WEFT_LOG_INFO("node %s: resumed at version %d (digest %s), nothing to send", node,
                applied_version, absl::BytesToHexString(applied_digest).substr(0, 16));
  return view;
}

namespace {

// Control characters as \xNN; the rest (quotes included) as it is, so a
// validator's message reads the same.
std::string ControlsEscaped(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += absl::StrFormat("\\x%02x", u);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void Controller::Nacked(const std::string& node, uint64_t version, const std::string& nonce,
                        const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  // The agent's words: kept and logged escaped and bounded, so a broken or
  // hostile agent costs neither memory nor a readable log.
  const bool cut = error.size() > kMaxNackErrorBytes;
  NodeStatus& s = status_[node];
  s.nacked_version = version;
  s.nack_error =
      absl::StrCat(ControlsEscaped(absl::string_view(error).substr(0, kMaxNackErrorBytes)),
                   cut ? absl::StrCat("... (", error.size(), " bytes)") : "");
  ++s.nacks;
  if (store_ != nullptr) store_->SetRealized(RealizedLocked(node, s));
  WEFT_LOG_WARN("node %s refused version %d (nonce %s): %s", node, version, QuoteBounded(nonce),
                s.nack_error);
}

std::map<std::string, uint64_t> Controller::NackCounts() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, uint64_t> out;
  for (const auto& [node, s] : status_) out[node] = s.nacks;
  return out;
}

v1::GetRealizationResponse Controller::Realization(uint64_t version) const {
  // The fleet as every replica wrote it; read before mu_ is taken (a round
  // trip to the store).
  std::map<std::string, RealizedNode> fleet;
  if (store_ != nullptr) {
    absl::StatusOr<std::vector<RealizedNode>> read = store_->ReadRealization();
    if (read.ok()) {
      for (RealizedNode& n : *read) fleet.emplace(n.node, std::move(n));
    } else {
      WEFT_LOG_WARN("realization: this replica's streams only: %s", read.status().message());
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  v1::GetRealizationResponse out;
  out.set_controller_version(version_);
  const uint64_t asked = version == 0 ? version_ : version;
  out.set_version(asked);
  bool all = true;
  for (const Node& node : state_.nodes) {
    if (node.foreign) continue;
    v1::NodeRealization* r = out.add_nodes();
    r->set_node(node.name);
    auto it = status_.find(node.name);
    const NodeStatus s = it == status_.end() ? NodeStatus() : it->second;
    auto view = views_.find(node.name);
    auto stored = fleet.find(node.name);
    // This replica's own knowledge of the streams it holds is the newest
    // (the store's copy is written in batches); the store's for the others.
    const bool here = s.streams > 0 || stored == fleet.end();
    bool current;
    if (here) {
      r->set_connected(s.streams > 0);
      r->set_acked_version(s.acked_version);
      r->set_nacked_version(s.nacked_version);
      r->set_nack_error(s.nack_error);
      for (const std::string& c : s.capabilities) r->add_capabilities(c);
      current = view != views_.end() && !s.acked_fingerprint.empty() &&
                s.acked_fingerprint == view->second->fingerprint;
    } else {
      const RealizedNode& f = stored->second;
      r->set_connected(!f.replicas.empty());
      r->set_acked_version(f.acked_version);
      r->set_nacked_version(f.nacked_version);
      r->set_nack_error(f.nack_error);
      for (const std::string& c : f.capabilities) r->add_capabilities(c);
      current =
          view != views_.end() && !f.acked_digest.empty() && f.acked_digest == view->second->digest;
    }
    if (stored != fleet.end()) {
      for (const std::string& replica : stored->second.replicas) r->add_replicas(replica);
    }
    if (store_ != nullptr && s.streams > 0 &&
        std::find(r->replicas().begin(), r->replicas().end(), replica_) == r->replicas().end()) {
      r->add_replicas(replica_);
    }
    if (view != views_.end() && (r->connected() || r->acked_version() > 0)) {
      const std::vector<std::string> capabilities(r->capabilities().begin(),
                                                  r->capabilities().end());
      for (const std::string& u : Unrealized(view->second->features, capabilities)) {
        r->add_unrealized(u);
      }
    }
    r->set_enforced_version(current ? version_ : r->acked_version());
    if (r->enforced_version() >= asked) {
      out.add_enforcing(node.name);
    } else {
      all = false;
    }
  }
  out.set_all_enforcing(all);
  return out;
}

}  // namespace weft
