#include "common/packet/parser.h"

#include <cstring>

namespace weft::packet {
namespace {

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

// Each step reads one header at `off` into `p`, or says in p.error why it
// cannot; `end` is where the IP packet ends (Ethernet padding excluded).

// The Ethernet header (and one VLAN tag); the offset of its payload, or 0.
size_t ParseEthernet(const Bytes& b, Parsed& p) {
  if (b.size() < 14) {
    p.error = "short Ethernet header";
    return 0;
  }
  EthView eth;
  eth.dst = GetMac(b, 0);
  eth.src = GetMac(b, 6);
  eth.ethertype = Get16(b, 12);
  size_t off = 14;
  if (eth.ethertype == kEthVlan) {
    if (b.size() < 18) {
      p.error = "short VLAN tag";
      return 0;
    }
    eth.vlan = Get16(b, 14) & 0x0fff;
    eth.ethertype = Get16(b, 16);
    off = 18;
  }
  p.eth = eth;
  return off;
}

void ParseArp(const Bytes& b, size_t off, Parsed& p) {
  if (b.size() < off + 28) {
    p.error = "short ARP";
    return;
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
}

// The IPv4 header; false when what follows cannot be read.
bool ParseIpv4Header(const Bytes& b, size_t off, Parsed& p) {
  if (b.size() < off + 20) {
    p.error = "short IPv4 header";
    return false;
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
    return false;
  }
  ip.checksum_ok = InternetChecksum(&b[off], hlen) == 0;
  p.ipv4 = ip;
  if (ip.total_length < hlen || b.size() < off + ip.total_length) {
    p.error = "IPv4 total length beyond the frame";
    return false;
  }
  return true;
}

// The fixed IPv6 header; false when what follows cannot be read.
bool ParseIpv6Header(const Bytes& b, size_t off, Parsed& p) {
  if (b.size() < off + 40) {
    p.error = "short IPv6 header";
    return false;
  }
  Ipv6View ip;
  ip.offset = off;
  ip.version = b[off] >> 4;
  ip.traffic_class = static_cast<uint8_t>(Get16(b, off) >> 4);
  ip.flow_label = Get32(b, off) & 0xfffff;
  ip.payload_length = Get16(b, off + 4);
  ip.next_header = b[off + 6];
  ip.hop_limit = b[off + 7];
  std::memcpy(ip.src.data(), &b[off + 8], 16);
  std::memcpy(ip.dst.data(), &b[off + 24], 16);
  p.ipv6 = ip;
  if (b.size() < off + 40 + ip.payload_length) {
    p.error = "IPv6 payload length beyond the frame";
    return false;
  }
  return true;
}

void ParseUdp(const Bytes& b, size_t l4, size_t end, Parsed& p) {
  if (end < l4 + 8) {
    p.error = "short UDP header";
    return;
  }
  UdpView u;
  u.sport = Get16(b, l4);
  u.dport = Get16(b, l4 + 2);
  u.length = Get16(b, l4 + 4);
  u.checksum = Get16(b, l4 + 6);
  p.udp = u;
  if (u.dport == kVxlanPort && end >= l4 + 16) {
    VxlanView v;
    v.flags = b[l4 + 8];
    v.vni = Get32(b, l4 + 12) >> 8;
    v.reserved_low = (Get32(b, l4 + 8) & 0x00ffffff) | (b[l4 + 15]);
    p.vxlan = v;
    p.inner.assign(b.begin() + l4 + 16, b.begin() + end);
  }
}

void ParseTcp(const Bytes& b, size_t l4, size_t end, Parsed& p) {
  if (end < l4 + 20) {
    p.error = "short TCP header";
    return;
  }
  TcpView t;
  t.sport = Get16(b, l4);
  t.dport = Get16(b, l4 + 2);
  t.flags = b[l4 + 13];
  p.tcp = t;
}

// ICMP, or ICMPv6 with the pseudo header's sum as `initial`.
void ParseIcmp(const Bytes& b, size_t l4, size_t end, Parsed& p, uint32_t initial = 0) {
  if (end < l4 + 8) {
    p.error = "short ICMP header";
    return;
  }
  IcmpView c;
  c.type = b[l4];
  c.code = b[l4 + 1];
  c.checksum = Get16(b, l4 + 2);
  c.rest = Get32(b, l4 + 4);
  c.checksum_ok = InternetChecksum(&b[l4], end - l4, initial) == 0;
  c.payload.assign(b.begin() + l4 + 8, b.begin() + end);
  p.icmp = c;
}

}  // namespace

Parsed Parse(const Bytes& b) {
  Parsed p;
  p.raw = b;
  const size_t off = ParseEthernet(b, p);
  if (off == 0) return p;
  if (p.eth->ethertype == kEthArp) {
    ParseArp(b, off, p);
    return p;
  }
  size_t l4 = 0, end = 0;
  uint8_t proto = 0;
  if (p.eth->ethertype == kEthIpv4) {
    if (!ParseIpv4Header(b, off, p)) return p;
    if (p.ipv4->frag_offset != 0) return p;  // no L4 header here
    l4 = off + p.ipv4->ihl * 4u;
    end = off + p.ipv4->total_length;
    proto = p.ipv4->proto;
  } else if (p.eth->ethertype == kEthIpv6) {
    if (!ParseIpv6Header(b, off, p)) return p;
    l4 = off + 40;
    end = l4 + p.ipv6->payload_length;
    proto = p.ipv6->next_header;
  } else {
    return p;
  }
  switch (proto) {
    case kProtoUdp:
      ParseUdp(b, l4, end, p);
      break;
    case kProtoTcp:
      ParseTcp(b, l4, end, p);
      break;
    case kProtoIcmp:
      if (p.ipv4) ParseIcmp(b, l4, end, p);
      break;
    case kProtoIcmp6:
      if (p.ipv6)
        ParseIcmp(b, l4, end, p, PseudoHeaderSum6(p.ipv6->src, p.ipv6->dst, kProtoIcmp6, end - l4));
      break;
  }
  return p;
}

Parsed Parsed::Inner() const { return Parse(inner); }

}  // namespace weft::packet
