// The underlay programs (XDP, and TC ingress as the alternative hook) on
// ul0, table-driven: every row runs through both, which must agree on the
// reason and, hook for hook, on the verdict and output (docs/ARCHITECTURE.md §3
// "Underlay -> VM").
#include <functional>
#include <string>
#include <vector>

#include "common/packet/builder.h"
#include "common/packet/parser.h"
#include "tests/bpf/checks.h"
#include "tests/bpf/fixture.h"
#include "tests/bpf/underlay_table.h"

namespace weft::testing {
namespace {

// VXLAN from `vtep` (with its underlay MAC) to hv1.
Bytes FromVtep(uint32_t vtep, uint32_t vni, const Bytes& inner, uint8_t flags = 0x08,
               uint16_t sport = 51234) {
  VxlanSpec s;
  s.outer_dst = kUl0Mac;
  s.outer_src = VtepMac(vtep) == kZeroMac ? kStrangerMac : VtepMac(vtep);
  s.outer_src_ip = vtep;
  s.outer_dst_ip = kHv1Vtep;
  s.sport = sport;
  s.vni = vni;
  s.flags = flags;
  return VxlanFrame(s, inner);
}

// `frame` (outer Ethernet, IPv4 without options, UDP) with its UDP length
// field set to `len`, the UDP checksum cleared (0: none, as VXLAN senders do).
Bytes WithUdpLength(Bytes frame, uint16_t len) {
  frame[14 + 20 + 4] = len >> 8;
  frame[14 + 20 + 5] = len & 0xff;
  frame[14 + 20 + 6] = 0;
  frame[14 + 20 + 7] = 0;
  return frame;
}

Bytes InnerUdp(const Mac& smac, uint32_t sip, const Mac& dmac, uint32_t dip, uint8_t ttl = 64) {
  return UdpFrame(dmac, smac, sip, dip, 40000, 5001, 16, ttl);
}

constexpr uint8_t kIpv6DestOpts = 60, kIpv6Fragment = 44;

// An inner IPv6 frame with UDP, behind an 8-byte extension header
// `ext` (0: none) whose next header is UDP.
Bytes InnerUdp6(const Mac& smac, const Ipv6Address& sip, const Mac& dmac, const Ipv6Address& dip,
                uint8_t hop_limit = 64, uint8_t ext = 0) {
  Ipv6Spec ip;
  ip.src = sip;
  ip.dst = dip;
  ip.hop_limit = hop_limit;
  ip.next_header = ext ? ext : kProtoUdp;
  Bytes payload = Udp(40000, 5001, Bytes(16, 0xab), sip, dip);
  if (ext) payload.insert(payload.begin(), {kProtoUdp, 0, 0, 0, 0, 0, 0, 0});
  return Eth(dmac, smac, kEthIpv6, Ipv6(ip, payload));
}

// The input turned around to `vtep`: a neighbor advertisement from
// (`mac`, `target`) to (the asking VM's MAC, `to`), Router flag as `router`,
// with the target link-layer option when the solicitation had its source one.
Check InnerAdvert(uint32_t vtep, const Mac& mac, const Ipv6Address& target, const Ipv6Address& to,
                  bool router, bool with_option) {
  return [=](const Seen& s) {
    const Parsed in = Parse(s.in), out = Parse(s.out);
    ASSERT_TRUE(out.ipv4 && out.vxlan) << out.error << "\n" << HexDump(s.out);
    EXPECT_EQ(out.ipv4->dst, vtep);
    const Parsed a = Parse(out.inner), q = Parse(in.inner);
    ASSERT_TRUE(a.eth && a.ipv6 && a.icmp && q.eth) << a.error;
    EXPECT_EQ(a.eth->dst, q.eth->src);
    EXPECT_EQ(a.eth->src, mac);
    EXPECT_EQ(a.ipv6->src, target);
    EXPECT_EQ(a.ipv6->dst, to);
    EXPECT_EQ(a.ipv6->hop_limit, 255);
    EXPECT_EQ(a.icmp->type, 136);
    EXPECT_TRUE(a.icmp->checksum_ok);
    EXPECT_EQ(a.icmp->rest, 0x60000000u | (router ? 0x80000000u : 0));
    Bytes body(target.begin(), target.end());
    if (with_option) body = Concat(body, NdLinkLayerOption(2, mac));
    EXPECT_EQ(a.icmp->payload, body);
  };
}

Check Unchanged() { return ExpectUnchanged; }

// The output is exactly the inner frame of the input.
Check Decapsulated() {
  return [](const Seen& s) {
    Parsed in = Parse(s.in);
    EXPECT_EQ(s.out, in.inner) << "output is not the inner frame\nin:\n"
                               << HexDump(s.in) << "\nout:\n"
                               << HexDump(s.out);
  };
}

// The output is the inner frame, routed (MACs rewritten, TTL - 1).
Check DecapsulatedRouted(Mac src, Mac dst) {
  return [=](const Seen& s) {
    Parsed in = Parse(s.in);
    ExpectRouted(in.inner, s.out, src, dst);
  };
}

// The input re-addressed from hv1 to `vtep` on `vni`, its inner frame routed.
Check ForwardedTo(uint32_t vtep, uint32_t vni, Mac dst) {
  return [=](const Seen& s) {
    Parsed in = Parse(s.in), out = Parse(s.out);
    ASSERT_TRUE(out.ipv4 && out.udp && out.vxlan) << out.error << "\n" << HexDump(s.out);
    EXPECT_EQ(out.ipv4->src, kHv1Vtep);
    EXPECT_EQ(out.ipv4->dst, vtep);
    EXPECT_TRUE(out.ipv4->checksum_ok);
    EXPECT_EQ(out.udp->dport, 4789);
    EXPECT_EQ(out.vxlan->vni, vni);
    ExpectRouted(in.inner, out.inner, kBlueGwMac, dst);
  };
}

// One row per case reads better than one field per line.
// clang-format off
std::vector<UnderlayCase> UnderlayCases() {
  std::vector<UnderlayCase> c;
  auto add = [&](UnderlayCase u) { c.push_back(std::move(u)); };

  // --- the host's own traffic passes untouched -------------------------------------
  add({"ArpOnUnderlayPasses", [] { return ArpRequestFrame(kHv2Mac, kHv2Vtep, kHv1Vtep); },
       Verdict::kPass, {WEFT_PASS_HOST}, Unchanged()});
  add({"Ipv6OnUnderlayPasses",
       [] {
         Bytes v6(40 + 8, 0);
         v6[0] = 0x60;
         v6[5] = 8;
         v6[6] = 17;
         v6[7] = 64;
         return Eth(kUl0Mac, kHv2Mac, kEthIpv6, v6);
       },
       Verdict::kPass, {WEFT_PASS_HOST}, Unchanged()});
  add({"TcpToHostPasses",
       [] {
         Ipv4Spec ip;
         ip.src = kHv2Vtep;
         ip.dst = kHv1Vtep;
         ip.proto = kProtoTcp;
         return Ipv4Frame(kUl0Mac, kHv2Mac, ip, Tcp(40000, 22, kTcpSyn, 1, 0, {}, ip.src, ip.dst));
       },
       Verdict::kPass, {WEFT_PASS_HOST}, Unchanged()});
  add({"UdpDnsToHostPasses",
       [] { return UdpFrame(kUl0Mac, kHv2Mac, kHv2Vtep, kHv1Vtep, 40000, 53, 32); },
       Verdict::kPass, {WEFT_PASS_HOST}, Unchanged()});
  add({"PingToHostPasses",
       [] {
         Ipv4Spec ip;
         ip.src = kHv2Vtep;
         ip.dst = kHv1Vtep;
         ip.proto = kProtoIcmp;
         return Ipv4Frame(kUl0Mac, kHv2Mac, ip, IcmpEcho(8, 1, 1, Bytes(56, 0x11)));
       },
       Verdict::kPass, {WEFT_PASS_HOST}, Unchanged()});
  add({"UdpFromUnknownHostNotVxlanPasses",
       [] { return UdpFrame(kUl0Mac, kStrangerMac, kUnknownVtep, kHv1Vtep, 4789, 9999, 32); },
       Verdict::kPass, {WEFT_PASS_HOST}, Unchanged()});

  add({"TruncatedIpv4OnUnderlayPasses",
       [] {
         Bytes f = UdpFrame(kUl0Mac, kHv2Mac, kHv2Vtep, kHv1Vtep, 40000, 4789, 32);
         f.resize(14 + 12);
         return f;
       },
       Verdict::kPass, {WEFT_PASS_HOST}, Unchanged()});
  // VXLAN through this host to another address is not ours to terminate.
  add({"VxlanToOtherAddressPasses",
       [] {
         VxlanSpec s;
         s.outer_dst = kUl0Mac;
         s.outer_src = kHv2Mac;
         s.outer_src_ip = kHv2Vtep;
         s.outer_dst_ip = Ip("198.18.0.77");
         s.vni = kVniBlueA;
         return VxlanFrame(s, InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kVm1Mac, kVm1Ip));
       },
       Verdict::kPass, {WEFT_PASS_HOST}, Unchanged()});

