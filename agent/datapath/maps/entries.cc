#include "agent/datapath/maps/entries.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/datapath/bpf_error.h"

namespace weft {

absl::Status ForEachKey(const Datapath& dp, Map map,
                        absl::FunctionRef<void(std::string_view key)> visit) {
  const bpf_map* m = dp.BpfMap(map);
  const int fd = dp.MapFd(map);
  const uint64_t limit = bpf_map__max_entries(m);
  std::string key(bpf_map__key_size(m), '\0'), next(key.size(), '\0');
  const void* prev = nullptr;
  uint64_t walked = 0;
  while (walked < limit && bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    ++walked;
    key.swap(next);
    prev = key.data();
    visit(key);
  }
  if (walked < limit && errno != ENOENT) {
    return BpfError(errno, absl::StrCat("iterating ", bpf_map__name(m)));
  }
  return absl::OkStatus();
}

absl::Status ForEachEntry(
    const Datapath& dp, Map map,
    absl::FunctionRef<void(std::string_view key, std::string_view value)> visit) {
  const int fd = dp.MapFd(map);
  std::string value(bpf_map__value_size(dp.BpfMap(map)), '\0');
  return ForEachKey(dp, map, [&](std::string_view key) {
    if (bpf_map_lookup_elem(fd, key.data(), value.data()) == 0) visit(key, value);
  });
}

absl::StatusOr<RawEntries> ReadRawEntries(const Datapath& dp, Map map) {
  RawEntries out;
  RETURN_IF_ERROR(ForEachEntry(
      dp, map, [&](std::string_view key, std::string_view value) { out.emplace(key, value); }));
  return out;
}

absl::Status DeleteKeys(const Datapath& dp, Map map, const std::vector<std::string>& keys) {
  for (const std::string& key : keys) {
    if (bpf_map_delete_elem(dp.MapFd(map), key.data()) != 0 && errno != ENOENT) {
      return BpfError(errno, absl::StrCat("deleting from ", bpf_map__name(dp.BpfMap(map))));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> CountEntries(const Datapath& dp, Map map) {
  uint64_t count = 0;
  RETURN_IF_ERROR(ForEachKey(dp, map, [&](std::string_view) { ++count; }));
  return count;
}

absl::Status CheckSizes(const Datapath& dp, Map map, size_t key_size, size_t value_size) {
  const bpf_map* m = dp.BpfMap(map);
  if (bpf_map__key_size(m) != key_size || bpf_map__value_size(m) != value_size) {
    return absl::InternalError(absl::StrCat("reading ", bpf_map__name(m), " as a ", key_size,
                                            "-byte key and ", value_size, "-byte value; it has ",
                                            bpf_map__key_size(m), " and ", bpf_map__value_size(m)));
  }
  return absl::OkStatus();
}

absl::Status LookupRaw(const Datapath& dp, Map map, const void* key, void* value) {
  if (bpf_map_lookup_elem(dp.MapFd(map), key, value) != 0) {
    return BpfError(errno, absl::StrCat("reading ", bpf_map__name(dp.BpfMap(map))));
  }
  return absl::OkStatus();
}

absl::Status ForEachCpuValue(const Datapath& dp, Map map, size_t value_size, uint32_t count,
                             absl::FunctionRef<void(uint32_t index, const void* value)> visit) {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return BpfError(cpus, "counting possible CPUs");
  // The kernel copies a per-CPU value into 8-byte aligned slots.
  const size_t stride = (value_size + 7) / 8 * 8;
  std::string per_cpu(stride * cpus, '\0');
  const uint32_t end = std::min(count, bpf_map__max_entries(dp.BpfMap(map)));
  for (uint32_t index = 0; index < end; ++index) {
    RETURN_IF_ERROR(LookupRaw(dp, map, &index, per_cpu.data()));
    for (int cpu = 0; cpu < cpus; ++cpu) visit(index, per_cpu.data() + cpu * stride);
  }
  return absl::OkStatus();
}

}  // namespace weft
