// Packets for `weftctl trace`: the synthetic frame the agent hands to the
// real program (BPF_PROG_TEST_RUN), and the reading of what came out.
// Pure: no BPF, unit-tested without root.
#ifndef WEFT_AGENT_API_PACKET_H_
#define WEFT_AGENT_API_PACKET_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/state.h"
#include "weft/v1/agent_api.pb.h"

namespace weft::api {

using Bytes = std::vector<uint8_t>;

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

struct FrameSpec {
  MacAddress src_mac{};
  MacAddress dst_mac{};
  uint32_t src = 0;  // host order
  uint32_t dst = 0;
  uint8_t protocol = kProtoIcmp;
  uint16_t sport = 0;  // ICMP: the echo identifier
  uint16_t dport = 0;
  uint8_t tcp_flags = 0x02;
  uint8_t ttl = 64;
};

// Ethernet + IPv4 (DF, checksummed) + TCP/UDP header or an ICMP echo
// request, with a few bytes of payload.
Bytes BuildFrame(const FrameSpec& spec);

// `inner` in VXLAN/UDP/IPv4/Ethernet from src_vtep to dst_vtep on `vni`.
Bytes WrapVxlan(const Bytes& inner, const MacAddress& outer_src, const MacAddress& outer_dst,
                uint32_t src_vtep, uint32_t dst_vtep, uint32_t vni);

// "S", "SA", "A", "FA", "R", "PA" (letters of FSRPAUEC, any order).
absl::StatusOr<uint8_t> ParseTcpFlags(const std::string& text);
std::string TcpFlagsString(uint8_t flags);
// tcp, udp, icmp (or a number) <-> protocol number.
absl::StatusOr<uint8_t> ParseProtocol(const std::string& text);
std::string ProtocolName(uint8_t protocol);

absl::StatusOr<MacAddress> ParseMac(const std::string& text);
std::string MacString(const MacAddress& mac);
std::string MacString(const uint8_t* mac);
absl::StatusOr<uint32_t> ParseIpv4(const std::string& text);  // host order
std::string Ipv4String(uint32_t host_order);
std::string Ipv4StringBe(uint32_t network_order);

// The headers of a frame. VXLAN to port 4789: `outer` gets the outer
// headers, `inner` the encapsulated frame's, *vni the VNI and the result is
// true; otherwise `inner` gets the frame's and the result is false.
bool ParseFrame(const Bytes& frame, v1::PacketHeaders* outer, v1::PacketHeaders* inner,
                uint32_t* vni);

}  // namespace weft::api

#endif  // WEFT_AGENT_API_PACKET_H_
