// An edge's datapath, table-driven (docs/ARCHITECTURE.md §3, "Edge"):
// - the uplink program (TC ingress of an uplink) on up0 (blue's) and up1
//   (red's): the host's own traffic passes, the rest is routed in the
//   uplink's tenant and encapsulated, or refused and counted;
// - the underlay programs (XDP and TC) for routed packets whose route leads
//   out of an uplink: decapsulated, routed, sent to the uplink's peer;
// - the VM program, which never sends a VM's packet out of an uplink.
// The uplinks are bound (weft_uplinks) and their routes added for each test
// only, so the other tables' "no route" cases stay as they are.
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "agent/datapath/prog_test_run.h"
#include "common/packet/builder.h"
#include "common/packet/parser.h"
#include "tests/bpf/checks.h"
#include "tests/bpf/fixture.h"
#include "tests/bpf/uplink_maps.h"

namespace weft::testing {
namespace {

constexpr uint32_t kBlue = kBlueTenant;
constexpr uint32_t kRed = kRedTenant;
// Beyond the uplinks (uplink_maps.h): upstream, and a blue route that names
// red's uplink.
const uint32_t kInternetIp = Ip("203.0.113.9");
const uint32_t kBlueViaRedUplinkIp = Ip("198.51.100.7");

weft_route_key RouteKey(uint32_t tenant, const char* prefix, uint8_t len) {
  weft_route_key key{};
  key.prefixlen = WEFT_ROUTE_KEY_PREFIXLEN(len);
  key.tenant_id_be = htonl(tenant);
  key.addr_be = htonl(Ip(prefix));
  return key;
}

class UplinkTest : public BpfTest {
 protected:
  void SetUp() override {
    BpfTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    const std::string err = BindUplinks(dp());
    ASSERT_TRUE(err.empty()) << err;
    bound_ = true;
  }

  void TearDown() override {
    if (bound_) UnbindUplinks(dp());
  }

  // A traced TC run (weftctl trace's way): nothing counted, the decision
  // recorded in weft_trace.
  struct Traced {
    uint32_t retval = 0;
    Bytes out;
    weft_trace_result record{};
  };
  Traced RunTcTraced(int prog_fd, std::string_view ifname, const Bytes& frame) const {
    Traced t;
    const uint32_t zero = 0;
    t.record.rule_index = WEFT_RULE_NONE;
    EXPECT_EQ(bpf_map_update_elem(dp().MapFd(Map::kTrace), &zero, &t.record, BPF_ANY), 0);
    absl::StatusOr<ProgTestRunOutput> run = ProgTestRun({.prog_fd = prog_fd,
                                                         .hook = Hook::kTc,
                                                         .ingress_ifindex = IfIndex(ifname),
                                                         .mark = WEFT_TRACE_MARK,
                                                         .frame = frame});
    EXPECT_TRUE(run.ok()) << run.status();
    if (!run.ok()) return t;
    t.retval = run->retval;
    t.out = run->frame;
    EXPECT_EQ(bpf_map_lookup_elem(dp().MapFd(Map::kTrace), &zero, &t.record), 0);
    EXPECT_TRUE(t.record.flags & WEFT_TRACE_F_RAN) << "the program recorded no trace";
    return t;
  }

