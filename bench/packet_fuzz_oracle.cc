#include "bench/packet_fuzz_oracle.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/model/net_format.h"
#include "common/packet/parser.h"
#include "weft/abi.h"

namespace weft::fuzz {
namespace {

using packet::Parse;
using packet::Parsed;

// Hook return codes (linux/pkt_cls.h, linux/bpf.h).
constexpr uint32_t kTcOk = 0;
constexpr uint32_t kTcShot = 2;
constexpr uint32_t kTcRedirect = 7;
constexpr uint32_t kXdpDrop = 1;
constexpr uint32_t kXdpPass = 2;
constexpr uint32_t kXdpTx = 3;
constexpr uint32_t kXdpRedirect = 4;
constexpr uint16_t kArpReply = 2;

std::string Expect(uint32_t retval, uint32_t want, const char* what) {
  if (retval == want) return "";
  return absl::StrCat("verdict ", retval, ", expected ", want, " (", what, ")");
}

// An ARP answer (sha, spa) in `p` is the gateway of `seg` or an endpoint on
// it: never an address of another segment or tenant.
std::string JudgeArpAnswer(const World& w, const WorldSegment& seg, const Parsed& p) {
  if (!p.arp || p.arp->op != kArpReply) return "ARP reply expected in the output";
  const bool gateway = p.arp->spa == seg.gateway_ip && p.arp->sha == seg.gateway_mac;
  if (!gateway && w.OnSegment(seg.vni, p.arp->sha, p.arp->spa) == nullptr)
    return absl::StrCat("ARP answer ", FormatIpv4(p.arp->spa), " is-at ", FormatMac(p.arp->sha),
                        " is not on segment ", seg.name);
  return "";
}

// An ND answer (bpf/lib/nd.h) back to the asking VM (its MAC `asker`: a
// local VM, or a foreign VTEP's): a neighbor or router advertisement, well
// formed, from the gateway or an endpoint of its segment.
std::string JudgeNdAnswer(const World& w, const WorldSegment& seg, const Mac& asker,
                          const Parsed& p) {
  if (!p.eth || p.eth->dst != asker) return "ND answer not back to the asking VM";
  if (!p.ipv6 || !p.icmp || !p.icmp->checksum_ok || p.ipv6->hop_limit != 255)
    return "ND answer is not well-formed ICMPv6 with hop limit 255";
  if (p.icmp->type != 136 && p.icmp->type != 134) return "ND answer is no advertisement";
  if (p.eth->src != seg.gateway_mac && w.OnSegment(seg.vni, p.eth->src) == nullptr)
    return absl::StrCat("ND answer from ", FormatMac(p.eth->src), ", not on segment ", seg.name);
  return "";
}

// The network layer of a frame, of either family.
struct L3 {
  Address src, dst;
  uint8_t hops = 0;  // TTL or hop limit
};

std::optional<L3> L3Of(const Parsed& p) {
  if (p.ipv4) return L3{.src = p.ipv4->src, .dst = p.ipv4->dst, .hops = p.ipv4->ttl};
  if (!p.ipv6) return std::nullopt;
  L3 l3{.hops = p.ipv6->hop_limit};
  l3.src.v6 = p.ipv6->src;
  l3.dst.v6 = p.ipv6->dst;
  return l3;
}

// An answer to what the VM `self` sent (`in`), back to it (to its MAC and
// its address of the packet's family): an ICMP error (bpf/lib/icmp.h,
// icmp6.h), well formed, from the gateway's MAC and address of that family;
// or a TCP reset (bpf/lib/reject.h), from the address the VM sent to.
std::string JudgeAnswerBack(const WorldSegment& seg, const WorldEndpoint& self, const Parsed& in,
                            const Parsed& p) {
  const std::optional<L3> l3 = L3Of(p), sent = L3Of(in);
  if (!p.eth || !l3 || p.eth->dst != self.mac || !self.Owns(l3->dst))
    return "an answer not back to the sending VM";
  if (p.tcp) {
    if (!(p.tcp->flags & packet::kTcpRst)) return "a TCP answer is no reset";
    if (!sent || l3->src != sent->dst) return "a reset from another address than the peer's";
    return "";
  }
  const bool error =
      p.icmp && (p.ipv6 ? p.icmp->type < 128 : p.icmp->type == 3 || p.icmp->type == 11);
  if (!error || !p.icmp->checksum_ok) return "an answer that is no well-formed ICMP error";
  if (p.eth->src != seg.gateway_mac || !seg.IsGateway(l3->src))
    return absl::StrCat("ICMP error from ", FormatUnderlayAddress(l3->src), " (",
                        FormatMac(p.eth->src), "), not the gateway of ", seg.name);
  return "";
}

// Where a forwarded frame went: into a local endpoint (by the interface a
// trace run recorded, 0 when none did), or to a VTEP on a VNI.
struct Egress {
  bool local = false;
  uint32_t ifindex = 0;
  uint32_t vtep = 0;  // host order
  uint32_t vni = 0;
};

// `to` leads to endpoint `ep`: its interface, or its node's VTEP and its
// VNI.
std::string JudgeEgress(const WorldEndpoint& ep, const Egress& to) {
  if (to.local) {
    if (ep.ifindex == 0) return absl::StrCat("delivered here for ", ep.name, ", not a local VM");
    if (to.ifindex != 0 && to.ifindex != ep.ifindex)
      return absl::StrCat("redirected to ifindex ", to.ifindex, ", not ", ep.name, "'s");
    return "";
  }
  if (to.vtep != ep.vtep || to.vni != ep.vni)
    return absl::StrCat("encapsulated for ", ep.name, " to VTEP ", FormatIpv4(to.vtep), " VNI ",
                        to.vni, ", not its node's on its VNI");
  return "";
}

// A frame `in` sent on segment `vni` of tenant `tenant` (by a VM, or
// inside VXLAN), forwarded as `out` to `to`, of either family and with the
// addresses it was sent with. Switched (to any MAC but the gateway's): its
// MACs and hop count unchanged, to the endpoint of its destination MAC on
// the segment. Routed (to the gateway MAC): from the gateway MAC with one
// hop less, where the tenant's longest matching route of the family leads:
// the endpoint owning the destination address (a connected subnet), or one
// of a route's VTEPs on the route's VNI, to the gateway MAC there; never
// for a blackhole or an address no route covers. So a frame never reaches
// another tenant, nor another segment unless routed.
std::string JudgeForwarded(const World& w, const Parsed& in, const Parsed& out, uint32_t tenant,
                           uint32_t vni, const Egress& to) {
  const WorldSegment* seg = w.Segment(vni);
  if (seg == nullptr || !in.eth || !out.eth) return "forwarded without an Ethernet header";
  const std::optional<L3> sent = L3Of(in), got = L3Of(out);
  if (!sent || !got) return "forwarded without an IP header";
  if (got->src != sent->src || got->dst != sent->dst)
    return absl::StrCat("forwarded as ", FormatUnderlayAddress(got->src), " -> ",
                        FormatUnderlayAddress(got->dst), ", sent as ",
                        FormatUnderlayAddress(sent->src), " -> ", FormatUnderlayAddress(sent->dst));
  const bool routed = in.eth->dst == seg->gateway_mac;
  if (got->hops + (routed ? 1 : 0) != sent->hops)
    return absl::StrCat(routed ? "routed" : "switched", " with hop count ", got->hops,
                        ", sent with ", sent->hops);
  if (!routed) {
    if (out.eth->src != in.eth->src || out.eth->dst != in.eth->dst)
      return "switched with other MACs than it was sent with";
    const WorldEndpoint* ep = w.OnSegment(vni, in.eth->dst);
    if (ep == nullptr)
      return absl::StrCat("switched to ", FormatMac(in.eth->dst), ", which no endpoint of ",
                          seg->name, " has");
    return JudgeEgress(*ep, to);
  }
  if (out.eth->src != seg->gateway_mac) return "routed from another MAC than the gateway's";
  const WorldRoute* r = w.Route(tenant, sent->dst);
  if (r == nullptr || r->blackhole)
    return absl::StrCat("routed to ", FormatUnderlayAddress(sent->dst), ", which tenant ", tenant,
                        r == nullptr ? " has no route to" : " blackholes");
  if (r->connected) {
    const WorldEndpoint* ep = w.Owner(tenant, sent->dst);
    if (ep == nullptr || out.eth->dst != ep->mac)
      return absl::StrCat("routed to ", FormatMac(out.eth->dst), ", not to the endpoint of tenant ",
                          tenant, " that has ", FormatUnderlayAddress(sent->dst));
    return JudgeEgress(*ep, to);
  }
  const WorldSegment* via = w.Segment(r->vni);
  if (to.local || to.vni != r->vni || via == nullptr || out.eth->dst != via->gateway_mac ||
      std::find(r->vteps.begin(), r->vteps.end(), to.vtep) == r->vteps.end())
    return absl::StrCat("routed by ", FormatIpPrefix(r->prefix),
                        " elsewhere than to the gateway MAC at one of its VTEPs on its VNI");
  return "";
}

// Encapsulated output: from this VTEP to one tenant `tenant` may reach, on a
// VNI of that tenant; a frame for an endpoint (its MAC on the VNI) goes to
// that endpoint's VTEP.
std::string JudgeEncap(const World& w, const Parsed& p, uint32_t tenant) {
  if (!p.vxlan || !p.ipv4) return "VXLAN expected in the output";
  const Parsed inner = p.Inner();
  if (!inner.eth) return "encapsulated without an inner Ethernet header";
  if (const WorldEndpoint* to = w.OnSegment(p.vxlan->vni, inner.eth->dst);
      to != nullptr && to->vtep != p.ipv4->dst)
    return absl::StrCat("encapsulated for ", to->name, " to VTEP ", FormatIpv4(p.ipv4->dst),
                        ", not its node's");
  if (p.ipv4->src != w.local_vtep) return "encapsulated from another VTEP address";
  if (!w.TenantMayReach(tenant, p.ipv4->dst))
    return absl::StrCat("encapsulated to VTEP ", FormatIpv4(p.ipv4->dst), ", not one of tenant ",
                        tenant);
  const WorldSegment* seg = w.Segment(p.vxlan->vni);
  if (seg == nullptr || seg->tenant_id != tenant)
    return absl::StrCat("encapsulated on VNI ", p.vxlan->vni, ", not a segment of tenant ", tenant);
  return "";
}

// The redirect target of a trace run that reached the same reason; else 0.
uint32_t TracedTarget(const Outcome& o) {
  return o.traced && static_cast<int>(o.trace_reason) == o.reason ? o.trace_egress_ifindex : 0;
}

}  // namespace

bool ForwardedIpv6(const Outcome& o) {
  if (o.refused ||
      (o.reason != WEFT_DELIVER_LOCAL && o.reason != WEFT_ENCAP && o.reason != WEFT_DECAP))
    return false;
  const Parsed p = Parse(o.out);
  return (p.vxlan ? p.Inner() : p).ipv6.has_value();
}

std::string Oracle::Judge(Program program, uint32_t ingress_ifindex, const Bytes& in,
                          const Outcome& o) const {
  if (o.refused)
    return o.counted == 0 ? ""
                          : absl::StrCat("the kernel refused the run yet ", o.counted,
                                         " packets were counted");
  if (o.counted != 1 || o.reason < 0)
    return absl::StrCat(o.counted, " packets counted for one frame (exactly 1 expected)");
  const bool xdp = program == Program::kUnderlayXdp;
  if (WEFT_REASON_IS_DROP(o.reason))
    return Expect(o.retval, xdp ? kXdpDrop : kTcShot, "a drop reason");
  if (program == Program::kVm) return JudgeVm(ingress_ifindex, in, o);
  if (program == Program::kUplink) return JudgeUplink(ingress_ifindex, in, o);
  return JudgeUnderlay(xdp, in, o);
}

std::string Oracle::JudgeVm(uint32_t ingress_ifindex, const Bytes& in, const Outcome& o) const {
  const WorldEndpoint* self = world_.BoundTo(ingress_ifindex);
  if (self == nullptr) return "an interface bound to no endpoint forwarded a frame";
  const WorldSegment& seg = *world_.Segment(self->vni);
  if (o.reason == WEFT_ND_DAD) return Expect(o.retval, kTcShot, "a probe is not answered");
  if (std::string e = Expect(o.retval, kTcRedirect, "every VM verdict redirects"); !e.empty())
    return e;
  const Parsed p = Parse(o.out);
  switch (o.reason) {
    case WEFT_ARP_REPLY:
      if (!p.eth || p.eth->dst != self->mac) return "ARP reply not back to the asking VM";
      return JudgeArpAnswer(world_, seg, p);
    case WEFT_ND_REPLY:
      return JudgeNdAnswer(world_, seg, self->mac, p);
    case WEFT_DELIVER_LOCAL: {
      const std::optional<L3> l3 = L3Of(p);
      if (!l3 || !self->Owns(l3->src)) return "delivered with another source address";
      return JudgeForwarded(world_, Parse(in), p, self->tenant_id, self->vni,
                            {.local = true, .ifindex = TracedTarget(o)});
    }
    case WEFT_ENCAP: {
      if (std::string e = JudgeEncap(world_, p, self->tenant_id); !e.empty()) return e;
      const Parsed inner = p.Inner();
      const std::optional<L3> l3 = L3Of(inner);
      if (!l3 || !self->Owns(l3->src)) return "encapsulated with another inner source address";
      return JudgeForwarded(world_, Parse(in), inner, self->tenant_id, self->vni,
                            {.vtep = p.ipv4->dst, .vni = p.vxlan->vni});
    }
    case WEFT_ICMP_ERROR:
    case WEFT_REJECT:
      return JudgeAnswerBack(seg, *self, Parse(in), p);
    default:
      return absl::StrCat("reason ", o.reason, " is not one the VM program gives");
  }
}

std::string Oracle::JudgeUnderlay(bool xdp, const Bytes& in, const Outcome& o) const {
  const Parsed pin = Parse(in);
  if (o.reason == WEFT_PASS_HOST) {
    if (std::string e = Expect(o.retval, xdp ? kXdpPass : kTcOk, "pass to the host"); !e.empty())
      return e;
    return o.out == in ? "" : "a frame passed to the host was changed";
  }
  // Everything else was judged Weft's: VXLAN from a known VTEP on a known VNI.
  if (!pin.vxlan || !pin.ipv4) return "a frame that is not VXLAN was forwarded";
  if (world_.vteps.count(pin.ipv4->src) == 0) return "VXLAN from an unknown VTEP was forwarded";
  const WorldSegment* seg = world_.Segment(pin.vxlan->vni);
  if (seg == nullptr) return "VXLAN on an unknown VNI was forwarded";
  const Parsed in_inner = pin.Inner();
  const Parsed p = Parse(o.out);
  const uint32_t back = xdp ? kXdpTx : kTcRedirect;
  switch (o.reason) {
    case WEFT_DECAP:
      if (std::string e = Expect(o.retval, xdp ? kXdpRedirect : kTcRedirect, "decapsulated");
          !e.empty())
        return e;
      return JudgeForwarded(world_, in_inner, p, seg->tenant_id, seg->vni,
                            {.local = true, .ifindex = TracedTarget(o)});
    case WEFT_ARP_REPLY:
    case WEFT_ND_REPLY:
    case WEFT_REJECT: {
      if (std::string e = Expect(o.retval, back, "an answer back to the VTEP"); !e.empty())
        return e;
      if (!p.vxlan || !p.ipv4 || p.ipv4->dst != pin.ipv4->src || p.vxlan->vni != seg->vni)
        return "an answer not back to the sending VTEP on its VNI";
      if (o.reason == WEFT_ARP_REPLY) return JudgeArpAnswer(world_, *seg, p.Inner());
      if (o.reason == WEFT_ND_REPLY) {
        if (!in_inner.eth) return "an ND answer to a frame without inner Ethernet";
        return JudgeNdAnswer(world_, *seg, in_inner.eth->src, p.Inner());
      }
      const Parsed inner = p.Inner();
      const std::optional<L3> reset = L3Of(inner), sent = L3Of(in_inner);
      if (!reset || !sent || reset->dst != sent->src || !inner.tcp ||
          !(inner.tcp->flags & packet::kTcpRst))
        return "a reset not to the sender";
      return "";
    }
    case WEFT_ENCAP:
      if (std::string e = Expect(o.retval, back, "forwarded to another VTEP"); !e.empty()) return e;
      if (!world_.vteps.at(pin.ipv4->src)) return "a Weft VTEP's packet was forwarded again";
      if (std::string e = JudgeEncap(world_, p, seg->tenant_id); !e.empty()) return e;
      return JudgeForwarded(world_, in_inner, p.Inner(), seg->tenant_id, seg->vni,
                            {.vtep = p.ipv4->dst, .vni = p.vxlan->vni});
    case WEFT_TO_UPLINK: {
      if (std::string e = Expect(o.retval, xdp ? kXdpRedirect : kTcRedirect, "out of an uplink");
          !e.empty())
        return e;
      // The uplink: the trace's target (TC), and the source MAC it gave.
      if (!p.eth || !p.ipv4 || !in_inner.ipv4) return "sent upstream without inner IPv4";
      const WorldUplink* up = nullptr;
      for (const auto& u : world_.uplinks)
        if (u.mac == p.eth->src) up = &u;
      if (const uint32_t target = TracedTarget(o); target != 0) {
        const WorldUplink* traced = world_.Uplink(target);
        if (traced != up) return "sent out of an uplink other than the one its source MAC names";
      }
      if (up == nullptr) return "sent upstream from a MAC no uplink has";
      if (up->tenant_id != seg->tenant_id)
        return absl::StrCat("tenant ", seg->tenant_id, "'s packet sent out of tenant ",
                            up->tenant_id, "'s uplink");
      if (p.ipv4->src != in_inner.ipv4->src || p.ipv4->dst != in_inner.ipv4->dst)
        return "sent upstream with other addresses";
      return "";
    }
    default:
      return absl::StrCat("reason ", o.reason, " is not one the underlay programs give");
  }
}

std::string Oracle::JudgeUplink(uint32_t ingress_ifindex, const Bytes& in, const Outcome& o) const {
  const WorldUplink* up = world_.Uplink(ingress_ifindex);
  if (up == nullptr) return "an interface that is no uplink forwarded a frame";
  const Parsed pin = Parse(in);
  const Parsed p = Parse(o.out);
  switch (o.reason) {
    case WEFT_PASS_HOST:
      if (std::string e = Expect(o.retval, kTcOk, "pass to the host"); !e.empty()) return e;
      return o.out == in ? "" : "a frame passed to the host was changed";
    case WEFT_ICMP_ERROR:
      if (std::string e = Expect(o.retval, kTcRedirect, "an error back upstream"); !e.empty())
        return e;
      if (!p.eth || !p.ipv4 || !pin.eth || !pin.ipv4 || p.eth->dst != pin.eth->src ||
          p.eth->src != up->mac || p.ipv4->src != up->address || p.ipv4->dst != pin.ipv4->src)
        return "an ICMP error not from the transit address back to the sender";
      return "";
    case WEFT_FROM_UPLINK: {
      if (std::string e = Expect(o.retval, kTcRedirect, "into the overlay"); !e.empty()) return e;
      if (std::string e = JudgeEncap(world_, p, up->tenant_id); !e.empty()) return e;
      const Parsed inner = p.Inner();
      const WorldSegment* seg = world_.Segment(p.vxlan->vni);
      if (!inner.eth || inner.eth->src != seg->gateway_mac)
        return "into the overlay from another MAC than the segment's gateway";
      if (!inner.ipv4 || !pin.ipv4 || inner.ipv4->src != pin.ipv4->src ||
          inner.ipv4->dst != pin.ipv4->dst)
        return "into the overlay with other addresses";
      return "";
    }
    default:
      return absl::StrCat("reason ", o.reason, " is not one the uplink program gives");
  }
}

}  // namespace weft::fuzz
