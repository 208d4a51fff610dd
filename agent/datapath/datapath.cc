#include "agent/datapath/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "agent/datapath/bpf_error.h"
#include "underlay.skel.h"
#include "vm.skel.h"

namespace weft {
namespace {

constexpr std::string_view kReasonLabels[] = {
#define WEFT_REASON_LABEL_(name, label) label,
    WEFT_REASONS(WEFT_REASON_LABEL_)
#undef WEFT_REASON_LABEL_
};
static_assert(std::size(kReasonLabels) == WEFT_REASON_COUNT);

// The maps of abi.h, not libbpf's internal .rodata/.bss of an object.
bool IsWeftMap(const bpf_map* map) {
  return !bpf_map__is_internal(map) &&
         std::string_view(bpf_map__name(map)).starts_with("weft_");
}

// Every key and value currently in the map.
absl::StatusOr<std::map<std::string, std::string>> DumpMap(int fd, const bpf_map* map) {
  std::map<std::string, std::string> out;
  const size_t key_size = bpf_map__key_size(map);
  const size_t value_size = bpf_map__value_size(map);
  std::string key(key_size, '\0'), next(key_size, '\0'), value(value_size, '\0');
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    if (bpf_map_lookup_elem(fd, next.data(), value.data()) == 0) out[next] = value;
    key = next;
    prev = key.data();
  }
  if (errno != ENOENT) return BpfError(errno, absl::StrCat("iterating ", bpf_map__name(map)));
  return out;
}

// The five policy tables, in BuildPolicyTables' order.
constexpr const char* kPolicyMaps[] = {WEFT_MAP_POL_TENANT, WEFT_MAP_POL_RULES,
                                       WEFT_MAP_POL_L4, WEFT_MAP_POL_PEER,
                                       WEFT_MAP_POL_APPLIED};

// The slot a policy key belongs to: a host-order first field, or, in the
// LPM keys, big-endian after the prefix length.
uint32_t PolicyKeySlot(std::string_view map_name, const std::string& key) {
  uint32_t slot = 0;
  if (map_name == WEFT_MAP_POL_PEER || map_name == WEFT_MAP_POL_L4) {
    std::memcpy(&slot, key.data() + 4, sizeof(slot));
    return ntohl(slot);
  }
  std::memcpy(&slot, key.data(), sizeof(slot));
  return slot;
}

}  // namespace

std::string_view ReasonLabel(int reason) {
  if (reason < 0 || reason >= WEFT_REASON_COUNT) return "unknown";
  return kReasonLabels[reason];
}

absl::StatusOr<std::unique_ptr<Datapath>> Datapath::Load(const std::string& pin_dir) {
  std::unique_ptr<Datapath> dp(new Datapath());
  dp->pin_dir_ = pin_dir;

  dp->vm_ = weft_vm__open();
  if (!dp->vm_) return BpfError(errno, "opening the VM BPF object");
  if (!pin_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(pin_dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat(
          "creating pin directory ", pin_dir, ": ", ec.message(), " (is a bpffs mounted there?)"));
    }
    bpf_map* map;
    bpf_object__for_each_map(map, dp->vm_->obj) {
      if (!IsWeftMap(map)) continue;
      std::string path = absl::StrCat(pin_dir, "/", bpf_map__name(map));
      if (int err = bpf_map__set_pin_path(map, path.c_str())) {
        return BpfError(err, absl::StrCat("setting pin path ", path));
      }
    }
  }
  if (int err = weft_vm__load(dp->vm_)) {
    return BpfError(err, absl::StrCat("loading the VM BPF object",
                                      pin_dir.empty() ? "" : " (maps pinned at " + pin_dir + ")"));
  }

  // The underlay object uses the very same maps.
  dp->underlay_ = weft_underlay__open();
  if (!dp->underlay_) return BpfError(errno, "opening the underlay BPF object");
  bpf_map* map;
  bpf_object__for_each_map(map, dp->underlay_->obj) {
    if (!IsWeftMap(map)) continue;
    int fd = dp->MapFd(bpf_map__name(map));
    if (fd < 0) {
      return absl::InternalError(
          absl::StrCat("map ", bpf_map__name(map), " is in the underlay object only"));
    }
    if (int err = bpf_map__reuse_fd(map, fd)) {
      return BpfError(err, absl::StrCat("sharing map ", bpf_map__name(map)));
    }
  }
  if (int err = weft_underlay__load(dp->underlay_)) {
    return BpfError(err, "loading the underlay BPF object");
  }
  return dp;
}