 private:
  bool bound_ = false;
};

// --- the uplink program --------------------------------------------------------

struct UplinkCase {
  std::string name;
  std::string ifname;  // the uplink the packet arrives on
  std::function<Bytes()> packet;
  uint32_t retval;
  std::vector<int> reasons;  // the reason counted must be one of these
  Check check;               // on the output, when set
};

std::ostream& operator<<(std::ostream& os, const UplinkCase& c) { return os << c.name; }

// From blue's peer (its MAC, to up0's MAC).
Bytes FromBluePeer(const Ipv4Spec& ip, const Bytes& l4) {
  return Ipv4Frame(kUp0Mac, kBluePeerMac, ip, l4);
}

Ipv4Spec Hdr(uint32_t src, uint32_t dst, uint8_t ttl = 64) {
  Ipv4Spec ip;
  ip.src = src;
  ip.dst = dst;
  ip.ttl = ttl;
  return ip;
}

Bytes UdpFromBluePeer(uint32_t dst, uint8_t ttl = 64) {
  return UdpFrame(kUp0Mac, kBluePeerMac, kInternetIp, dst, 40000, 5001, 16, ttl);
}

// The input routed (TTL - 1, MACs src/dst), VXLAN from this node to `vtep`
// on `vni`.
Check EncapsulatedRouted(uint32_t vtep, uint32_t vni, Mac src, Mac dst) {
  return [=](const Seen& s) {
    ExpectVxlanFromHv1(s, vtep, vni);
    ExpectRouted(s.in, s.p.inner, src, dst);
  };
}

Check IcmpBack(uint8_t type, uint8_t code, uint32_t rest, uint32_t from_ip, Mac from_mac) {
  return
      [=](const Seen& s) { ExpectIcmpErrorBack(s.in, s.p, type, code, rest, from_ip, from_mac); };
}

// One row per case reads better than one field per line.
// clang-format off
std::vector<UplinkCase> UplinkCases() {
  std::vector<UplinkCase> c;
  auto add = [&](UplinkCase u) { c.push_back(std::move(u)); };

  // --- the edge's own traffic on the transit network goes to the host --------------
  add({"ArpFromPeerPasses", kUplinkBlue,
       [] { return ArpRequestFrame(kBluePeerMac, kBluePeerIp, kUp0Ip); },
       kTcOk, {WEFT_PASS_HOST}, ExpectUnchanged});
  add({"BgpToTransitAddressPasses", kUplinkBlue,
       [] {
         Ipv4Spec ip = Hdr(kBluePeerIp, kUp0Ip);
         ip.proto = kProtoTcp;
         return FromBluePeer(ip, Tcp(40000, 179, kTcpSyn, 1, 0, {}, ip.src, ip.dst));
       },
       kTcOk, {WEFT_PASS_HOST}, ExpectUnchanged});
  add({"PingOfTransitAddressPasses", kUplinkBlue,
       [] {
         Ipv4Spec ip = Hdr(kBluePeerIp, kUp0Ip);
         ip.proto = kProtoIcmp;
         return FromBluePeer(ip, IcmpEcho(8, 1, 1, Bytes(32, 0x11)));
       },
       kTcOk, {WEFT_PASS_HOST}, ExpectUnchanged});
  // Even with TTL 1: the host's to judge.
  add({"TransitAddressTtl1Passes", kUplinkBlue, [] { return UdpFromBluePeer(kUp0Ip, 1); },
       kTcOk, {WEFT_PASS_HOST}, ExpectUnchanged});
  add({"BroadcastFramePasses", kUplinkBlue,
       [] { return UdpFrame(kBroadcastMac, kBluePeerMac, kBluePeerIp, Ip("192.0.2.3"), 68, 67); },
       kTcOk, {WEFT_PASS_HOST}, ExpectUnchanged});
  add({"FrameForAnotherStationPasses", kUplinkBlue,
       [] { return UdpFrame(kStrangerMac, kBluePeerMac, kInternetIp, kBlueHv2AIp, 1, 2); },
       kTcOk, {WEFT_PASS_HOST}, ExpectUnchanged});

  // --- routed into the overlay ---------------------------------------------------------
  add({"ToBlueEndpointOnHv2Encapsulated", kUplinkBlue,
       [] { return UdpFromBluePeer(kBlueHv2AIp); },
       kTcRedirect, {WEFT_FROM_UPLINK},
       EncapsulatedRouted(kHv2Vtep, kVniBlueA, kBlueGwMac, kBlueHv2AMac)});
  add({"ToBlueOtherSegmentOnHv2Encapsulated", kUplinkBlue,
       [] { return UdpFromBluePeer(kBlueHv2BIp); },
       kTcRedirect, {WEFT_FROM_UPLINK},
       EncapsulatedRouted(kHv2Vtep, kVniBlueB, kBlueGwMac, kBlueHv2BMac)});
  add({"ToBlueForeignVtepEndpointEncapsulated", kUplinkBlue,
       [] { return UdpFromBluePeer(kBlueLx1Ip); },
       kTcRedirect, {WEFT_FROM_UPLINK},
       EncapsulatedRouted(kLx1Vtep, kVniBlueA, kBlueGwMac, kBlueLx1Mac)});
  // A REMOTE route: to one of its next hops, on its VNI, to its gateway MAC.
  add({"ToBlueRemoteRouteEncapsulatedToANextHop", kUplinkBlue,
       [] { return UdpFromBluePeer(Ip("10.9.1.1")); },
       kTcRedirect, {WEFT_FROM_UPLINK}, [](const Seen& s) {
         ASSERT_TRUE(s.p.ipv4 && s.p.vxlan) << HexDump(s.out);
         const uint32_t vtep = s.p.ipv4->dst;
         EXPECT_TRUE(vtep == kHv2Vtep || vtep == kLx1Vtep) << FormatIpv4(vtep);
         ExpectVxlanFromHv1(s, vtep, kVniBlueA);
         ExpectRouted(s.in, s.p.inner, kBlueGwMac, kBlueGwMac);
       }});
  // Red's uplink routes in red: the same address means red's endpoint.
  add({"RedUplinkToRedEndpointOnHv2Encapsulated", kUplinkRed,
       [] { return UdpFrame(kUp1Mac, kRedPeerMac, kInternetIp, kRedHv2BIp, 1, 2); },
       kTcRedirect, {WEFT_FROM_UPLINK},
       EncapsulatedRouted(kHv2Vtep, kVniRedB, kRedGwMac, kRedHv2BMac)});
  add({"RedUplinkToBlueOnlyAddressUnknown", kUplinkRed,
       [] { return UdpFrame(kUp1Mac, kRedPeerMac, kInternetIp, kBlueHv2BIp, 1, 2); },
       kTcShot, {WEFT_DROP_UNKNOWN_DST}, nullptr});

  // --- path MTU (underlay MTU 1500, 50 bytes of headers): from the transit address --
  add({"TooBigWithDfFragNeededFromTransitAddress", kUplinkBlue,
       [] { return UdpFrameOfIpLength(kUp0Mac, kBluePeerMac, kInternetIp, kBlueHv2AIp, 1451, true); },
       kTcRedirect, {WEFT_ICMP_ERROR}, IcmpBack(3, 4, 1450, kUp0Ip, kUp0Mac)});
  add({"FitsWithDfEncapsulated", kUplinkBlue,
       [] { return UdpFrameOfIpLength(kUp0Mac, kBluePeerMac, kInternetIp, kBlueHv2AIp, 1450, true); },
       kTcRedirect, {WEFT_FROM_UPLINK},
       EncapsulatedRouted(kHv2Vtep, kVniBlueA, kBlueGwMac, kBlueHv2AMac)});
  add({"TooBigWithoutDfDropped", kUplinkBlue,
       [] { return UdpFrameOfIpLength(kUp0Mac, kBluePeerMac, kInternetIp, kBlueHv2AIp, 1451, false); },
       kTcShot, {WEFT_DROP_TOO_BIG}, nullptr});

  // --- TTL -----------------------------------------------------------------------------
  add({"Ttl1TimeExceededFromTransitAddress", kUplinkBlue,
       [] { return UdpFromBluePeer(kBlueHv2AIp, 1); },
       kTcRedirect, {WEFT_ICMP_ERROR}, IcmpBack(11, 0, 0, kUp0Ip, kUp0Mac)});
  add({"Ttl0TimeExceededFromTransitAddress", kUplinkBlue,
       [] { return UdpFromBluePeer(kBlueHv2AIp, 0); },
       kTcRedirect, {WEFT_ICMP_ERROR}, IcmpBack(11, 0, 0, kUp0Ip, kUp0Mac)});
  // No ICMP error about an ICMP error.
  add({"Ttl1IcmpErrorDropped", kUplinkBlue,
       [] {
         Ipv4Spec ip = Hdr(kInternetIp, kBlueHv2AIp, 1);
         ip.proto = kProtoIcmp;
         Bytes unreach = IcmpEcho(3, 0, 0, Bytes(28, 0));
         return FromBluePeer(ip, unreach);
       },
       kTcShot, {WEFT_DROP_TTL_EXPIRED}, nullptr});

  // --- refused, each counted -----------------------------------------------------------
  add({"ToLocalEndpointNotLocal", kUplinkBlue, [] { return UdpFromBluePeer(kVm1Ip); },
       kTcShot, {WEFT_DROP_NOT_LOCAL}, nullptr});
  add({"BackUpstreamHairpin", kUplinkBlue, [] { return UdpFromBluePeer(Ip("203.0.113.77")); },
       kTcShot, {WEFT_DROP_UPLINK_HAIRPIN}, nullptr});
  add({"ToOtherTenantsUplinkNoRoute", kUplinkBlue,
       [] { return UdpFromBluePeer(kBlueViaRedUplinkIp); },
       kTcShot, {WEFT_DROP_NO_ROUTE}, nullptr});
  add({"BlackholeRoute", kUplinkBlue, [] { return UdpFromBluePeer(Ip("10.66.0.1")); },
       kTcShot, {WEFT_DROP_BLACKHOLE}, nullptr});
  add({"NoRoute", kUplinkBlue, [] { return UdpFromBluePeer(Ip("10.77.0.1")); },
       kTcShot, {WEFT_DROP_NO_ROUTE}, nullptr});
  add({"UnknownAddressInConnectedSubnet", kUplinkBlue,
       [] { return UdpFromBluePeer(Ip("10.0.1.99")); },
       kTcShot, {WEFT_DROP_UNKNOWN_DST}, nullptr});
  add({"NotAnUplinkNotBound", "vm9", [] { return UdpFromBluePeer(kBlueHv2AIp); },
       kTcShot, {WEFT_DROP_NOT_BOUND}, nullptr});
  add({"UnderlayIsNotAnUplink", kUnderlay, [] { return UdpFromBluePeer(kBlueHv2AIp); },
       kTcShot, {WEFT_DROP_NOT_BOUND}, nullptr});

  // --- malformed -----------------------------------------------------------------------
  add({"Ipv6Unsupported", kUplinkBlue,
       [] {
         Bytes v6(48, 0);
         v6[0] = 0x60;
         v6[5] = 8;
         v6[6] = 17;
         v6[7] = 64;
         return Eth(kUp0Mac, kBluePeerMac, kEthIpv6, v6);
       },
       kTcShot, {WEFT_DROP_UNSUPPORTED}, nullptr});
  add({"VlanTaggedUnsupported", kUplinkBlue,
       [] {
         return EthVlan(kUp0Mac, kBluePeerMac, 7, kEthIpv4,
                        Ipv4(Hdr(kInternetIp, kBlueHv2AIp), Udp(1, 2, Bytes(8))));
       },
       kTcShot, {WEFT_DROP_UNSUPPORTED}, nullptr});
  add({"TotalLengthBeyondFrameTruncated", kUplinkBlue,
       [] {
         Ipv4Spec ip = Hdr(kInternetIp, kBlueHv2AIp);
         ip.total_length = 300;
         return FromBluePeer(ip, Udp(1, 2, Bytes(8)));
       },
       kTcShot, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"HeaderLengthBeyondFrameTruncated", kUplinkBlue,
       [] {
         Bytes f = UdpFromBluePeer(kBlueHv2AIp);
         f[14] = 0x4f;  // IHL 15: 60 bytes of header, more than the frame has after it
         f.resize(14 + 40);
         return f;
       },
       kTcShot, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"IpOptionsDropped", kUplinkBlue,
       [] {
         Ipv4Spec ip = Hdr(kInternetIp, kBlueHv2AIp);
         ip.options = {0x01, 0x01, 0x01, 0x00};
         return FromBluePeer(ip, Udp(1, 2, Bytes(8)));
       },
       kTcShot, {WEFT_DROP_IP_OPTIONS}, nullptr});
  add({"FirstFragmentDropped", kUplinkBlue,
       [] {
         Ipv4Spec ip = Hdr(kInternetIp, kBlueHv2AIp);
         ip.mf = true;
         return FromBluePeer(ip, Udp(1, 2, Bytes(8)));
       },
       kTcShot, {WEFT_DROP_FRAGMENT}, nullptr});
  add({"LaterFragmentDropped", kUplinkBlue,
       [] {
         Ipv4Spec ip = Hdr(kInternetIp, kBlueHv2AIp);
         ip.frag_offset = 185;
         return FromBluePeer(ip, Bytes(64, 0x33));
       },
       kTcShot, {WEFT_DROP_FRAGMENT}, nullptr});
  return c;
}
// clang-format on

class UplinkProgramTest : public UplinkTest, public ::testing::WithParamInterface<UplinkCase> {};

TEST_P(UplinkProgramTest, Verdict) {
  const UplinkCase& c = GetParam();
  const Bytes in = c.packet();
  RunResult r = RunTc(dp().UplinkProgramFd(), c.ifname, in);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(TcRetName(r.retval), TcRetName(c.retval));
  ExpectReasonIn(r, c.reasons);
  if (r.retval == c.retval) ExpectOutput(c.check, in, r, env());
  PrintFramesOnFailure(in, r);
}

INSTANTIATE_TEST_SUITE_P(Uplink, UplinkProgramTest, ::testing::ValuesIn(UplinkCases()),
                         [](const ::testing::TestParamInfo<UplinkCase>& i) {
                           return i.param.name;
                         });

// A trace run shows where the packet is headed (weftctl trace on an edge).
TEST_F(UplinkTest, TraceShowsTheOverlayTarget) {
  const Traced t = RunTcTraced(dp().UplinkProgramFd(), kUplinkBlue, UdpFromBluePeer(kBlueHv2AIp));
  EXPECT_EQ(TcRetName(t.retval), TcRetName(kTcRedirect));
  EXPECT_EQ(ReasonName(t.record.reason), ReasonName(WEFT_FROM_UPLINK));
  EXPECT_EQ(t.record.tenant_id, kBlue);
  EXPECT_TRUE(t.record.flags & WEFT_TRACE_F_TARGET);
  EXPECT_EQ(t.record.route_kind, static_cast<uint32_t>(WEFT_ROUTE_CONNECTED));
  EXPECT_EQ(t.record.vni, kVniBlueA);
  EXPECT_EQ(FormatIpv4(ntohl(t.record.vtep_be)), FormatIpv4(kHv2Vtep));
}

// --- the underlay programs: out of an uplink -------------------------------------

struct ToUplinkCase {
  std::string name;
  std::function<Bytes()> packet;
  bool sent;                 // out of an uplink (else dropped)
  std::vector<int> reasons;  // the reason counted must be one of these
  Mac uplink_mac{};          // when sent: the routed frame's source
  Mac peer_mac{};            // when sent: its destination (XDP; TC leaves it to the kernel)
};

struct ToUplinkParam {
  ToUplinkCase c;
  bool xdp;
};

std::ostream& operator<<(std::ostream& os, const ToUplinkParam& p) {
  return os << p.c.name << (p.xdp ? "/xdp" : "/tc");
}

Bytes InnerUdp(const Mac& smac, uint32_t sip, const Mac& dmac, uint32_t dip, uint8_t ttl = 64) {
  return UdpFrame(dmac, smac, sip, dip, 40000, 5001, 16, ttl);
}

// clang-format off
std::vector<ToUplinkCase> ToUplinkCases() {
  return {
      {"BlueToUpstreamOutOfBlueUplink",
       [] { return FromHv2(kVniBlueA, InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kBlueGwMac, kInternetIp)); },
       true, {WEFT_TO_UPLINK}, kUp0Mac, kBluePeerMac},
      {"BlueOtherSegmentToUpstreamOutOfBlueUplink",
       [] { return FromHv2(kVniBlueB, InnerUdp(kBlueHv2BMac, kBlueHv2BIp, kBlueGwMac, kInternetIp)); },
       true, {WEFT_TO_UPLINK}, kUp0Mac, kBluePeerMac},
      {"RedToUpstreamOutOfRedUplink",
       [] { return FromHv2(kVniRedB, InnerUdp(kRedHv2BMac, kRedHv2BIp, kRedGwMac, kInternetIp)); },
       true, {WEFT_TO_UPLINK}, kUp1Mac, kRedPeerMac},
      // A blue route naming red's uplink leads nowhere.
      {"BlueRouteNamingRedUplinkNoRoute",
       [] { return FromHv2(kVniBlueA, InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kBlueGwMac, kBlueViaRedUplinkIp)); },
       false, {WEFT_DROP_NO_ROUTE}},
      {"RedWithoutSuchRouteNoRoute",
       [] { return FromHv2(kVniRedB, InnerUdp(kRedHv2BMac, kRedHv2BIp, kRedGwMac, kBlueViaRedUplinkIp)); },
       false, {WEFT_DROP_NO_ROUTE}},
      {"Ttl1ToUpstreamExpired",
       [] { return FromHv2(kVniBlueA, InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kBlueGwMac, kInternetIp, 1)); },
       false, {WEFT_DROP_TTL_EXPIRED}},
  };
}
// clang-format on

