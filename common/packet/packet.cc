#include "common/packet/packet.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/model/net_format.h"

namespace weft::packet {
namespace {

constexpr absl::string_view kTcpFlagLetters = "FSRPAUEC";  // bit 0 first

template <typename T>
T ValueOrDie(absl::StatusOr<T> value) {
  if (!value.ok()) {
    std::fprintf(stderr, "common/packet: %s\n", value.status().ToString().c_str());
    std::abort();
  }
  return *std::move(value);
}

}  // namespace

uint32_t Ip(absl::string_view text) { return ValueOrDie(ParseIpv4(text)); }

Ipv6Address Ip6(absl::string_view text) { return ValueOrDie(ParseIpv6(text)); }

Mac MacFrom(absl::string_view text) { return ValueOrDie(ParseMac(text)); }

std::string HexDump(const Bytes& b, size_t max) {
  std::string out;
  char buf[32];
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == max) {
      out += "\n... (" + std::to_string(b.size()) + " bytes)";
      break;
    }
    if (i % 16 == 0) {
      std::snprintf(buf, sizeof buf, "%s%04zx:", i ? "\n" : "", i);
      out += buf;
    }
    std::snprintf(buf, sizeof buf, " %02x", b[i]);
    out += buf;
  }
  return out;
}

uint16_t InternetChecksum(const uint8_t* data, size_t len, uint32_t initial) {
  uint64_t sum = initial;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(data[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

Ipv6Address LinkLocalOf(const Mac& mac) {
  return {0xfe,   0x80,   0,    0,    0,      0,      0,     0, static_cast<uint8_t>(mac[0] ^ 2),
          mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]};
}

uint32_t PseudoHeaderSum6(const Ipv6Address& src, const Ipv6Address& dst, uint8_t proto,
                          uint32_t len) {
  uint32_t sum = (len >> 16) + (len & 0xffff) + proto;
  for (size_t i = 0; i < 16; i += 2) sum += (src[i] << 8 | src[i + 1]) + (dst[i] << 8 | dst[i + 1]);
  return sum;
}

absl::StatusOr<uint8_t> ParseProtocol(absl::string_view text) {
  const std::string p = absl::AsciiStrToLower(text);
  if (p.empty() || p == "icmp") return kProtoIcmp;
  if (p == "tcp") return kProtoTcp;
  if (p == "udp") return kProtoUdp;
  return absl::InvalidArgumentError(
      absl::StrCat("protocol \"", text, "\" is not tcp, udp or icmp"));
}

std::string ProtocolName(uint8_t protocol) {
  switch (protocol) {
    case kProtoIcmp:
      return "icmp";
    case kProtoTcp:
      return "tcp";
    case kProtoUdp:
      return "udp";
    case kProtoIcmp6:
      return "icmpv6";
  }
  return absl::StrCat(protocol);
}

absl::StatusOr<uint8_t> ParseTcpFlags(absl::string_view text) {
  uint8_t flags = 0;
  for (char c : text) {
    if (c == ',' || c == '|' || c == '+') continue;
    const size_t bit = kTcpFlagLetters.find(absl::ascii_toupper(c));
    if (bit == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("TCP flag '", std::string(1, c), "' is not one of F S R P A U E C"));
    }
    flags |= 1u << bit;
  }
  return flags;
}

std::string TcpFlagsString(uint8_t flags) {
  std::string out;
  for (size_t i = 0; i < kTcpFlagLetters.size(); ++i) {
    if (flags & (1u << i)) out += kTcpFlagLetters[i];
  }
  return out.empty() ? "none" : out;
}

}  // namespace weft::packet