  // --- VXLAN that is refused ---------------------------------------------------------
  const Bytes to_vm1 = InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kVm1Mac, kVm1Ip);
  add({"VxlanFromUnknownVtep", [=] { return FromVtep(kUnknownVtep, kVniBlueA, to_vm1); },
       Verdict::kDrop, {WEFT_DROP_UNKNOWN_VTEP}, nullptr});
  add({"VxlanWithoutVniFlag", [=] { return FromVtep(kHv2Vtep, kVniBlueA, to_vm1, 0x00); },
       Verdict::kDrop, {WEFT_DROP_BAD_VXLAN}, nullptr});
  add({"VxlanUnknownVni", [=] { return FromVtep(kHv2Vtep, 4242, to_vm1); }, Verdict::kDrop,
       {WEFT_DROP_UNKNOWN_VNI}, nullptr});
  add({"VxlanTruncatedHeader",
       [=] {
         // Outer headers complete, VXLAN header cut after 4 bytes.
         Ipv4Spec ip;
         ip.src = kHv2Vtep;
         ip.dst = kHv1Vtep;
         ip.proto = kProtoUdp;
         return Ipv4Frame(kUl0Mac, kHv2Mac, ip, Udp(51234, 4789, Bytes{0x08, 0, 0, 0}));
       },
       Verdict::kDrop, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"VxlanTruncatedInnerEthernet",
       [=] { return FromVtep(kHv2Vtep, kVniBlueA, Bytes(kVm1Mac.begin(), kVm1Mac.end())); },
       Verdict::kDrop, {WEFT_DROP_TRUNCATED}, nullptr});
  // A Linux bridge drops a frame from a group or zero source; so does decap,
  // ARP (which would be answered to that source) included.
  add({"VxlanInnerBroadcastSourceMac",
       [=] {
         return FromVtep(kHv2Vtep, kVniBlueA,
                         InnerUdp(kBroadcastMac, kBlueHv2AIp, kVm1Mac, kVm1Ip));
       },
       Verdict::kDrop, {WEFT_DROP_BAD_SOURCE_MAC}, nullptr});
  add({"VxlanInnerMulticastSourceMac",
       [=] {
         return FromVtep(kHv2Vtep, kVniBlueA,
                         InnerUdp(Mac{0x01, 0x00, 0x5e, 0, 0, 1}, kBlueHv2AIp, kVm1Mac, kVm1Ip));
       },
       Verdict::kDrop, {WEFT_DROP_BAD_SOURCE_MAC}, nullptr});
  add({"VxlanInnerZeroSourceMac",
       [=] {
         return FromVtep(kHv2Vtep, kVniBlueA, InnerUdp(kZeroMac, kBlueHv2AIp, kVm1Mac, kVm1Ip));
       },
       Verdict::kDrop, {WEFT_DROP_BAD_SOURCE_MAC}, nullptr});
  add({"VxlanInnerRoutedFromMulticastSourceMac",
       [=] {
         return FromVtep(kLx1Vtep, kVniBlueA,
                         InnerUdp(Mac{0x33, 0x33, 0, 0, 0, 1}, kBlueLx1Ip, kBlueGwMac, kVm2Ip));
       },
       Verdict::kDrop, {WEFT_DROP_BAD_SOURCE_MAC}, nullptr});
  add({"VxlanArpFromBroadcastSourceMac",
       [=] {
         return FromVtep(kLx1Vtep, kVniBlueA,
                         ArpRequestFrame(kBroadcastMac, kBlueLx1Ip, kVm1Ip));
       },
       Verdict::kDrop, {WEFT_DROP_BAD_SOURCE_MAC}, nullptr});
  // The three outer lengths (frame, IPv4 total length, UDP length) must agree:
  // what is stripped and delivered is exactly the datagram's payload.
  add({"VxlanUdpLengthShorterThanVxlanHeader",
       [=] { return WithUdpLength(FromVtep(kHv2Vtep, kVniBlueA, to_vm1), 8 + 4); },
       Verdict::kDrop, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"VxlanUdpLengthShorterThanDatagram",
       [=] { return WithUdpLength(FromVtep(kHv2Vtep, kVniBlueA, to_vm1), 8 + 8 + 14); },
       Verdict::kDrop, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"VxlanUdpLengthBeyondIpPacket",
       [=] {
         Bytes f = FromVtep(kHv2Vtep, kVniBlueA, to_vm1);
         return WithUdpLength(f, static_cast<uint16_t>(f.size() - 34 + 100));
       },
       Verdict::kDrop, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"VxlanTrailingBytesPastIpPacket",
       [=] {
         Bytes f = FromVtep(kHv2Vtep, kVniBlueA, to_vm1);
         f.resize(f.size() + 32, 0x5a);
         return f;
       },
       Verdict::kDrop, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"VxlanInnerVlan",
       [=] {
         Ipv4Spec ip;
         ip.src = kBlueHv2AIp;
         ip.dst = kVm1Ip;
         return FromVtep(kHv2Vtep, kVniBlueA,
                         EthVlan(kVm1Mac, kBlueHv2AMac, 10, kEthIpv4,
                                 Ipv4(ip, Udp(1, 2, Bytes(8)))));
       },
       Verdict::kDrop, {WEFT_DROP_INNER_VLAN}, nullptr});
  add({"VxlanOuterFirstFragment",
       [=] {
         VxlanSpec s;
         s.outer_dst = kUl0Mac;
         s.outer_src = kHv2Mac;
         s.outer_src_ip = kHv2Vtep;
         s.outer_dst_ip = kHv1Vtep;
         s.vni = kVniBlueA;
         s.mf = true;
         return VxlanFrame(s, to_vm1);
       },
       Verdict::kDrop, {WEFT_DROP_FRAGMENT}, nullptr});

