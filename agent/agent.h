// weft-agent's core: keeps one node's datapath equal to the desired state.
// The state comes from a YAML file (standalone mode, reloaded on SIGHUP) or
// from the controller's sync stream; both feed the same Reconcile().
#ifndef WEFT_AGENT_AGENT_H_
#define WEFT_AGENT_AGENT_H_

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/bgp/gobgpd_process.h"
#include "agent/datapath/attach.h"
#include "agent/datapath/datapath.h"
#include "agent/edge/bgp_announcer.h"
#include "agent/edge/uplink_links.h"
#include "agent/edge/learned_watcher.h"
#include "common/model/state.h"
#include "common/plan/node_check.h"

namespace weft {

struct AgentOptions {
  // The YAML state file; empty when the state comes from the controller
  // (through ApplyState).
  std::string state_path;
  std::string node;
  std::string underlay;
  Hook underlay_hook = Hook::kTc;
  std::string bpffs = "/sys/fs/bpf";
  weft_ct_timeouts ct_timeouts = NodeSettings{}.ct_timeouts;
  // Between state changes, a Reconcile rebuilds and re-checks every map
  // only this often (or when an interface it looked up changed); otherwise
  // it just makes sure the VM programs are still attached.
  absl::Duration full_resync = absl::Seconds(60);
  // The BGP speaker an edge starts (docs/NORTH_SOUTH.md#announcing).
  bgp::GobgpdOptions gobgpd;
  // The most prefixes each uplink reports as learned (the rest dropped and counted).
  size_t max_learned_prefixes = 10000;
};

// Used from several threads (the main loop, the sync client's, the local
// API's): every public method takes the agent's own lock where it needs it.
class Agent {
 public:
  // Loads and validates the state file, loads the programs (adopting pinned
  // maps), fills the maps, then attaches. Nothing is attached on error.
  // Without a state file, only loads the programs: nothing is written to the
  // maps and nothing attached until the first ApplyState.
  static absl::StatusOr<std::unique_ptr<Agent>> Start(const AgentOptions& options);

  // Re-resolves interfaces (VMs come and go), rewrites what changed in the
  // maps, attaches the VM program where an endpoint's interface appeared.
  absl::Status Reconcile() ABSL_LOCKS_EXCLUDED(mu_);

  // On an edge: makes the BGP speaker announce what the state in force says
  // (agent/edge/bgp_announcer.h); elsewhere nothing. Its errors are logged
  // and counted, never the datapath's. From the main loop only, after
  // Reconcile or ReloadState.
  void ReconcileBgp() ABSL_LOCKS_EXCLUDED(mu_);

  // Re-reads the state file. An invalid file changes nothing; nor does one
  // whose apply fails (the previous state is restored).
  absl::Status ReloadState() ABSL_LOCKS_EXCLUDED(mu_);

  // Installs a state from the controller (already valid as a whole:
  // ValidateState) and reconciles; the first one also attaches the underlay
  // program. A state that binds an endpoint to an interface the agent relies
  // on, or does not fit this node, is refused and changes nothing. One that
  // fails to apply (a map write, an attach) is undone: the previous state is
  // reconciled back, and the error returned.
  absl::Status ApplyState(State state) ABSL_LOCKS_EXCLUDED(mu_);

  // Detaches every program and removes the pins.
  absl::Status Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  std::string PinDir() const;

  // The state version the maps hold as a whole, also after a restart that
  // adopted them; 0 while an apply is under way or after one that stopped
  // half way (the maps then hold parts of two states).
  uint64_t AppliedVersion() const;

  // Programs attached and a state applied (readiness); takes no lock, so a
  // probe or a scrape never waits for a long reconcile.
  bool Ready() const { return underlay_attached_; }

  // What the local API (agent/api/) reports.
  struct View {
    AgentOptions options;
    bool has_state = false;
    State state;
    uint32_t underlay_ifindex = 0;
    bool underlay_attached = false;
    std::map<std::string, uint32_t> attached;  // VM interfaces: name -> ifindex
  };
  View Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);

  // The loaded datapath, for read-only use (metrics): map reads need no
  // lock, its fds do not change while the agent lives.
  const Datapath& datapath() const { return *datapath_; }
  // The BGP speaker's counters (metrics), readable from any thread.
  const edge::BgpAnnouncer& bgp() const { return *bgp_; }
  // What the uplinks' peers announce (docs/NORTH_SOUTH.md#learned-routes):
  // its sink is set once (the sync client), its counters read from any thread.
  edge::LearnedRoutesWatcher& learned() const { return *learned_; }

