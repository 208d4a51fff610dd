#include "agent/datapath/maps/fill.h"

#include <bpf/libbpf.h>

#include "agent/datapath/maps/entries.h"
#include "common/base/status.h"

namespace weft {
namespace {

bool Keyed(bpf_map_type type) {
  return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
         type == BPF_MAP_TYPE_LPM_TRIE || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

}  // namespace

std::vector<Map> KeyedMaps(const Datapath& dp) {
  std::vector<Map> keyed;
  for (int i = 0; i < kMapCount; ++i) {
    const Map map = static_cast<Map>(i);
    if (Keyed(bpf_map__type(dp.BpfMap(map)))) keyed.push_back(map);
  }
  return keyed;
}

absl::StatusOr<MapFill> ReadMapFill(const Datapath& dp, Map map) {
  ASSIGN_OR_RETURN(const uint64_t entries, CountEntries(dp, map));
  const bpf_map* m = dp.BpfMap(map);
  return MapFill{bpf_map__name(m), entries, bpf_map__max_entries(m)};
}

}  // namespace weft
