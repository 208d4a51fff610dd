// What the packet builder (builder.h) and parser (parser.h) share: bytes,
// header constants, the Internet checksum, and the text forms of IP
// protocols and TCP flags. Frames are plain bytes in network order;
// addresses are IPv4 in host order and MACs are the model's MacAddress
// (common/model/state.h), with their text forms in common/model/net_format.h.
// Pure: no BPF. Used by the BPF tests, the benchmark and `weftctl trace`.
#ifndef WEFT_COMMON_PACKET_PACKET_H_
#define WEFT_COMMON_PACKET_PACKET_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/model/state.h"

namespace weft::packet {

using Bytes = std::vector<uint8_t>;
using Mac = MacAddress;

inline constexpr uint16_t kEthIpv4 = 0x0800;
inline constexpr uint16_t kEthArp = 0x0806;
inline constexpr uint16_t kEthIpv6 = 0x86dd;
inline constexpr uint16_t kEthVlan = 0x8100;
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmp6 = 58;
inline constexpr uint16_t kArpRequest = 1;
inline constexpr uint16_t kArpReply = 2;
inline constexpr uint16_t kVxlanPort = 4789;
inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;
inline constexpr Mac kBroadcastMac = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline constexpr Mac kZeroMac = {0, 0, 0, 0, 0, 0};

// Constants of tests and benchmarks, parsed by net_format.h; a malformed one
// aborts (it is a bug in the program, not an input).
// "10.0.1.10" -> host-order address.
uint32_t Ip(absl::string_view text);
// "2001:db8::1" -> bytes.
Ipv6Address Ip6(absl::string_view text);
// "02:fe:00:00:00:01" -> bytes.
Mac MacFrom(absl::string_view text);

// Hex dump, 16 bytes a line, for failure messages; at most `max` bytes.
std::string HexDump(const Bytes& bytes, size_t max = 192);

// RFC 1071 one's complement sum over `data` (folded, complemented).
uint16_t InternetChecksum(const uint8_t* data, size_t len, uint32_t initial = 0);

// fe80::/64 with the modified EUI-64 of `mac` (RFC 4291 appendix A).
Ipv6Address LinkLocalOf(const Mac& mac);

// Partial sum (not folded or complemented) over the IPv6 pseudo header
// (RFC 8200 8.1), the `initial` of InternetChecksum for ICMPv6, UDP, TCP.
uint32_t PseudoHeaderSum6(const Ipv6Address& src, const Ipv6Address& dst, uint8_t proto,
                          uint32_t len);

// tcp, udp, icmp (or empty: icmp) -> protocol number; and back (a number
// when it has no name).
absl::StatusOr<uint8_t> ParseProtocol(absl::string_view text);
std::string ProtocolName(uint8_t protocol);
// "S", "SA", "FA", "R", "PA": letters of FSRPAUEC in any order (',' '|' '+'
// ignored); and back, in that order ("none" for no flag).
absl::StatusOr<uint8_t> ParseTcpFlags(absl::string_view text);
std::string TcpFlagsString(uint8_t flags);

}  // namespace weft::packet

#endif  // WEFT_COMMON_PACKET_PACKET_H_
