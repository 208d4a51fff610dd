// What the packet fuzzer's oracle knows of the maps: the fixture's state
// (tests/bpf/fixture.h) as tenants, segments, endpoints, routes and VTEPs,
// each local endpoint with the ifindex of the interface it is bound to.
// Built from the same weft::State the datapath's tables were built from, so
// the oracle and the programs read one truth through two independent paths.
#ifndef WEFT_BENCH_PACKET_FUZZ_WORLD_H_
#define WEFT_BENCH_PACKET_FUZZ_WORLD_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/model/net_format.h"
#include "common/model/state.h"
#include "common/packet/packet.h"

namespace weft::fuzz {

using packet::Bytes;
using packet::Mac;

// An address of either family: IPv4 (host order) or IPv6, as the model
// holds a traced packet's.
using Address = UnderlayAddress;

struct WorldSegment {
  std::string name;
  uint32_t vni = 0;
  uint32_t tenant_id = 0;
  uint32_t gateway_ip = 0;  // host order
  Mac gateway_mac{};
  std::optional<Ipv6Address> gateway6;  // with an IPv6 subnet

  // `a` is the gateway's address of its family.
  bool IsGateway(const Address& a) const;
};

struct WorldEndpoint {
  std::string name;
  uint32_t tenant_id = 0;
  uint32_t vni = 0;
  uint32_t ip = 0;  // host order
  std::optional<Ipv6Address> ip6;
  Mac mac{};
  uint32_t vtep = 0;     // of its node, host order
  uint32_t ifindex = 0;  // bound local interface; 0: remote

  // `a` is the endpoint's address of its family.
  bool Owns(const Address& a) const;
};

// A route of a tenant's gateway, of either family: a segment's subnet
// (connected: to the endpoint that owns the address), or a route of the
// state (to one of its nodes' VTEPs on its segment's VNI, or a blackhole).
struct WorldRoute {
  uint32_t tenant_id = 0;
  IpPrefix prefix;
  bool connected = false;
  bool blackhole = false;
  uint32_t vni = 0;             // the segment's (none for a blackhole)
  std::vector<uint32_t> vteps;  // not connected: the next hops

  bool Covers(const Address& a) const;
  uint8_t Length() const;
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
  std::vector<WorldRoute> routes;  // the state's of both families, and each subnet's
  // Per tenant: every VTEP its packets may be sent to (nodes of its
  // endpoints, next hops of its routes).
  std::map<uint32_t, std::vector<uint32_t>> tenant_vteps;
  std::vector<WorldUplink> uplinks;  // bound on this node (an edge's)

  const WorldSegment* Segment(uint32_t vni) const;
  const WorldEndpoint* BoundTo(uint32_t ifindex) const;
  const WorldEndpoint* OnSegment(uint32_t vni, const Mac& mac, uint32_t ip) const;
  const WorldEndpoint* OnSegment(uint32_t vni, const Mac& mac) const;
  // The endpoint of tenant `tenant_id` that owns `a`.
  const WorldEndpoint* Owner(uint32_t tenant_id, const Address& a) const;
  // The route tenant `tenant_id`'s gateway takes to `dst`: the longest
  // prefix of the family that covers it; nullptr: none.
  const WorldRoute* Route(uint32_t tenant_id, const Address& dst) const;
  bool TenantMayReach(uint32_t tenant_id, uint32_t vtep) const;
  const WorldUplink* Uplink(uint32_t ifindex) const;
};

// `ifindex_of` resolves an endpoint's interface name (0: not here).
World BuildWorld(const State& state, const std::string& node,
                 const std::function<uint32_t(const std::string&)>& ifindex_of);

}  // namespace weft::fuzz

#endif  // WEFT_BENCH_PACKET_FUZZ_WORLD_H_
