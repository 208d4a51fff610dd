#include "agent/api/packet.h"

#include <arpa/inet.h>

#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace weft::api {
namespace {

void Put16(Bytes& b, uint16_t v) {
  b.push_back(v >> 8);
  b.push_back(v & 0xff);
}
void Put32(Bytes& b, uint32_t v) {
  Put16(b, v >> 16);
  Put16(b, v & 0xffff);
}
void PutMac(Bytes& b, const MacAddress& m) { b.insert(b.end(), m.begin(), m.end()); }

uint16_t Get16(const Bytes& b, size_t off) { return (b[off] << 8) | b[off + 1]; }
uint32_t Get32(const Bytes& b, size_t off) {
  return (uint32_t{Get16(b, off)} << 16) | Get16(b, off + 2);
}

uint32_t SumWords(const uint8_t* data, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (len & 1) sum += data[len - 1] << 8;
  return sum;
}
uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// IPv4 header (20 bytes, DF) + payload.
Bytes Ipv4(uint32_t src, uint32_t dst, uint8_t protocol, uint8_t ttl, const Bytes& payload) {
  Bytes ip;
  ip.push_back(0x45);
  ip.push_back(0);
  Put16(ip, static_cast<uint16_t>(20 + payload.size()));
  Put16(ip, 0x5754);  // id
  Put16(ip, 0x4000);  // DF
  ip.push_back(ttl);
  ip.push_back(protocol);
  Put16(ip, 0);
  Put32(ip, src);
  Put32(ip, dst);
  const uint16_t csum = Fold(SumWords(ip.data(), ip.size()));
  ip[10] = csum >> 8;
  ip[11] = csum & 0xff;
  ip.insert(ip.end(), payload.begin(), payload.end());
  return ip;
}

// Checksum of a TCP/UDP segment over the IPv4 pseudo header, at `at`.
void L4Checksum(Bytes& l4, uint32_t src, uint32_t dst, uint8_t protocol, size_t at) {
  uint32_t sum = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + protocol +
                 static_cast<uint32_t>(l4.size());
  uint16_t c = Fold(SumWords(l4.data(), l4.size(), sum));
  if (protocol == kProtoUdp && c == 0) c = 0xffff;
  l4[at] = c >> 8;
  l4[at + 1] = c & 0xff;
}

Bytes Eth(const MacAddress& dst, const MacAddress& src, uint16_t type, const Bytes& payload) {
  Bytes f;
  PutMac(f, dst);
  PutMac(f, src);
  Put16(f, type);
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

// IPv4 headers at `off` of `b` into `h`; the L4 offset, or 0.
size_t ParseIpv4At(const Bytes& b, size_t off, v1::PacketHeaders* h) {
  if (b.size() < off + 20 || (b[off] >> 4) != 4) return 0;
  const size_t ihl = (b[off] & 0xf) * 4;
  h->set_src(Ipv4String(Get32(b, off + 12)));
  h->set_dst(Ipv4String(Get32(b, off + 16)));
  h->set_ttl(b[off + 8]);
  const uint8_t proto = b[off + 9];
  h->set_protocol(ProtocolName(proto));
  const size_t l4 = off + ihl;
  if (proto == kProtoTcp && b.size() >= l4 + 14) {
    h->set_sport(Get16(b, l4));
    h->set_dport(Get16(b, l4 + 2));
    h->set_tcp_flags(TcpFlagsString(b[l4 + 13]));
  } else if (proto == kProtoUdp && b.size() >= l4 + 8) {
    h->set_sport(Get16(b, l4));
    h->set_dport(Get16(b, l4 + 2));
  } else if (proto == kProtoIcmp && b.size() >= l4 + 2) {
    h->set_icmp_type(b[l4]);
    h->set_icmp_code(b[l4 + 1]);
  }
  return l4;
}

// Ethernet (+IPv4) at `off` into `h`; the L3 offset, or 0 when not IPv4.
size_t ParseEthAt(const Bytes& b, size_t off, v1::PacketHeaders* h) {
  if (b.size() < off + 14) return 0;
  h->set_dst_mac(MacString(&b[off]));
  h->set_src_mac(MacString(&b[off + 6]));
  h->set_length(static_cast<uint32_t>(b.size() - off));
  const uint16_t type = Get16(b, off + 12);
  if (type == 0x0806) h->set_ethertype("arp");
  if (type != 0x0800) {
    if (type != 0x0806) h->set_ethertype(absl::StrFormat("0x%04x", type));
    return 0;
  }
  h->set_ethertype("ipv4");
  return ParseIpv4At(b, off + 14, h) ? off + 14 : 0;
}

}  // namespace

Bytes BuildFrame(const FrameSpec& s) {
  Bytes l4;
  const Bytes payload = {'w', 'e', 'f', 't', 't', 'r', 'a', 'c', 'e', 0, 0, 0, 0, 0, 0, 0};
  switch (s.protocol) {
    case kProtoTcp:
      Put16(l4, s.sport);
      Put16(l4, s.dport);
      Put32(l4, 0x57ef0001);                  // seq
      Put32(l4, (s.tcp_flags & 0x10) ? 1 : 0);  // ack
      l4.push_back(0x50);
      l4.push_back(s.tcp_flags);
      Put16(l4, 64240);
      Put16(l4, 0);
      Put16(l4, 0);
      L4Checksum(l4, s.src, s.dst, kProtoTcp, 16);
      break;
    case kProtoUdp:
      Put16(l4, s.sport);
      Put16(l4, s.dport);
      Put16(l4, static_cast<uint16_t>(8 + payload.size()));
      Put16(l4, 0);
      l4.insert(l4.end(), payload.begin(), payload.end());
      L4Checksum(l4, s.src, s.dst, kProtoUdp, 6);
      break;
    default: {  // ICMP echo request
      l4 = {8, 0, 0, 0};
      Put16(l4, s.sport);
      Put16(l4, 1);
      l4.insert(l4.end(), payload.begin(), payload.end());
      const uint16_t c = Fold(SumWords(l4.data(), l4.size()));
      l4[2] = c >> 8;
      l4[3] = c & 0xff;
    }
  }
  return Eth(s.dst_mac, s.src_mac, 0x0800, Ipv4(s.src, s.dst, s.protocol, s.ttl, l4));
}

Bytes WrapVxlan(const Bytes& inner, const MacAddress& outer_src, const MacAddress& outer_dst,
                uint32_t src_vtep, uint32_t dst_vtep, uint32_t vni) {
  Bytes udp;
  Put16(udp, 50000);
  Put16(udp, 4789);
  Put16(udp, static_cast<uint16_t>(8 + 8 + inner.size()));
  Put16(udp, 0);
  Put32(udp, 0x08000000);
  Put32(udp, vni << 8);
  udp.insert(udp.end(), inner.begin(), inner.end());
  return Eth(outer_dst, outer_src, 0x0800, Ipv4(src_vtep, dst_vtep, kProtoUdp, 64, udp));
}

absl::StatusOr<uint8_t> ParseTcpFlags(const std::string& text) {
  static const std::string kLetters = "FSRPAUEC";
  uint8_t flags = 0;
  for (char c : text) {
    if (c == ',' || c == '|' || c == '+') continue;
    const size_t bit = kLetters.find(absl::ascii_toupper(c));
    if (bit == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("TCP flag '", std::string(1, c), "' is not one of F S R P A U E C"));
    }
    flags |= 1u << bit;
  }
  return flags;
}