std::vector<ToUplinkParam> ToUplinkParams() {
  std::vector<ToUplinkParam> out;
  for (const auto& c : ToUplinkCases()) {
    out.push_back({c, true});
    out.push_back({c, false});
  }
  return out;
}

class UnderlayToUplinkTest : public UplinkTest,
                             public ::testing::WithParamInterface<ToUplinkParam> {};

TEST_P(UnderlayToUplinkTest, Verdict) {
  const ToUplinkCase& c = GetParam().c;
  const bool xdp = GetParam().xdp;
  const Bytes in = c.packet();
  RunResult r = xdp ? RunXdp(dp().UnderlayXdpProgramFd(), kUnderlay, in)
                    : RunTc(dp().UnderlayTcProgramFd(), kUnderlay, in);
  ASSERT_TRUE(r.status.ok()) << r.status;
  ExpectReasonIn(r, c.reasons);
  if (!c.sent) {
    EXPECT_EQ(r.retval, xdp ? kXdpDrop : kTcShot);
    return;
  }
  ASSERT_EQ(r.retval, xdp ? kXdpRedirect : kTcRedirect)
      << (xdp ? XdpRetName(r.retval) : TcRetName(r.retval));
  // The inner frame, routed: no outer headers, TTL - 1, from the uplink's
  // MAC; XDP wrote the peer's MAC from the neighbour table, TC leaves it to
  // bpf_redirect_neigh at transmit (which BPF_PROG_TEST_RUN does not do).
  const Bytes inner = Parse(in).inner;
  const Mac dst = xdp ? c.peer_mac : Parse(inner).eth->dst;
  ExpectRouted(inner, r.out, c.uplink_mac, dst);
  PrintFramesOnFailure(in, r);
}

