#include "tests/bpf/packet.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace weft::testing {
namespace {

[[noreturn]] void Die(const char* what, std::string_view text) {
  std::fprintf(stderr, "packet.cc: bad %s: %.*s\n", what, static_cast<int>(text.size()),
               text.data());
  std::abort();
}

void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void Put32(Bytes& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
void PutMac(Bytes& b, const Mac& m) { b.insert(b.end(), m.begin(), m.end()); }
void Set16(Bytes& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}
uint16_t Get16(const Bytes& b, size_t off) {
  return static_cast<uint16_t>(b[off] << 8 | b[off + 1]);
}
uint32_t Get32(const Bytes& b, size_t off) {
  return static_cast<uint32_t>(Get16(b, off)) << 16 | Get16(b, off + 2);
}
Mac GetMac(const Bytes& b, size_t off) {
  Mac m;
  std::memcpy(m.data(), &b[off], 6);
  return m;
}

// Partial sum (not folded/complemented) over the IPv4 pseudo header.
uint32_t PseudoHeaderSum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len) {
  return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

}  // namespace

Mac MacFrom(std::string_view text) {
  Mac m{};
  unsigned v[6];
  std::string s(text);
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
                  &v[5]) != 6)
    Die("MAC", text);
  for (int i = 0; i < 6; ++i) m[i] = static_cast<uint8_t>(v[i]);
  return m;
}

uint32_t Ip(std::string_view text) {
  std::string s(text);
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) Die("IPv4 address", text);
  return ntohl(a.s_addr);
}

std::string MacString(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
                m[4], m[5]);
  return buf;
}

std::string IpString(uint32_t ip) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
                ip & 0xff);
  return buf;
}

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

Bytes Concat(const Bytes& a, const Bytes& b) {
  Bytes out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

Bytes Eth(const Mac& dst, const Mac& src, uint16_t ethertype, const Bytes& payload) {
  Bytes b;
  PutMac(b, dst);
  PutMac(b, src);
  Put16(b, ethertype);
  return Concat(b, payload);
}

Bytes EthVlan(const Mac& dst, const Mac& src, uint16_t vid, uint16_t ethertype,
              const Bytes& payload) {
  Bytes b;
  PutMac(b, dst);
  PutMac(b, src);
  Put16(b, kEthVlan);
  Put16(b, vid & 0x0fff);
  Put16(b, ethertype);
  return Concat(b, payload);
}

Bytes Arp(uint16_t op, const Mac& sha, uint32_t spa, const Mac& tha, uint32_t tpa) {
  Bytes b;
  Put16(b, 1);  // Ethernet
  Put16(b, kEthIpv4);
  b.push_back(6);
  b.push_back(4);
  Put16(b, op);
  PutMac(b, sha);
  Put32(b, spa);
  PutMac(b, tha);
  Put32(b, tpa);
  return b;
}

Bytes ArpRequestFrame(const Mac& src_mac, uint32_t src_ip, uint32_t target_ip) {
  return Eth(kBroadcastMac, src_mac, kEthArp,
             Arp(kArpRequest, src_mac, src_ip, kZeroMac, target_ip));
}

Bytes Ipv4(const Ipv4Spec& s, const Bytes& payload) {
  Bytes opts = s.options;
  while (opts.size() % 4) opts.push_back(0);  // EOL padding
  const size_t hlen = 20 + opts.size();
  Bytes b;
  b.push_back(static_cast<uint8_t>(0x40 | (hlen / 4)));
  b.push_back(s.tos);
  Put16(b, s.total_length ? *s.total_length : static_cast<uint16_t>(hlen + payload.size()));
  Put16(b, s.id);
  uint16_t frag = s.frag_offset & 0x1fff;
  if (s.df) frag |= 0x4000;
  if (s.mf) frag |= 0x2000;
  Put16(b, frag);
  b.push_back(s.ttl);
  b.push_back(s.proto);
  Put16(b, 0);
  Put32(b, s.src);
  Put32(b, s.dst);
  b.insert(b.end(), opts.begin(), opts.end());
  Set16(b, 10, s.checksum ? *s.checksum : InternetChecksum(b.data(), b.size()));
  return Concat(b, payload);
}

Bytes Udp(uint16_t sport, uint16_t dport, const Bytes& payload, uint32_t src_ip,
          uint32_t dst_ip) {
  Bytes b;
  const uint16_t len = static_cast<uint16_t>(8 + payload.size());
  Put16(b, sport);
  Put16(b, dport);
  Put16(b, len);
  Put16(b, 0);
  b = Concat(b, payload);
  if (src_ip || dst_ip) {
    uint16_t c = InternetChecksum(b.data(), b.size(), PseudoHeaderSum(src_ip, dst_ip, kProtoUdp, len));
    Set16(b, 6, c ? c : 0xffff);
  }
  return b;
}

Bytes Tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
          const Bytes& payload, uint32_t src_ip, uint32_t dst_ip) {
  Bytes b;
  Put16(b, sport);
  Put16(b, dport);
  Put32(b, seq);
  Put32(b, ack);
  b.push_back(5 << 4);
  b.push_back(flags);
  Put16(b, 65535);  // window
  Put16(b, 0);      // checksum
  Put16(b, 0);      // urgent
  b = Concat(b, payload);
  Set16(b, 16,
        InternetChecksum(b.data(), b.size(),
                         PseudoHeaderSum(src_ip, dst_ip, kProtoTcp, static_cast<uint16_t>(b.size()))));
  return b;
}

