#include "agent/datapath/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/datapath/bpf_error.h"
#include "agent/datapath/maps/entries.h"
#include "agent/datapath/policy_slots.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "underlay.skel.h"
#include "uplink_ingress.skel.h"
#include "vm.skel.h"

namespace weft {
namespace {

// A map of bpf/lib/maps.h added without its Map (or the other way round)
// fails here: the skeletons hold exactly the maps of abi.h.
static_assert(sizeof(weft_vm::maps) == kMapCount * sizeof(bpf_map*));
static_assert(sizeof(weft_underlay::maps) == kMapCount * sizeof(bpf_map*));
static_assert(sizeof(weft_uplink_ingress::maps) == kMapCount * sizeof(bpf_map*));

// The skeleton's map for `map` (any object: all include bpf/lib/maps.h).
template <typename Skeleton>
bpf_map* SkeletonMap(const Skeleton& skel, Map map) {
  switch (map) {
    case Map::kConfig:
      return skel.maps.weft_config;
    case Map::kVteps:
      return skel.maps.weft_vteps;
    case Map::kVtep6:
      return skel.maps.weft_vtep6;
    case Map::kSegments:
      return skel.maps.weft_segments;
    case Map::kEpByIp:
      return skel.maps.weft_ep_by_ip;
    case Map::kEpByMac:
      return skel.maps.weft_ep_by_mac;
    case Map::kEpByIf:
      return skel.maps.weft_ep_by_if;
    case Map::kSegments6:
      return skel.maps.weft_segments6;
    case Map::kEpByIp6:
      return skel.maps.weft_ep_by_ip6;
    case Map::kRoutes:
      return skel.maps.weft_routes;
    case Map::kRoutes6:
      return skel.maps.weft_routes6;
    case Map::kUplinks:
      return skel.maps.weft_uplinks;
    case Map::kStats:
      return skel.maps.weft_stats;
    case Map::kCt:
      return skel.maps.weft_ct;
    case Map::kCtPending:
      return skel.maps.weft_ct_pending;
    case Map::kCt6:
      return skel.maps.weft_ct6;
    case Map::kCt6Pending:
      return skel.maps.weft_ct6_pend;
    case Map::kScratch:
      return skel.maps.weft_scratch;
    case Map::kCtStats:
      return skel.maps.weft_ct_stats;
    case Map::kPolCtl:
      return skel.maps.weft_pol_ctl;
    case Map::kPolTenant:
      return skel.maps.weft_pol_tenant;
    case Map::kPolApplied:
      return skel.maps.weft_pol_applied;
    case Map::kPolPeer:
      return skel.maps.weft_pol_peer;
    case Map::kPolApplied6:
      return skel.maps.weft_pol_appl6;
    case Map::kPolPeer6:
      return skel.maps.weft_pol_peer6;
    case Map::kPolL4:
      return skel.maps.weft_pol_l4;
    case Map::kPolRules:
      return skel.maps.weft_pol_rules;
    case Map::kEvents:
      return skel.maps.weft_events;
    case Map::kEventRate:
      return skel.maps.weft_event_rate;
    case Map::kTrace:
      return skel.maps.weft_trace;
  }
  return nullptr;
}

constexpr Map MapAt(int index) { return static_cast<Map>(index); }

// libbpf refuses to adopt a pinned map whose layout differs from the
// program's ("parameter mismatch"). For the counter maps that is an older
// release's pin (before WEFT_REASON_SLOTS, weft_stats had one entry per
// reason), and counters may restart where state may not: such a pin is
// removed so that the load creates the map anew.
absl::Status RemoveCounterPinOfOtherLayout(const bpf_map* map, const std::string& path) {
  const int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return BpfError(errno, absl::StrCat("opening the pinned ", path));
  }
  bpf_map_info info{};
  uint32_t info_len = sizeof info;
  const int err = bpf_obj_get_info_by_fd(fd, &info, &info_len);
  close(fd);
  if (err) return BpfError(err, absl::StrCat("reading the layout of the pinned ", path));
  if (info.type == bpf_map__type(map) && info.key_size == bpf_map__key_size(map) &&
      info.value_size == bpf_map__value_size(map) &&
      info.max_entries == bpf_map__max_entries(map)) {
    return absl::OkStatus();
  }
  WEFT_LOG_WARN(
      "%s: pinned with %u entries of %u bytes, this agent's has %u of %u (an older release's "
      "layout): replacing it, these counters restart from 0",
      path, info.max_entries, info.value_size, bpf_map__max_entries(map), bpf_map__value_size(map));
  if (unlink(path.c_str()) != 0) return BpfError(errno, absl::StrCat("removing ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Datapath>> Datapath::Load(const std::string& pin_dir) {
  std::unique_ptr<Datapath> dp(new Datapath());
  dp->pin_dir_ = pin_dir;
  if (!pin_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(pin_dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat(
          "creating pin directory ", pin_dir, ": ", ec.message(), " (is a bpffs mounted there?)"));
    }
  }

  dp->vm_ = weft_vm__open();
  if (!dp->vm_) return BpfError(errno, "opening the VM BPF object");
  dp->underlay_ = weft_underlay__open();
  if (!dp->underlay_) return BpfError(errno, "opening the underlay BPF object");
  dp->uplink_ = weft_uplink_ingress__open();
  if (!dp->uplink_) return BpfError(errno, "opening the uplink BPF object");
  // With a pin path, libbpf adopts the map pinned there (contents and all)
  // or creates and pins it at load.
  for (int i = 0; i < kMapCount; ++i) {
    bpf_map* map = dp->maps_[i] = SkeletonMap(*dp->vm_, MapAt(i));
    if (pin_dir.empty()) continue;
    const std::string path = absl::StrCat(pin_dir, "/", bpf_map__name(map));
    if (int err = bpf_map__set_pin_path(map, path.c_str())) {
      return BpfError(err, absl::StrCat("setting pin path ", path));
    }
    if (MapAt(i) == Map::kStats || MapAt(i) == Map::kCtStats) {
      RETURN_IF_ERROR(RemoveCounterPinOfOtherLayout(map, path));
    }
  }
  if (int err = weft_vm__load(dp->vm_)) {
    return BpfError(err, absl::StrCat("loading the VM BPF object",
                                      pin_dir.empty() ? "" : " (maps pinned at " + pin_dir + ")"));
  }
  // The other objects use the very same maps.
  RETURN_IF_ERROR(dp->ShareMapsWith(*dp->underlay_));
  if (int err = weft_underlay__load(dp->underlay_)) {
    return BpfError(err, "loading the underlay BPF object");
  }
  RETURN_IF_ERROR(dp->ShareMapsWith(*dp->uplink_));
  if (int err = weft_uplink_ingress__load(dp->uplink_)) {
    return BpfError(err, "loading the uplink BPF object");
  }
  return dp;
}

template <typename Skeleton>
absl::Status Datapath::ShareMapsWith(const Skeleton& skel) const {
  for (int i = 0; i < kMapCount; ++i) {
    bpf_map* map = SkeletonMap(skel, MapAt(i));
    if (int err = bpf_map__reuse_fd(map, bpf_map__fd(maps_[i]))) {
      return BpfError(err, absl::StrCat("sharing map ", bpf_map__name(map)));
    }
  }
  return absl::OkStatus();
}

Datapath::~Datapath() {
  weft_uplink_ingress__destroy(uplink_);
  weft_underlay__destroy(underlay_);
  weft_vm__destroy(vm_);
}

const bpf_map* Datapath::BpfMap(Map map) const { return maps_[static_cast<int>(map)]; }
int Datapath::MapFd(Map map) const { return bpf_map__fd(BpfMap(map)); }

absl::StatusOr<Map> Datapath::MapNamed(std::string_view map_name) const {
  for (int i = 0; i < kMapCount; ++i) {
    if (bpf_map__name(maps_[i]) == map_name) return MapAt(i);
  }
  return absl::InternalError(absl::StrCat("no BPF map named ", std::string(map_name)));
}

int Datapath::VmProgramFd() const { return bpf_program__fd(vm_->progs.weft_vm_ingress); }
int Datapath::UnderlayXdpProgramFd() const {
  return bpf_program__fd(underlay_->progs.weft_underlay_xdp);
}
int Datapath::UnderlayTcProgramFd() const {
  return bpf_program__fd(underlay_->progs.weft_underlay_tc);
}
int Datapath::UplinkProgramFd() const {
  return bpf_program__fd(uplink_->progs.weft_uplink_ingress);
}

absl::Status Datapath::Apply(const NodeTables& tables) {
  struct Pending {
    Map map;
    std::vector<std::string> stale;
  };
  std::vector<Pending> pending;
  // Make: every new or changed entry, in table order.
  for (const MapTable& table : tables.tables) {
    ASSIGN_OR_RETURN(const Map map, MapNamed(table.map_name));
    const bpf_map* m = BpfMap(map);
    ASSIGN_OR_RETURN(const RawEntries current, ReadRawEntries(*this, map));
    for (const auto& [key, value] : table.entries) {
      if (key.size() != bpf_map__key_size(m) || value.size() != bpf_map__value_size(m)) {
        return absl::InternalError(absl::StrCat("entry size mismatch for ", table.map_name));
      }
      auto it = current.find(key);
      if (it != current.end() && it->second == value) continue;
      if (bpf_map_update_elem(MapFd(map), key.data(), value.data(), BPF_ANY) != 0) {
        return BpfError(
            errno, absl::StrCat("writing ", table.map_name, " (", current.size(), " entries)"));
      }
    }
    Pending p{map, {}};
    if (bpf_map__type(m) != BPF_MAP_TYPE_ARRAY) {
      for (const auto& [key, value] : current) {
        if (!table.entries.contains(key)) p.stale.push_back(key);
      }
    }
    pending.push_back(std::move(p));
  }
  // Break: what is no longer wanted, in reverse order (routes before the
  // endpoints they lead to, endpoints before their segment).
  for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
    RETURN_IF_ERROR(DeleteKeys(*this, it->map, it->stale));
  }
  return absl::OkStatus();
}

absl::StatusOr<weft_policy_ctl> Datapath::PolicyControl() const {
  return Lookup<__u32, weft_policy_ctl>(*this, Map::kPolCtl, 0);
}

absl::Status Datapath::ApplyPolicy(const PolicyTablesBuilder& build) {
  ASSIGN_OR_RETURN(const weft_policy_ctl ctl, PolicyControl());
  if (ctl.active_slot > 1) {
    return absl::InternalError(
        absl::StrCat(WEFT_MAP_POL_CTL " holds slot ", ctl.active_slot, ", not 0 or 1"));
  }
  const uint32_t active = ctl.active_slot;
  const uint32_t next = 1 - active;
  const PolicySlots slots(*this, build);
  // Forget what was in force unless this call confirms it.
  std::unique_ptr<PolicyInForce> in_force = std::move(policy_in_force_);

  ASSIGN_OR_RETURN(PolicyTables current, slots.Build(active));
  const size_t current_fingerprint = Fingerprint(current);
  // Nothing changed since the last call, which left the maps so.
  if (in_force && in_force->ctl.active_slot == ctl.active_slot &&
      in_force->ctl.generation == ctl.generation && in_force->fingerprint == current_fingerprint) {
    policy_in_force_ = std::move(in_force);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(LivePolicy live, slots.Read(active));
  if (Holds(live.slot[active], current)) {
    // Only leftovers of an agent that died mid-switch, if anything.
    RETURN_IF_ERROR(slots.Remove(live.outside_active));
    policy_in_force_.reset(new PolicyInForce{ctl, current_fingerprint});
    return absl::OkStatus();
  }

  // Compared: freed before the next set is built (at 10,000 rules each
  // takes ~16 MiB).
  current = {};
  ASSIGN_OR_RETURN(const PolicyTables staged, slots.Build(next));
  // Make room first: the inactive slot's entries that the new set does not
  // have again go now.
  RETURN_IF_ERROR(slots.Remove(KeysNotIn(live.outside_active, staged)));
  // Make: the new set, into the slot no packet reads.
  RETURN_IF_ERROR(slots.Stage(next, staged, live.slot[next]));
  const weft_policy_ctl switched{.active_slot = next, .generation = ctl.generation + 1};
  RETURN_IF_ERROR(slots.Switch(switched));
  // Break: the old slot.
  RETURN_IF_ERROR(slots.Remove(KeysOf(live.slot[active])));
  policy_in_force_.reset(new PolicyInForce{switched, Fingerprint(staged)});
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Datapath::AppliedStateVersion() const {
  ASSIGN_OR_RETURN(const weft_config config, (Lookup<__u32, weft_config>(*this, Map::kConfig, 0)));
  return config.state_version;
}

absl::Status Datapath::Unpin() {
  if (pin_dir_.empty()) return absl::OkStatus();
  for (bpf_map* map : maps_) {
    if (!bpf_map__is_pinned(map)) continue;
    if (int err = bpf_map__unpin(map, nullptr)) {
      return BpfError(err, absl::StrCat("unpinning ", bpf_map__name(map)));
    }
  }
  if (rmdir(pin_dir_.c_str()) != 0 && errno != ENOENT) {
    return BpfError(errno, absl::StrCat("removing ", pin_dir_));
  }
  return absl::OkStatus();
}

}  // namespace weft
