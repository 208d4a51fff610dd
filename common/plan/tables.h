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
  // On an edge, the interfaces of its uplinks (UplinkDevice) that resolved:
  // the uplink program is attached to exactly these.
  std::map<std::string, uint32_t> uplink_interfaces;

  const MapTable* Find(std::string_view map_name) const;
};

// Name -> ifindex in the agent's network namespace; 0 when absent. Asked
// for endpoints' interfaces and for this node's uplink interfaces alike.
using InterfaceResolver = std::function<uint32_t(const std::string&)>;
// Ifindex (a resolved uplink interface) -> its MAC, which an uplink's
// frames carry as their source. Asked for uplinks only, so a caller whose
// node has none (or that resolves no interface) needs no real one.
using MacResolver = std::function<MacAddress(uint32_t ifindex)>;

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

// The interface that carries `uplink` on its edge: the VLAN subinterface
// "<interface>.<vlan>" the agent makes, or the plain link. May be longer
// than the kernel's 15 characters: CheckForNode refuses such a state.
std::string UplinkDevice(const Uplink& uplink);

// `state` must already be valid (ValidateState). Fails when `node` is not
// in the state or is foreign. On an edge, an IPv4 route whose `nodes`
// include it, for a tenant with an uplink here, leaves through that uplink
// (WEFT_ROUTE_UPLINK); while the uplink's interface does not resolve, the
// route goes to the other nodes it names (none: it is left out). IPv6
// routes (weft_routes6) go to the VTEPs of all their nodes: uplinks carry
// IPv4 only.
absl::StatusOr<NodeTables> BuildNodeTables(
    const State& state, const NodeSettings& settings, const InterfaceResolver& resolve,
    const MacResolver& mac_of = [](uint32_t) { return MacAddress{}; });

}  // namespace weft

#endif  // WEFT_COMMON_PLAN_TABLES_H_
