// Watches what each uplink's peer announces to an edge (gobgpd's adj-RIB-in
// of each Established session) and hands every change, as a snapshot of all
// the node's uplinks, to a sink: the sync client, which reports it to the
// controller (docs/NORTH_SOUTH.md#learned-routes).
//
// gobgpd's WatchEvent stream (peer state and adj-RIB-in changes) wakes a
// re-read, debounced by kDebounce so that a burst of UPDATEs costs one read;
// a re-read every kSafetyPoll catches anything a lost stream missed. A
// session that is not Established reports no prefixes. Each uplink reports
// at most `max_prefixes` (the lowest, by address and length): the excess is
// counted and logged once per change of the count.
#ifndef WEFT_AGENT_EDGE_LEARNED_WATCHER_H_
#define WEFT_AGENT_EDGE_LEARNED_WATCHER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/bgp/gobgp_client.h"
#include "common/wire/learned_chunk.h"
#include "grpcpp/client_context.h"

namespace weft::edge {

using LearnedSink = std::function<void(LearnedSnapshot)>;

// Peer address (host order) -> uplink name, for the node's uplinks.
using UplinkPeers = std::map<uint32_t, std::string>;

// One read of the speaker: `routes` of each uplink whose peer is in
// `established`, cut to `max_prefixes` each (`dropped` counts the rest);
// uplinks whose session is down report none.
struct LearnedRead {
  LearnedSnapshot snapshot;
  size_t established = 0;
  size_t dropped = 0;
};
LearnedRead CutLearned(const UplinkPeers& uplinks, const std::vector<uint32_t>& established,
                       std::map<uint32_t, std::vector<Ipv4Prefix>> routes, size_t max_prefixes);

class LearnedRoutesWatcher {
 public:
  static constexpr absl::Duration kDebounce = absl::Milliseconds(50);
  static constexpr absl::Duration kSafetyPoll = absl::Seconds(5);

  // gobgpd's API at `api_address`.
  LearnedRoutesWatcher(std::string api_address, size_t max_prefixes)
      : api_address_(std::move(api_address)), max_prefixes_(max_prefixes) {}
  ~LearnedRoutesWatcher();

  // Where snapshots go (called from the watcher's thread). Once SetSink
  // returns, the previous sink is called no more (nullptr: none).
  void SetSink(LearnedSink sink) ABSL_LOCKS_EXCLUDED(sink_mu_);
  // The node's uplinks now (from the main loop, after the announcer's Apply):
  // starts the watcher the first time there is one, and re-reads.
  void SetUplinks(UplinkPeers uplinks) ABSL_LOCKS_EXCLUDED(mu_);

  // For /metrics and status, from any thread.
  size_t sessions() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t established() const { return established_.load(); }
  size_t dropped() const { return dropped_.load(); }
  std::map<std::string, size_t> learned_per_uplink() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  void Watch() ABSL_LOCKS_EXCLUDED(mu_);
  void Kick() ABSL_LOCKS_EXCLUDED(mu_);
  bool Woken() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return kicked_ || stopping_; }
  absl::StatusOr<LearnedRead> Read(const UplinkPeers& uplinks);

  const std::string api_address_;
  const size_t max_prefixes_;
  std::unique_ptr<bgp::GobgpClient> client_;  // the reader thread's

  mutable absl::Mutex mu_;
  absl::Mutex sink_mu_;  // held while the sink runs
  LearnedSink sink_ ABSL_GUARDED_BY(sink_mu_);
  UplinkPeers uplinks_ ABSL_GUARDED_BY(mu_);
  bool kicked_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* watch_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::map<std::string, size_t> learned_ ABSL_GUARDED_BY(mu_);  // published counts

  std::atomic<size_t> established_{0}, dropped_{0};
  std::thread reader_, watcher_;
};

}  // namespace weft::edge

#endif  // WEFT_AGENT_EDGE_LEARNED_WATCHER_H_
