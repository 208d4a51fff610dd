#include "agent/datapath/policy_slots.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tuple>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "agent/datapath/bpf_error.h"
#include "common/base/status.h"

namespace weft {
namespace {

// The slot a policy key belongs to: a host-order first field, or, in the
// LPM keys, big-endian after the prefix length.
uint32_t KeySlot(Map map, const std::string& key) {
  uint32_t slot = 0;
  if (map == Map::kPolPeer || map == Map::kPolPeer6 || map == Map::kPolL4) {
    std::memcpy(&slot, key.data() + 4, sizeof(slot));
    return ntohl(slot);
  }
  std::memcpy(&slot, key.data(), sizeof(slot));
  return slot;
}

const char* Name(const Datapath& dp, Map map) { return bpf_map__name(dp.BpfMap(map)); }

}  // namespace

size_t Fingerprint(const PolicyTables& tables) {
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
}

bool Holds(const PolicyEntries& live, const PolicyTables& tables) {
  for (size_t i = 0; i < kPolicyMaps.size(); ++i) {
    if (tables[i].entries != live[i]) return false;
  }
  return true;
}

PolicyKeys KeysOf(const PolicyEntries& entries) {
  PolicyKeys keys;
  for (size_t i = 0; i < kPolicyMaps.size(); ++i) {
    for (const auto& [key, value] : entries[i]) keys[i].push_back(key);
  }
  return keys;
}

PolicyKeys KeysNotIn(const PolicyKeys& keys, const PolicyTables& tables) {
  PolicyKeys out = keys;
  for (size_t i = 0; i < kPolicyMaps.size(); ++i) {
    std::erase_if(out[i], [&](const std::string& key) { return tables[i].entries.contains(key); });
  }
  return out;
}

absl::StatusOr<PolicyTables> PolicySlots::Build(uint32_t slot) const {
  ASSIGN_OR_RETURN(std::vector<MapTable> built, build_(slot));
  PolicyTables tables;
  for (size_t i = 0; i < kPolicyMaps.size(); ++i) tables[i].map_name = Name(dp_, kPolicyMaps[i]);
  for (MapTable& t : built) {
    const absl::StatusOr<Map> map = dp_.MapNamed(t.map_name);
    const auto* it =
        map.ok() ? std::find(kPolicyMaps.begin(), kPolicyMaps.end(), *map) : kPolicyMaps.end();
    if (it == kPolicyMaps.end()) {
      return absl::InternalError(absl::StrCat(t.map_name, " is not a policy map"));
    }
    tables[it - kPolicyMaps.begin()].entries = std::move(t.entries);
  }
  for (size_t i = 0; i < kPolicyMaps.size(); ++i) {
    const bpf_map* m = dp_.BpfMap(kPolicyMaps[i]);
    for (const auto& [key, value] : tables[i].entries) {
      if (key.size() != bpf_map__key_size(m) || value.size() != bpf_map__value_size(m)) {
        return absl::InternalError(absl::StrCat("entry size mismatch for ", tables[i].map_name));
      }
      if (KeySlot(kPolicyMaps[i], key) != slot) {
        return absl::InternalError(
            absl::StrCat("an entry of ", tables[i].map_name, " is not in slot ", slot));
      }
    }
  }
  return tables;
}

absl::StatusOr<LivePolicy> PolicySlots::Read(uint32_t active_slot) const {
  LivePolicy live;
  for (size_t i = 0; i < kPolicyMaps.size(); ++i) {
    ASSIGN_OR_RETURN(RawEntries entries, ReadRawEntries(dp_, kPolicyMaps[i]));
    for (auto& [key, value] : entries) {
      const uint32_t slot = KeySlot(kPolicyMaps[i], key);
      if (slot != active_slot) live.outside_active[i].push_back(key);
      if (slot <= 1) live.slot[slot][i].emplace(key, std::move(value));
    }
  }
  return live;
}

absl::Status PolicySlots::Stage(uint32_t slot, const PolicyTables& tables,
                                const PolicyEntries& live) const {
  for (size_t i = 0; i < kPolicyMaps.size(); ++i) {
    for (const auto& [key, value] : tables[i].entries) {
      auto it = live[i].find(key);
      if (it != live[i].end() && it->second == value) continue;
      if (bpf_map_update_elem(dp_.MapFd(kPolicyMaps[i]), key.data(), value.data(), BPF_ANY) != 0) {
        return BpfError(errno, absl::StrCat("writing ", tables[i].map_name, " (slot ", slot, ", ",
                                            tables[i].entries.size(), " entries)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status PolicySlots::Switch(const weft_policy_ctl& ctl) const {
  const __u32 zero = 0;
  if (bpf_map_update_elem(dp_.MapFd(Map::kPolCtl), &zero, &ctl, BPF_ANY) != 0) {
    return BpfError(errno, "switching " WEFT_MAP_POL_CTL);
  }
  return absl::OkStatus();
}

absl::Status PolicySlots::Remove(const PolicyKeys& keys) const {
  for (size_t i = kPolicyMaps.size(); i-- > 0;) {
    RETURN_IF_ERROR(DeleteKeys(dp_, kPolicyMaps[i], keys[i]));
  }
  return absl::OkStatus();
}

}  // namespace weft