INSTANTIATE_TEST_SUITE_P(ToUplink, UnderlayToUplinkTest, ::testing::ValuesIn(ToUplinkParams()),
                         [](const ::testing::TestParamInfo<ToUplinkParam>& i) {
                           return i.param.c.name + (i.param.xdp ? "_Xdp" : "_Tc");
                         });

// Where TC sends it: the uplink's interface, to the peer (redirect_neigh's
// next hop), as a trace run records.
TEST_F(UplinkTest, UnderlayTraceShowsUplinkAndPeer) {
  const Traced t =
      RunTcTraced(dp().UnderlayTcProgramFd(), kUnderlay,
                  FromHv2(kVniRedB, InnerUdp(kRedHv2BMac, kRedHv2BIp, kRedGwMac, kInternetIp)));
  EXPECT_EQ(TcRetName(t.retval), TcRetName(kTcRedirect));
  EXPECT_EQ(ReasonName(t.record.reason), ReasonName(WEFT_TO_UPLINK));
  EXPECT_TRUE(t.record.flags & WEFT_TRACE_F_TARGET);
  EXPECT_EQ(t.record.route_kind, static_cast<uint32_t>(WEFT_ROUTE_UPLINK));
  EXPECT_EQ(t.record.egress_ifindex, IfIndex(kUplinkRed));
  EXPECT_EQ(FormatIpv4(ntohl(t.record.vtep_be)), FormatIpv4(kRedPeerIp));
}

