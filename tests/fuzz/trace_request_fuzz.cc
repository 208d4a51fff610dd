// The agent API's trace request handling up to the kernel
// (agent/api/trace_frame.h): a weft.v1.TraceRequest from any bytes is
// checked (CheckTraceRequest), turned into a frame spec (FrameSpecFrom, the
// MACs from --src-mac/--dst-mac as RunTrace takes them), built (BuildFrame)
// and read back (ParseFrame), also in VXLAN (WrapVxlan) when it names a
// VNI. The fuzz bytes, as a frame, go through ParseFrame too (what it reads
// of the frame a program returns). Oracle: errors are InvalidArgument; the
// headers read back are the ones asked for, the same inside VXLAN.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/api/trace_frame.h"
#include "common/model/net_format.h"
#include "common/packet/packet.h"
#include "tests/fuzz/fuzz_check.h"

namespace weft::api {
namespace {

void CheckInvalidArgument(const absl::Status& status) {
  WEFT_FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, status.ToString());
}

// The headers `spec` asks for: those of BuildFrame's frame, read back.
void CheckHeaders(const FrameSpec& spec, size_t length, const v1::PacketHeaders& h) {
  const std::string seen = h.ShortDebugString();
  WEFT_FUZZ_CHECK(h.src_mac() == FormatMac(spec.src_mac) && h.dst_mac() == FormatMac(spec.dst_mac),
                  seen);
  WEFT_FUZZ_CHECK(h.ethertype() == (spec.ipv6() ? "ipv6" : "ipv4") && h.length() == length, seen);
  WEFT_FUZZ_CHECK(
      h.src() == FormatUnderlayAddress(spec.src) && h.dst() == FormatUnderlayAddress(spec.dst),
      seen);
  // An echo under IPv6 is ICMPv6's.
  const bool echo6 = spec.ipv6() && spec.protocol == packet::kProtoIcmp;
  WEFT_FUZZ_CHECK(
      h.ttl() == spec.ttl &&
          h.protocol() == packet::ProtocolName(echo6 ? packet::kProtoIcmp6 : spec.protocol),
      seen);
  switch (spec.protocol) {
    case packet::kProtoTcp:
      WEFT_FUZZ_CHECK(h.tcp_flags() == packet::TcpFlagsString(spec.tcp_flags), seen);
      [[fallthrough]];
    case packet::kProtoUdp:
      WEFT_FUZZ_CHECK(h.sport() == spec.sport && h.dport() == spec.dport, seen);
      break;
    case packet::kProtoIcmp:  // echo request
      WEFT_FUZZ_CHECK(h.icmp_type() == (spec.ipv6() ? 128u : 8u) && h.icmp_code() == 0, seen);
      break;
  }
}

void CheckRequest(const v1::TraceRequest& req) {
  if (const absl::Status checked = CheckTraceRequest(req); !checked.ok()) {
    CheckInvalidArgument(checked);
    return;
  }
  absl::StatusOr<FrameSpec> spec = FrameSpecFrom(req);
  if (!spec.ok()) {
    CheckInvalidArgument(spec.status());
    return;
  }
  for (auto [text, mac] :
       {std::pair{&req.src_mac(), &spec->src_mac}, std::pair{&req.dst_mac(), &spec->dst_mac}}) {
    if (text->empty()) continue;
    const absl::StatusOr<MacAddress> parsed = ParseMac(*text);
    if (!parsed.ok()) {
      CheckInvalidArgument(parsed.status());
      return;
    }
    *mac = *parsed;
  }
  const packet::Bytes frame = BuildFrame(*spec);
  v1::PacketHeaders outer, headers;
  uint32_t vni = 0;
  // UDP to the VXLAN port reads as VXLAN: its headers are then the outer ones.
  const bool vxlan = spec->protocol == packet::kProtoUdp && spec->dport == packet::kVxlanPort;
  WEFT_FUZZ_CHECK(ParseFrame(frame, &outer, &headers, &vni) == vxlan, "VXLAN or not");
  if (vxlan) headers = outer;
  CheckHeaders(*spec, frame.size(), headers);

  if (req.vni() == 0) return;
  // The trace's own addresses as VTEPs, for an underlay of their family.
  const packet::Bytes wrapped =
      WrapVxlan(frame, spec->dst_mac, spec->src_mac, spec->dst, spec->src, req.vni());
  v1::PacketHeaders wrapped_outer, wrapped_inner;
  WEFT_FUZZ_CHECK(ParseFrame(wrapped, &wrapped_outer, &wrapped_inner, &vni), "not VXLAN");
  WEFT_FUZZ_CHECK(vni == req.vni(), absl::StrCat(vni, " != ", req.vni()));
  WEFT_FUZZ_CHECK(wrapped_inner.SerializeAsString() == headers.SerializeAsString(),
                  wrapped_inner.ShortDebugString());
  WEFT_FUZZ_CHECK(wrapped_outer.src() == FormatUnderlayAddress(spec->dst) &&
                      wrapped_outer.dport() == packet::kVxlanPort &&
                      wrapped_outer.length() == wrapped.size(),
                  wrapped_outer.ShortDebugString());
}

}  // namespace
}  // namespace weft::api

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft;
  v1::PacketHeaders outer, inner;
  uint32_t vni = 0;
  api::ParseFrame(packet::Bytes(data, data + size), &outer, &inner, &vni);

  v1::TraceRequest req;
  if (req.ParseFromArray(data, static_cast<int>(size))) api::CheckRequest(req);
  return 0;
}
