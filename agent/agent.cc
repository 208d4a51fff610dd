#include "agent/agent.h"

#include "absl/strings/str_cat.h"
#include "agent/datapath/netdev.h"
#include "agent/datapath/tables.h"
#include "agent/log.h"
#include "agent/model/state_yaml.h"
#include "agent/model/validate.h"

namespace weft {
namespace {

absl::StatusOr<State> LoadValidState(const std::string& path) {
  absl::StatusOr<State> state = LoadStateFile(path);
  if (!state.ok()) return state.status();
  if (absl::Status s = ValidateState(*state); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  }
  return state;
}

}  // namespace

std::string Agent::PinDir() const {
  return absl::StrCat(options_.bpffs, "/weft/", options_.node);
}

absl::StatusOr<std::unique_ptr<Agent>> Agent::Start(const AgentOptions& options) {
  std::unique_ptr<Agent> agent(new Agent(options));
  absl::StatusOr<State> state = LoadValidState(options.state_path);
  if (!state.ok()) return state.status();
  agent->state_ = *std::move(state);

  agent->underlay_ifindex_ = InterfaceIndex(options.underlay);
  if (agent->underlay_ifindex_ == 0) {
    return absl::NotFoundError(
        absl::StrCat("underlay interface ", options.underlay, " does not exist"));
  }
  // Check the state fits this node before touching the kernel.
  NodeSettings probe{.node = options.node};
  if (auto tables = BuildNodeTables(agent->state_, probe, [](const std::string&) { return 0u; });
      !tables.ok()) {
    return tables.status();
  }

  absl::StatusOr<std::unique_ptr<Datapath>> datapath = Datapath::Load(agent->PinDir());
  if (!datapath.ok()) return datapath.status();
  agent->datapath_ = *std::move(datapath);

  if (absl::Status s = agent->Reconcile(); !s.ok()) return s;
  const int underlay_prog = options.underlay_hook == Hook::kXdp
                                ? agent->datapath_->UnderlayXdpProgramFd()
                                : agent->datapath_->UnderlayTcProgramFd();
  if (absl::Status s = AttachIngress(options.underlay_hook, agent->underlay_ifindex_,
                                     underlay_prog);
      !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("underlay ", options.underlay, ": ", s.message()));
  }
  WEFT_LOG_INFO("node %s: %s attached to %s, %d VM interfaces, state version %d, maps in %s",
                options.node, options.underlay_hook == Hook::kXdp ? "XDP" : "TC",
                options.underlay, agent->attached_.size(), agent->state_.version,
                agent->PinDir());
  return agent;
}

absl::Status Agent::Reconcile() {
  absl::StatusOr<uint16_t> mtu = InterfaceMtu(options_.underlay);
  if (!mtu.ok()) return mtu.status();
  NodeSettings settings{.node = options_.node,
                        .underlay_ifindex = underlay_ifindex_,
                        .underlay_mtu = *mtu};
  absl::StatusOr<NodeTables> tables = BuildNodeTables(state_, settings, InterfaceIndex);
  if (!tables.ok()) return tables.status();
  // Maps first: a VM's program must find its binding from its first packet.
  if (absl::Status s = datapath_->Apply(*tables); !s.ok()) return s;

  absl::StatusOr<uint32_t> vm_prog_id = ProgramId(datapath_->VmProgramFd());
  if (!vm_prog_id.ok()) return vm_prog_id.status();
  for (const auto& [name, ifindex] : tables->local_interfaces) {
    absl::StatusOr<uint32_t> current = AttachedProgramId(Hook::kTc, ifindex);
    if (current.ok() && *current == *vm_prog_id) {
      attached_[name] = ifindex;
      continue;
    }
    if (absl::Status s = AttachIngress(Hook::kTc, ifindex, datapath_->VmProgramFd()); !s.ok()) {
      WEFT_LOG_WARN("interface %s: %s", name, s.ToString());
      continue;
    }
    WEFT_LOG_INFO("interface %s (ifindex %d): VM program attached", name, ifindex);
    attached_[name] = ifindex;
  }
  for (auto it = attached_.begin(); it != attached_.end();) {
    auto wanted = tables->local_interfaces.find(it->first);
    if (wanted != tables->local_interfaces.end() && wanted->second == it->second) {
      ++it;
      continue;
    }
    if (InterfaceIndex(it->first) == it->second) {
      if (absl::Status s = DetachIngress(Hook::kTc, it->second); !s.ok()) {
        WEFT_LOG_WARN("interface %s: %s", it->first, s.ToString());
      }
    }
    WEFT_LOG_INFO("interface %s: no longer a Weft endpoint", it->first);
    it = attached_.erase(it);
  }
  return absl::OkStatus();
}

absl::Status Agent::ReloadState() {
  absl::StatusOr<State> state = LoadValidState(options_.state_path);
  if (!state.ok()) return state.status();
  NodeSettings probe{.node = options_.node};
  if (auto tables = BuildNodeTables(*state, probe, [](const std::string&) { return 0u; });
      !tables.ok()) {
    return tables.status();
  }
  state_ = *std::move(state);
  WEFT_LOG_INFO("state version %d loaded from %s", state_.version, options_.state_path);
  return Reconcile();
}

absl::Status Agent::Shutdown() {
  absl::Status result = DetachIngress(options_.underlay_hook, underlay_ifindex_);
  for (const auto& [name, ifindex] : attached_) {
    if (InterfaceIndex(name) != ifindex) continue;  // gone with its VM
    if (absl::Status s = DetachIngress(Hook::kTc, ifindex); !s.ok()) result.Update(s);
  }
  attached_.clear();
  result.Update(datapath_->Unpin());
  return result;
}

}  // namespace weft
