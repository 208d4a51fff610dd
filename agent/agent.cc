#include "agent/agent.h"

#include <malloc.h>

#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/capabilities.h"
#include "agent/datapath/netdev.h"
#include "agent/edge/bgp_plan.h"
#include "agent/edge/rtnetlink.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "common/model/state_yaml.h"
#include "common/model/validate.h"
#include "common/plan/node_check.h"
#include "common/plan/policy_tables.h"
#include "common/plan/tables.h"

namespace weft {
namespace {

absl::StatusOr<State> LoadValidState(const std::string& path) {
  ASSIGN_OR_RETURN(State state, LoadStateFile(path));
  RETURN_IF_ERROR(WithContext(ValidateState(state), path));
  return state;
}

const char* HookName(Hook hook) { return hook == Hook::kXdp ? "XDP" : "TC"; }

// weft_config's state_version is the marker of which state the maps hold as
// a whole. The apply of a new state first writes it as 0 (weft_config is the
// first table) and writes the version last, so that maps left between two
// states (an agent killed or failing mid-apply) are never reported as
// either. Sets `tables`' marker to 0 and returns the config table to write
// last.
std::optional<MapTable> ClearVersionMarker(NodeTables& tables) {
  for (MapTable& table : tables.tables) {
    if (table.map_name != WEFT_MAP_CONFIG) continue;
    MapTable versioned = table;
    for (auto& [key, value] : table.entries) {
      weft_config config;
      if (value.size() != sizeof config) return std::nullopt;  // not a weft_config: left alone
      std::memcpy(&config, value.data(), sizeof config);
      config.state_version = 0;
      value.assign(reinterpret_cast<const char*>(&config), sizeof config);
    }
    return versioned;
  }
  return std::nullopt;
}

}  // namespace

uint64_t Agent::AppliedVersion() const {
  absl::StatusOr<uint64_t> version = datapath_->AppliedStateVersion();
  return version.ok() ? *version : 0;
}

Agent::View Agent::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return View{.options = options_,
              .has_state = has_state_,
              .state = state_,
              .underlay_ifindex = underlay_ifindex_,
              .underlay_attached = underlay_attached_,
              .attached = attached_};
}

std::string Agent::PinDir() const { return absl::StrCat(options_.bpffs, "/weft/", options_.node); }

absl::StatusOr<std::unique_ptr<Agent>> Agent::Start(const AgentOptions& options) {
  std::unique_ptr<Agent> agent(new Agent(options));
  agent->bgp_ = std::make_unique<edge::BgpAnnouncer>(options.gobgpd);
  agent->learned_ = std::make_unique<edge::LearnedRoutesWatcher>(
      absl::StrCat("127.0.0.1:", options.gobgpd.api_port), options.max_learned_prefixes);
  std::optional<State> file_state;
  if (!options.state_path.empty()) {
    ASSIGN_OR_RETURN(file_state, LoadValidState(options.state_path));
  }
  agent->underlay_ifindex_ = InterfaceIndex(options.underlay);
  if (agent->underlay_ifindex_ == 0) {
    return absl::NotFoundError(
        absl::StrCat("underlay interface ", options.underlay, " does not exist"));
  }
  agent->reserved_ = {{options.underlay, "the agent's underlay"}, {"lo", "loopback"}};
  for (const auto& [name, role] : agent->reserved_) {
    if (const uint32_t ifindex = InterfaceIndex(name); ifindex != 0) {
      agent->reserved_ifindexes_[ifindex] = name;
    }
  }
  // Check the state fits this node before touching the kernel.
  if (file_state) {
    RETURN_IF_ERROR(WithContext(agent->CheckForThisNode(*file_state), options.state_path));
  }
  ASSIGN_OR_RETURN(agent->datapath_, Datapath::Load(agent->PinDir()));

  if (!file_state) {
    WEFT_LOG_INFO("node %s: programs loaded, maps in %s; waiting for the controller's state",
                  options.node, agent->PinDir());
    return agent;
  }
  absl::MutexLock lock(&agent->mu_);
  agent->ReplaceStateLocked(*std::move(file_state));
  RETURN_IF_ERROR(agent->ReconcileLocked());
  RETURN_IF_ERROR(agent->AttachUnderlayLocked());
  WEFT_LOG_INFO("node %s: %s attached to %s, %d VM interfaces, state version %d, maps in %s",
                options.node, HookName(options.underlay_hook), options.underlay,
                agent->attached_.size(), agent->state_.version, agent->PinDir());
  return agent;
}

