// The loaded BPF datapath of one node: the objects (bpf/vm.bpf.c,
// bpf/underlay.bpf.c, bpf/uplink_ingress.bpf.c) sharing one set of maps, optionally pinned under
// <pin_dir>/<map name> so that bpftool and a restarted agent find them.
#ifndef WEFT_AGENT_DATAPATH_DATAPATH_H_
#define WEFT_AGENT_DATAPATH_DATAPATH_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/plan/tables.h"
#include "weft/abi.h"

struct bpf_map;
struct weft_vm;
struct weft_underlay;
struct weft_uplink_ingress;

namespace weft {

// The maps of bpf/lib/maps.h, which all objects share. datapath.cc resolves
// each to the skeleton's map of that name, so a map renamed, added or removed
// in the BPF code fails to compile until this list follows.
enum class Map {
  kConfig,
  kVteps,
  kVtep6,
  kSegments,
  kEpByIp,
  kEpByMac,
  kEpByIf,
  kSegments6,
  kEpByIp6,
  kRoutes,
  kRoutes6,
  kUplinks,
  kStats,
  kCt,
  kCtPending,
  kCt6,
  kCt6Pending,
  kScratch,
  kCtStats,
  kPolCtl,
  kPolTenant,
  kPolApplied,
  kPolPeer,
  kPolApplied6,
  kPolPeer6,
  kPolL4,
  kPolRules,
  kEvents,
  kEventRate,
  kTrace,
};
inline constexpr int kMapCount = static_cast<int>(Map::kTrace) + 1;

class Datapath {
 public:
  // Loads the programs. With a non-empty pin_dir, maps already pinned there
  // are adopted (their contents kept) and new ones are pinned there.
  static absl::StatusOr<std::unique_ptr<Datapath>> Load(const std::string& pin_dir);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  // The shared map (as the VM object holds it: key/value size, type,
  // max_entries and name are libbpf's bpf_map__* getters).
  const bpf_map* BpfMap(Map map) const;
  int MapFd(Map map) const;
  // The map a plan table names (MapTable::map_name): the one place names
  // become maps.
  absl::StatusOr<Map> MapNamed(std::string_view map_name) const;
  int VmProgramFd() const;           // TC, host side of a VM interface
  int UnderlayXdpProgramFd() const;  // XDP, underlay interface
  int UnderlayTcProgramFd() const;   // TC ingress, underlay interface
  int UplinkProgramFd() const;       // TC ingress, an edge's uplink interface

  // Makes the maps hold exactly `tables`: writes what is new or changed in
  // table order, then deletes what is no longer wanted in reverse order.
  absl::Status Apply(const NodeTables& tables);

  // weft_pol_ctl[0]: the slot packets read and the rule set's generation.
  absl::StatusOr<weft_policy_ctl> PolicyControl() const;

  // The policy tables of the state for a slot (BuildPolicyTables bound to a
  // state and node).
  using PolicyTablesBuilder = std::function<absl::StatusOr<std::vector<MapTable>>(uint32_t slot)>;

  // Makes the firewall enforce the rule set `build` describes, atomically:
  // - build(active slot) equal to the live active slot: nothing changes (no
  //   flip, no new generation; a periodic resync costs no churn). Leftovers
  //   in the inactive slot (an agent that died mid-switch) are removed.
  // - otherwise build(inactive slot) is written into the inactive slot
  //   (which no packet reads), then weft_pol_ctl is switched to it with the
  //   generation + 1 in one write, then the old slot's entries are removed
  //   (in reverse table order).
  // A failure before the switch leaves the enforced rule set as it was.
  // What the last call left in force is remembered: while weft_pol_ctl
  // still shows that slot and generation and build(active) is unchanged,
  // the maps are not read back (they are 1280 bytes an entry).
  absl::Status ApplyPolicy(const PolicyTablesBuilder& build);

  // weft_config's state_version: what the (possibly adopted) maps hold;
  // 0 when nothing was applied yet.
  absl::StatusOr<uint64_t> AppliedStateVersion() const;

  // Removes the pins (maps live on while programs use them).
  absl::Status Unpin();

  // Held by every run of a program on a frame marked WEFT_TRACE_MARK
  // (weftctl trace, the router advertisements): weft_trace has one slot.
  absl::Mutex& marked_runs_mu() const { return marked_runs_mu_; }

 private:
  Datapath() = default;
  // Makes the not yet loaded object `skel` use the VM object's maps.
  template <typename Skeleton>
  absl::Status ShareMapsWith(const Skeleton& skel) const;

  std::string pin_dir_;
  // The policy maps as the last ApplyPolicy left them (active slot only),
  // as a fingerprint: the tables themselves are tens of MiB at scale.
  struct PolicyInForce {
    weft_policy_ctl ctl;
    size_t fingerprint;
  };
  std::unique_ptr<PolicyInForce> policy_in_force_;
  weft_vm* vm_ = nullptr;
  weft_underlay* underlay_ = nullptr;
  weft_uplink_ingress* uplink_ = nullptr;
  std::array<bpf_map*, kMapCount> maps_{};  // vm_'s, by Map
  mutable absl::Mutex marked_runs_mu_;
};

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_DATAPATH_H_
