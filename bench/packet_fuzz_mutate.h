// Mutations of a valid frame, drawn from a seeded PRNG (the same seed gives
// the same frames): bit flips, random bytes, truncation, extension, length
// fields that lie, VNI swaps, MAC and IP spoofing, VLAN tags, IP options,
// fragments, TTL, protocol and ethertype changes. Field mutations aim at the
// outer headers or, for VXLAN, at the inner ones (offset 50) too; on IPv6
// (by the ethertype) at its fields: payload length, addresses, hop limit,
// next header, an extension header inserted or its fields changed.
#ifndef WEFT_BENCH_PACKET_FUZZ_MUTATE_H_
#define WEFT_BENCH_PACKET_FUZZ_MUTATE_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bench/packet_fuzz_seeds.h"

namespace weft::fuzz {

class Mutator {
 public:
  Mutator(std::vector<uint32_t> ips, std::vector<Ipv6Address> ips6, std::vector<Mac> macs,
          std::vector<uint32_t> vnis, uint64_t seed);

  // A mutant of `seed` (0 to 4 mutations).
  Bytes Mutate(const Seed& seed);

 private:
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }
  void MutateOnce(Bytes& f, bool vxlan);
  // IPv6 at `ip`: its payload length lies; one more extension header.
  void LieAboutPayloadLength6(Bytes& f, size_t ip);
  void InsertExtensionHeader6(Bytes& f, size_t ip);

  std::vector<uint32_t> ips_;
  std::vector<Ipv6Address> ips6_;
  std::vector<Mac> macs_;
  std::vector<uint32_t> vnis_;
  std::mt19937_64 rng_;
};

}  // namespace weft::fuzz

#endif  // WEFT_BENCH_PACKET_FUZZ_MUTATE_H_
