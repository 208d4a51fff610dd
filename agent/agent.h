// weft-agent's core: keeps one node's datapath equal to the desired state.
// Standalone mode for now: the state comes from a YAML file (reloaded on
// request); the gRPC sync stream will feed the same Reconcile().
#ifndef WEFT_AGENT_AGENT_H_
#define WEFT_AGENT_AGENT_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/datapath/attach.h"
#include "agent/datapath/datapath.h"
#include "common/model/state.h"

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
};

class Agent {
 public:
  // Loads and validates the state file, loads the programs (adopting pinned
  // maps), fills the maps, then attaches. Nothing is attached on error.
  // Without a state file, only loads the programs: nothing is written to the
  // maps and nothing attached until the first ApplyState.
  static absl::StatusOr<std::unique_ptr<Agent>> Start(const AgentOptions& options);

  // Re-resolves interfaces (VMs come and go), rewrites what changed in the
  // maps, attaches the VM program where an endpoint's interface appeared.
  absl::Status Reconcile();

  // Re-reads the state file. An invalid file changes nothing.
  absl::Status ReloadState();

  // Installs a state from the controller (already validated for this node:
  // ValidateForNode) and reconciles; the first one also attaches the
  // underlay program.
  absl::Status ApplyState(State state);

  // Detaches every program and removes the pins.
  absl::Status Shutdown();

  std::string PinDir() const;

  // The state version in the maps, also after a restart that adopted them.
  uint64_t AppliedVersion() const;

  // What the local API (agent/api/) reports; call under the agent's lock.
  struct View {
    AgentOptions options;
    bool has_state = false;
    State state;
    uint32_t underlay_ifindex = 0;
    bool underlay_attached = false;
    std::map<std::string, uint32_t> attached;  // VM interfaces: name -> ifindex
  };
  View Snapshot() const;

  // The loaded datapath, for read-only use (metrics): map reads need no
  // lock, its fds do not change while the agent lives.
  const Datapath& datapath() const { return *datapath_; }

 private:
  explicit Agent(AgentOptions options) : options_(std::move(options)) {}

  // Makes the firewall maps enforce state_'s policies (a no-op when they
  // already do; tolerated while the BPF objects lack the maps).
  absl::Status ApplyPolicy();

  absl::Status AttachUnderlay();

  // Attaches the VM program to `wanted` (name -> ifindex) where it is not,
  // detaches it from what it was on and is no longer wanted.
  absl::Status SyncAttachments(const std::map<std::string, uint32_t>& wanted);

  // Whether a Reconcile has to rebuild and re-check the maps.
  bool FullReconcileDue(absl::Time now) const;

  // The state was replaced: the next Reconcile is a full one.
  void StateReplaced();

  AgentOptions options_;
  State state_;
  bool has_state_ = false;  // Reconcile writes nothing before the first state
  bool underlay_attached_ = false;
  std::unique_ptr<Datapath> datapath_;
  uint32_t underlay_ifindex_ = 0;
  // Interfaces the VM program is attached to: name -> ifindex.
  std::map<std::string, uint32_t> attached_;
  // weft_pol_ctl as the last ApplyPolicy of state_ left it; reset whenever
  // state_ is replaced.
  std::optional<weft_policy_ctl> policy_in_force_;
  // What the last full Reconcile was computed from, besides state_: the
  // interfaces it looked up (name -> ifindex, 0 absent) and the underlay
  // MTU; and when the next one is due regardless.
  bool state_changed_ = true;
  std::map<std::string, uint32_t> lookups_;
  uint16_t underlay_mtu_ = 0;
  absl::Time next_full_reconcile_ = absl::InfinitePast();
};

}  // namespace weft

#endif  // WEFT_AGENT_AGENT_H_
