// What the datapath maps of one node should hold, computed from the desired
// state. Pure: no BPF calls, so it is unit-tested without root. The loader
// (Datapath::Apply, agent/datapath/) turns the difference between this and
// the live maps into ordered writes.
#ifndef WEFT_COMMON_PLAN_TABLES_H_
#define WEFT_COMMON_PLAN_TABLES_H_

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/state.h"
#include "weft/abi.h"

namespace weft {

// One map's wanted contents, as raw key and value bytes (the structs of
// bpf/include/weft/abi.h), so a single diff/apply serves every map.
struct MapTable {
  std::string map_name;
  std::map<std::string, std::string> entries;

  template <typename K, typename V>
  void Put(const K& key, const V& value) {
    entries[std::string(reinterpret_cast<const char*>(&key), sizeof(K))] =
        std::string(reinterpret_cast<const char*>(&value), sizeof(V));
  }
};

// All of a node's tables, in make-before-break write order: a table is
// written before the ones after it; removals run in reverse.
struct NodeTables {
  std::vector<MapTable> tables;
  // Host-side interfaces of this node's endpoints that resolved to an
  // ifindex: the VM program is attached to exactly these.
  std::map<std::string, uint32_t> local_interfaces;

  const MapTable* Find(std::string_view map_name) const;
};

// Name -> ifindex in the agent's network namespace; 0 when absent.
using InterfaceResolver = std::function<uint32_t(const std::string&)>;

struct NodeSettings {
  std::string node;
  uint32_t underlay_ifindex = 0;
  uint16_t underlay_mtu = 1500;
  // Seconds. SYN and closing short, established long, as Linux does
  // (shorter established: a VM fleet's idle flows should not pin entries
  // for days).
  weft_ct_timeouts ct_timeouts = {
      .tcp_syn = 30, .tcp_established = 3600, .tcp_closing = 30, .udp = 60, .icmp = 30};
};

// `state` must already be valid (ValidateState). Fails when `node` is not
// in the state or is foreign.
absl::StatusOr<NodeTables> BuildNodeTables(const State& state, const NodeSettings& settings,
                                           const InterfaceResolver& resolve);

}  // namespace weft

#endif  // WEFT_COMMON_PLAN_TABLES_H_
