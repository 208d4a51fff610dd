// The loaded BPF datapath of one node: both objects (bpf/vm.bpf.c,
// bpf/underlay.bpf.c) sharing one set of maps, optionally pinned under
// <pin_dir>/<map name> so that bpftool and a restarted agent find them.
#ifndef WEFT_AGENT_DATAPATH_DATAPATH_H_
#define WEFT_AGENT_DATAPATH_DATAPATH_H_

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath/tables.h"
#include "weft/abi.h"

struct weft_vm;
struct weft_underlay;

namespace weft {

using Counters = std::array<weft_counter, WEFT_REASON_COUNT>;

// Metric label of a reason ("deliver_local", "spoofed", ...).
std::string_view ReasonLabel(int reason);

class Datapath {
 public:
  // Loads the programs. With a non-empty pin_dir, maps already pinned there
  // are adopted (their contents kept) and new ones are pinned there.
  static absl::StatusOr<std::unique_ptr<Datapath>> Load(const std::string& pin_dir);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  int MapFd(std::string_view map_name) const;  // -1 if unknown
  int VmProgramFd() const;           // TC, host side of a VM interface
  int UnderlayXdpProgramFd() const;  // XDP, underlay interface
  int UnderlayTcProgramFd() const;   // TC ingress, underlay interface

  // Makes the maps hold exactly `tables`: writes what is new or changed in
  // table order, then deletes what is no longer wanted in reverse order.
  absl::Status Apply(const NodeTables& tables);

  // weft_stats summed over CPUs.
  absl::StatusOr<Counters> ReadCounters() const;

  // Removes the pins (maps live on while programs use them).
  absl::Status Unpin();

 private:
  Datapath() = default;
  std::string pin_dir_;
  weft_vm* vm_ = nullptr;
  weft_underlay* underlay_ = nullptr;
};

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_DATAPATH_H_
