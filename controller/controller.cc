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

absl::StatusOr<uint64_t> Controller::Apply(State state, absl::string_view source) {
  if (state.version > kMaxRequestedVersion) {
    return FieldError("state", "version",
                      absl::StrCat(state.version, " is over ", kMaxRequestedVersion,
                                   ": later versions would have no room to grow"));
  }
  std::lock_guard<std::mutex> apply_lock(apply_mu_);
  const absl::Time start = absl::Now();
  // At most kMaxRequestedVersion + one per Apply: 2^63 changes from the
  // wrap, which no controller lives to make.
  const uint64_t version = std::max<uint64_t>(state.version, this->version() + 1);
  state.version = version;
  builder_.Update(state);
  SetLearnedLocked(state);
  std::vector<std::string> changed;
  std::map<std::string, std::shared_ptr<const NodeView>> views =
      BuildViewsLocked(state, version, &changed);
  std::shared_ptr<const NodeView> nodes_only = builder_.NodesOnly(version);
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::swap(nodes_only_, nodes_only);
    std::swap(state_, state);
    std::swap(views_, views);
    version_ = version;
  }
  cv_.notify_all();
  const State& now = state_;  // only Apply replaces it
  WEFT_LOG_INFO(
      "version %d from %s: %d nodes, %d tenants, %d segments, %d endpoints; "
      "views changed: %s (%d ms)",
      version, source, now.nodes.size(), now.tenants.size(), now.segments.size(),
      now.endpoints.size(), NamesForLog(changed), absl::ToInt64Milliseconds(absl::Now() - start));
  return version;
}

void Controller::RelearnLocked(absl::string_view why) {
  const State& state = state_;  // only the holder of apply_mu_ replaces it
  SetLearnedLocked(state);
  const uint64_t version = this->version() + 1;
  std::vector<std::string> changed;
  std::map<std::string, std::shared_ptr<const NodeView>> views =
      BuildViewsLocked(state, version, &changed);
  if (changed.empty()) return;  // no view changed: no new version
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::swap(views_, views);
    state_.version = version;
    version_ = version;
    // nodes_only_ holds no tenant, so no learned route: it keeps its version.
  }
  cv_.notify_all();
  WEFT_LOG_INFO("version %d: %s; views changed: %s", version, why, NamesForLog(changed));
}

absl::Status Controller::ReportLearned(const std::string& node, uint64_t stream,
                                       LearnedSnapshot snapshot) {
  std::lock_guard<std::mutex> apply_lock(apply_mu_);
  RETURN_IF_ERROR(CheckLearnedReport(state_, node, snapshot));
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
  std::lock_guard<std::mutex> apply_lock(apply_mu_);
  auto it = learned_stream_.find(node);
  if (it == learned_stream_.end() || it->second != stream) return;  // a newer stream's
  learned_stream_.erase(it);
  learned_.erase(node);
  RelearnLocked(absl::StrCat("node ", node, "'s stream ended, its learned routes with it"));
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

void Controller::StreamOpened(const std::string& node, uint64_t applied_version) {
  std::lock_guard<std::mutex> lock(mu_);
  NodeStatus& s = status_[node];
  ++s.streams;
  // applied_version is only logged: it may be a previous controller's
  // numbering, so it says nothing about this controller's versions.
  WEFT_LOG_INFO("node %s connected (stream %d, applied version %d)", node, s.streams,
                applied_version);
}

void Controller::StreamClosed(const std::string& node) {
  std::lock_guard<std::mutex> lock(mu_);
  --status_[node].streams;
  WEFT_LOG_INFO("node %s disconnected", node);
}

void Controller::Sent(const std::string& node, const NodeView& view, const std::string& nonce) {
  std::lock_guard<std::mutex> lock(mu_);
  NodeStatus& s = status_[node];
  s.sent_nonce = nonce;
  s.sent_version = view.version;
  s.sent_fingerprint = view.fingerprint;
}

void Controller::Acked(const std::string& node, uint64_t version, const std::string& nonce) {
  std::lock_guard<std::mutex> lock(mu_);
  NodeStatus& s = status_[node];
  s.acked_version = version;
  s.acked_fingerprint = nonce == s.sent_nonce ? s.sent_fingerprint : "";
  s.nack_error.clear();
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
  s.nack_error.clear();
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
    r->set_connected(s.streams > 0);
    r->set_acked_version(s.acked_version);
    r->set_nacked_version(s.nacked_version);
    r->set_nack_error(s.nack_error);
    auto view = views_.find(node.name);
    const bool current = view != views_.end() && !s.acked_fingerprint.empty() &&
                         s.acked_fingerprint == view->second->fingerprint;
    r->set_enforced_version(current ? version_ : s.acked_version);
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
