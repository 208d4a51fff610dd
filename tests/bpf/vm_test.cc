// The VM program (TC on the host side of a VM's interface), table-driven:
// each row is a packet a VM sends, the verdict, the reason counted and what
// must come out (docs/ARCHITECTURE.md §3 "VM -> anything").
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/packet/builder.h"
#include "common/packet/parser.h"
#include "tests/bpf/checks.h"
#include "tests/bpf/fixture.h"
#include "tests/bpf/vm_table.h"

namespace weft::testing {
namespace {

// An Ethernet/IPv4/UDP frame.
Bytes U(const Mac& smac, uint32_t sip, const Mac& dmac, uint32_t dip, uint8_t ttl = 64,
        uint16_t sport = 40000) {
  return UdpFrame(dmac, smac, sip, dip, sport, 5001, 16, ttl);
}

// An Ethernet/IPv4 frame with a custom header (flags, options, ...) and UDP.
Bytes UWith(const Mac& smac, const Mac& dmac, Ipv4Spec ip) {
  ip.proto = kProtoUdp;
  Bytes payload(16, 0xab);
  return Ipv4Frame(dmac, smac, ip, Udp(40000, 5001, payload, ip.src, ip.dst));
}

Ipv4Spec Hdr(uint32_t src, uint32_t dst) {
  Ipv4Spec s;
  s.src = src;
  s.dst = dst;
  return s;
}

Bytes Ping(const Mac& smac, uint32_t sip, const Mac& dmac, uint32_t dip) {
  Ipv4Spec ip = Hdr(sip, dip);
  ip.proto = kProtoIcmp;
  return Ipv4Frame(dmac, smac, ip, IcmpEcho(8, 0x4242, 1, Bytes(32, 0x5a)));
}

Bytes Syn(const Mac& smac, uint32_t sip, const Mac& dmac, uint32_t dip) {
  Ipv4Spec ip = Hdr(sip, dip);
  ip.proto = kProtoTcp;
  ip.df = true;
  return Ipv4Frame(dmac, smac, ip, Tcp(43210, 443, kTcpSyn, 1000, 0, {}, sip, dip));
}

Check Unchanged() { return ExpectUnchanged; }

Check ArpAnswer(Mac mac, uint32_t ip, Mac to_mac, uint32_t to_ip) {
  return [=](const Seen& s) { ExpectArpReply(s.p, mac, ip, to_mac, to_ip); };
}

// Encapsulated to `vtep` on `vni`, inner frame byte-identical to the input.
Check EncapL2(uint32_t vtep, uint32_t vni) {
  return [=](const Seen& s) {
    Parsed inner = ExpectVxlanFromHv1(s, vtep, vni);
    EXPECT_EQ(s.p.inner, s.in) << "inner frame differs from what the VM sent";
  };
}

// Encapsulated to `vtep` on `vni`, inner frame routed (src = gateway MAC).
Check EncapRouted(uint32_t vtep, uint32_t vni, Mac gw_mac, Mac dst_mac) {
  return [=](const Seen& s) {
    ExpectVxlanFromHv1(s, vtep, vni);
    ExpectRouted(s.in, s.p.inner, gw_mac, dst_mac);
  };
}

Check Routed(Mac src, Mac dst) {
  return [=](const Seen& s) { ExpectRouted(s.in, s.out, src, dst); };
}

Check IcmpBack(uint8_t type, uint8_t code, uint32_t rest, uint32_t from_ip, Mac from_mac) {
  return
      [=](const Seen& s) { ExpectIcmpErrorBack(s.in, s.p, type, code, rest, from_ip, from_mac); };
}

// One row per case reads better than one field per line.
// clang-format off
std::vector<VmCase> VmCases() {
  const uint32_t kUnknownIp = Ip("10.0.1.99");
  std::vector<VmCase> c;
  auto add = [&](VmCase v) { c.push_back(std::move(v)); };

  // --- ARP, answered in place ---------------------------------------------------
  add({"ArpForBlueGateway", "vm1", [=] { return ArpRequestFrame(kVm1Mac, kVm1Ip, kGwA); },
       kTcRedirect, {WEFT_ARP_REPLY}, ArpAnswer(kBlueGwMac, kGwA, kVm1Mac, kVm1Ip)});
  add({"ArpForBlueGatewayOfSecondSegment", "vm2",
       [=] { return ArpRequestFrame(kVm2Mac, kVm2Ip, kGwB); }, kTcRedirect, {WEFT_ARP_REPLY},
       ArpAnswer(kBlueGwMac, kGwB, kVm2Mac, kVm2Ip)});
  add({"ArpForRedGatewayGetsRedMac", "vm3", [=] { return ArpRequestFrame(kVm3Mac, kVm3Ip, kGwA); },
       kTcRedirect, {WEFT_ARP_REPLY}, ArpAnswer(kRedGwMac, kGwA, kVm3Mac, kVm3Ip)});
  add({"ArpUnicastRefreshForGateway", "vm1",
       [=] {
         return Eth(kBlueGwMac, kVm1Mac, kEthArp,
                    Arp(kArpRequest, kVm1Mac, kVm1Ip, kBlueGwMac, kGwA));
       },
       kTcRedirect, {WEFT_ARP_REPLY}, ArpAnswer(kBlueGwMac, kGwA, kVm1Mac, kVm1Ip)});
  add({"ArpForRemoteEndpoint", "vm1",
       [=] { return ArpRequestFrame(kVm1Mac, kVm1Ip, kBlueHv2AIp); }, kTcRedirect,
       {WEFT_ARP_REPLY}, ArpAnswer(kBlueHv2AMac, kBlueHv2AIp, kVm1Mac, kVm1Ip)});
  add({"ArpForLocalEndpoint", "vm1", [=] { return ArpRequestFrame(kVm1Mac, kVm1Ip, kVm4Ip); },
       kTcRedirect, {WEFT_ARP_REPLY}, ArpAnswer(kVm4Mac, kVm4Ip, kVm1Mac, kVm1Ip)});
  add({"ArpForForeignNodeEndpoint", "vm1",
       [=] { return ArpRequestFrame(kVm1Mac, kVm1Ip, kBlueLx1Ip); }, kTcRedirect,
       {WEFT_ARP_REPLY}, ArpAnswer(kBlueLx1Mac, kBlueLx1Ip, kVm1Mac, kVm1Ip)});
  add({"ArpForUnknownIpUnanswered", "vm1",
       [=] { return ArpRequestFrame(kVm1Mac, kVm1Ip, kUnknownIp); }, kTcShot,
       {WEFT_DROP_ARP_UNANSWERED}, nullptr});
  add({"ArpForOtherSegmentEndpointUnanswered", "vm1",
       [=] { return ArpRequestFrame(kVm1Mac, kVm1Ip, kVm2Ip); }, kTcShot,
       {WEFT_DROP_ARP_UNANSWERED}, nullptr});
  add({"ArpFromRedForBlueEndpointUnanswered", "vm3",
       [=] { return ArpRequestFrame(kVm3Mac, kVm3Ip, kBlueHv2AIp); }, kTcShot,
       {WEFT_DROP_ARP_UNANSWERED}, nullptr});

  // --- anti-spoofing --------------------------------------------------------------
  add({"SpoofedSourceMac", "vm1", [=] { return U(kStrangerMac, kVm1Ip, kVm4Mac, kVm4Ip); },
       kTcShot, {WEFT_DROP_SPOOFED}, nullptr});
  // A group or zero source MAC is never an endpoint's (the model refuses
  // them), so anti-spoofing refuses it before anything else looks at it.
  add({"BroadcastSourceMacSpoofed", "vm1",
       [=] { return U(kBroadcastMac, kVm1Ip, kVm4Mac, kVm4Ip); },
       kTcShot, {WEFT_DROP_SPOOFED}, nullptr});
  add({"MulticastSourceMacSpoofed", "vm1",
       [=] { return U(Mac{0x01, 0x00, 0x5e, 0, 0, 1}, kVm1Ip, kVm4Mac, kVm4Ip); },
       kTcShot, {WEFT_DROP_SPOOFED}, nullptr});
  add({"ZeroSourceMacSpoofed", "vm1", [=] { return U(kZeroMac, kVm1Ip, kVm4Mac, kVm4Ip); },
       kTcShot, {WEFT_DROP_SPOOFED}, nullptr});
  add({"SpoofedSourceIp", "vm1", [=] { return U(kVm1Mac, kUnknownIp, kVm4Mac, kVm4Ip); }, kTcShot,
       {WEFT_DROP_SPOOFED}, nullptr});
  add({"SpoofedAsOtherLocalVm", "vm1",
       [=] { return U(kVm4Mac, kVm4Ip, kBlueHv2AMac, kBlueHv2AIp); },
       kTcShot, {WEFT_DROP_SPOOFED}, nullptr});
  add({"SpoofedAsOtherTenantSameIp", "vm3",
       [=] { return U(kVm1Mac, kVm1Ip, kBlueHv2AMac, kBlueHv2AIp); }, kTcShot,
       {WEFT_DROP_SPOOFED}, nullptr});
  add({"SpoofedArpSenderIp", "vm1", [=] { return ArpRequestFrame(kVm1Mac, kUnknownIp, kGwA); },
       kTcShot, {WEFT_DROP_SPOOFED}, nullptr});
  add({"SpoofedArpSenderMac", "vm1",
       [=] {
         return Eth(kBroadcastMac, kVm1Mac, kEthArp,
                    Arp(kArpRequest, kStrangerMac, kVm1Ip, kZeroMac, kGwA));
       },
       kTcShot, {WEFT_DROP_SPOOFED}, nullptr});
  add({"UnboundInterfaceIp", "vm9", [=] { return U(kVm1Mac, kVm1Ip, kVm4Mac, kVm4Ip); }, kTcShot,
       {WEFT_DROP_NOT_BOUND}, nullptr});
  add({"UnboundInterfaceArp", "vm9", [=] { return ArpRequestFrame(kVm1Mac, kVm1Ip, kGwA); },
       kTcShot, {WEFT_DROP_NOT_BOUND}, nullptr});

  // --- switching within a segment ------------------------------------------------
  add({"SameSegmentLocal", "vm1", [=] { return U(kVm1Mac, kVm1Ip, kVm4Mac, kVm4Ip); },
       kTcRedirect, {WEFT_DELIVER_LOCAL}, Unchanged()});
  add({"SameSegmentLocalTtl1NotTouched", "vm1",
       [=] { return U(kVm1Mac, kVm1Ip, kVm4Mac, kVm4Ip, 1); }, kTcRedirect,
       {WEFT_DELIVER_LOCAL}, Unchanged()});
  add({"SameSegmentRemoteUdp", "vm1",
       [=] { return U(kVm1Mac, kVm1Ip, kBlueHv2AMac, kBlueHv2AIp); }, kTcRedirect,
       {WEFT_ENCAP}, EncapL2(kHv2Vtep, kVniBlueA)});
  add({"SameSegmentRemoteTcpSyn", "vm1",
       [=] { return Syn(kVm1Mac, kVm1Ip, kBlueHv2AMac, kBlueHv2AIp); }, kTcRedirect,
       {WEFT_ENCAP}, EncapL2(kHv2Vtep, kVniBlueA)});
  add({"SameSegmentForeignVtep", "vm1",
       [=] { return Ping(kVm1Mac, kVm1Ip, kBlueLx1Mac, kBlueLx1Ip); }, kTcRedirect,
       {WEFT_ENCAP}, EncapL2(kLx1Vtep, kVniBlueA)});
  add({"L2ToOtherTenantsLocalMacDropped", "vm3",
       [=] { return U(kVm3Mac, kVm3Ip, kVm1Mac, Ip("10.0.1.12")); }, kTcShot,
       {WEFT_DROP_UNKNOWN_DST}, nullptr});
  add({"L2ToOtherSegmentsMacDropped", "vm1", [=] { return U(kVm1Mac, kVm1Ip, kVm2Mac, kVm2Ip); },
       kTcShot, {WEFT_DROP_UNKNOWN_DST}, nullptr});
  add({"UnknownDestinationMac", "vm1",
       [=] { return U(kVm1Mac, kVm1Ip, kStrangerMac, kVm4Ip); }, kTcShot,
       {WEFT_DROP_UNKNOWN_DST}, nullptr});
  add({"OtherTenantsGatewayMac", "vm1", [=] { return U(kVm1Mac, kVm1Ip, kRedGwMac, kVm2Ip); },
       kTcShot, {WEFT_DROP_UNKNOWN_DST}, nullptr});
  add({"BroadcastUdp", "vm1",
       [=] { return U(kVm1Mac, kVm1Ip, kBroadcastMac, Ip("255.255.255.255")); }, kTcShot,
       {WEFT_DROP_BROADCAST}, nullptr});
  add({"MulticastUdp", "vm1",
       [=] {
         return U(kVm1Mac, kVm1Ip, Mac{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}, Ip("224.0.0.251"));
       },
       kTcShot, {WEFT_DROP_BROADCAST}, nullptr});
  // An IGMPv3 report as a VM's kernel sends it, with Router Alert: group
  // traffic, not an options attack.
  add({"IgmpReportWithRouterAlert", "vm1",
       [=] {
         Ipv4Spec ip = Hdr(kVm1Ip, Ip("224.0.0.22"));
         ip.proto = 2;
         ip.ttl = 1;
         ip.options = {0x94, 0x04, 0x00, 0x00};
         return Ipv4Frame(Mac{0x01, 0x00, 0x5e, 0x00, 0x00, 0x16}, kVm1Mac, ip,
                          Bytes{0x22, 0, 0, 0, 0, 0, 0, 0});
       },
       kTcShot, {WEFT_DROP_BROADCAST}, nullptr});

  // --- routing through the distributed gateway ------------------------------------
  add({"RoutedToLocalOtherSegment", "vm1", [=] { return U(kVm1Mac, kVm1Ip, kBlueGwMac, kVm2Ip); },
       kTcRedirect, {WEFT_DELIVER_LOCAL}, Routed(kBlueGwMac, kVm2Mac)});
  add({"RoutedPingToLocalOtherSegment", "vm1",
       [=] { return Ping(kVm1Mac, kVm1Ip, kBlueGwMac, kVm2Ip); }, kTcRedirect,
       {WEFT_DELIVER_LOCAL}, Routed(kBlueGwMac, kVm2Mac)});
  add({"RoutedToLocalSameSegmentViaGateway", "vm1",
       [=] { return U(kVm1Mac, kVm1Ip, kBlueGwMac, kVm4Ip); }, kTcRedirect,
       {WEFT_DELIVER_LOCAL}, Routed(kBlueGwMac, kVm4Mac)});
  add({"RoutedToRemote", "vm1", [=] { return U(kVm1Mac, kVm1Ip, kBlueGwMac, kBlueHv2BIp); },
       kTcRedirect, {WEFT_ENCAP}, EncapRouted(kHv2Vtep, kVniBlueB, kBlueGwMac, kBlueHv2BMac)});
  add({"RoutedTcpToRemote", "vm1",
       [=] { return Syn(kVm1Mac, kVm1Ip, kBlueGwMac, kBlueHv2BIp); }, kTcRedirect, {WEFT_ENCAP},
       EncapRouted(kHv2Vtep, kVniBlueB, kBlueGwMac, kBlueHv2BMac)});
  add({"RedRoutedToRemoteUsesRedVni", "vm3",
       [=] { return U(kVm3Mac, kVm3Ip, kRedGwMac, kRedHv2BIp); }, kTcRedirect, {WEFT_ENCAP},
       EncapRouted(kHv2Vtep, kVniRedB, kRedGwMac, kRedHv2BMac)});
  add({"RedRoutedToBlueLocalIpDropped", "vm3",
       [=] { return U(kVm3Mac, kVm3Ip, kRedGwMac, kVm2Ip); }, kTcShot, {WEFT_DROP_UNKNOWN_DST},
       nullptr});
  add({"RedRoutedToBlueRemoteIpDropped", "vm3",
       [=] { return U(kVm3Mac, kVm3Ip, kRedGwMac, kBlueHv2BIp); }, kTcShot,
       {WEFT_DROP_UNKNOWN_DST}, nullptr});
  add({"RedHasNoBlueRoute", "vm3", [=] { return U(kVm3Mac, kVm3Ip, kRedGwMac, Ip("10.9.1.1")); },
       kTcShot, {WEFT_DROP_NO_ROUTE}, nullptr});
  add({"RedHasNoBlueBlackhole", "vm3",
       [=] { return U(kVm3Mac, kVm3Ip, kRedGwMac, Ip("10.66.0.1")); }, kTcShot,
       {WEFT_DROP_NO_ROUTE}, nullptr});
  add({"EcmpRoute", "vm1", [=] { return U(kVm1Mac, kVm1Ip, kBlueGwMac, Ip("10.9.1.1")); },
       kTcRedirect, {WEFT_ENCAP}, [](const Seen& s) {
         ASSERT_TRUE(s.p.ipv4.has_value());
         const uint32_t vtep = s.p.ipv4->dst;
         EXPECT_TRUE(vtep == kHv2Vtep || vtep == kLx1Vtep) << FormatIpv4(vtep);
         ExpectVxlanFromHv1(s, vtep, kVniBlueA);
         ExpectRouted(s.in, s.p.inner, kBlueGwMac, kBlueGwMac);
       }});
  add({"Blackhole", "vm1", [=] { return U(kVm1Mac, kVm1Ip, kBlueGwMac, Ip("10.66.0.1")); },
       kTcShot, {WEFT_DROP_BLACKHOLE}, nullptr});
  add({"NoRoute", "vm1", [=] { return U(kVm1Mac, kVm1Ip, kBlueGwMac, Ip("192.0.2.1")); }, kTcShot,
       {WEFT_DROP_NO_ROUTE}, nullptr});
  add({"ConnectedButNoEndpoint", "vm1",
       [=] { return U(kVm1Mac, kVm1Ip, kBlueGwMac, Ip("10.0.2.99")); }, kTcShot,
       {WEFT_DROP_UNKNOWN_DST}, nullptr});

  // --- TTL ---------------------------------------------------------------------------
  add({"RoutedTtl1TimeExceeded", "vm1",
       [=] { return U(kVm1Mac, kVm1Ip, kBlueGwMac, kBlueHv2BIp, 1); }, kTcRedirect,
       {WEFT_ICMP_ERROR}, IcmpBack(11, 0, 0, kGwA, kBlueGwMac)});
  add({"RoutedTtl0TimeExceeded", "vm1", [=] { return U(kVm1Mac, kVm1Ip, kBlueGwMac, kVm2Ip, 0); },
       kTcRedirect, {WEFT_ICMP_ERROR}, IcmpBack(11, 0, 0, kGwA, kBlueGwMac)});
  add({"RedRoutedTtl1TimeExceededFromRedGateway", "vm3",
       [=] { return U(kVm3Mac, kVm3Ip, kRedGwMac, kRedHv2BIp, 1); }, kTcRedirect,
       {WEFT_ICMP_ERROR}, IcmpBack(11, 0, 0, kGwA, kRedGwMac)});
  add({"RoutedTtl2Forwarded", "vm1", [=] { return U(kVm1Mac, kVm1Ip, kBlueGwMac, kVm2Ip, 2); },
       kTcRedirect, {WEFT_DELIVER_LOCAL}, Routed(kBlueGwMac, kVm2Mac)});

  // --- malformed and unsupported -----------------------------------------------------
  add({"RoutedIpOptions", "vm1",
       [=] {
         Ipv4Spec ip = Hdr(kVm1Ip, kVm2Ip);
         ip.options = {0x01, 0x01, 0x01, 0x00};  // NOP NOP NOP EOL
         return UWith(kVm1Mac, kBlueGwMac, ip);
       },
       kTcShot, {WEFT_DROP_IP_OPTIONS}, nullptr});
  add({"RoutedFragmentMoreFragments", "vm1",
       [=] {
         Ipv4Spec ip = Hdr(kVm1Ip, kVm2Ip);
         ip.mf = true;
         return UWith(kVm1Mac, kBlueGwMac, ip);
       },
       kTcShot, {WEFT_DROP_FRAGMENT}, nullptr});
  add({"RoutedFragmentNonFirst", "vm1",
       [=] {
         Ipv4Spec ip = Hdr(kVm1Ip, kVm2Ip);
         ip.frag_offset = 185;
         return UWith(kVm1Mac, kBlueGwMac, ip);
       },
       kTcShot, {WEFT_DROP_FRAGMENT}, nullptr});
  add({"TruncatedIpv4Header", "vm1",
       [=] {
         Bytes f = U(kVm1Mac, kVm1Ip, kBlueGwMac, kVm2Ip);
         f.resize(14 + 10);
         return f;
       },
       kTcShot, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"TruncatedIhlBeyondFrame", "vm1",
       [=] {
         Bytes f = U(kVm1Mac, kVm1Ip, kBlueGwMac, kVm2Ip);
         f[14] = 0x4f;  // IHL 15: 60 bytes of header
         f.resize(14 + 40);
         return f;
       },
       kTcShot, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"Ipv4TotalLengthBeyondFrame", "vm1",
       [=] {
         Ipv4Spec ip = Hdr(kVm1Ip, kVm2Ip);
         ip.total_length = 200;
         return UWith(kVm1Mac, kBlueGwMac, ip);
       },
       kTcShot, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"Ipv4TotalLengthBelowHeader", "vm1",
       [=] {
         Ipv4Spec ip = Hdr(kVm1Ip, kVm2Ip);
         ip.total_length = 16;
         return UWith(kVm1Mac, kBlueGwMac, ip);
       },
       kTcShot, {WEFT_DROP_TRUNCATED}, nullptr});
  // RFC 1812 4.3.2.7: no ICMP error about an ICMP error.
  add({"RoutedTtl1IcmpErrorNotAnsweredWithIcmpError", "vm1",
       [=] {
         Ipv4Spec ip = Hdr(kVm1Ip, kVm2Ip);
         ip.proto = kProtoIcmp;
         ip.ttl = 1;
         Bytes icmp = {3, 3, 0, 0, 0, 0, 0, 0};
         Bytes quoted = Ipv4(Hdr(kVm2Ip, kVm1Ip), Bytes(8, 0));
         icmp.insert(icmp.end(), quoted.begin(), quoted.end());
         const uint16_t sum = InternetChecksum(icmp.data(), icmp.size());
         icmp[2] = sum >> 8;
         icmp[3] = sum & 0xff;
         return Ipv4Frame(kBlueGwMac, kVm1Mac, ip, icmp);
       },
       kTcShot, {WEFT_DROP_TTL_EXPIRED}, nullptr});
  // A packet with less than 8 bytes after its header still gets its error
  // (quoting what there is), not a "too big" drop.
  add({"RoutedTtl1ShortPacketTimeExceeded", "vm1",
       [=] {
         Ipv4Spec ip = Hdr(kVm1Ip, kVm2Ip);
         ip.proto = 253;  // experimental
         ip.ttl = 1;
         return Ipv4Frame(kBlueGwMac, kVm1Mac, ip, Bytes{1, 2, 3, 4});
       },
       kTcRedirect, {WEFT_ICMP_ERROR}, nullptr});
  add({"VlanTaggedUnsupported", "vm1",
       [=] {
         Ipv4Spec ip = Hdr(kVm1Ip, kVm4Ip);
         return EthVlan(kVm4Mac, kVm1Mac, 100, kEthIpv4, Ipv4(ip, Udp(1, 2, Bytes(8))));
       },
       kTcShot, {WEFT_DROP_UNSUPPORTED}, nullptr});

  // --- path MTU through the overlay (underlay MTU 1500, 50 bytes of headers) -----
  add({"Pmtu1500DfRoutedRemoteFragNeeded", "vm1",
       [=] { return UdpFrameOfIpLength(kBlueGwMac, kVm1Mac, kVm1Ip, kBlueHv2BIp, 1500, true); },
       kTcRedirect, {WEFT_ICMP_ERROR}, IcmpBack(3, 4, 1450, kGwA, kBlueGwMac)});
  add({"Pmtu1451DfRoutedRemoteFragNeeded", "vm1",
       [=] { return UdpFrameOfIpLength(kBlueGwMac, kVm1Mac, kVm1Ip, kBlueHv2BIp, 1451, true); },
       kTcRedirect, {WEFT_ICMP_ERROR}, IcmpBack(3, 4, 1450, kGwA, kBlueGwMac)});
  add({"Pmtu1450DfRoutedRemoteFits", "vm1",
       [=] { return UdpFrameOfIpLength(kBlueGwMac, kVm1Mac, kVm1Ip, kBlueHv2BIp, 1450, true); },
       kTcRedirect, {WEFT_ENCAP}, [](const Seen& s) {
         ExpectVxlanFromHv1(s, kHv2Vtep, kVniBlueB);
         EXPECT_EQ(s.out.size(), 14u + 1500u) << "outer packet exactly the underlay MTU";
         ExpectRouted(s.in, s.p.inner, kBlueGwMac, kBlueHv2BMac);
       }});
  add({"Pmtu1500DfSameSegmentRemoteFragNeeded", "vm1",
       [=] { return UdpFrameOfIpLength(kBlueHv2AMac, kVm1Mac, kVm1Ip, kBlueHv2AIp, 1500, true); },
       kTcRedirect, {WEFT_ICMP_ERROR}, IcmpBack(3, 4, 1450, kGwA, kBlueGwMac)});
  add({"Pmtu1500NoDfRoutedRemoteDropped", "vm1",
       [=] { return UdpFrameOfIpLength(kBlueGwMac, kVm1Mac, kVm1Ip, kBlueHv2BIp, 1500, false); },
       kTcShot, {WEFT_DROP_TOO_BIG}, nullptr});
  add({"Pmtu1500RoutedLocalNotLimited", "vm1",
       [=] { return UdpFrameOfIpLength(kBlueGwMac, kVm1Mac, kVm1Ip, kVm2Ip, 1500, true); },
       kTcRedirect, {WEFT_DELIVER_LOCAL}, Routed(kBlueGwMac, kVm2Mac)});
  return c;
}
// clang-format on

class VmProgramTest : public VmTableTest {};

TEST_P(VmProgramTest, Verdict) { RunCase(); }

INSTANTIATE_TEST_SUITE_P(Vm, VmProgramTest, ::testing::ValuesIn(VmCases()), VmCaseName);

// --- behaviours over several packets ---------------------------------------------

class VmEncapTest : public BpfTest {
 protected:
  // Outer UDP source port and VTEP for one UDP packet vm1 -> dst.
  std::pair<uint16_t, uint32_t> Encap(const Mac& dmac, uint32_t dip, uint16_t sport) {
    RunResult r = RunTc(dp().VmProgramFd(), "vm1", U(kVm1Mac, kVm1Ip, dmac, dip, 64, sport));
    EXPECT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.retval, kTcRedirect);
    EXPECT_EQ(r.Reason(), WEFT_ENCAP) << r.CountedString();
    Parsed p = Parse(r.out);
    if (!p.udp || !p.ipv4) {
      ADD_FAILURE() << "not encapsulated";
      return {0, 0};
    }
    return {p.udp->sport, p.ipv4->dst};
  }
};

TEST_F(VmEncapTest, SourcePortIsStablePerFlowAndVariesAcrossFlows) {
  const auto a1 = Encap(kBlueHv2AMac, kBlueHv2AIp, 40000);
  const auto a2 = Encap(kBlueHv2AMac, kBlueHv2AIp, 40000);
  EXPECT_EQ(a1.first, a2.first) << "same flow, same outer source port";
  std::set<uint16_t> ports;
  for (uint16_t sport = 41000; sport < 41016; ++sport) {
    const auto x = Encap(kBlueHv2AMac, kBlueHv2AIp, sport);
    EXPECT_GE(x.first, 49152);
    ports.insert(x.first);
  }
  EXPECT_GE(ports.size(), 8u) << "16 flows should spread over outer source ports";
}

TEST_F(VmEncapTest, EcmpPicksBothVtepsAndStaysPerFlow) {
  std::set<uint32_t> vteps;
  for (uint16_t sport = 30000; sport < 30064; ++sport) {
    const auto x = Encap(kBlueGwMac, Ip("10.9.1.1"), sport);
    const auto again = Encap(kBlueGwMac, Ip("10.9.1.1"), sport);
    EXPECT_EQ(x.second, again.second) << "one flow, one next hop";
    EXPECT_TRUE(x.second == kHv2Vtep || x.second == kLx1Vtep) << FormatIpv4(x.second);
    vteps.insert(x.second);
  }
  EXPECT_EQ(vteps.size(), 2u) << "64 flows should use both ECMP next hops";
}

// Reports (does not judge) the outer DF bit and IP ID the encapsulation sets.
TEST_F(VmEncapTest, ReportOuterDfAndId) {
  RunResult r = RunTc(dp().VmProgramFd(), "vm1", U(kVm1Mac, kVm1Ip, kBlueHv2AMac, kBlueHv2AIp));
  ASSERT_EQ(r.retval, kTcRedirect);
  Parsed p = Parse(r.out);
  ASSERT_TRUE(p.ipv4.has_value());
  std::printf("outer IPv4: DF=%d id=0x%04x tos=0x%02x udp checksum=0x%04x\n", p.ipv4->df,
              p.ipv4->id, p.ipv4->tos, p.udp ? p.udp->checksum : 0);
  RecordProperty("outer_df", p.ipv4->df ? "1" : "0");
}

// The inner TOS/DSCP is copied to the outer header (RFC 6040-style).
TEST_F(VmEncapTest, OuterTosCopiedFromInner) {
  Ipv4Spec ip = Hdr(kVm1Ip, kBlueHv2AIp);
  ip.tos = 0xb8;  // EF
  RunResult r = RunTc(dp().VmProgramFd(), "vm1", UWith(kVm1Mac, kBlueHv2AMac, ip));
  ASSERT_EQ(r.retval, kTcRedirect);
  Parsed p = Parse(r.out);
  ASSERT_TRUE(p.ipv4.has_value());
  EXPECT_EQ(p.ipv4->tos, 0xb8);
  EXPECT_TRUE(p.ipv4->checksum_ok);
}

// Each packet is counted once, with its bytes.
TEST_F(VmEncapTest, CountsEveryPacketOnce) {
  auto before = ReadCounters(dp());
  ASSERT_TRUE(before.ok());
  const Bytes pkt = U(kVm1Mac, kVm1Ip, kVm4Mac, kVm4Ip);
  for (int i = 0; i < 5; ++i) RunTc(dp().VmProgramFd(), "vm1", pkt);
  auto after = ReadCounters(dp());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)[WEFT_DELIVER_LOCAL].packets - (*before)[WEFT_DELIVER_LOCAL].packets, 5u);
  EXPECT_EQ((*after)[WEFT_DELIVER_LOCAL].bytes - (*before)[WEFT_DELIVER_LOCAL].bytes,
            5u * pkt.size());
}

}  // namespace
}  // namespace weft::testing