  add({"VxlanOuterIpOptions",
       [=] {
         Ipv4Spec ip;
         ip.src = kHv2Vtep;
         ip.dst = kHv1Vtep;
         ip.proto = kProtoUdp;
         ip.options = {0x01, 0x01, 0x01, 0x00};
         return Ipv4Frame(kUl0Mac, kHv2Mac, ip, Udp(51234, 4789, Vxlan(kVniBlueA, to_vm1)));
       },
       Verdict::kDrop, {WEFT_DROP_IP_OPTIONS}, nullptr});
  // --- inner IPv6 ------------------------------------------------------------------
  add({"VxlanInnerIpv6SwitchedToLocalVm",
       [=] { return FromVtep(kHv2Vtep, kVniBlueA, InnerUdp6(kBlueHv2AMac, kBlueHv2AIp6, kVm1Mac, kVm1Ip6)); },
       Verdict::kRedirect, {WEFT_DECAP}, Decapsulated()});
  add({"VxlanInnerIpv6BehindDestinationOptions",
       [=] {
         return FromVtep(kHv2Vtep, kVniBlueA,
                         InnerUdp6(kBlueHv2AMac, kBlueHv2AIp6, kVm1Mac, kVm1Ip6, 64, kIpv6DestOpts));
       },
       Verdict::kRedirect, {WEFT_DECAP}, Decapsulated()});
  add({"VxlanInnerIpv6Fragment",
       [=] {
         return FromVtep(kHv2Vtep, kVniBlueA,
                         InnerUdp6(kBlueHv2AMac, kBlueHv2AIp6, kVm1Mac, kVm1Ip6, 64, kIpv6Fragment));
       },
       Verdict::kDrop, {WEFT_DROP_FRAGMENT}, nullptr});
  add({"VxlanInnerIpv6PayloadLengthPastTheFrame",
       [=] {
         Bytes inner = InnerUdp6(kBlueHv2AMac, kBlueHv2AIp6, kVm1Mac, kVm1Ip6);
         inner[14 + 5] += 8;
         return FromVtep(kHv2Vtep, kVniBlueA, inner);
       },
       Verdict::kDrop, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"VxlanInnerIpv6ToRemoteMac",
       [=] { return FromVtep(kHv2Vtep, kVniBlueA, InnerUdp6(kBlueLx1Mac, kBlueHv2AIp6, kBlueHv2AMac, kBlueHv2AIp6)); },
       Verdict::kDrop, {WEFT_DROP_NOT_LOCAL}, nullptr});
  add({"VxlanInnerIpv6ToUnknownMac",
       [=] { return FromVtep(kHv2Vtep, kVniBlueA, InnerUdp6(kBlueHv2AMac, kBlueHv2AIp6, kStrangerMac, kVm1Ip6)); },
       Verdict::kDrop, {WEFT_DROP_UNKNOWN_DST}, nullptr});
  add({"VxlanInnerIpv6Multicast",
       [=] {
         return FromVtep(kHv2Vtep, kVniBlueA,
                         InnerUdp6(kBlueHv2AMac, kBlueHv2AIp6, Mac{0x33, 0x33, 0, 0, 0, 1}, Ip6("ff02::1")));
       },
       Verdict::kDrop, {WEFT_DROP_BROADCAST}, nullptr});
  // A foreign VTEP's VM routes through the gateway MAC: routed here when
  // the destination is on this node.
  add({"VxlanInnerIpv6RoutedFromForeignVtep",
       [=] { return FromVtep(kLx1Vtep, kVniBlueA, InnerUdp6(kBlueLx1Mac, Ip6("2001:db8:1::30"), kBlueGwMac, kVm1Ip6)); },
       Verdict::kRedirect, {WEFT_DECAP}, [](const Seen& s) {
         Bytes want = Parse(s.in).inner;
         std::copy(kVm1Mac.begin(), kVm1Mac.end(), want.begin());
         std::copy(kBlueGwMac.begin(), kBlueGwMac.end(), want.begin() + 6);
         want[14 + 7] -= 1;
         EXPECT_EQ(s.out, want);
       }});
  add({"VxlanInnerIpv6RoutedHopLimit1",
       [=] { return FromVtep(kLx1Vtep, kVniBlueA, InnerUdp6(kBlueLx1Mac, Ip6("2001:db8:1::30"), kBlueGwMac, kVm1Ip6, 1)); },
       Verdict::kDrop, {WEFT_DROP_TTL_EXPIRED}, nullptr});
  // ... and re-addressed to the destination's host, as IPv4 is.
  add({"VxlanInnerIpv6RoutedFromForeignVtepToAnotherHostForwarded",
       [=] { return FromVtep(kLx1Vtep, kVniBlueA, InnerUdp6(kBlueLx1Mac, Ip6("2001:db8:1::30"), kBlueGwMac, kBlueHv2AIp6)); },
       Verdict::kTx, {WEFT_ENCAP}, [](const Seen& s) {
         const Parsed in = Parse(s.in), out = Parse(s.out);
         ASSERT_TRUE(out.ipv4 && out.udp && out.vxlan) << out.error << "\n" << HexDump(s.out);
         EXPECT_EQ(out.ipv4->src, kHv1Vtep);
         EXPECT_EQ(out.ipv4->dst, kHv2Vtep);
         EXPECT_TRUE(out.ipv4->checksum_ok);
         EXPECT_EQ(out.vxlan->vni, kVniBlueA);
         Bytes want = in.inner;
         std::copy(kBlueHv2AMac.begin(), kBlueHv2AMac.end(), want.begin());
         std::copy(kBlueGwMac.begin(), kBlueGwMac.end(), want.begin() + 6);
         want[14 + 7] -= 1;
         EXPECT_EQ(out.inner, want);
       }});
  add({"VxlanInnerIpv6RoutedFromWeftVtepToAnotherHostNotLocal",
       [=] { return FromVtep(kHv2Vtep, kVniBlueA, InnerUdp6(kBlueHv2AMac, kBlueHv2AIp6, kBlueGwMac, Ip6("2001:db8:9::1"))); },
       Verdict::kDrop, {WEFT_DROP_NOT_LOCAL}, nullptr});
  add({"VxlanInnerIpv6RoutedWithoutRoute",
       [=] { return FromVtep(kLx1Vtep, kVniBlueA, InnerUdp6(kBlueLx1Mac, Ip6("2001:db8:1::30"), kBlueGwMac, Ip6("2001:db8:77::1"))); },
       Verdict::kDrop, {WEFT_DROP_NO_ROUTE}, nullptr});
  // A foreign VTEP's VM resolves the gateway and this node's endpoints:
  // answered through the tunnel, as ARP is.
  const Ipv6Address lx1_vm6 = Ip6("2001:db8:1::30");
  add({"VxlanInnerNsForGatewayAnswered",
       [=] { return FromVtep(kLx1Vtep, kVniBlueA, NeighborSolicitationFrame(kBlueLx1Mac, lx1_vm6, kGwA6, NdLinkLayerOption(1, kBlueLx1Mac))); },
       Verdict::kTx, {WEFT_ND_REPLY}, InnerAdvert(kLx1Vtep, kBlueGwMac, kGwA6, lx1_vm6, true, true)});
  add({"VxlanInnerNsForLocalEndpointAnswered",
       [=] { return FromVtep(kLx1Vtep, kVniBlueA, NeighborSolicitationFrame(kBlueLx1Mac, lx1_vm6, kVm1Ip6, NdLinkLayerOption(1, kBlueLx1Mac))); },
       Verdict::kTx, {WEFT_ND_REPLY}, InnerAdvert(kLx1Vtep, kVm1Mac, kVm1Ip6, lx1_vm6, false, true)});
  add({"VxlanInnerUnicastProbeWithoutOptionAnswered",
       [=] {
         Bytes f = NeighborSolicitationFrame(kBlueLx1Mac, lx1_vm6, kVm1Ip6, {});
         std::copy(kVm1Mac.begin(), kVm1Mac.end(), f.begin());  // unicast, to vm1's MAC
         return FromVtep(kLx1Vtep, kVniBlueA, f);
       },
       Verdict::kTx, {WEFT_ND_REPLY}, InnerAdvert(kLx1Vtep, kVm1Mac, kVm1Ip6, lx1_vm6, false, false)});
  // Other hosts' endpoints answer at their own hosts.
  add({"VxlanInnerNsForRemoteEndpointUnanswered",
       [=] { return FromVtep(kLx1Vtep, kVniBlueA, NeighborSolicitationFrame(kBlueLx1Mac, lx1_vm6, kBlueHv2AIp6, NdLinkLayerOption(1, kBlueLx1Mac))); },
       Verdict::kDrop, {WEFT_DROP_ND_UNANSWERED}, nullptr});
  add({"VxlanInnerNsOfRedForBlueEndpointUnanswered",
       [=] { return FromVtep(kLx1Vtep, kVniRedA, NeighborSolicitationFrame(kBlueLx1Mac, lx1_vm6, kVm4Ip6, NdLinkLayerOption(1, kBlueLx1Mac))); },
       Verdict::kDrop, {WEFT_DROP_ND_UNANSWERED}, nullptr});
  add({"VxlanInnerDuplicateAddressProbeNotAnswered",
       [=] { return FromVtep(kLx1Vtep, kVniBlueA, NeighborSolicitationFrame(kBlueLx1Mac, Ipv6Address{}, kVm1Ip6, {})); },
       Verdict::kDrop, {WEFT_DROP_ND_UNANSWERED}, nullptr});
  add({"VxlanInnerNsBadChecksum",
       [=] {
         Bytes f = NeighborSolicitationFrame(kBlueLx1Mac, lx1_vm6, kGwA6, NdLinkLayerOption(1, kBlueLx1Mac));
         f[14 + 40 + 2] ^= 0xff;
         return FromVtep(kLx1Vtep, kVniBlueA, f);
       },
       Verdict::kDrop, {WEFT_DROP_ND_INVALID}, nullptr});
  add({"VxlanInnerNsRoutedHopLimit",
       [=] {
         Bytes f = NeighborSolicitationFrame(kBlueLx1Mac, lx1_vm6, kGwA6, NdLinkLayerOption(1, kBlueLx1Mac));
         f[14 + 7] = 64;  // (the checksum does not cover the hop limit)
         return FromVtep(kLx1Vtep, kVniBlueA, f);
       },
       Verdict::kDrop, {WEFT_DROP_ND_INVALID}, nullptr});
  add({"VxlanInnerIpv6RedIsolated",
       [=] { return FromVtep(kHv2Vtep, kVniRedA, InnerUdp6(kBlueHv2AMac, kBlueHv2AIp6, kVm1Mac, kVm1Ip6)); },
       Verdict::kDrop, {WEFT_DROP_UNKNOWN_DST}, nullptr});
  add({"VxlanInnerBroadcastIpv4",
       [=] {
         return FromVtep(kHv2Vtep, kVniBlueA,
                         InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kBroadcastMac, Ip("10.0.1.255")));
       },
       Verdict::kDrop, {WEFT_DROP_BROADCAST}, nullptr});
  // A Linux host floods its VM's IGMP report (with Router Alert) to us.
  add({"VxlanInnerIgmpWithRouterAlert",
       [=] {
         Ipv4Spec ip;
         ip.src = kBlueLx1Ip;
         ip.dst = Ip("224.0.0.22");
         ip.proto = 2;
         ip.ttl = 1;
         ip.options = {0x94, 0x04, 0x00, 0x00};
         return FromVtep(kLx1Vtep, kVniBlueA,
                         Ipv4Frame(Mac{0x01, 0x00, 0x5e, 0x00, 0x00, 0x16}, kBlueLx1Mac, ip,
                                   Bytes{0x22, 0, 0, 0, 0, 0, 0, 0}));
       },
       Verdict::kDrop, {WEFT_DROP_BROADCAST}, nullptr});
  add({"VxlanInnerTruncatedIpv4",
       [=] {
         Bytes inner = InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kVm1Mac, kVm1Ip);
         inner.resize(14 + 12);
         return FromVtep(kHv2Vtep, kVniBlueA, inner);
       },
       Verdict::kDrop, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"VxlanInnerIpv4TotalLengthBeyondFrame",
       [=] {
         Ipv4Spec ip;
         ip.src = kBlueHv2AIp;
         ip.dst = kVm1Ip;
         ip.total_length = 300;
         return FromVtep(kHv2Vtep, kVniBlueA,
                         Ipv4Frame(kVm1Mac, kBlueHv2AMac, ip, Udp(1, 2, Bytes(8))));
       },
       Verdict::kDrop, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"VxlanRoutedInnerTtl1",
       [=] {
         return FromVtep(kLx1Vtep, kVniBlueA,
                         InnerUdp(kBlueLx1Mac, kBlueLx1Ip, kBlueGwMac, kVm2Ip, 1));
       },
       Verdict::kDrop, {WEFT_DROP_TTL_EXPIRED, WEFT_ICMP_ERROR}, nullptr});
  // A foreign VTEP sends everything for the gateway to one Weft host, which
  // forwards what lives elsewhere: re-addressed to hv2, on the destination
  // segment's VNI, routed inside.
  add({"ForeignVtepRoutedToRemoteEndpointForwarded",
       [=] {
         return FromVtep(kLx1Vtep, kVniBlueA,
                         InnerUdp(kBlueLx1Mac, kBlueLx1Ip, kBlueGwMac, kBlueHv2BIp));
       },
       Verdict::kTx, {WEFT_ENCAP}, ForwardedTo(kHv2Vtep, kVniBlueB, kBlueHv2BMac)});
  // Weft VTEPs route at the sender: never a second hop through hv1.
  add({"WeftVtepRoutedToRemoteEndpointNotLocal",
       [=] {
         return FromVtep(kHv2Vtep, kVniBlueA,
                         InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kBlueGwMac, kBlueHv2BIp));
       },
       Verdict::kDrop, {WEFT_DROP_NOT_LOCAL}, nullptr});

  // --- tenant isolation on decapsulation ------------------------------------------
  // vm3 is red's; on blue's VNI its MAC means nothing.
  add({"BlueVniToRedVmMacNeverDelivered",
       [=] {
         return FromVtep(kHv2Vtep, kVniBlueA,
                         InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kVm3Mac, kVm3Ip));
       },
       Verdict::kDrop, {WEFT_DROP_UNKNOWN_DST, WEFT_DROP_NOT_LOCAL}, nullptr});
  add({"BlueVniToOtherSegmentsMac",
       [=] {
         return FromVtep(kHv2Vtep, kVniBlueA,
                         InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kVm2Mac, kVm2Ip));
       },
       Verdict::kDrop, {WEFT_DROP_UNKNOWN_DST, WEFT_DROP_NOT_LOCAL}, nullptr});
  add({"VxlanToRemoteEndpointNotLocal",
       [=] {
         return FromVtep(kLx1Vtep, kVniBlueA,
                         InnerUdp(kBlueLx1Mac, kBlueLx1Ip, kBlueHv2AMac, kBlueHv2AIp));
       },
       Verdict::kDrop, {WEFT_DROP_NOT_LOCAL}, nullptr});
  add({"VxlanToUnknownInnerMac",
       [=] {
         return FromVtep(kHv2Vtep, kVniBlueA,
                         InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kStrangerMac, kVm1Ip));
       },
       Verdict::kDrop, {WEFT_DROP_UNKNOWN_DST}, nullptr});

  // --- delivered -------------------------------------------------------------------
  add({"VxlanBlueToVm1", [=] { return FromVtep(kHv2Vtep, kVniBlueA, to_vm1); },
       Verdict::kRedirect, {WEFT_DECAP}, Decapsulated()});
  add({"VxlanBlueFromForeignVtepToVm4",
       [=] {
         return FromVtep(kLx1Vtep, kVniBlueA, InnerUdp(kBlueLx1Mac, kBlueLx1Ip, kVm4Mac, kVm4Ip));
       },
       Verdict::kRedirect, {WEFT_DECAP}, Decapsulated()});
  add({"VxlanRedToVm3",
       [=] {
         return FromVtep(kHv2Vtep, kVniRedA,
                         InnerUdp(Mac{0x02, 0x02, 0, 0, 0x01, 0x0b}, Ip("10.0.1.11"), kVm3Mac,
                                  kVm3Ip));
       },
       Verdict::kRedirect, {WEFT_DECAP}, Decapsulated()});
  add({"VxlanRoutedBySenderToVm2",
       [=] {
         // hv2 routed already: inner src is the gateway MAC, on vm2's VNI.
         return FromVtep(kHv2Vtep, kVniBlueB,
                         InnerUdp(kBlueGwMac, kBlueHv2AIp, kVm2Mac, kVm2Ip, 63));
       },
       Verdict::kRedirect, {WEFT_DECAP}, Decapsulated()});
  // A foreign VTEP's VM reaches another segment through our gateway.
  add({"VxlanFromForeignToGatewayRoutedToVm2",
       [=] {
         return FromVtep(kLx1Vtep, kVniBlueA,
                         InnerUdp(kBlueLx1Mac, kBlueLx1Ip, kBlueGwMac, kVm2Ip));
       },
       Verdict::kRedirect, {WEFT_DECAP}, DecapsulatedRouted(kBlueGwMac, kVm2Mac)});

  // --- ARP over VXLAN from a foreign VTEP, answered back through the tunnel ------
  add({"VxlanArpFromForeignForLocalVmAnswered",
       [=] { return FromVtep(kLx1Vtep, kVniBlueA,
                             ArpRequestFrame(kBlueLx1Mac, kBlueLx1Ip, kVm1Ip)); },
       Verdict::kTx, {WEFT_ARP_REPLY}, [](const Seen& s) {
         Parsed in = Parse(s.in);
         const Parsed& p = s.p;
         ASSERT_TRUE(p.eth && p.ipv4 && p.udp && p.vxlan) << HexDump(s.out);
         EXPECT_EQ(FormatMac(p.eth->dst), FormatMac(kLx1Mac)) << "outer MACs swapped";
         EXPECT_EQ(FormatMac(p.eth->src), FormatMac(kUl0Mac)) << "outer MACs swapped";
         EXPECT_EQ(FormatIpv4(p.ipv4->src), FormatIpv4(kHv1Vtep)) << "outer IPs swapped";
         EXPECT_EQ(FormatIpv4(p.ipv4->dst), FormatIpv4(kLx1Vtep)) << "outer IPs swapped";
         EXPECT_TRUE(p.ipv4->checksum_ok);
         EXPECT_GT(p.ipv4->ttl, 1);
         EXPECT_EQ(p.ipv4->total_length, s.out.size() - 14);
         EXPECT_EQ(p.udp->dport, 4789);
         EXPECT_EQ(p.udp->length, s.out.size() - 34);
         // A non-zero UDP checksum would be stale after the rewrite.
         EXPECT_EQ(p.udp->checksum, 0) << "UDP checksum must be 0 or recomputed";
         EXPECT_EQ(p.vxlan->flags, 0x08);
         EXPECT_EQ(p.vxlan->vni, kVniBlueA);
         ExpectArpReply(p.Inner(), kVm1Mac, kVm1Ip, kBlueLx1Mac, kBlueLx1Ip);
         (void)in;
       }});
  // 10.0.1.10 is vm1 on blue and vm3 on red: the VNI decides who answers.
  add({"VxlanArpOnRedVniAnsweredByRedVm",
       [=] {
         const Mac red_peer = {0x02, 0x02, 0, 0, 0x01, 0x0b};
         return FromVtep(kHv2Vtep, kVniRedA, ArpRequestFrame(red_peer, Ip("10.0.1.11"), kVm3Ip));
       },
       Verdict::kTx, {WEFT_ARP_REPLY}, [](const Seen& s) {
         ASSERT_TRUE(s.p.vxlan.has_value()) << HexDump(s.out);
         EXPECT_EQ(s.p.vxlan->vni, kVniRedA);
         ExpectArpReply(s.p.Inner(), kVm3Mac, kVm3Ip, Mac{0x02, 0x02, 0, 0, 0x01, 0x0b},
                        Ip("10.0.1.11"));
       }});
  add({"VxlanArpForUnknownIpUnanswered",
       [=] {
         return FromVtep(kLx1Vtep, kVniBlueA,
                         ArpRequestFrame(kBlueLx1Mac, kBlueLx1Ip, Ip("10.0.1.77")));
       },
       Verdict::kDrop, {WEFT_DROP_ARP_UNANSWERED}, nullptr});
  // Requests over VXLAN are flooded to every VTEP: only the endpoint's own
  // host answers, so hv1 stays silent about hv2's endpoint.
  add({"VxlanArpForRemoteEndpointLeftToItsHost",
       [=] {
         return FromVtep(kLx1Vtep, kVniBlueA,
                         ArpRequestFrame(kBlueLx1Mac, kBlueLx1Ip, kBlueHv2AIp));
       },
       Verdict::kDrop, {WEFT_DROP_ARP_UNANSWERED}, nullptr});
  return c;
}
// clang-format on