absl::Status Agent::AttachUnderlayLocked() {
  const int underlay_prog = options_.underlay_hook == Hook::kXdp ? datapath_->UnderlayXdpProgramFd()
                                                                 : datapath_->UnderlayTcProgramFd();
  RETURN_IF_ERROR(
      WithContext(AttachIngress(options_.underlay_hook, underlay_ifindex_, underlay_prog),
                  absl::StrCat("underlay ", options_.underlay)));
  underlay_attached_ = true;
  return absl::OkStatus();
}

absl::Status Agent::CheckForThisNode(const State& state) const {
  RETURN_IF_ERROR(CheckForNode(state, options_.node, reserved_));
  return edge::CheckUplinkLinks(state, options_.node);
}

uint32_t Agent::UnlessReservedAlias(const std::string& name, uint32_t ifindex) const {
  if (auto reserved = reserved_ifindexes_.find(ifindex); reserved != reserved_ifindexes_.end()) {
    if (reserved->second == name) return ifindex;
    WEFT_LOG_WARN("interface %s is %s %s: no endpoint may take it", name,
                  reserved_.at(reserved->second), reserved->second);
    return 0;
  }
  const std::map<uint32_t, std::string>& uplinks = uplink_links_.Interfaces();
  if (auto uplink = uplinks.find(ifindex); uplink != uplinks.end() && uplink->second != name) {
    WEFT_LOG_WARN("interface %s is uplink interface %s: no endpoint may take it", name,
                  uplink->second);
    return 0;
  }
  return ifindex;
}

absl::Status Agent::ApplyState(State state) {
  RETURN_IF_ERROR(CheckForThisNode(state));
  if (const std::vector<std::string> unrealized = UnrealizedByThisAgent(state);
      !unrealized.empty()) {
    WEFT_LOG_WARN(
        "state version %d uses what this agent does not realize: %s (carried, not in "
        "the datapath)",
        state.version, absl::StrJoin(unrealized, ", "));
  }
  absl::MutexLock lock(&mu_);
  return InstallStateLocked(std::move(state));
}

absl::Status Agent::InstallStateLocked(State state) {
  // Kept until the new state is in force: a second copy of a state at the
  // apply's peak, the price of being able to go back.
  std::optional<State> previous;
  if (has_state_) previous = std::move(state_);
  ReplaceStateLocked(std::move(state));
  absl::Status status = ReconcileLocked();
  if (status.ok() && !underlay_attached_) {
    status = AttachUnderlayLocked();
    if (status.ok()) {
      WEFT_LOG_INFO("node %s: %s attached to %s, %d VM interfaces, state version %d", options_.node,
                    HookName(options_.underlay_hook), options_.underlay, attached_.size(),
                    state_.version);
    }
  }
  if (!status.ok()) RestoreLocked(std::move(previous), status);
  return status;
}

void Agent::RestoreLocked(std::optional<State> previous, const absl::Status& failure) {
  const uint64_t refused = state_.version;
  if (!previous) {
    // Nothing of this agent's to go back to: the maps keep what a previous
    // agent left, mixed with part of the refused state, under no version
    // (the marker was cleared first), until the next state applies.
    state_ = State();
    has_state_ = false;
    state_changed_ = true;
    policy_in_force_.reset();
    WEFT_LOG_ERROR("state version %d not applied (%s); no earlier state to restore", refused,
                   failure.ToString());
    return;
  }
  ReplaceStateLocked(*std::move(previous));
  if (absl::Status back = ReconcileLocked(); !back.ok()) {
    WEFT_LOG_ERROR(
        "state version %d not applied (%s); restoring version %d failed too (%s): the next "
        "reconcile retries it",
        refused, failure.ToString(), state_.version, back.ToString());
    return;
  }
  WEFT_LOG_WARN("state version %d not applied (%s); version %d restored", refused,
                failure.ToString(), state_.version);
}

void Agent::ReplaceStateLocked(State state) {
  state_ = std::move(state);
  has_state_ = true;
  policy_in_force_.reset();
  state_changed_ = true;
}

