// The frame a `weftctl trace` request describes, and the headers of a frame
// as the local API shows them: pure (no BPF, no kernel), so a request can be
// checked and its frame built and read back without a datapath
// (tests/fuzz/trace_request_fuzz.cc). trace.h runs the frame.
#ifndef WEFT_AGENT_API_TRACE_FRAME_H_
#define WEFT_AGENT_API_TRACE_FRAME_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/state.h"
#include "common/packet/packet.h"
#include "weft/v1/agent_api.pb.h"

namespace weft::api {

// The packet a trace sends, before any encapsulation.
struct FrameSpec {
  MacAddress src_mac{};
  MacAddress dst_mac{};
  UnderlayAddress src;  // the model's address of either family; src and dst of one
  UnderlayAddress dst;
  uint8_t protocol = packet::kProtoIcmp;  // over IPv6, icmp is ICMPv6
  uint16_t sport = 0;                     // ICMP: the echo identifier
  uint16_t dport = 0;
  uint8_t tcp_flags = packet::kTcpSyn;
  uint8_t ttl = 64;  // IPv6: the hop limit

  bool ipv6() const { return src.is_v6(); }
};

// InvalidArgument, naming the field, when a number of `req` does not fit
// the header field it fills: a port above 65535, a TTL above 255, a VNI of
// 2^24 or more. RunTrace checks first, so no value is silently truncated.
absl::Status CheckTraceRequest(const v1::TraceRequest& req);

// Addresses (IPv4 or IPv6, both of one family), protocol, ports and TTL of a
// request CheckTraceRequest passed; the MACs come later (from the state, or
// --src-mac/--dst-mac).
absl::StatusOr<FrameSpec> FrameSpecFrom(const v1::TraceRequest& req);

// Ethernet + IPv4 (DF, checksummed) or IPv6 + TCP/UDP header or an ICMP
// (ICMPv6) echo request, with a few bytes of payload (none for TCP).
packet::Bytes BuildFrame(const FrameSpec& spec);

// `inner` in VXLAN/UDP/IP/Ethernet from src_vtep to dst_vtep on `vni`,
// over IPv4 or IPv6 as the VTEPs are (both of one family).
packet::Bytes WrapVxlan(const packet::Bytes& inner, const MacAddress& outer_src,
                        const MacAddress& outer_dst, const UnderlayAddress& src_vtep,
                        const UnderlayAddress& dst_vtep, uint32_t vni);

// The headers of a frame. VXLAN to port 4789: `outer` gets the outer
// headers, `inner` the encapsulated frame's, *vni the VNI and the result is
// true; otherwise `inner` gets the frame's and the result is false.
bool ParseFrame(const packet::Bytes& frame, v1::PacketHeaders* outer, v1::PacketHeaders* inner,
                uint32_t* vni);

}  // namespace weft::api

#endif  // WEFT_AGENT_API_TRACE_FRAME_H_
