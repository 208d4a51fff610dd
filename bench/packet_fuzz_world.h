// What the packet fuzzer's oracle knows of the maps: the fixture's state
// (tests/bpf/fixture.h) as tenants, segments, endpoints and VTEPs, each
// local endpoint with the ifindex of the interface it is bound to. Built
// from the same weft::State the datapath's tables were built from, so the
// oracle and the programs read one truth through two independent paths.
#ifndef WEFT_BENCH_PACKET_FUZZ_WORLD_H_
#define WEFT_BENCH_PACKET_FUZZ_WORLD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/model/state.h"
#include "common/packet/packet.h"

namespace weft::fuzz {

using packet::Bytes;
using packet::Mac;

struct WorldSegment {
  std::string name;
  uint32_t vni = 0;
  uint32_t tenant_id = 0;
  uint32_t gateway_ip = 0;  // host order
  Mac gateway_mac{};
};

struct WorldEndpoint {
  std::string name;
  uint32_t tenant_id = 0;
  uint32_t vni = 0;
  uint32_t ip = 0;  // host order
  Mac mac{};
  uint32_t vtep = 0;     // of its node, host order
  uint32_t ifindex = 0;  // bound local interface; 0: remote
};

// An edge's uplink (weft_uplinks): its interface, tenant, the edge's transit
// address and the uplink's MAC.
struct WorldUplink {
  uint32_t ifindex = 0;
  uint32_t tenant_id = 0;
  uint32_t address = 0;  // host order
  Mac mac{};
};

struct World {
  uint32_t local_vtep = 0;
  std::map<uint32_t, bool> vteps;             // every node's VTEP -> foreign
  std::map<uint32_t, WorldSegment> segments;  // by VNI
  std::vector<WorldEndpoint> endpoints;
  // Per tenant: every VTEP its packets may be sent to (nodes of its
  // endpoints, next hops of its routes).
  std::map<uint32_t, std::vector<uint32_t>> tenant_vteps;
  std::vector<WorldUplink> uplinks;  // bound on this node (an edge's)

  const WorldSegment* Segment(uint32_t vni) const;
  const WorldEndpoint* BoundTo(uint32_t ifindex) const;
  // Local endpoints owning `mac` (several tenants could share one).
  std::vector<const WorldEndpoint*> LocalWithMac(const Mac& mac) const;
  const WorldEndpoint* OnSegment(uint32_t vni, const Mac& mac, uint32_t ip) const;
  const WorldEndpoint* OnSegment(uint32_t vni, const Mac& mac) const;
  bool TenantMayReach(uint32_t tenant_id, uint32_t vtep) const;
  const WorldUplink* Uplink(uint32_t ifindex) const;
};

// `ifindex_of` resolves an endpoint's interface name (0: not here).
World BuildWorld(const State& state, const std::string& node,
                 const std::function<uint32_t(const std::string&)>& ifindex_of);

}  // namespace weft::fuzz

#endif  // WEFT_BENCH_PACKET_FUZZ_WORLD_H_