Datapath::~Datapath() {
  weft_underlay__destroy(underlay_);
  weft_vm__destroy(vm_);
}

int Datapath::MapFd(std::string_view map_name) const {
  bpf_map* map = bpf_object__find_map_by_name(vm_->obj, std::string(map_name).c_str());
  return map ? bpf_map__fd(map) : -1;
}

int Datapath::VmProgramFd() const { return bpf_program__fd(vm_->progs.weft_vm_ingress); }
int Datapath::UnderlayXdpProgramFd() const {
  return bpf_program__fd(underlay_->progs.weft_underlay_xdp);
}
int Datapath::UnderlayTcProgramFd() const {
  return bpf_program__fd(underlay_->progs.weft_underlay_tc);
}

absl::Status Datapath::Apply(const NodeTables& tables) {
  struct Pending {
    const bpf_map* map;
    int fd;
    std::vector<std::string> stale;
  };
  std::vector<Pending> pending;
  // Make: every new or changed entry, in table order.
  for (const MapTable& table : tables.tables) {
    const bpf_map* map = bpf_object__find_map_by_name(vm_->obj, table.map_name.c_str());
    if (!map) return absl::InternalError(absl::StrCat("no BPF map named ", table.map_name));
    const int fd = bpf_map__fd(map);
    auto current = DumpMap(fd, map);
    if (!current.ok()) return current.status();
    for (const auto& [key, value] : table.entries) {
      if (key.size() != bpf_map__key_size(map) || value.size() != bpf_map__value_size(map)) {
        return absl::InternalError(absl::StrCat("entry size mismatch for ", table.map_name));
      }
      auto it = current->find(key);
      if (it != current->end() && it->second == value) continue;
      if (bpf_map_update_elem(fd, key.data(), value.data(), BPF_ANY) != 0) {
        return BpfError(errno, absl::StrCat("writing ", table.map_name, " (",
                                            current->size(), " entries)"));
      }
    }
    Pending p{map, fd, {}};
    if (bpf_map__type(map) != BPF_MAP_TYPE_ARRAY) {
      for (const auto& [key, value] : *current) {
        if (!table.entries.contains(key)) p.stale.push_back(key);
      }
    }
    pending.push_back(std::move(p));
  }
  // Break: what is no longer wanted, in reverse order (routes before the
  // endpoints they lead to, endpoints before their segment).
  for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
    for (const std::string& key : it->stale) {
      if (bpf_map_delete_elem(it->fd, key.data()) != 0 && errno != ENOENT) {
        return BpfError(errno, absl::StrCat("deleting from ", bpf_map__name(it->map)));
      }
    }
  }
  return absl::OkStatus();
}

bool Datapath::HasPolicyMaps() const {
  if (MapFd(WEFT_MAP_POL_CTL) < 0) return false;
  for (const char* name : kPolicyMaps) {
    if (MapFd(name) < 0) return false;
  }
  return true;
}

absl::StatusOr<weft_policy_ctl> Datapath::PolicyControl() const {
  if (!HasPolicyMaps()) {
    return absl::FailedPreconditionError(
        "the loaded BPF objects have no firewall maps (weft_pol_*): built "
        "before the firewall?");
  }
  const __u32 zero = 0;
  weft_policy_ctl ctl{};
  if (bpf_map_lookup_elem(MapFd(WEFT_MAP_POL_CTL), &zero, &ctl) != 0) {
    return BpfError(errno, "reading " WEFT_MAP_POL_CTL);
  }
  return ctl;
}

