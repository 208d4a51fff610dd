#include "agent/api/trace_frame.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/status.h"
#include "common/model/net_format.h"
#include "common/packet/builder.h"
#include "common/packet/parser.h"

namespace weft::api {
namespace {

using packet::Bytes;

// Marks of a synthetic packet, recognisable in a capture.
constexpr uint16_t kTraceIpId = 0x5754;
constexpr uint32_t kTraceTcpSeq = 0x57ef0001;
constexpr uint16_t kTraceTcpWindow = 64240;
constexpr uint16_t kTraceDefaultSport = 40000;

void DescribeHeaders(const packet::Parsed& p, v1::PacketHeaders* h) {
  if (!p.eth) return;
  h->set_dst_mac(FormatMac(p.eth->dst));
  h->set_src_mac(FormatMac(p.eth->src));
  h->set_length(static_cast<uint32_t>(p.raw.size()));
  // The IP header's fields, either family (the hop limit shown as TTL).
  auto ip = [h](std::string src, std::string dst, uint32_t ttl, uint8_t protocol) {
    h->set_src(std::move(src));
    h->set_dst(std::move(dst));
    h->set_ttl(ttl);
    h->set_protocol(packet::ProtocolName(protocol));
  };
  switch (p.eth->ethertype) {
    case packet::kEthArp:
      h->set_ethertype("arp");
      return;
    case packet::kEthIpv4:
      h->set_ethertype("ipv4");
      if (!p.ipv4 || p.ipv4->version != 4) return;
      ip(FormatIpv4(p.ipv4->src), FormatIpv4(p.ipv4->dst), p.ipv4->ttl, p.ipv4->proto);
      break;
    case packet::kEthIpv6:
      h->set_ethertype("ipv6");
      if (!p.ipv6 || p.ipv6->version != 6) return;
      ip(FormatIpv6(p.ipv6->src), FormatIpv6(p.ipv6->dst), p.ipv6->hop_limit, p.ipv6->next_header);
      break;
    default:
      h->set_ethertype(absl::StrFormat("0x%04x", p.eth->ethertype));
      return;
  }
  if (p.tcp) {
    h->set_sport(p.tcp->sport);
    h->set_dport(p.tcp->dport);
    h->set_tcp_flags(packet::TcpFlagsString(p.tcp->flags));
  } else if (p.udp) {
    h->set_sport(p.udp->sport);
    h->set_dport(p.udp->dport);
  } else if (p.icmp) {
    h->set_icmp_type(p.icmp->type);
    h->set_icmp_code(p.icmp->code);
  }
}

// `text` as an address of either family; an error names the option it
// came from.
absl::StatusOr<UnderlayAddress> AddressOption(const std::string& text, absl::string_view option) {
  absl::StatusOr<UnderlayAddress> ip = ParseUnderlayAddress(text);
  if (!ip.ok()) return WithContext(ip.status(), option);
  return ip;
}

const Bytes kTracePayload = {'w', 'e', 'f', 't', 't', 'r', 'a', 'c', 'e', 0, 0, 0, 0, 0, 0, 0};
constexpr uint8_t kIcmp6EchoRequest = 128;

// The TCP or UDP header (and payload) from `src` to `dst`, whose types pick
// the pseudo header.
template <typename Address>
Bytes Transport(const FrameSpec& s, const Address& src, const Address& dst) {
  if (s.protocol == packet::kProtoTcp) {
    return packet::Tcp(s.sport, s.dport, s.tcp_flags, kTraceTcpSeq,
                       (s.tcp_flags & packet::kTcpAck) ? 1 : 0, {}, src, dst, kTraceTcpWindow);
  }
  return packet::Udp(s.sport, s.dport, kTracePayload, src, dst);
}

bool IsEcho(const FrameSpec& s) {
  return s.protocol != packet::kProtoTcp && s.protocol != packet::kProtoUdp;
}

}  // namespace

Bytes BuildFrame(const FrameSpec& s) {
  if (!s.ipv6()) {
    const packet::Ipv4Spec ip = {.src = s.src.v4,
                                 .dst = s.dst.v4,
                                 .proto = s.protocol,
                                 .ttl = s.ttl,
                                 .id = kTraceIpId,
                                 .df = true};
    return packet::Ipv4Frame(
        s.dst_mac, s.src_mac, ip,
        IsEcho(s) ? packet::IcmpEcho(8, s.sport, 1, kTracePayload) : Transport(s, ip.src, ip.dst));
  }
  packet::Ipv6Spec ip;
  ip.src = *s.src.v6;
  ip.dst = *s.dst.v6;
  ip.hop_limit = s.ttl;
  if (IsEcho(s)) {
    return packet::Icmp6Frame(
        s.dst_mac, s.src_mac, ip,
        {.type = kIcmp6EchoRequest, .rest = uint32_t{s.sport} << 16 | 1, .body = kTracePayload});
  }
  ip.next_header = s.protocol;
  return packet::Eth(s.dst_mac, s.src_mac, packet::kEthIpv6,
                     packet::Ipv6(ip, Transport(s, ip.src, ip.dst)));
}

Bytes WrapVxlan(const Bytes& inner, const MacAddress& outer_src, const MacAddress& outer_dst,
                const UnderlayAddress& src_vtep, const UnderlayAddress& dst_vtep, uint32_t vni) {
  if (src_vtep.is_v6() && dst_vtep.is_v6()) {
    const packet::Vxlan6Spec spec = {.outer_dst = outer_dst,
                                     .outer_src = outer_src,
                                     .outer_src_ip = *src_vtep.v6,
                                     .outer_dst_ip = *dst_vtep.v6,
                                     .vni = vni};
    return packet::Vxlan6Frame(spec, inner);
  }
  const packet::VxlanSpec spec = {.outer_dst = outer_dst,
                                  .outer_src = outer_src,
                                  .outer_src_ip = src_vtep.v4,
                                  .outer_dst_ip = dst_vtep.v4,
                                  .vni = vni,
                                  .id = kTraceIpId,
                                  .df = true};
  return packet::VxlanFrame(spec, inner);
}

bool ParseFrame(const Bytes& frame, v1::PacketHeaders* outer, v1::PacketHeaders* inner,
                uint32_t* vni) {
  const packet::Parsed p = packet::Parse(frame);
  if (!p.vxlan) {
    inner->Clear();
    DescribeHeaders(p, inner);
    return false;
  }
  outer->Clear();
  DescribeHeaders(p, outer);
  *vni = p.vxlan->vni;
  DescribeHeaders(p.Inner(), inner);
  return true;
}

absl::Status CheckTraceRequest(const v1::TraceRequest& req) {
  const struct {
    const char* field;
    uint32_t value;
    uint32_t max;
  } kNumbers[] = {
      {"sport", req.sport(), 0xffff},
      {"dport", req.dport(), 0xffff},
      {"ttl", req.ttl(), 0xff},
      {"vni", req.vni(), (1u << 24) - 1},
  };
  for (const auto& [field, value, max] : kNumbers) {
    if (value > max) {
      return absl::InvalidArgumentError(
          absl::StrCat("trace: ", field, " ", value, " is out of range (0..", max, ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<FrameSpec> FrameSpecFrom(const v1::TraceRequest& req) {
  FrameSpec spec;
  ASSIGN_OR_RETURN(spec.src, AddressOption(req.src(), "--src"));
  ASSIGN_OR_RETURN(spec.dst, AddressOption(req.dst(), "--dst"));
  if (spec.src.is_v6() != spec.dst.is_v6()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--src ", req.src(), " and --dst ", req.dst(), " are of two families"));
  }
  ASSIGN_OR_RETURN(spec.protocol, packet::ParseProtocol(req.protocol()));
  ASSIGN_OR_RETURN(spec.tcp_flags,
                   packet::ParseTcpFlags(req.tcp_flags().empty() ? "S" : req.tcp_flags()));
  const uint16_t default_sport =
      spec.protocol == packet::kProtoIcmp ? kTraceIpId : kTraceDefaultSport;
  spec.sport = req.sport() ? req.sport() : default_sport;
  spec.dport = req.dport();
  spec.ttl = req.ttl() ? req.ttl() : 64;
  return spec;
}

}  // namespace weft::api
