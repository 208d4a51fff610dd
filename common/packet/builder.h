// Frames built as bytes: Ethernet (optionally one 802.1Q tag), ARP, IPv4,
// UDP, TCP, ICMP echo and VXLAN. Checksums are computed unless a spec
// overrides them (to build malformed packets on purpose).
#ifndef WEFT_COMMON_PACKET_BUILDER_H_
#define WEFT_COMMON_PACKET_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/packet/packet.h"

namespace weft::packet {

Bytes Concat(const Bytes& a, const Bytes& b);

// 14-byte Ethernet header + payload (no FCS).
Bytes Eth(const Mac& dst, const Mac& src, uint16_t ethertype, const Bytes& payload);
// Ethernet with one 802.1Q tag.
Bytes EthVlan(const Mac& dst, const Mac& src, uint16_t vid, uint16_t ethertype,
              const Bytes& payload);

// 28-byte Ethernet/IPv4 ARP body.
Bytes Arp(uint16_t op, const Mac& sha, uint32_t spa, const Mac& tha, uint32_t tpa);
// A complete broadcast ARP request frame from (mac, ip) asking for `target`.
Bytes ArpRequestFrame(const Mac& src_mac, uint32_t src_ip, uint32_t target_ip);

struct Ipv4Spec {
  uint32_t src = 0;
  uint32_t dst = 0;
  uint8_t proto = kProtoUdp;
  uint8_t ttl = 64;
  uint8_t tos = 0;
  uint16_t id = 0x1234;
  bool df = false;
  bool mf = false;
  uint16_t frag_offset = 0;  // in 8-byte units
  Bytes options;             // padded to a multiple of 4 bytes
  // Overrides (for malformed packets).
  std::optional<uint16_t> total_length;
  std::optional<uint16_t> checksum;
};
// IPv4 header (checksum computed unless overridden) + payload.
Bytes Ipv4(const Ipv4Spec& spec, const Bytes& payload);

struct Ipv6Spec {
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
  uint8_t next_header = kProtoUdp;
  uint8_t hop_limit = 64;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;  // 20 bits
  // Override (for malformed packets).
  std::optional<uint16_t> payload_length;
};
// 40-byte IPv6 header + payload (extension headers are the payload's).
Bytes Ipv6(const Ipv6Spec& spec, const Bytes& payload);

// UDP header + payload. With src/dst given (non-zero) the checksum is
// computed over the IPv4 pseudo header; otherwise it is 0 (allowed in IPv4).
Bytes Udp(uint16_t sport, uint16_t dport, const Bytes& payload, uint32_t src_ip = 0,
          uint32_t dst_ip = 0);

// 20-byte TCP header + payload, checksum over the pseudo header.
Bytes Tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
          const Bytes& payload, uint32_t src_ip, uint32_t dst_ip, uint16_t window = 65535);

// The same under IPv6: checksums over the IPv6 pseudo header (mandatory for
// UDP there).
Bytes Udp(uint16_t sport, uint16_t dport, const Bytes& payload, const Ipv6Address& src,
          const Ipv6Address& dst);
Bytes Tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
          const Bytes& payload, const Ipv6Address& src, const Ipv6Address& dst,
          uint16_t window = 65535);

// ICMP echo request (type 8) or reply (type 0) with a valid checksum.
Bytes IcmpEcho(uint8_t type, uint16_t id, uint16_t seq, const Bytes& payload);

// An Ethernet/IPv6/ICMPv6 frame: type, code, the 4 bytes after the
// checksum (`rest`) and `body`; the checksum is computed over the IPv6
// pseudo header unless overridden.
struct Icmp6Spec {
  uint8_t type = 0;
  uint8_t code = 0;
  uint32_t rest = 0;
  Bytes body;
  std::optional<uint16_t> checksum;
};
Bytes Icmp6Frame(const Mac& dst, const Mac& src, const Ipv6Spec& ip, const Icmp6Spec& icmp);

// Neighbor Discovery as a VM sends it (RFC 4861, hop limit 255), `options`
// after the message's fixed part: a neighbor solicitation for `target` to
// its solicited-node group, a router solicitation to all routers.
Bytes NeighborSolicitationFrame(const Mac& src_mac, const Ipv6Address& src,
                                const Ipv6Address& target, const Bytes& options);
Bytes RouterSolicitationFrame(const Mac& src_mac, const Ipv6Address& src, const Bytes& options);
// A link-layer address option: type 1 source, 2 target.
Bytes NdLinkLayerOption(uint8_t type, const Mac& mac);
// ff02::1:ffXX:XXXX of `target`, and the MAC of an IPv6 multicast group.
Ipv6Address SolicitedNodeGroup(const Ipv6Address& target);
Mac Ipv6MulticastMac(const Ipv6Address& group);

// 8-byte VXLAN header + inner frame.
Bytes Vxlan(uint32_t vni, const Bytes& inner, uint8_t flags = 0x08);

// Convenience: a whole Ethernet/IPv4 frame.
Bytes Ipv4Frame(const Mac& dst, const Mac& src, const Ipv4Spec& ip, const Bytes& l4);
// Ethernet/IPv4/UDP frame with `payload_len` bytes of payload (pattern filled).
Bytes UdpFrame(const Mac& dst, const Mac& src, uint32_t src_ip, uint32_t dst_ip, uint16_t sport,
               uint16_t dport, size_t payload_len = 16, uint8_t ttl = 64, bool df = false);
// Ethernet/IPv4/UDP frame whose IPv4 total length is exactly `ip_total_len`.
Bytes UdpFrameOfIpLength(const Mac& dst, const Mac& src, uint32_t src_ip, uint32_t dst_ip,
                         uint16_t ip_total_len, bool df);

struct VxlanSpec {
  Mac outer_dst;
  Mac outer_src;
  uint32_t outer_src_ip = 0;
  uint32_t outer_dst_ip = 0;
  uint16_t sport = 50000;
  uint16_t dport = kVxlanPort;
  uint32_t vni = 0;
  uint8_t flags = 0x08;
  uint8_t ttl = 64;
  uint16_t id = 0x1234;  // the outer IPv4 id
  bool df = false;
  bool mf = false;
  uint16_t frag_offset = 0;
};
// Outer Ethernet/IPv4/UDP (checksum 0)/VXLAN around `inner` (an Ethernet frame).
Bytes VxlanFrame(const VxlanSpec& spec, const Bytes& inner);

// The same over an IPv6 underlay: outer Ethernet/IPv6/UDP (checksum 0, as
// RFC 6935 allows a tunnel)/VXLAN.
struct Vxlan6Spec {
  Mac outer_dst;
  Mac outer_src;
  std::array<uint8_t, 16> outer_src_ip{};
  std::array<uint8_t, 16> outer_dst_ip{};
  uint16_t sport = 50000;
  uint16_t dport = kVxlanPort;
  uint32_t vni = 0;
  uint8_t hop_limit = 64;
};
Bytes Vxlan6Frame(const Vxlan6Spec& spec, const Bytes& inner);

}  // namespace weft::packet

#endif  // WEFT_COMMON_PACKET_BUILDER_H_