bool Agent::FullReconcileDueLocked(absl::Time now) const {
  if (state_changed_ || now >= next_full_reconcile_) return true;
  absl::StatusOr<uint16_t> mtu = InterfaceMtu(options_.underlay);
  if (!mtu.ok() || *mtu != underlay_mtu_) return true;
  for (const auto& [name, ifindex] : lookups_) {
    if (InterfaceIndex(name) != ifindex) return true;  // a VM came, went or was recreated
  }
  return false;
}

absl::Status Agent::Reconcile() {
  absl::MutexLock lock(&mu_);
  return ReconcileLocked();
}

void Agent::ReconcileBgp() {
  edge::EdgeBgpPlan plan;
  {
    absl::MutexLock lock(&mu_);
    // Before the first state (or after a first one was refused) there is
    // nothing to announce, and nothing started yet to withdraw from.
    if (!has_state_) return;
    plan = edge::PlanEdgeBgp(state_, options_.node);
  }
  // Outside the lock: a slow gobgpd must not hold up a sync's apply.
  bgp_->Apply(plan).IgnoreError();  // logged and counted by Apply
  edge::UplinkPeers uplinks;
  for (const auto& [tenant, session] : plan.by_tenant) {
    uplinks[session.peer.peer_address] = session.uplink;
  }
  learned_->SetUplinks(std::move(uplinks));
}

absl::Status Agent::ReconcileLocked() {
  if (!has_state_) return absl::OkStatus();  // nothing to write before the first state
  const absl::Time now = absl::Now();
  // A large fleet's tables take a while to build and to compare with the
  // maps: every second only when something they depend on changed.
  if (!FullReconcileDueLocked(now)) {
    RETURN_IF_ERROR(SyncVmAttachmentsLocked(attached_));
    return SyncUplinkAttachmentsLocked(uplinks_attached_);
  }

  ASSIGN_OR_RETURN(const uint16_t mtu, InterfaceMtu(options_.underlay));
  NodeSettings settings{.node = options_.node,
                        .underlay_ifindex = underlay_ifindex_,
                        .underlay_mtu = mtu,
                        .ct_timeouts = options_.ct_timeouts};
  // An edge's uplink interfaces exist before anything refers to them.
  RETURN_IF_ERROR(uplink_links_.Configure(state_, options_.node));
  std::map<std::string, uint32_t> lookups;
  std::map<std::string, uint32_t> local_interfaces;
  std::map<std::string, uint32_t> uplink_interfaces;
  std::optional<MapTable> version_marker;
  {
    auto resolve = [this, &lookups](const std::string& name) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return UnlessReservedAlias(name, lookups[name] = InterfaceIndex(name));
    };
    auto mac_of = [](uint32_t ifindex) {
      absl::StatusOr<std::optional<edge::LinkFacts>> link = edge::LinkWithIndex(ifindex);
      return link.ok() && *link ? (*link)->mac : MacAddress{};
    };
    ASSIGN_OR_RETURN(NodeTables tables, BuildNodeTables(state_, settings, resolve, mac_of));
    // A new state (even one of the same version: a state file's version is
    // whatever its author wrote) is a transition of the maps.
    if (state_changed_) version_marker = ClearVersionMarker(tables);
    // Maps first: a VM's program must find its binding, and the firewall its
    // rules, from its first packet.
    RETURN_IF_ERROR(datapath_->Apply(tables));
    local_interfaces = std::move(tables.local_interfaces);
    uplink_interfaces = std::move(tables.uplink_interfaces);
  }  // freed before the firewall's tables are built (~30 MiB at 100k endpoints)
  RETURN_IF_ERROR(ApplyPolicyLocked());
  RETURN_IF_ERROR(SyncVmAttachmentsLocked(local_interfaces));
  RETURN_IF_ERROR(SyncUplinkAttachmentsLocked(uplink_interfaces));
  // Removed uplinks: out of the maps and detached by now.
  RETURN_IF_ERROR(uplink_links_.RemoveUnwanted(state_, options_.node));
  if (version_marker) {
    RETURN_IF_ERROR(
        WithContext(datapath_->Apply(NodeTables{.tables = {*std::move(version_marker)}}),
                    "writing the state version"));
  }

  const bool new_state = state_changed_;
  lookups_ = std::move(lookups);
  underlay_mtu_ = mtu;
  state_changed_ = false;
  next_full_reconcile_ = now + options_.full_resync;
  // A new state's temporaries (the update or the parsed file, the
  // validation's tables, this reconcile's) are freed by now, and the state
  // was moved in, not copied, but malloc keeps their pages: hand them back,
  // so RSS says what the agent keeps. Here, not on the main loop's next
  // tick: that raced the sync thread still freeing its update (RSS after a
  // sync anywhere from 39 to 115 MiB).
  if (new_state) malloc_trim(0);
  return absl::OkStatus();
}