Bytes IcmpEcho(uint8_t type, uint16_t id, uint16_t seq, const Bytes& payload) {
  Bytes b;
  b.push_back(type);
  b.push_back(0);
  Put16(b, 0);
  Put16(b, id);
  Put16(b, seq);
  b = Concat(b, payload);
  Set16(b, 2, InternetChecksum(b.data(), b.size()));
  return b;
}

Bytes Vxlan(uint32_t vni, const Bytes& inner, uint8_t flags) {
  Bytes b;
  b.push_back(flags);
  b.push_back(0);
  b.push_back(0);
  b.push_back(0);
  Put32(b, vni << 8);
  return Concat(b, inner);
}

Bytes Ipv4Frame(const Mac& dst, const Mac& src, const Ipv4Spec& ip, const Bytes& l4) {
  return Eth(dst, src, kEthIpv4, Ipv4(ip, l4));
}

Bytes UdpFrame(const Mac& dst, const Mac& src, uint32_t src_ip, uint32_t dst_ip, uint16_t sport,
               uint16_t dport, size_t payload_len, uint8_t ttl, bool df) {
  Bytes payload(payload_len);
  for (size_t i = 0; i < payload_len; ++i) payload[i] = static_cast<uint8_t>(i * 7 + 1);
  Ipv4Spec ip;
  ip.src = src_ip;
  ip.dst = dst_ip;
  ip.proto = kProtoUdp;
  ip.ttl = ttl;
  ip.df = df;
  return Ipv4Frame(dst, src, ip, Udp(sport, dport, payload, src_ip, dst_ip));
}

Bytes UdpFrameOfIpLength(const Mac& dst, const Mac& src, uint32_t src_ip, uint32_t dst_ip,
                         uint16_t ip_total_len, bool df) {
  return UdpFrame(dst, src, src_ip, dst_ip, 40000, 5001, ip_total_len - 28, 64, df);
}

Bytes VxlanFrame(const VxlanSpec& s, const Bytes& inner) {
  Ipv4Spec ip;
  ip.src = s.outer_src_ip;
  ip.dst = s.outer_dst_ip;
  ip.proto = kProtoUdp;
  ip.ttl = s.ttl;
  ip.df = s.df;
  ip.mf = s.mf;
  ip.frag_offset = s.frag_offset;
  return Eth(s.outer_dst, s.outer_src, kEthIpv4,
             Ipv4(ip, Udp(s.sport, s.dport, Vxlan(s.vni, inner, s.flags))));
}

// --- parser -------------------------------------------------------------------

Parsed Parsed::Inner() const { return Parse(inner); }

