// Valid frames the packet fuzzer mutates: for the VM program, what each
// bound VM (and an unbound interface) sends of every kind to every
// endpoint, gateway and route of both tenants, over IPv4 and, from a VM
// with an IPv6 address, over IPv6 too (extension headers, hop limit 1, too
// big); for the underlay programs, VXLAN from each peer VTEP (Weft,
// foreign, unknown) on every segment (and an unknown VNI) carrying the same
// kinds of both families, plus frames that are not Weft's; for an edge's
// uplink program, what its upstream routers send (IPv4).
#ifndef WEFT_BENCH_PACKET_FUZZ_SEEDS_H_
#define WEFT_BENCH_PACKET_FUZZ_SEEDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "bench/packet_fuzz_world.h"

namespace weft::fuzz {

struct Seed {
  std::string name;  // "vm1 tcp-syn routed -> red-hv2-b" (for reports)
  Bytes frame;
  uint32_t ifindex = 0;  // where it arrives
  bool vxlan = false;    // an underlay frame: the inner frame starts at 50
};

// `unbound_ifindex`: a VM interface bound to no endpoint.
std::vector<Seed> VmSeeds(const World& world, uint32_t unbound_ifindex);

// `underlay_ifindex`, `underlay_mac`: this node's underlay interface.
std::vector<Seed> UnderlaySeeds(const World& world, uint32_t underlay_ifindex,
                                const Mac& underlay_mac);

// For the uplink program: what each uplink's router sends of every kind to
// every endpoint, route target and the transit address, plus the special
// shapes; and a frame on `unbound_ifindex`, which is no uplink.
std::vector<Seed> UplinkSeeds(const World& world, uint32_t unbound_ifindex);

// Addresses the mutator swaps in: every endpoint's, gateway's and VTEP's,
// route targets, and a few nobody owns; for IPv6 link-local ones too.
std::vector<uint32_t> InterestingIps(const World& world);
std::vector<Ipv6Address> InterestingIps6(const World& world);
std::vector<Mac> InterestingMacs(const World& world);

}  // namespace weft::fuzz

#endif  // WEFT_BENCH_PACKET_FUZZ_SEEDS_H_
