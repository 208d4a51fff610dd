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

}  // namespace

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
  if (ip.frag_offset != 0) return p;         // no L4 header here
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
    if (u.dport == kVxlanPort && end >= l4 + 16) {
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

}  // namespace weft::packet