 private:
  explicit Agent(AgentOptions options) : options_(std::move(options)) {}

  // CheckForNode for this node and its reserved interfaces, and the links of
  // its uplinks there: before a state is accepted, so that a refused one
  // changes nothing.
  absl::Status CheckForThisNode(const State& state) const;

  // `ifindex` (of interface `name`, an endpoint's or an uplink's), or 0
  // (absent) when it is a reserved interface under another name (an
  // altname, a rename), which the name checks let through: such an endpoint
  // is never bound and never gets the VM program.
  uint32_t UnlessReservedAlias(const std::string& name, uint32_t ifindex) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Takes `state` as the desired state and reconciles (attaching the
  // underlay program the first time). On failure the previous state is
  // taken back and reconciled again, so that a refused state leaves the
  // previous one in force, not part of both.
  absl::Status InstallStateLocked(State state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // After state_ failed with `failure`: makes `previous` the desired state
  // again and reconciles to it; without one (the agent's first state), has
  // no state, and writes nothing until the next.
  void RestoreLocked(std::optional<State> previous, const absl::Status& failure)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Takes `state` as the desired state: the next Reconcile is a full one.
  void ReplaceStateLocked(State state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status ReconcileLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Makes the firewall maps enforce state_'s policies (a no-op when they
  // already do; tolerated while the BPF objects lack the maps).
  absl::Status ApplyPolicyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status AttachUnderlayLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Attaches a program on TC ingress of `wanted` (name -> ifindex) where it
  // is not, detaches it from what it was on and is no longer wanted;
  // `attached` is where it is (attached_ or uplinks_attached_).
  absl::Status SyncAttachmentsLocked(const std::map<std::string, uint32_t>& wanted, int prog_fd,
                                     const char* program, std::map<std::string, uint32_t>& attached)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SyncVmAttachmentsLocked(const std::map<std::string, uint32_t>& wanted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return SyncAttachmentsLocked(wanted, datapath_->VmProgramFd(), "VM", attached_);
  }
  // On an edge: the uplink program on its uplinks' interfaces.
  absl::Status SyncUplinkAttachmentsLocked(const std::map<std::string, uint32_t>& wanted)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return SyncAttachmentsLocked(wanted, datapath_->UplinkProgramFd(), "uplink", uplinks_attached_);
  }

  // Whether a Reconcile has to rebuild and re-check the maps.
  bool FullReconcileDueLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Set by Start, then unchanged: read without the lock.
  AgentOptions options_;
  std::unique_ptr<Datapath> datapath_;
  // Used by ReconcileBgp alone (the main loop), outside mu_.
  std::unique_ptr<edge::BgpAnnouncer> bgp_;
  std::unique_ptr<edge::LearnedRoutesWatcher> learned_;
  uint32_t underlay_ifindex_ = 0;
  // The interfaces the agent relies on: no endpoint may take one, by any of
  // their names (the ifindexes catch an altname or a rename).
  ReservedInterfaces reserved_;
  std::map<uint32_t, std::string> reserved_ifindexes_;  // ifindex -> name in reserved_

  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_);
  // Reconcile writes nothing before the first state.
  bool has_state_ ABSL_GUARDED_BY(mu_) = false;
  // Written under mu_, read without it (Ready).
  std::atomic<bool> underlay_attached_{false};
  // Interfaces the VM program is attached to: name -> ifindex.
  std::map<std::string, uint32_t> attached_ ABSL_GUARDED_BY(mu_);
  // On an edge: the uplinks' interfaces as the agent set them up, and those
  // the uplink program is attached to (name -> ifindex).
  edge::UplinkLinks uplink_links_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, uint32_t> uplinks_attached_ ABSL_GUARDED_BY(mu_);
  // weft_pol_ctl as the last ApplyPolicy of state_ left it; reset whenever
  // state_ is replaced.
  std::optional<weft_policy_ctl> policy_in_force_ ABSL_GUARDED_BY(mu_);
  // What the last full Reconcile was computed from, besides state_: the
  // interfaces it looked up (name -> ifindex, 0 absent) and the underlay
  // MTU; and when the next one is due regardless.
  bool state_changed_ ABSL_GUARDED_BY(mu_) = true;
  std::map<std::string, uint32_t> lookups_ ABSL_GUARDED_BY(mu_);
  uint16_t underlay_mtu_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time next_full_reconcile_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace weft

#endif  // WEFT_AGENT_AGENT_H_