absl::Status Datapath::ApplyPolicy(const PolicyTablesBuilder& build) {
  absl::StatusOr<weft_policy_ctl> ctl = PolicyControl();
  if (!ctl.ok()) return ctl.status();
  if (ctl->active_slot > 1) {
    return absl::InternalError(absl::StrCat(
        WEFT_MAP_POL_CTL " holds slot ", ctl->active_slot, ", not 0 or 1"));
  }
  const uint32_t active = ctl->active_slot;
  const uint32_t next = 1 - active;
  // Forget what was in force unless this call confirms it.
  std::unique_ptr<PolicyInForce> in_force = std::move(policy_in_force_);

  struct PolicyMap {
    const char* name;
    const bpf_map* map;
    int fd;
  };
  std::vector<PolicyMap> maps;
  for (const char* name : kPolicyMaps) {
    const bpf_map* map = bpf_object__find_map_by_name(vm_->obj, name);
    maps.push_back({name, map, bpf_map__fd(map)});
  }
  // build(slot) as one table per policy map, in the maps' order (a map the
  // builder left out: empty), checked against the maps.
  auto built = [&](uint32_t slot) -> absl::StatusOr<std::vector<MapTable>> {
    absl::StatusOr<std::vector<MapTable>> tables = build(slot);
    if (!tables.ok()) return tables.status();
    for (const MapTable& t : *tables) {
      if (std::find(std::begin(kPolicyMaps), std::end(kPolicyMaps),
                    t.map_name) == std::end(kPolicyMaps)) {
        return absl::InternalError(
            absl::StrCat(t.map_name, " is not a policy map"));
      }
    }
    std::vector<MapTable> ordered;
    for (const PolicyMap& m : maps) {
      MapTable table{m.name, {}};
      for (MapTable& t : *tables) {
        if (t.map_name == m.name) table.entries = std::move(t.entries);
      }
      const size_t key_size = bpf_map__key_size(m.map);
      const size_t value_size = bpf_map__value_size(m.map);
      for (const auto& [key, value] : table.entries) {
        if (key.size() != key_size || value.size() != value_size) {
          return absl::InternalError(
              absl::StrCat("entry size mismatch for ", m.name));
        }
        if (PolicyKeySlot(m.name, key) != slot) {
          return absl::InternalError(
              absl::StrCat("an entry of ", m.name, " is not in slot ", slot));
        }
      }
      ordered.push_back(std::move(table));
    }
    return ordered;
  };
  // Deletes keys (one list per map), in reverse map order; a key already
  // gone is fine.
  auto remove = [&](const std::vector<std::vector<std::string>>& keys) {
    for (size_t i = maps.size(); i-- > 0;) {
      for (const std::string& key : keys[i]) {
        if (bpf_map_delete_elem(maps[i].fd, key.data()) != 0 &&
            errno != ENOENT) {
          return BpfError(errno, absl::StrCat("deleting from ", maps[i].name));
        }
      }
    }
    return absl::OkStatus();
  };
  // Identifies a rule set within this process (absl::Hash is seeded).
  auto fingerprint = [](const std::vector<MapTable>& tables) {
    size_t h = 0;
    for (const MapTable& t : tables) {
      const size_t entries = t.entries.size();
      h = absl::Hash<std::tuple<size_t, const std::string&, size_t>>{}(
          std::tie(h, t.map_name, entries));
      for (const auto& [key, value] : t.entries) {
        h = absl::Hash<std::tuple<size_t, const std::string&, const std::string&>>{}(
            std::tie(h, key, value));
      }
    }
    return h;
  };

  absl::StatusOr<std::vector<MapTable>> current = built(active);
  if (!current.ok()) return current.status();
  // Nothing changed since the last call, which left the maps so.
  if (in_force && in_force->ctl.active_slot == ctl->active_slot &&
      in_force->ctl.generation == ctl->generation &&
      in_force->fingerprint == fingerprint(*current)) {
    policy_in_force_ = std::move(in_force);
    return absl::OkStatus();
  }
  in_force.reset();

  // The maps as they are, each split by slot; keys of neither slot are junk.
  std::vector<std::map<std::string, std::string>> live[2];
  live[0].resize(maps.size());
  live[1].resize(maps.size());
  // Everything outside the active slot is garbage: no packet reads it.
  std::vector<std::vector<std::string>> garbage(maps.size());
  for (size_t i = 0; i < maps.size(); ++i) {
    auto entries = DumpMap(maps[i].fd, maps[i].map);
    if (!entries.ok()) return entries.status();
    for (auto& [key, value] : *entries) {
      const uint32_t slot = PolicyKeySlot(maps[i].name, key);
      if (slot != active) garbage[i].push_back(key);
      if (slot <= 1) live[slot][i].emplace(key, std::move(value));
    }
  }
  bool same = true;
  for (size_t i = 0; i < maps.size(); ++i) {
    same = same && (*current)[i].entries == live[active][i];
  }
  if (same) {
    // Only leftovers of an agent that died mid-switch, if anything.
    if (absl::Status s = remove(garbage); !s.ok()) return s;
    policy_in_force_.reset(new PolicyInForce{*ctl, fingerprint(*current)});
    return absl::OkStatus();
  }

  // Compared: freed before the next set is built (at 10,000 rules each
  // takes ~16 MiB).
  current->clear();
  absl::StatusOr<std::vector<MapTable>> staged = built(next);
  if (!staged.ok()) return staged.status();
  // Make room first: the inactive slot's entries that the new set does not
  // have again go now.
  for (size_t i = 0; i < maps.size(); ++i) {
    std::erase_if(garbage[i], [&](const std::string& key) {
      return (*staged)[i].entries.contains(key);
    });
  }
  if (absl::Status s = remove(garbage); !s.ok()) return s;
  // Make: the new set, into the slot no packet reads.
  for (size_t i = 0; i < maps.size(); ++i) {
    for (const auto& [key, value] : (*staged)[i].entries) {
      auto it = live[next][i].find(key);
      if (it != live[next][i].end() && it->second == value) continue;
      if (bpf_map_update_elem(maps[i].fd, key.data(), value.data(), BPF_ANY) !=
          0) {
        return BpfError(errno,
                        absl::StrCat("writing ", maps[i].name, " (slot ", next,
                                     ", ", (*staged)[i].entries.size(),
                                     " entries)"));
      }
    }
  }
  // The switch: slot and generation in one write.
  const __u32 zero = 0;
  weft_policy_ctl flipped{};
  flipped.active_slot = next;
  flipped.generation = ctl->generation + 1;
  if (bpf_map_update_elem(MapFd(WEFT_MAP_POL_CTL), &zero, &flipped, BPF_ANY) !=
      0) {
    return BpfError(errno, "switching " WEFT_MAP_POL_CTL);
  }
  // Break: the old slot.
  std::vector<std::vector<std::string>> old(maps.size());
  for (size_t i = 0; i < maps.size(); ++i) {
    for (const auto& [key, value] : live[active][i]) old[i].push_back(key);
  }
  if (absl::Status s = remove(old); !s.ok()) return s;
  policy_in_force_.reset(new PolicyInForce{flipped, fingerprint(*staged)});
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Datapath::AppliedStateVersion() const {
  const __u32 zero = 0;
  weft_config config{};
  if (bpf_map_lookup_elem(MapFd(WEFT_MAP_CONFIG), &zero, &config) != 0) {
    return BpfError(errno, "reading weft_config");
  }
  return config.state_version;
}

absl::StatusOr<Counters> Datapath::ReadCounters() const {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return BpfError(cpus, "counting possible CPUs");
  const int fd = MapFd(WEFT_MAP_STATS);
  Counters total{};
  std::vector<weft_counter> per_cpu(cpus);
  for (__u32 reason = 0; reason < WEFT_REASON_COUNT; ++reason) {
    if (bpf_map_lookup_elem(fd, &reason, per_cpu.data()) != 0) {
      return BpfError(errno, "reading weft_stats");
    }
    for (const weft_counter& c : per_cpu) {
      total[reason].packets += c.packets;
      total[reason].bytes += c.bytes;
    }
  }
  return total;
}

absl::Status Datapath::Unpin() {
  if (pin_dir_.empty()) return absl::OkStatus();
  bpf_map* map;
  bpf_object__for_each_map(map, vm_->obj) {
    if (!IsWeftMap(map) || !bpf_map__is_pinned(map)) continue;
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
