#include "bench/packet_fuzz_oracle.h"

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

// An ND answer (bpf/lib/nd.h) back to the asking VM `self`: a neighbor or
// router advertisement, well formed, from the gateway or an endpoint of its
// segment.
std::string JudgeNdAnswer(const World& w, const WorldSegment& seg, const WorldEndpoint& self,
                          const Parsed& p) {
  if (!p.eth || p.eth->dst != self.mac) return "ND answer not back to the asking VM";
  if (!p.ipv6 || !p.icmp || !p.icmp->checksum_ok || p.ipv6->hop_limit != 255)
    return "ND answer is not well-formed ICMPv6 with hop limit 255";
  if (p.icmp->type != 136 && p.icmp->type != 134) return "ND answer is no advertisement";
  if (p.eth->src != seg.gateway_mac && w.OnSegment(seg.vni, p.eth->src) == nullptr)
    return absl::StrCat("ND answer from ", FormatMac(p.eth->src), ", not on segment ", seg.name);
  return "";
}

// An ICMPv6 error (bpf/lib/icmp6.h) the gateway sent back to a VM. (The
// world knows no IPv6 addresses: that the error goes to the VM's own is
// tests/bpf/vm6_test.cc's.)
std::string JudgeIcmp6Error(const WorldSegment& seg, const WorldEndpoint& self, const Parsed& p) {
  if (p.eth->dst != self.mac || p.eth->src != seg.gateway_mac)
    return "ICMPv6 error not from the gateway back to the sending VM";
  if (!p.icmp || !p.icmp->checksum_ok || p.icmp->type >= 128)
    return "ICMPv6 error is not a well-formed ICMPv6 error";
  return "";
}

// A frame delivered to a local VM (its destination MAC; with `ifindex`, the
// endpoint bound to that interface) of tenant `tenant`; switched frames
// (source MAC `switched_src`) stay on segment `vni`, routed ones come from
// the gateway MAC of segment `vni`.
std::string JudgeLocalDelivery(const World& w, const Parsed& p, uint32_t ifindex, uint32_t tenant,
                               uint32_t vni, const Mac& switched_src) {
  if (!p.eth) return "delivered frame has no Ethernet header";
  const WorldSegment* seg = w.Segment(vni);
  const bool routed = seg != nullptr && p.eth->src == seg->gateway_mac;
  if (!routed && p.eth->src != switched_src)
    return absl::StrCat("delivered from MAC ", FormatMac(p.eth->src),
                        ": neither the sender's nor its gateway's");
  std::vector<const WorldEndpoint*> to = w.LocalWithMac(p.eth->dst);
  if (ifindex != 0) {
    const WorldEndpoint* bound = w.BoundTo(ifindex);
    if (bound == nullptr || bound->mac != p.eth->dst)
      return absl::StrCat("redirected to ifindex ", ifindex, ", not the endpoint of MAC ",
                          FormatMac(p.eth->dst));
    to = {bound};
  }
  for (const WorldEndpoint* ep : to)
    if (ep->tenant_id == tenant && (routed || ep->vni == vni)) return "";
  return absl::StrCat("delivered to MAC ", FormatMac(p.eth->dst), ", no local endpoint of tenant ",
                      tenant, routed ? "" : absl::StrCat(" on VNI ", vni));
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
  if (program == Program::kVm) return JudgeVm(ingress_ifindex, o);
  if (program == Program::kUplink) return JudgeUplink(ingress_ifindex, in, o);
  return JudgeUnderlay(xdp, in, o);
}

std::string Oracle::JudgeVm(uint32_t ingress_ifindex, const Outcome& o) const {
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
      return JudgeNdAnswer(world_, seg, *self, p);
    case WEFT_DELIVER_LOCAL:
      if (!p.ipv4 || p.ipv4->src != self->ip) return "delivered with another source IP";
      return JudgeLocalDelivery(world_, p, TracedTarget(o), self->tenant_id, self->vni, self->mac);
    case WEFT_ENCAP: {
      if (std::string e = JudgeEncap(world_, p, self->tenant_id); !e.empty()) return e;
      const Parsed inner = p.Inner();
      if (!inner.eth || !inner.ipv4 || inner.ipv4->src != self->ip)
        return "encapsulated with another inner source IP";
      const bool routed = inner.eth->src == seg.gateway_mac;
      if (!routed && (inner.eth->src != self->mac || p.vxlan->vni != self->vni))
        return "switched frame left its segment, or with another source MAC";
      if (!routed && world_.OnSegment(self->vni, inner.eth->dst) == nullptr)
        return "switched to a MAC no endpoint of the segment owns";
      return "";
    }
    case WEFT_ICMP_ERROR:
    case WEFT_REJECT:
      if (p.eth && p.ipv6) return JudgeIcmp6Error(seg, *self, p);
      if (!p.eth || !p.ipv4 || p.eth->dst != self->mac || p.ipv4->dst != self->ip)
        return "an answer not back to the sending VM";
      return "";
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
      if (!in_inner.eth) return "decapsulated a frame without inner Ethernet";
      return JudgeLocalDelivery(world_, p, TracedTarget(o), seg->tenant_id, seg->vni,
                                in_inner.eth->src);
    case WEFT_ARP_REPLY:
    case WEFT_REJECT: {
      if (std::string e = Expect(o.retval, back, "an answer back to the VTEP"); !e.empty())
        return e;
      if (!p.vxlan || !p.ipv4 || p.ipv4->dst != pin.ipv4->src || p.vxlan->vni != seg->vni)
        return "an answer not back to the sending VTEP on its VNI";
      if (o.reason == WEFT_ARP_REPLY) return JudgeArpAnswer(world_, *seg, p.Inner());
      const Parsed inner = p.Inner();
      if (!inner.ipv4 || !in_inner.ipv4 || inner.ipv4->dst != in_inner.ipv4->src)
        return "a reset not to the sender";
      return "";
    }
    case WEFT_ENCAP:
      if (std::string e = Expect(o.retval, back, "forwarded to another VTEP"); !e.empty()) return e;
      if (!world_.vteps.at(pin.ipv4->src)) return "a Weft VTEP's packet was forwarded again";
      return JudgeEncap(world_, p, seg->tenant_id);
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