absl::Status Agent::SyncAttachmentsLocked(const std::map<std::string, uint32_t>& wanted_in,
                                          int prog_fd, const char* program,
                                          std::map<std::string, uint32_t>& attached) {
  // `wanted_in` may be `attached` itself, which the loops below change.
  const std::map<std::string, uint32_t> wanted = wanted_in;
  ASSIGN_OR_RETURN(const uint32_t prog_id, ProgramId(prog_fd));
  for (const auto& [name, ifindex] : wanted) {
    absl::StatusOr<uint32_t> current = AttachedProgramId(Hook::kTc, ifindex);
    if (current.ok() && *current == prog_id) {
      attached[name] = ifindex;
      continue;
    }
    if (absl::Status s = AttachIngress(Hook::kTc, ifindex, prog_fd); !s.ok()) {
      WEFT_LOG_WARN("interface %s: %s", name, s.ToString());
      continue;
    }
    WEFT_LOG_INFO("interface %s (ifindex %d): %s program attached", name, ifindex, program);
    attached[name] = ifindex;
  }
  for (auto it = attached.begin(); it != attached.end();) {
    auto want = wanted.find(it->first);
    if (want != wanted.end() && want->second == it->second) {
      ++it;
      continue;
    }
    if (InterfaceIndex(it->first) == it->second) {
      if (absl::Status s = DetachIngress(Hook::kTc, it->second); !s.ok()) {
        WEFT_LOG_WARN("interface %s: %s", it->first, s.ToString());
      }
    }
    WEFT_LOG_INFO("interface %s: %s program detached, no longer wanted there", it->first, program);
    it = attached.erase(it);
  }
  return absl::OkStatus();
}

absl::Status Agent::ApplyPolicyLocked() {
  ASSIGN_OR_RETURN(const weft_policy_ctl before, datapath_->PolicyControl());
  // The tables depend on the state alone: with the same state and the
  // rule set this agent put in force still active, a resync need not even
  // build them (a large rule set takes a while).
  if (policy_in_force_ && policy_in_force_->active_slot == before.active_slot &&
      policy_in_force_->generation == before.generation) {
    return absl::OkStatus();
  }
  const State& state = state_;
  RETURN_IF_ERROR(WithContext(datapath_->ApplyPolicy([&state, this](uint32_t slot) {
    return BuildPolicyTables(state, options_.node, slot);
  }),
                              "firewall"));
  ASSIGN_OR_RETURN(const weft_policy_ctl after, datapath_->PolicyControl());
  if (after.generation != before.generation) {
    WEFT_LOG_INFO("node %s: firewall rule set generation %d active (slot %d)", options_.node,
                  after.generation, after.active_slot);
  }
  policy_in_force_ = after;
  return absl::OkStatus();
}

absl::Status Agent::ReloadState() {
  ASSIGN_OR_RETURN(State state, LoadValidState(options_.state_path));
  RETURN_IF_ERROR(WithContext(CheckForThisNode(state), options_.state_path));
  absl::MutexLock lock(&mu_);
  WEFT_LOG_INFO("state version %d loaded from %s", state.version, options_.state_path);
  return InstallStateLocked(std::move(state));
}

absl::Status Agent::Shutdown() {
  absl::MutexLock lock(&mu_);
  // Only what this agent attached: one that never got a state must not
  // take down the programs a previous agent left forwarding.
  absl::Status result = underlay_attached_
                            ? DetachIngress(options_.underlay_hook, underlay_ifindex_)
                            : absl::OkStatus();
  for (auto* attached : {&attached_, &uplinks_attached_}) {
    for (const auto& [name, ifindex] : *attached) {
      if (InterfaceIndex(name) != ifindex) continue;  // gone with its VM
      result.Update(DetachIngress(Hook::kTc, ifindex));
    }
    attached->clear();
  }
  // Leaving the host: the uplinks' VLAN subinterfaces and addresses too.
  result.Update(uplink_links_.RemoveAll());
  result.Update(datapath_->Unpin());
  return result;
}

}  // namespace weft