// No neighbour entry for the peer yet: XDP cannot resolve it and drops,
// counted, rather than passing tunnelled traffic to the host.
TEST_F(UplinkTest, XdpWithoutPeerNeighbourDropsCounted) {
  const uint32_t ifindex = IfIndex(kUplinkBlue);
  weft_route_key key = RouteKey(kBlue, "203.0.113.0", 24);
  weft_route route{};
  route.kind = WEFT_ROUTE_UPLINK;
  route.ifindex = ifindex;
  route.nhop_count = 1;
  route.nhops_be[0] = htonl(Ip("192.0.2.3"));  // on up0's subnet, no neighbour
  ASSERT_EQ(bpf_map_update_elem(dp().MapFd(Map::kRoutes), &key, &route, BPF_ANY), 0);
  const Bytes in = FromHv2(kVniBlueA, InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kBlueGwMac, kInternetIp));
  RunResult r = RunXdp(dp().UnderlayXdpProgramFd(), kUnderlay, in);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(XdpRetName(r.retval), XdpRetName(kXdpDrop));
  ExpectReasonIn(r, {WEFT_DROP_FIB});
}

// --- the VM program ------------------------------------------------------------------

// Edges host no VMs in this release: a VM's packet never leaves by an uplink.
TEST_F(UplinkTest, VmPacketToUplinkRouteNotLocal) {
  const Bytes in = InnerUdp(kVm1Mac, kVm1Ip, kBlueGwMac, kInternetIp);
  RunResult r = RunTc(dp().VmProgramFd(), "vm1", in);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(TcRetName(r.retval), TcRetName(kTcShot));
  ExpectReasonIn(r, {WEFT_DROP_NOT_LOCAL});
}

}  // namespace
}  // namespace weft::testing
