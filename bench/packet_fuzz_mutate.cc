#include "bench/packet_fuzz_mutate.h"

#include <algorithm>

namespace weft::fuzz {
namespace {

constexpr size_t kEthLen = 14;
constexpr size_t kInner = 50;  // VXLAN: where the inner Ethernet header starts

void Put16(Bytes& f, size_t at, uint16_t v) {
  if (at + 2 > f.size()) return;
  f[at] = v >> 8;
  f[at + 1] = v & 0xff;
}

void Put32(Bytes& f, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    if (at + i < f.size()) f[at + i] = (v >> (24 - 8 * i)) & 0xff;
}

uint16_t Get16(const Bytes& f, size_t at) {
  return at + 2 > f.size() ? 0 : static_cast<uint16_t>(f[at] << 8 | f[at + 1]);
}

void PutMac(Bytes& f, size_t at, const Mac& m) {
  if (at + 6 <= f.size()) std::copy(m.begin(), m.end(), f.begin() + at);
}

void PutIp6(Bytes& f, size_t at, const Ipv6Address& a) {
  if (at + 16 <= f.size()) std::copy(a.begin(), a.end(), f.begin() + at);
}

// The IPv4 header checksum at `ip` recomputed (when the header is there).
void FixIpv4Checksum(Bytes& f, size_t ip) {
  if (ip + 20 > f.size() || (f[ip] >> 4) != 4) return;
  const size_t len = std::min<size_t>((f[ip] & 0xf) * 4, f.size() - ip);
  Put16(f, ip + 10, 0);
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += Get16(f, ip + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  Put16(f, ip + 10, static_cast<uint16_t>(~sum));
}

}  // namespace

Mutator::Mutator(std::vector<uint32_t> ips, std::vector<Ipv6Address> ips6, std::vector<Mac> macs,
                 std::vector<uint32_t> vnis, uint64_t seed)
    : ips_(std::move(ips)),
      ips6_(std::move(ips6)),
      macs_(std::move(macs)),
      vnis_(std::move(vnis)),
      rng_(seed) {}

Bytes Mutator::Mutate(const Seed& seed) {
  Bytes f = seed.frame;
  // One in eight as is, half with one mutation (deep paths), the rest two
  // to four (mutations that meet).
  const uint32_t draw = Below(8);
  const uint32_t n = draw == 0 ? 0 : draw <= 4 ? 1 : 2 + Below(3);
  for (uint32_t i = 0; i < n; ++i) MutateOnce(f, seed.vxlan);
  // Half the time the IPv4 checksums are made right again, so that a
  // program checking them still reads on.
  if (Below(2)) {
    FixIpv4Checksum(f, kEthLen);
    if (seed.vxlan) FixIpv4Checksum(f, kInner + kEthLen);
  }
  return f;
}

void Mutator::LieAboutPayloadLength6(Bytes& f, size_t ip) {
  const uint16_t len = Get16(f, ip + 4);
  const uint16_t lies[] = {0,
                           7,
                           8,
                           static_cast<uint16_t>(len - 1),
                           static_cast<uint16_t>(len + 1),
                           static_cast<uint16_t>(len + 64),
                           0xffff,
                           static_cast<uint16_t>(Below(65536))};
  Put16(f, ip + 4, lies[Below(8)]);
}

void Mutator::InsertExtensionHeader6(Bytes& f, size_t ip) {
  if (ip + 40 > f.size()) return;
  // Hop-by-hop, destination options, routing (type 4, segments left 0 or
  // 1), fragment (first or not, more or not), AH, ESP.
  const uint8_t types[] = {0, 60, 43, 44, 51, 50};
  const uint8_t type = types[Below(6)];
  Bytes h = {f[ip + 6], 0, 0, 0, 0, 0, 0, 0};
  if (type == 43) {
    h[2] = 4;
    h[3] = Below(2);
  } else if (type == 44) {
    h[3] = Below(4);  // offset 0, M either way; or offset 256 bytes
    if (Below(2)) h[2] = 0x01;
  } else if (type == 0 || type == 60) {
    h[2] = 1;  // PadN over the rest
    h[3] = 4;
  }
  f.insert(f.begin() + ip + 40, h.begin(), h.end());
  f[ip + 6] = type;
  Put16(f, ip + 4, Get16(f, ip + 4) + 8);
}

void Mutator::MutateOnce(Bytes& f, bool vxlan) {
  const size_t l2 = vxlan && Below(3) ? kInner : 0;  // the layer aimed at
  const size_t ip = l2 + kEthLen;
  // IPv6 fields where the frame's ethertype says IPv6 is (its upper layer
  // as if no extension header came first).
  const bool v6 = Get16(f, l2 + 12) == 0x86dd;
  const size_t l4 = ip + (v6 ? 40 : 20);
  switch (Below(20)) {
    case 0:  // a bit flip, mostly in the headers
      if (!f.empty()) {
        const size_t span = Below(4) ? std::min<size_t>(f.size(), 128) : f.size();
        f[Below(span)] ^= 1u << Below(8);
      }
      break;
    case 1:  // a random byte
      if (!f.empty()) f[Below(std::min<size_t>(f.size(), 128))] = Below(256);
      break;
    case 2:  // truncated
      if (!f.empty()) f.resize(Below(static_cast<uint32_t>(f.size())));
      break;
    case 3:  // extended (trailing bytes past the IP length)
      for (uint32_t i = 1 + Below(64); i > 0; --i) f.push_back(Below(256));
      break;
    case 4: {  // the IPv4 total length lies
      if (v6) {
        LieAboutPayloadLength6(f, ip);
        break;
      }
      const uint16_t len = Get16(f, ip + 2);
      const uint16_t lies[] = {0,
                               19,
                               20,
                               static_cast<uint16_t>(len - 1),
                               static_cast<uint16_t>(len + 1),
                               static_cast<uint16_t>(len + 64),
                               0xffff,
                               static_cast<uint16_t>(Below(65536))};
      Put16(f, ip + 2, lies[Below(8)]);
      break;
    }
    case 5: {  // the UDP length lies
      const uint16_t len = Get16(f, l4 + 4);
      const uint16_t lies[] = {0,
                               7,
                               8,
                               static_cast<uint16_t>(len - 1),
                               static_cast<uint16_t>(len + 1),
                               static_cast<uint16_t>(Below(65536))};
      Put16(f, l4 + 4, lies[Below(6)]);
      break;
    }
    case 6:  // another VNI: a known one (another tenant's too) or any
      Put32(f, 46, (Below(4) ? vnis_[Below(vnis_.size())] : Below(1u << 24)) << 8);
      break;
    case 7:  // a spoofed source MAC
      PutMac(f, l2 + 6, macs_[Below(macs_.size())]);
      break;
    case 8:  // another destination MAC
      PutMac(f, l2, macs_[Below(macs_.size())]);
      break;
    case 9:  // a spoofed source IP (ARP: the sender's protocol address)
      if (v6)
        PutIp6(f, ip + 8, ips6_[Below(ips6_.size())]);
      else
        Put32(f, Get16(f, l2 + 12) == 0x0806 ? ip + 14 : ip + 12, ips_[Below(ips_.size())]);
      break;
    case 10:  // another destination IP (ARP: the target)
      if (v6)
        PutIp6(f, ip + 24, ips6_[Below(ips6_.size())]);
      else
        Put32(f, Get16(f, l2 + 12) == 0x0806 ? ip + 24 : ip + 16, ips_[Below(ips_.size())]);
      break;
    case 11: {  // a VLAN tag (802.1Q or 802.1ad) in front of the ethertype
      if (f.size() < l2 + 12) break;
      const uint16_t tpid = Below(2) ? 0x8100 : 0x88a8;
      const uint8_t tag[] = {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid & 0xff),
                             0x00, static_cast<uint8_t>(Below(256))};
      f.insert(f.begin() + l2 + 12, std::begin(tag), std::end(tag));
      break;
    }
    case 12:  // IHL says options (whether or not there are any); IPv6: one more header
      if (v6)
        InsertExtensionHeader6(f, ip);
      else if (ip < f.size())
        f[ip] = 0x40 | Below(16);
      break;
    case 13: {  // fragment bits and offset; IPv6: the first extension header's next or length
      if (v6) {
        if (ip + 42 <= f.size()) f[ip + 40 + Below(2)] = Below(4) ? Below(8) : Below(256);
        break;
      }
      const uint16_t frags[] = {0x2000, 0x0001, 0x2001,
                                0x4000, 0x1fff, static_cast<uint16_t>(Below(65536))};
      Put16(f, ip + 6, frags[Below(6)]);
      break;
    }
    case 14:  // TTL, hop limit
      if (ip + (v6 ? 7 : 8) < f.size()) f[ip + (v6 ? 7 : 8)] = Below(3);
      break;
    case 15: {  // protocol, next header (extension headers among them)
      const uint8_t protos[] = {1, 6, 17, 47, 0, static_cast<uint8_t>(Below(256))};
      const uint8_t next6[] = {58, 6, 17, 0, 60, 43, 44, 59, static_cast<uint8_t>(Below(256))};
      if (v6 && ip + 6 < f.size())
        f[ip + 6] = next6[Below(9)];
      else if (!v6 && ip + 9 < f.size())
        f[ip + 9] = protos[Below(6)];
      break;
    }
    case 16: {  // ethertype
      const uint16_t types[] = {
          0x0800, 0x0806, 0x86dd, 0x8100, 0x88a8, 0x0000, static_cast<uint16_t>(Below(65536))};
      Put16(f, l2 + 12, types[Below(7)]);
      break;
    }
    case 17:  // VXLAN flags and reserved bits, or the UDP ports
      if (Below(2))
        Put32(f, 42, Below(4) ? 0x08000000u | Below(2) : static_cast<uint32_t>(rng_()));
      else
        Put16(f, 34 + 2 * Below(2), Below(2) ? 4789 : Below(65536));
      break;
    case 18: {  // TCP flags, or ICMP (ICMPv6) type and code
      const uint8_t v = Below(256);
      if (l4 + 13 < f.size()) f[(v6 ? f[ip + 6] == 58 : f[ip + 9] == 1) ? l4 : l4 + 13] = v;
      break;
    }
    case 19: {  // ARP: the operation, or the sender's hardware address
      if (Below(2))
        Put16(f, ip + 6, Below(4));
      else
        PutMac(f, ip + 8, macs_[Below(macs_.size())]);
      break;
    }
  }
}

}  // namespace weft::fuzz
