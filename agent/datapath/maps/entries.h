// The one way the agent reads a map: a typed key and value per map (the
// structs of abi.h), checked against the loaded map's sizes, over one
// bounded walk. The per-table readers beside this file build on it.
#ifndef WEFT_AGENT_DATAPATH_MAPS_ENTRIES_H_
#define WEFT_AGENT_DATAPATH_MAPS_ENTRIES_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath/datapath.h"
#include "common/base/status.h"

namespace weft {

// Calls visit(key) for every key of a keyed map (hash, LRU hash, LPM trie),
// walking at most max_entries keys: a map that churns during the walk
// (conntrack) cannot make it loop.
absl::Status ForEachKey(const Datapath& dp, Map map,
                        absl::FunctionRef<void(std::string_view key)> visit);

// As ForEachKey, with the value; an entry deleted during the walk is left
// out.
absl::Status ForEachEntry(
    const Datapath& dp, Map map,
    absl::FunctionRef<void(std::string_view key, std::string_view value)> visit);

// Every entry as raw key and value bytes (MapTable's form), for the writers.
using RawEntries = std::map<std::string, std::string>;
absl::StatusOr<RawEntries> ReadRawEntries(const Datapath& dp, Map map);

// Deletes `keys` (raw bytes); a key already gone is fine.
absl::Status DeleteKeys(const Datapath& dp, Map map, const std::vector<std::string>& keys);

// Keys in a keyed map (ForEachKey's walk).
absl::StatusOr<uint64_t> CountEntries(const Datapath& dp, Map map);

// InternalError unless the map's key and value have these sizes (value:
// per CPU for the per-CPU maps).
absl::Status CheckSizes(const Datapath& dp, Map map, size_t key_size, size_t value_size);

template <typename Key, typename Value>
struct Entry {
  Key key;
  Value value;
};

// Every entry of a keyed map.
template <typename Key, typename Value>
absl::StatusOr<std::vector<Entry<Key, Value>>> ReadEntries(const Datapath& dp, Map map) {
  RETURN_IF_ERROR(CheckSizes(dp, map, sizeof(Key), sizeof(Value)));
  std::vector<Entry<Key, Value>> out;
  RETURN_IF_ERROR(ForEachEntry(dp, map, [&](std::string_view key, std::string_view value) {
    Entry<Key, Value>& e = out.emplace_back();
    std::memcpy(&e.key, key.data(), sizeof(Key));
    std::memcpy(&e.value, value.data(), sizeof(Value));
  }));
  return out;
}

// The value at `key`; NotFound when there is none. LookupRaw: the caller
// sized key and value.
absl::Status LookupRaw(const Datapath& dp, Map map, const void* key, void* value);
template <typename Key, typename Value>
absl::StatusOr<Value> Lookup(const Datapath& dp, Map map, const Key& key) {
  RETURN_IF_ERROR(CheckSizes(dp, map, sizeof(Key), sizeof(Value)));
  Value value{};
  RETURN_IF_ERROR(LookupRaw(dp, map, &key, &value));
  return value;
}

// Calls visit(index, one CPU's value) for the first `count` indexes of a
// per-CPU array (fewer if the map has fewer) and every possible CPU.
absl::Status ForEachCpuValue(const Datapath& dp, Map map, size_t value_size, uint32_t count,
                             absl::FunctionRef<void(uint32_t index, const void* value)> visit);
// The first kCount indexes of a per-CPU array, summed over the CPUs by
// add(total, one): the counter maps have spare slots past what is defined.
template <typename Value, size_t kCount, typename Add>
absl::StatusOr<std::array<Value, kCount>> SumPerCpuArray(const Datapath& dp, Map map, Add add) {
  RETURN_IF_ERROR(CheckSizes(dp, map, sizeof(uint32_t), sizeof(Value)));
  std::array<Value, kCount> total{};
  RETURN_IF_ERROR(
      ForEachCpuValue(dp, map, sizeof(Value), kCount, [&](uint32_t index, const void* v) {
        Value one;
        std::memcpy(&one, v, sizeof one);
        add(total[index], one);
      }));
  return total;
}

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_MAPS_ENTRIES_H_
