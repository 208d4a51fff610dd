// A small packet builder and inspector for the BPF_PROG_TEST_RUN tests:
// Ethernet, ARP, IPv4, UDP, TCP, ICMP echo and VXLAN, built as plain bytes
// (network order on the wire), and a parser that reads them back from what a
// program returned. Addresses are IPv4 in host order, like agent/model/state.h.
#ifndef WEFT_TESTS_BPF_PACKET_H_
#define WEFT_TESTS_BPF_PACKET_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::testing {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;

inline constexpr uint16_t kEthIpv4 = 0x0800;
inline constexpr uint16_t kEthArp = 0x0806;
inline constexpr uint16_t kEthIpv6 = 0x86dd;
inline constexpr uint16_t kEthVlan = 0x8100;
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;
inline constexpr Mac kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline constexpr Mac kZeroMac = {0, 0, 0, 0, 0, 0};

// "02:fe:00:00:00:01" -> bytes; aborts on malformed input (test constants).
Mac MacFrom(std::string_view text);
// "10.0.1.10" -> host-order address; aborts on malformed input.
uint32_t Ip(std::string_view text);
std::string MacString(const Mac& mac);
std::string IpString(uint32_t ip);
// Hex dump, 16 bytes a line, for failure messages; at most `max` bytes.
std::string HexDump(const Bytes& bytes, size_t max = 192);

// RFC 1071 one's complement sum over `data` (folded, complemented).
uint16_t InternetChecksum(const uint8_t* data, size_t len, uint32_t initial = 0);

// --- builders ---------------------------------------------------------------

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

// UDP header + payload. With src/dst given (non-zero) the checksum is
// computed over the IPv4 pseudo header; otherwise it is 0 (allowed in IPv4).
Bytes Udp(uint16_t sport, uint16_t dport, const Bytes& payload, uint32_t src_ip = 0,
          uint32_t dst_ip = 0);

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
// 20-byte TCP header + payload, checksum over the pseudo header.
Bytes Tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
          const Bytes& payload, uint32_t src_ip, uint32_t dst_ip);

// ICMP echo request (type 8) or reply (type 0) with a valid checksum.
Bytes IcmpEcho(uint8_t type, uint16_t id, uint16_t seq, const Bytes& payload);

// 8-byte VXLAN header + inner frame.
Bytes Vxlan(uint32_t vni, const Bytes& inner, uint8_t flags = 0x08);

// Convenience: a whole Ethernet/IPv4 frame.
Bytes Ipv4Frame(const Mac& dst, const Mac& src, const Ipv4Spec& ip, const Bytes& l4);
// Ethernet/IPv4/UDP frame with `payload_len` bytes of payload (pattern filled).
Bytes UdpFrame(const Mac& dst, const Mac& src, uint32_t src_ip, uint32_t dst_ip,
               uint16_t sport, uint16_t dport, size_t payload_len = 16, uint8_t ttl = 64,
               bool df = false);
// Ethernet/IPv4/UDP frame whose IPv4 total length is exactly `ip_total_len`.
Bytes UdpFrameOfIpLength(const Mac& dst, const Mac& src, uint32_t src_ip, uint32_t dst_ip,
                         uint16_t ip_total_len, bool df);

struct VxlanSpec {
  Mac outer_dst;
  Mac outer_src;
  uint32_t outer_src_ip = 0;
  uint32_t outer_dst_ip = 0;
  uint16_t sport = 50000;
  uint16_t dport = 4789;
  uint32_t vni = 0;
  uint8_t flags = 0x08;
  uint8_t ttl = 64;
  bool df = false;
  bool mf = false;
  uint16_t frag_offset = 0;
};
// Outer Ethernet/IPv4/UDP/VXLAN around `inner` (an Ethernet frame).
Bytes VxlanFrame(const VxlanSpec& spec, const Bytes& inner);

// --- parser -------------------------------------------------------------------

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

struct UdpView {
  uint16_t sport = 0, dport = 0, length = 0, checksum = 0;
};

struct TcpView {
  uint16_t sport = 0, dport = 0;
  uint8_t flags = 0;
};

struct IcmpView {
  uint8_t type = 0, code = 0;
  uint16_t checksum = 0;
  bool checksum_ok = false;
  uint32_t rest = 0;   // bytes 4..7 (id/seq, or unused/next-hop MTU)
  Bytes payload;       // after the 8-byte header (up to the IP total length)
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
  std::optional<UdpView> udp;
  std::optional<TcpView> tcp;
  std::optional<IcmpView> icmp;
  std::optional<VxlanView> vxlan;  // UDP to port 4789 with 8 bytes to read
  Bytes inner;                     // VXLAN payload (an Ethernet frame)
  std::string error;               // first malformation found, if any

  Parsed Inner() const;
};

Parsed Parse(const Bytes& frame);

}  // namespace weft::testing

#endif  // WEFT_TESTS_BPF_PACKET_H_
