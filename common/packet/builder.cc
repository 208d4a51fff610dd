#include "common/packet/builder.h"

#include <algorithm>
#include <optional>

namespace weft::packet {
namespace {

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
// Partial sum (not folded/complemented) over the IPv4 pseudo header.
uint32_t PseudoHeaderSum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len) {
  return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
}

}  // namespace

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

Bytes Ipv6(const Ipv6Spec& s, const Bytes& payload) {
  Bytes b;
  const uint32_t first = 6u << 28 | uint32_t{s.traffic_class} << 20 | (s.flow_label & 0xfffff);
  Put32(b, first);
  Put16(b, s.payload_length ? *s.payload_length : static_cast<uint16_t>(payload.size()));
  b.push_back(s.next_header);
  b.push_back(s.hop_limit);
  b.insert(b.end(), s.src.begin(), s.src.end());
  b.insert(b.end(), s.dst.begin(), s.dst.end());
  return Concat(b, payload);
}

namespace {

// The lengths the pseudo headers count: the header and the payload.
uint16_t UdpLength(const Bytes& payload) { return static_cast<uint16_t>(8 + payload.size()); }
uint16_t TcpLength(const Bytes& payload) { return static_cast<uint16_t>(20 + payload.size()); }

// UDP whose checksum starts from `pseudo`, the pseudo header's partial sum
// (none: no checksum).
Bytes UdpSummed(uint16_t sport, uint16_t dport, const Bytes& payload,
                std::optional<uint32_t> pseudo) {
  Bytes b;
  Put16(b, sport);
  Put16(b, dport);
  Put16(b, UdpLength(payload));
  Put16(b, 0);
  b = Concat(b, payload);
  if (pseudo) {
    const uint16_t c = InternetChecksum(b.data(), b.size(), *pseudo);
    Set16(b, 6, c ? c : 0xffff);
  }
  return b;
}

Bytes TcpSummed(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
                const Bytes& payload, uint16_t window, uint32_t pseudo) {
  Bytes b;
  Put16(b, sport);
  Put16(b, dport);
  Put32(b, seq);
  Put32(b, ack);
  b.push_back(5 << 4);
  b.push_back(flags);
  Put16(b, window);
  Put16(b, 0);  // checksum
  Put16(b, 0);  // urgent
  b = Concat(b, payload);
  Set16(b, 16, InternetChecksum(b.data(), b.size(), pseudo));
  return b;
}

}  // namespace

Bytes Udp(uint16_t sport, uint16_t dport, const Bytes& payload, uint32_t src_ip, uint32_t dst_ip) {
  std::optional<uint32_t> pseudo;
  if (src_ip || dst_ip) pseudo = PseudoHeaderSum(src_ip, dst_ip, kProtoUdp, UdpLength(payload));
  return UdpSummed(sport, dport, payload, pseudo);
}

Bytes Udp(uint16_t sport, uint16_t dport, const Bytes& payload, const Ipv6Address& src,
          const Ipv6Address& dst) {
  return UdpSummed(sport, dport, payload,
                   PseudoHeaderSum6(src, dst, kProtoUdp, UdpLength(payload)));
}

Bytes Tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
          const Bytes& payload, uint32_t src_ip, uint32_t dst_ip, uint16_t window) {
  return TcpSummed(sport, dport, flags, seq, ack, payload, window,
                   PseudoHeaderSum(src_ip, dst_ip, kProtoTcp, TcpLength(payload)));
}

Bytes Tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
          const Bytes& payload, const Ipv6Address& src, const Ipv6Address& dst, uint16_t window) {
  return TcpSummed(sport, dport, flags, seq, ack, payload, window,
                   PseudoHeaderSum6(src, dst, kProtoTcp, TcpLength(payload)));
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

Bytes Icmp6Frame(const Mac& dst, const Mac& src, const Ipv6Spec& ip, const Icmp6Spec& icmp) {
  Bytes m;
  m.push_back(icmp.type);
  m.push_back(icmp.code);
  Put16(m, 0);
  Put32(m, icmp.rest);
  m.insert(m.end(), icmp.body.begin(), icmp.body.end());
  Set16(m, 2,
        icmp.checksum ? *icmp.checksum
                      : InternetChecksum(m.data(), m.size(),
                                         PseudoHeaderSum6(ip.src, ip.dst, kProtoIcmp6, m.size())));
  Ipv6Spec with_next = ip;
  with_next.next_header = kProtoIcmp6;
  return Eth(dst, src, kEthIpv6, Ipv6(with_next, m));
}

Ipv6Address SolicitedNodeGroup(const Ipv6Address& target) {
  Ipv6Address group = Ip6("ff02::1:ff00:0");
  std::copy(target.begin() + 13, target.end(), group.begin() + 13);
  return group;
}

Mac Ipv6MulticastMac(const Ipv6Address& group) {
  return {0x33, 0x33, group[12], group[13], group[14], group[15]};
}

Bytes NdLinkLayerOption(uint8_t type, const Mac& mac) {
  Bytes o = {type, 1};
  PutMac(o, mac);
  return o;
}

Bytes NeighborSolicitationFrame(const Mac& src_mac, const Ipv6Address& src,
                                const Ipv6Address& target, const Bytes& options) {
  const Ipv6Address group = SolicitedNodeGroup(target);
  Bytes body(target.begin(), target.end());
  body.insert(body.end(), options.begin(), options.end());
  return Icmp6Frame(Ipv6MulticastMac(group), src_mac, {.src = src, .dst = group, .hop_limit = 255},
                    {.type = 135, .body = body});
}

Bytes RouterSolicitationFrame(const Mac& src_mac, const Ipv6Address& src, const Bytes& options) {
  const Ipv6Address all_routers = Ip6("ff02::2");
  return Icmp6Frame(Ipv6MulticastMac(all_routers), src_mac,
                    {.src = src, .dst = all_routers, .hop_limit = 255},
                    {.type = 133, .body = options});
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
  ip.id = s.id;
  ip.df = s.df;
  ip.mf = s.mf;
  ip.frag_offset = s.frag_offset;
  return Eth(s.outer_dst, s.outer_src, kEthIpv4,
             Ipv4(ip, Udp(s.sport, s.dport, Vxlan(s.vni, inner, s.flags))));
}

Bytes Vxlan6Frame(const Vxlan6Spec& s, const Bytes& inner) {
  Ipv6Spec ip;
  ip.src = s.outer_src_ip;
  ip.dst = s.outer_dst_ip;
  ip.hop_limit = s.hop_limit;
  return Eth(s.outer_dst, s.outer_src, kEthIpv6,
             Ipv6(ip, Udp(s.sport, s.dport, Vxlan(s.vni, inner))));
}

}  // namespace weft::packet