Parsed Parse(const Bytes& b) {
  Parsed p;
  p.raw = b;
  if (b.size() < 14) {
    p.error = "short Ethernet header";
    return p;
  }
  EthView eth;
  eth.dst = GetMac(b, 0);
  eth.src = GetMac(b, 6);
  eth.ethertype = Get16(b, 12);
  size_t off = 14;
  if (eth.ethertype == kEthVlan) {
    if (b.size() < 18) {
      p.error = "short VLAN tag";
      return p;
    }
    eth.vlan = Get16(b, 14) & 0x0fff;
    eth.ethertype = Get16(b, 16);
    off = 18;
  }
  p.eth = eth;

  if (eth.ethertype == kEthArp) {
    if (b.size() < off + 28) {
      p.error = "short ARP";
      return p;
    }
    ArpView a;
    a.htype = Get16(b, off);
    a.ptype = Get16(b, off + 2);
    a.hlen = b[off + 4];
    a.plen = b[off + 5];
    a.op = Get16(b, off + 6);
    a.sha = GetMac(b, off + 8);
    a.spa = Get32(b, off + 14);
    a.tha = GetMac(b, off + 18);
    a.tpa = Get32(b, off + 24);
    p.arp = a;
    return p;
  }
  if (eth.ethertype != kEthIpv4) return p;

  if (b.size() < off + 20) {
    p.error = "short IPv4 header";
    return p;
  }
  Ipv4View ip;
  ip.offset = off;
  ip.version = b[off] >> 4;
  ip.ihl = b[off] & 0x0f;
  ip.tos = b[off + 1];
  ip.total_length = Get16(b, off + 2);
  ip.id = Get16(b, off + 4);
  const uint16_t frag = Get16(b, off + 6);
  ip.df = frag & 0x4000;
  ip.mf = frag & 0x2000;
  ip.frag_offset = frag & 0x1fff;
  ip.ttl = b[off + 8];
  ip.proto = b[off + 9];
  ip.checksum = Get16(b, off + 10);
  ip.src = Get32(b, off + 12);
  ip.dst = Get32(b, off + 16);
  const size_t hlen = ip.ihl * 4u;
  if (ip.ihl < 5 || b.size() < off + hlen) {
    p.error = "bad IPv4 header length";
    return p;
  }
  ip.checksum_ok = InternetChecksum(&b[off], hlen) == 0;
  p.ipv4 = ip;
  if (ip.total_length < hlen || b.size() < off + ip.total_length) {
    p.error = "IPv4 total length beyond the frame";
    return p;
  }
  const size_t end = off + ip.total_length;  // ignore Ethernet padding
  if (ip.frag_offset != 0) return p;        // no L4 header here
  const size_t l4 = off + hlen;

  if (ip.proto == kProtoUdp) {
    if (end < l4 + 8) {
      p.error = "short UDP header";
      return p;
    }
    UdpView u;
    u.sport = Get16(b, l4);
    u.dport = Get16(b, l4 + 2);
    u.length = Get16(b, l4 + 4);
    u.checksum = Get16(b, l4 + 6);
    p.udp = u;
    if (u.dport == 4789 && end >= l4 + 16) {
      VxlanView v;
      v.flags = b[l4 + 8];
      v.vni = Get32(b, l4 + 12) >> 8;
      v.reserved_low = (Get32(b, l4 + 8) & 0x00ffffff) | (b[l4 + 15]);
      p.vxlan = v;
      p.inner.assign(b.begin() + l4 + 16, b.begin() + end);
    }
  } else if (ip.proto == kProtoTcp) {
    if (end < l4 + 20) {
      p.error = "short TCP header";
      return p;
    }
    TcpView t;
    t.sport = Get16(b, l4);
    t.dport = Get16(b, l4 + 2);
    t.flags = b[l4 + 13];
    p.tcp = t;
  } else if (ip.proto == kProtoIcmp) {
    if (end < l4 + 8) {
      p.error = "short ICMP header";
      return p;
    }
    IcmpView c;
    c.type = b[l4];
    c.code = b[l4 + 1];
    c.checksum = Get16(b, l4 + 2);
    c.rest = Get32(b, l4 + 4);
    c.checksum_ok = InternetChecksum(&b[l4], end - l4) == 0;
    c.payload.assign(b.begin() + l4 + 8, b.begin() + end);
    p.icmp = c;
  }
  return p;
}

}  // namespace weft::testing
