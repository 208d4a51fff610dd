// Keeps an edge's BGP speaker (gobgpd, a child of the agent or a sidecar's)
// equal to an EdgeBgpPlan: starts BGP (and the child) the first time there
// is a session to hold, gives a gobgpd that restarted (GetBgp no longer
// reports the AS and router id it was started with) everything again,
// sets up one peer per uplink in its tenant's VRF, and diffs each tenant's
// announced prefixes against the plan (announce the new, withdraw the gone).
// Every Apply is idempotent: what failed is retried by the next one.
//
// Used from the agent's main loop only, after the datapath's reconcile and
// outside the agent's lock: BGP trouble is logged and counted, never a
// reason to refuse a state the datapath applied. The main loop's thread is
// also the one gobgpd's PDEATHSIG is tied to (the sync client's thread can
// end on a reconnect).
#ifndef WEFT_AGENT_EDGE_BGP_ANNOUNCER_H_
#define WEFT_AGENT_EDGE_BGP_ANNOUNCER_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "agent/bgp/gobgp_client.h"
#include "agent/bgp/gobgpd_process.h"
#include "agent/edge/bgp_plan.h"

namespace weft::edge {

class BgpAnnouncer {
 public:
  explicit BgpAnnouncer(bgp::GobgpdOptions options) : options_(std::move(options)) {}

  // Makes the speaker hold `plan`; logs a failure once (and its recovery),
  // and returns it.
  absl::Status Apply(const EdgeBgpPlan& plan);

  // For /metrics, from any thread: sessions configured and prefixes
  // announced (summed over the sessions) as gobgpd holds them, and whether
  // the last Apply failed.
  uint64_t sessions() const { return sessions_.load(); }
  uint64_t announced_prefixes() const { return announced_.load(); }
  bool failing() const { return failing_.load(); }

 private:
  absl::Status ApplyOnce(const EdgeBgpPlan& plan);
  // Starts BGP with the plan's AS and router id: the first time, after the
  // child died, or after the external gobgpd restarted (held_ is cleared,
  // so everything is given again).
  absl::Status EnsureSpeaker(const EdgeBgpPlan& plan);
  // Starts the child gobgpd (or takes the external address) and a client.
  absl::Status ConnectSpeaker();
  void ForgetSpeaker();
  // Withdraws what `held` announces, removes its peer and its VRF.
  absl::Status RemoveSession(const UplinkSession& held);
  // Brings held.prefixes to `wanted.prefixes` by announcing and withdrawing
  // the differences; `held` records what succeeded.
  absl::Status SyncPrefixes(const UplinkSession& wanted, UplinkSession& held);
  void Publish();

  const bgp::GobgpdOptions options_;
  std::unique_ptr<bgp::GobgpdProcess> gobgpd_;  // none with external_api
  std::string api_address_;
  std::unique_ptr<bgp::GobgpClient> client_;
  // What StartBgp gave gobgpd; GetBgp reports otherwise after a restart.
  std::optional<bgp::SpeakerGlobal> started_;
  // What gobgpd holds, by tenant (prefixes: those announced successfully).
  std::map<std::string, UplinkSession> held_;
  std::string last_error_;  // logged once until it changes or clears
  std::atomic<uint64_t> sessions_{0};
  std::atomic<uint64_t> announced_{0};
  std::atomic<bool> failing_{false};
};

}  // namespace weft::edge

#endif  // WEFT_AGENT_EDGE_BGP_ANNOUNCER_H_