class UnderlayProgramTest : public UnderlayTableTest {};

TEST_P(UnderlayProgramTest, Verdict) { RunCase(); }

INSTANTIATE_TEST_SUITE_P(Underlay, UnderlayProgramTest,
                         ::testing::ValuesIn(OnBothHooks(UnderlayCases())), UnderlayParamName);

// A non-first outer fragment carries no UDP header: the programs cannot know
// it is VXLAN. Reported, and it must not be delivered to a VM.
class UnderlayFragmentTest : public BpfTest {};

TEST_F(UnderlayFragmentTest, NonFirstOuterFragmentReported) {
  Ipv4Spec ip;
  ip.src = kHv2Vtep;
  ip.dst = kHv1Vtep;
  ip.proto = kProtoUdp;
  ip.frag_offset = 185;
  const Bytes in = Ipv4Frame(kUl0Mac, kHv2Mac, ip, Bytes(64, 0x33));
  RunResult x = RunXdp(dp().UnderlayXdpProgramFd(), kUnderlay, in);
  RunResult t = RunTc(dp().UnderlayTcProgramFd(), kUnderlay, in);
  ASSERT_TRUE(x.status.ok()) << x.status;
  ASSERT_TRUE(t.status.ok()) << t.status;
  std::printf("non-first outer fragment: XDP %s %s, TC %s %s\n", XdpRetName(x.retval).c_str(),
              x.CountedString().c_str(), TcRetName(t.retval).c_str(), t.CountedString().c_str());
  EXPECT_TRUE(x.Reason() == WEFT_PASS_HOST || x.Reason() == WEFT_DROP_FRAGMENT)
      << x.CountedString();
  EXPECT_EQ(x.Reason(), t.Reason()) << "hooks disagree";
  EXPECT_NE(x.retval, kXdpRedirect);
  EXPECT_NE(t.retval, kTcRedirect);
}

}  // namespace
}  // namespace weft::testing
