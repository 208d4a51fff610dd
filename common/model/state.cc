#include "common/model/state.h"

#include <algorithm>

namespace weft {

uint32_t UnderlayAddress::Ref() const {
  if (!v6) return v4;
  const Ipv6Address& a = *v6;
  return uint32_t{a[12]} << 24 | uint32_t{a[13]} << 16 | uint32_t{a[14]} << 8 | a[15];
}

uint32_t Ipv4Prefix::Mask() const {
  // Shifting a 32-bit value by 32 is undefined, so /0 is its own case.
  return length == 0 ? 0 : ~uint32_t{0} << (32 - length);
}

uint32_t Ipv4Prefix::Broadcast() const { return addr | ~Mask(); }

bool Ipv4Prefix::Contains(uint32_t ip) const { return (ip & Mask()) == (addr & Mask()); }

// Prefixes are either nested or disjoint, so they overlap exactly when the
// shorter one holds the other's first address.
bool Ipv4Prefix::Overlaps(const Ipv4Prefix& other) const {
  return length <= other.length ? Contains(other.addr) : other.Contains(addr);
}

Ipv6Address Ipv6Prefix::Masked(const Ipv6Address& ip) const {
  Ipv6Address out{};
  for (size_t i = 0; i < out.size(); ++i) {
    const size_t bits = length > i * 8 ? std::min<size_t>(8, length - i * 8) : 0;
    out[i] = ip[i] & static_cast<uint8_t>(0xff00 >> bits);
  }
  return out;
}

bool Ipv6Prefix::Contains(const Ipv6Address& ip) const { return Masked(ip) == Masked(addr); }

bool Ipv6Prefix::Overlaps(const Ipv6Prefix& other) const {
  return length <= other.length ? Contains(other.addr) : other.Contains(addr);
}

}  // namespace weft
