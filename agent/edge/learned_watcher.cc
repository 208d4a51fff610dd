#include "agent/edge/learned_watcher.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "common/model/net_format.h"

namespace weft::edge {

LearnedRead CutLearned(const UplinkPeers& uplinks, const std::vector<uint32_t>& established,
                       std::map<uint32_t, std::vector<Ipv4Prefix>> routes, size_t max_prefixes) {
  LearnedRead out;
  for (const auto& [peer, uplink] : uplinks) {
    std::vector<Ipv4Prefix>& prefixes = out.snapshot[uplink];
    if (std::find(established.begin(), established.end(), peer) == established.end()) continue;
    ++out.established;
    prefixes = std::move(routes[peer]);
    SortLearnedPrefixes(prefixes);
    if (prefixes.size() > max_prefixes) {
      out.dropped += prefixes.size() - max_prefixes;
      prefixes.resize(max_prefixes);
    }
  }
  return out;
}

LearnedRoutesWatcher::~LearnedRoutesWatcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (watch_context_ != nullptr) watch_context_->TryCancel();
  }
  if (reader_.joinable()) reader_.join();
  if (watcher_.joinable()) watcher_.join();
}

void LearnedRoutesWatcher::SetSink(LearnedSink sink) {
  absl::MutexLock lock(&sink_mu_);
  sink_ = std::move(sink);
}

void LearnedRoutesWatcher::SetUplinks(UplinkPeers uplinks) {
  absl::MutexLock lock(&mu_);
  if (uplinks != uplinks_) kicked_ = true;
  uplinks_ = std::move(uplinks);
  if (started_ || uplinks_.empty()) return;
  // Threads only on an edge with an uplink: elsewhere there is no gobgpd.
  started_ = true;
  kicked_ = true;
  client_ = bgp::GobgpClient::Connect(api_address_, absl::Seconds(2));
  reader_ = std::thread([this] { Run(); });
  watcher_ = std::thread([this] { Watch(); });
}

size_t LearnedRoutesWatcher::sessions() const {
  absl::MutexLock lock(&mu_);
  return uplinks_.size();
}

std::map<std::string, size_t> LearnedRoutesWatcher::learned_per_uplink() const {
  absl::MutexLock lock(&mu_);
  return learned_;
}

void LearnedRoutesWatcher::Kick() {
  absl::MutexLock lock(&mu_);
  kicked_ = true;
}

void LearnedRoutesWatcher::Watch() {
  for (;;) {
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      watch_context_ = &context;
    }
    auto client = bgp::GobgpClient::Connect(api_address_);
    const absl::Status ended = client->WatchChanges(context, [this] { Kick(); });
    absl::MutexLock lock(&mu_);
    watch_context_ = nullptr;
    if (stopping_) return;
    kicked_ = true;  // what happened while no stream was open
    WEFT_LOG_WARN("BGP: watching learned routes: %s; watching again", ended.ToString());
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Seconds(1));
  }
}

absl::StatusOr<LearnedRead> LearnedRoutesWatcher::Read(const UplinkPeers& uplinks) {
  ASSIGN_OR_RETURN(const std::vector<uint32_t> established, client_->EstablishedPeers());
  std::map<uint32_t, std::vector<Ipv4Prefix>> routes;
  for (const auto& [peer, uplink] : uplinks) {
    if (std::find(established.begin(), established.end(), peer) == established.end()) continue;
    absl::StatusOr<std::vector<bgp::LearnedRoute>> learned = client_->LearnedRoutes(peer);
    if (!learned.ok()) return WithContext(learned.status(), absl::StrCat("uplink ", uplink));
    for (const bgp::LearnedRoute& r : *learned) routes[peer].push_back(r.prefix);
  }
  return CutLearned(uplinks, established, std::move(routes), max_prefixes_);
}

void LearnedRoutesWatcher::Run() {
  std::optional<LearnedSnapshot> sent;  // the sink's last snapshot
  std::string last_error;
  size_t last_dropped = 0;
  absl::Time last_read = absl::InfinitePast();
  for (;;) {
    UplinkPeers uplinks;
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithDeadline(absl::Condition(this, &LearnedRoutesWatcher::Woken),
                            last_read + kSafetyPoll);
      if (stopping_) return;
    }
    // Debounce: a burst of UPDATEs (a peer's whole table) is one read.
    absl::SleepFor(kDebounce);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      kicked_ = false;
      uplinks = uplinks_;
    }
    last_read = absl::Now();
    absl::StatusOr<LearnedRead> read = Read(uplinks);
    if (!read.ok()) {
      // gobgpd not (yet) there, or restarting: the next wake-up or poll reads again.
      if (read.status().ToString() != last_error) {
        last_error = read.status().ToString();
        WEFT_LOG_WARN("BGP: reading learned routes: %s", last_error);
      }
      continue;
    }
    last_error.clear();
    established_ = read->established;
    dropped_ = read->dropped;
    if (read->dropped != last_dropped) {
      last_dropped = read->dropped;
      WEFT_LOG_WARN(
          "BGP: %d learned prefixes dropped: more than --max_learned_prefixes (%d) on "
          "an uplink",
          read->dropped, max_prefixes_);
    }
    {
      absl::MutexLock lock(&mu_);
      learned_.clear();
      for (const auto& [uplink, prefixes] : read->snapshot) learned_[uplink] = prefixes.size();
    }
    if (sent == read->snapshot) continue;
    // Nothing learned yet and nothing reported before: no report (the
    // controller has nothing of this node's).
    bool any = false;
    for (const auto& [uplink, prefixes] : read->snapshot) any = any || !prefixes.empty();
    if (!sent && !any) continue;
    sent = read->snapshot;
    absl::MutexLock lock(&sink_mu_);
    if (sink_) sink_(read->snapshot);
  }
}

}  // namespace weft::edge