std::string TcpFlagsString(uint8_t flags) {
  static const std::string kLetters = "FSRPAUEC";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (flags & (1u << i)) out += kLetters[i];
  }
  return out.empty() ? "none" : out;
}

absl::StatusOr<uint8_t> ParseProtocol(const std::string& text) {
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
  }
  return absl::StrCat(protocol);
}

absl::StatusOr<MacAddress> ParseMac(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  MacAddress mac{};
  if (parts.size() != 6) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a MAC address"));
  }
  for (size_t i = 0; i < 6; ++i) {
    uint32_t v = 0;
    if (parts[i].empty() || parts[i].size() > 2 || !absl::SimpleHexAtoi(parts[i], &v)) {
      return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a MAC address"));
    }
    mac[i] = static_cast<uint8_t>(v);
  }
  return mac;
}

std::string MacString(const uint8_t* m) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}
std::string MacString(const MacAddress& mac) { return MacString(mac.data()); }

absl::StatusOr<uint32_t> ParseIpv4(const std::string& text) {
  in_addr a{};
  if (inet_pton(AF_INET, std::string(text).c_str(), &a) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IPv4 address"));
  }
  return ntohl(a.s_addr);
}

std::string Ipv4String(uint32_t ip) {
  return absl::StrFormat("%d.%d.%d.%d", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
                         ip & 0xff);
}
std::string Ipv4StringBe(uint32_t be) { return Ipv4String(ntohl(be)); }

bool ParseFrame(const Bytes& b, v1::PacketHeaders* outer, v1::PacketHeaders* inner,
                uint32_t* vni) {
  v1::PacketHeaders first;
  const size_t l3 = ParseEthAt(b, 0, &first);
  if (l3 && first.protocol() == "udp" && first.dport() == 4789 && b.size() >= l3 + 20 + 8 + 8) {
    const size_t vx = l3 + (b[l3] & 0xf) * 4 + 8;
    *outer = first;
    *vni = Get32(b, vx + 4) >> 8;
    ParseEthAt(b, vx + 8, inner);
    return true;
  }
  *inner = first;
  return false;
}

}  // namespace weft::api
