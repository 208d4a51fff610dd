// Frames read back into their headers: Ethernet (at most one VLAN tag),
// ARP, IPv4, IPv6 (its fixed header: UDP or TCP right after it are read,
// extension headers and ICMPv6 are not), UDP, TCP, ICMP and VXLAN. Each layer is read only when
// present and complete; the first malformation found is named in Parsed::error.
#ifndef WEFT_COMMON_PACKET_PARSER_H_
#define WEFT_COMMON_PACKET_PARSER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/packet/packet.h"

namespace weft::packet {

struct EthView {
  Mac dst{};
  Mac src{};
  uint16_t ethertype = 0;  // after at most one VLAN tag
  std::optional<uint16_t> vlan;
};

struct ArpView {
  uint16_t htype = 0, ptype = 0;
  uint8_t hlen = 0, plen = 0;
  uint16_t op = 0;
  Mac sha{}, tha{};
  uint32_t spa = 0, tpa = 0;
};

struct Ipv4View {
  uint8_t version = 0;
  uint8_t ihl = 0;  // 32-bit words
  uint8_t tos = 0;
  uint16_t total_length = 0;
  uint16_t id = 0;
  bool df = false;
  bool mf = false;
  uint16_t frag_offset = 0;
  uint8_t ttl = 0;
  uint8_t proto = 0;
  uint16_t checksum = 0;
  uint32_t src = 0, dst = 0;
  bool checksum_ok = false;
  size_t offset = 0;  // of the IPv4 header in the frame
};

struct Ipv6View {
  uint8_t version = 0;
  uint8_t traffic_class = 0;
  uint32_t flow_label = 0;
  uint16_t payload_length = 0;
  uint8_t next_header = 0;
  uint8_t hop_limit = 0;
  std::array<uint8_t, 16> src{}, dst{};
  size_t offset = 0;  // of the IPv6 header in the frame
};

struct UdpView {
  uint16_t sport = 0, dport = 0, length = 0, checksum = 0;
};

struct TcpView {
  uint16_t sport = 0, dport = 0;
  uint8_t flags = 0;
};

// ICMP, or ICMPv6 after an IPv6 header (checksum over its pseudo header).
struct IcmpView {
  uint8_t type = 0, code = 0;
  uint16_t checksum = 0;
  bool checksum_ok = false;
  uint32_t rest = 0;  // bytes 4..7 (id/seq, or unused/next-hop MTU)
  Bytes payload;      // after the 8-byte header (up to the IP total length)
};

struct VxlanView {
  uint8_t flags = 0;
  uint32_t vni = 0;
  uint32_t reserved_low = 0;  // the 24 + 8 reserved bits, for checking zero
};

// A parsed frame. Each layer is set only when present and complete.
struct Parsed {
  Bytes raw;
  std::optional<EthView> eth;
  std::optional<ArpView> arp;
  std::optional<Ipv4View> ipv4;
  std::optional<Ipv6View> ipv6;
  std::optional<UdpView> udp;
  std::optional<TcpView> tcp;
  std::optional<IcmpView> icmp;
  std::optional<VxlanView> vxlan;  // UDP to kVxlanPort with 8 bytes to read
  Bytes inner;                     // VXLAN payload (an Ethernet frame)
  std::string error;               // first malformation found, if any

  Parsed Inner() const;
};

Parsed Parse(const Bytes& frame);

}  // namespace weft::packet

#endif  // WEFT_COMMON_PACKET_PARSER_H_
