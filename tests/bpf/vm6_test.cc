// IPv6 from a VM, table-driven through the VM program: Neighbor Discovery
// at its port (bpf/lib/nd.h), what a VM's solicitations get back and what
// is refused; and the rest of its IPv6, which is checked (source, extension
// headers: bpf/lib/ipv6.h) and not forwarded yet.
#include <algorithm>
#include <string>
#include <vector>

#include "common/packet/builder.h"
#include "common/packet/parser.h"
#include "tests/bpf/checks.h"
#include "tests/bpf/fixture.h"
#include "tests/bpf/vm_table.h"

namespace weft::testing {
namespace {

constexpr uint8_t kRouterAdvert = 134;
constexpr uint8_t kNeighborSolicit = 135;
constexpr uint8_t kNeighborAdvert = 136;
constexpr uint8_t kOptSource = 1;
constexpr uint8_t kOptTarget = 2;
constexpr uint32_t kFlagRouter = 0x80000000;
constexpr uint32_t kFlagsSolicitedOverride = 0x60000000;

const Ipv6Address kUnspecified{};
const Ipv6Address kAllNodes = Ip6("ff02::1");

Bytes Join(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes Addr(const Ipv6Address& a) { return Bytes(a.begin(), a.end()); }

struct Nd {
  Mac src_mac;
  Ipv6Address src;
  Ipv6Address dst;
  Mac dst_mac;
  uint8_t type = kNeighborSolicit;
  Bytes body;  // after the first 8 bytes
  uint8_t hop_limit = 255;
  uint8_t code = 0;
};

Bytes Frame(const Nd& m) {
  Ipv6Spec ip;
  ip.src = m.src;
  ip.dst = m.dst;
  ip.hop_limit = m.hop_limit;
  return Icmp6Frame(m.dst_mac, m.src_mac, ip, {.type = m.type, .code = m.code, .body = m.body});
}

// A neighbor solicitation for `target`, as a value to make malformed.
Nd Solicit(const Mac& src_mac, const Ipv6Address& src, const Ipv6Address& target,
           const Bytes& options) {
  const Ipv6Address group = SolicitedNodeGroup(target);
  return {.src_mac = src_mac,
          .src = src,
          .dst = group,
          .dst_mac = Ipv6MulticastMac(group),
          .body = Join({Addr(target), options})};
}
// With the sender's MAC as source link-layer option, as a VM sends it.
Bytes Ns(const Mac& src_mac, const Ipv6Address& src, const Ipv6Address& target) {
  return NeighborSolicitationFrame(src_mac, src, target, NdLinkLayerOption(kOptSource, src_mac));
}
Bytes Rs(const Mac& src_mac, const Ipv6Address& src, const Bytes& options) {
  return RouterSolicitationFrame(src_mac, src, options);
}

// A neighbor advertisement to (to_mac, to) saying `target` is at `mac`.
Check Advert(const Mac& mac, const Ipv6Address& target, const Mac& to_mac, const Ipv6Address& to,
             bool router) {
  return [=](const Seen& s) {
    ASSERT_TRUE(s.p.eth && s.p.ipv6 && s.p.icmp) << s.p.error;
    EXPECT_EQ(s.p.eth->dst, to_mac);
    EXPECT_EQ(s.p.eth->src, mac);
    EXPECT_EQ(s.p.ipv6->src, target);
    EXPECT_EQ(s.p.ipv6->dst, to);
    EXPECT_EQ(s.p.ipv6->hop_limit, 255);
    EXPECT_EQ(s.p.ipv6->payload_length, 32);
    EXPECT_EQ(s.out.size(), 14u + 40 + 32);
    EXPECT_EQ(s.p.icmp->type, kNeighborAdvert);
    EXPECT_EQ(s.p.icmp->code, 0);
    EXPECT_TRUE(s.p.icmp->checksum_ok);
    EXPECT_EQ(s.p.icmp->rest, kFlagsSolicitedOverride | (router ? kFlagRouter : 0));
    EXPECT_EQ(s.p.icmp->payload, Join({Addr(target), NdLinkLayerOption(kOptTarget, mac)}));
  };
}

// The router advertisement of blue-a (or red-a) to (to_mac, to).
Check RouterAdvert(const Mac& gw_mac, const Mac& to_mac, const Ipv6Address& to) {
  return [=](const Seen& s) {
    ASSERT_TRUE(s.p.eth && s.p.ipv6 && s.p.icmp) << s.p.error;
    EXPECT_EQ(s.p.eth->dst, to_mac);
    EXPECT_EQ(s.p.eth->src, gw_mac);
    EXPECT_EQ(s.p.ipv6->src, LinkLocalOf(gw_mac));
    EXPECT_EQ(s.p.ipv6->dst, to);
    EXPECT_EQ(s.p.ipv6->hop_limit, 255);
    EXPECT_EQ(s.p.icmp->type, kRouterAdvert);
    EXPECT_TRUE(s.p.icmp->checksum_ok);
    // Hop limit 64, M=0 O=0, router lifetime 65535 s.
    EXPECT_EQ(s.p.icmp->rest, 0x4000ffffu);
    const Bytes mtu_1450 = {5, 1, 0, 0, 0, 0, 0x05, 0xaa};           // ul0's 1500 - 50
    const Bytes prefix = {3,    4,    64,   0x80,                    // /64, on-link, not autonomous
                          0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // lifetimes: infinite
                          0xff, 0,    0,    0,    0};
    EXPECT_EQ(s.p.icmp->payload, Join({Bytes(8, 0),  // reachable time, retrans timer: unspecified
                                       NdLinkLayerOption(kOptSource, gw_mac), mtu_1450, prefix,
                                       Addr(Ip6("2001:db8:1::"))}));
  };
}

const Ipv6Address kVm1Ll = LinkLocalOf(kVm1Mac);

// One row per case reads better than one field per line.
// clang-format off
std::vector<VmCase> NdCases() {
  const Ipv6Address kUnknown6 = Ip6("2001:db8:1::99");
  std::vector<VmCase> c;
  auto add = [&](VmCase v) { c.push_back(std::move(v)); };

  // --- answered -----------------------------------------------------------------
  add({"NsForGateway", "vm1", [=] { return Ns(kVm1Mac, kVm1Ip6, kGwA6); },
       kTcRedirect, {WEFT_ND_REPLY}, Advert(kBlueGwMac, kGwA6, kVm1Mac, kVm1Ip6, true)});
  add({"NsForGatewaysLinkLocalFromLinkLocal", "vm1",
       [=] { return Ns(kVm1Mac, kVm1Ll, LinkLocalOf(kBlueGwMac)); }, kTcRedirect, {WEFT_ND_REPLY},
       Advert(kBlueGwMac, LinkLocalOf(kBlueGwMac), kVm1Mac, kVm1Ll, true)});
  add({"UnicastNudProbeForGatewayWithoutOption", "vm1",
       [=] {
         return Frame({.src_mac = kVm1Mac, .src = kVm1Ip6, .dst = kGwA6, .dst_mac = kBlueGwMac,
                       .body = Addr(kGwA6)});
       },
       kTcRedirect, {WEFT_ND_REPLY}, Advert(kBlueGwMac, kGwA6, kVm1Mac, kVm1Ip6, true)});
  add({"NsForLocalEndpoint", "vm1", [=] { return Ns(kVm1Mac, kVm1Ip6, kVm4Ip6); },
       kTcRedirect, {WEFT_ND_REPLY}, Advert(kVm4Mac, kVm4Ip6, kVm1Mac, kVm1Ip6, false)});
  add({"NsForRemoteEndpoint", "vm1", [=] { return Ns(kVm1Mac, kVm1Ip6, kBlueHv2AIp6); },
       kTcRedirect, {WEFT_ND_REPLY},
       Advert(kBlueHv2AMac, kBlueHv2AIp6, kVm1Mac, kVm1Ip6, false)});
  add({"NsForEndpointsLinkLocal", "vm1", [=] { return Ns(kVm1Mac, kVm1Ll, LinkLocalOf(kVm4Mac)); },
       kTcRedirect, {WEFT_ND_REPLY},
       Advert(kVm4Mac, LinkLocalOf(kVm4Mac), kVm1Mac, kVm1Ll, false)});
  // A link-local address not made from the MAC (RFC 7217 stable privacy).
  add({"NsFromStablePrivacyLinkLocal", "vm1",
       [=] { return Ns(kVm1Mac, Ip6("fe80::8d4e:3a1:77c2:19f0"), LinkLocalOf(kBlueGwMac)); },
       kTcRedirect, {WEFT_ND_REPLY},
       Advert(kBlueGwMac, LinkLocalOf(kBlueGwMac), kVm1Mac, Ip6("fe80::8d4e:3a1:77c2:19f0"),
              true)});
  add({"NsWithNonceOption", "vm1",
       [=] {
         const Bytes nonce = {14, 1, 1, 2, 3, 4, 5, 6};
         return NeighborSolicitationFrame(kVm1Mac, kVm1Ip6, kGwA6,
                              Join({nonce, NdLinkLayerOption(kOptSource, kVm1Mac)}));
       },
       kTcRedirect, {WEFT_ND_REPLY}, Advert(kBlueGwMac, kGwA6, kVm1Mac, kVm1Ip6, true)});
  // Red has blue's prefix: its own gateway MAC answers.
  add({"NsFromRedGetsRedsGateway", "vm3", [=] { return Ns(kVm3Mac, kVm3Ip6, kGwA6); },
       kTcRedirect, {WEFT_ND_REPLY}, Advert(kRedGwMac, kGwA6, kVm3Mac, kVm3Ip6, true)});
  add({"RsFromLinkLocal", "vm1", [=] { return Rs(kVm1Mac, kVm1Ll, NdLinkLayerOption(kOptSource, kVm1Mac)); },
       kTcRedirect, {WEFT_ND_REPLY}, RouterAdvert(kBlueGwMac, kVm1Mac, kVm1Ll)});
  add({"RsFromUnspecifiedGetsAllNodes", "vm1", [=] { return Rs(kVm1Mac, kUnspecified, {}); },
       kTcRedirect, {WEFT_ND_REPLY}, RouterAdvert(kBlueGwMac, kVm1Mac, kAllNodes)});

  // --- not answered ---------------------------------------------------------------
  add({"DadProbeIsNotAnswered", "vm1",
       [=] { return NeighborSolicitationFrame(kVm1Mac, kUnspecified, kVm1Ip6, {}); }, kTcShot,
       {WEFT_ND_DAD}, nullptr});
  add({"NsForUnknownAddress", "vm1", [=] { return Ns(kVm1Mac, kVm1Ip6, kUnknown6); },
       kTcShot, {WEFT_DROP_ND_UNANSWERED}, nullptr});
  add({"NsFromRedForBlueEndpoint", "vm3", [=] { return Ns(kVm3Mac, kVm3Ip6, kVm4Ip6); },
       kTcShot, {WEFT_DROP_ND_UNANSWERED}, nullptr});
  add({"NsFromRedForBlueEndpointsLinkLocal", "vm3",
       [=] { return Ns(kVm3Mac, LinkLocalOf(kVm3Mac), LinkLocalOf(kVm4Mac)); }, kTcShot,
       {WEFT_DROP_ND_UNANSWERED}, nullptr});
  add({"NsOnSegmentWithoutIpv6", "vm2",
       [=] { return Ns(kVm2Mac, LinkLocalOf(kVm2Mac), LinkLocalOf(kBlueGwMac)); }, kTcShot,
       {WEFT_DROP_ND_UNANSWERED}, nullptr});
  add({"RsOnSegmentWithoutIpv6", "vm2",
       [=] { return Rs(kVm2Mac, LinkLocalOf(kVm2Mac), NdLinkLayerOption(kOptSource, kVm2Mac)); }, kTcShot,
       {WEFT_DROP_ND_UNANSWERED}, nullptr});
  add({"AdvertFromVm", "vm1",
       [=] {
         return Frame({.src_mac = kVm1Mac, .src = kVm1Ip6, .dst = kAllNodes,
                       .dst_mac = Ipv6MulticastMac(kAllNodes), .type = kNeighborAdvert,
                       .body = Join({Addr(kVm1Ip6), NdLinkLayerOption(kOptTarget, kVm1Mac)})});
       },
       kTcShot, {WEFT_DROP_ND_UNANSWERED}, nullptr});
  add({"RouterAdvertFromVm", "vm1",
       [=] {
         return Frame({.src_mac = kVm1Mac, .src = kVm1Ll, .dst = kAllNodes,
                       .dst_mac = Ipv6MulticastMac(kAllNodes), .type = kRouterAdvert,
                       .body = Bytes(8, 0)});
       },
       kTcShot, {WEFT_DROP_ND_UNANSWERED}, nullptr});

  // --- spoofed ---------------------------------------------------------------------
  add({"NsFromAnotherEndpointsAddress", "vm1", [=] { return Ns(kVm1Mac, kVm4Ip6, kGwA6); },
       kTcShot, {WEFT_DROP_SPOOFED}, nullptr});
  add({"NsFromGlobalAddressOfAnotherPrefix", "vm1",
       [=] { return Ns(kVm1Mac, Ip6("2001:db8:9::10"), kGwA6); }, kTcShot, {WEFT_DROP_SPOOFED},
       nullptr});
  add({"NsWithAnotherMacInOption", "vm1",
       [=] { return NeighborSolicitationFrame(kVm1Mac, kVm1Ip6, kGwA6, NdLinkLayerOption(kOptSource, kVm4Mac)); },
       kTcShot, {WEFT_DROP_SPOOFED}, nullptr});
  add({"NsFromAnotherEthernetSource", "vm1", [=] { return Ns(kVm4Mac, kVm4Ip6, kGwA6); },
       kTcShot, {WEFT_DROP_SPOOFED}, nullptr});
  add({"RsWithAnotherMacInOption", "vm1",
       [=] { return Rs(kVm1Mac, kVm1Ll, NdLinkLayerOption(kOptSource, kStrangerMac)); }, kTcShot,
       {WEFT_DROP_SPOOFED}, nullptr});
  add({"AdvertWithAnotherMacInOption", "vm1",
       [=] {
         return Frame({.src_mac = kVm1Mac, .src = kVm1Ip6, .dst = kAllNodes,
                       .dst_mac = Ipv6MulticastMac(kAllNodes), .type = kNeighborAdvert,
                       .body = Join({Addr(kGwA6), NdLinkLayerOption(kOptTarget, kStrangerMac)})});
       },
       kTcShot, {WEFT_DROP_SPOOFED}, nullptr});

  // --- malformed -------------------------------------------------------------------
  add({"NsRoutedHopLimit", "vm1",
       [=] {
         Nd m = Solicit(kVm1Mac, kVm1Ip6, kGwA6, NdLinkLayerOption(kOptSource, kVm1Mac));
         m.hop_limit = 64;
         return Frame(m);
       },
       kTcShot, {WEFT_DROP_ND_INVALID}, nullptr});
  add({"NsNonZeroCode", "vm1",
       [=] {
         Nd m = Solicit(kVm1Mac, kVm1Ip6, kGwA6, NdLinkLayerOption(kOptSource, kVm1Mac));
         m.code = 1;
         return Frame(m);
       },
       kTcShot, {WEFT_DROP_ND_INVALID}, nullptr});
  add({"NsWithoutTarget", "vm1",
       [=] {
         Nd m = Solicit(kVm1Mac, kVm1Ip6, kGwA6, {});
         m.body.resize(8);
         return Frame(m);
       },
       kTcShot, {WEFT_DROP_ND_INVALID}, nullptr});
  add({"NsBadChecksum", "vm1",
       [=] {
         Bytes f = Ns(kVm1Mac, kVm1Ip6, kGwA6);
         f[14 + 40 + 3] ^= 0x40;
         return f;
       },
       kTcShot, {WEFT_DROP_ND_INVALID}, nullptr});
  add({"NsNotWholeEightBytes", "vm1",
       [=] { return NeighborSolicitationFrame(kVm1Mac, kVm1Ip6, kGwA6, Bytes{1, 2, 3, 4}); }, kTcShot,
       {WEFT_DROP_ND_INVALID}, nullptr});
  add({"NsLongerThanRead", "vm1",
       [=] {
         Bytes long_nonce = {14, 6};
         long_nonce.resize(48, 7);
         return NeighborSolicitationFrame(kVm1Mac, kVm1Ip6, kGwA6,
                              Join({long_nonce, long_nonce, long_nonce, long_nonce}));
       },
       kTcShot, {WEFT_DROP_ND_INVALID}, nullptr});
  add({"NsZeroLengthOption", "vm1",
       [=] { return NeighborSolicitationFrame(kVm1Mac, kVm1Ip6, kGwA6, Bytes{14, 0, 0, 0, 0, 0, 0, 0}); },
       kTcShot, {WEFT_DROP_ND_INVALID}, nullptr});
  add({"NsOptionPastTheMessage", "vm1",
       [=] { return NeighborSolicitationFrame(kVm1Mac, kVm1Ip6, kGwA6, Bytes{14, 2, 0, 0, 0, 0, 0, 0}); },
       kTcShot, {WEFT_DROP_ND_INVALID}, nullptr});
  add({"NsFiveOptions", "vm1",
       [=] {
         const Bytes nonce = {14, 1, 1, 2, 3, 4, 5, 6};
         return NeighborSolicitationFrame(kVm1Mac, kVm1Ip6, kGwA6,
                              Join({nonce, nonce, nonce, nonce, NdLinkLayerOption(kOptSource, kVm1Mac)}));
       },
       kTcShot, {WEFT_DROP_ND_INVALID}, nullptr});
  add({"DadProbeWithLinkLayerOption", "vm1",
       [=] {
         return NeighborSolicitationFrame(kVm1Mac, kUnspecified, kVm1Ip6, NdLinkLayerOption(kOptSource, kVm1Mac));
       },
       kTcShot, {WEFT_DROP_ND_INVALID}, nullptr});
  add({"Icmp6HeaderCut", "vm1",
       [=] {
         Bytes f = Ns(kVm1Mac, kVm1Ip6, kGwA6);
         f.resize(14 + 40 + 4);
         f[14 + 5] = 4;  // payload length
         return f;
       },
       kTcShot, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"PayloadLengthPastTheFrame", "vm1",
       [=] {
         Bytes f = Ns(kVm1Mac, kVm1Ip6, kGwA6);
         f[14 + 5] += 8;
         return f;
       },
       kTcShot, {WEFT_DROP_TRUNCATED}, nullptr});
  add({"NotIpv6Version", "vm1",
       [=] {
         Bytes f = Ns(kVm1Mac, kVm1Ip6, kGwA6);
         f[14] = 0x40;
         return f;
       },
       kTcShot, {WEFT_DROP_TRUNCATED}, nullptr});

  // --- not ND ----------------------------------------------------------------------
  // A multicast listener report: hop-by-hop (router alert) first, to a group.
  add({"ListenerReportCountedBroadcast", "vm1",
       [=] {
         Ipv6Spec ip;
         ip.src = kVm1Ll;
         ip.dst = Ip6("ff02::16");
         ip.next_header = 0;
         ip.hop_limit = 1;
         const Bytes hop_by_hop = {58, 0, 5, 2, 0, 0, 1, 0};
         const Bytes report = {143, 0, 0, 0, 0, 0, 0, 0};
         return Eth(Ipv6MulticastMac(ip.dst), kVm1Mac, kEthIpv6, Ipv6(ip, Join({hop_by_hop, report})));
       },
       kTcShot, {WEFT_DROP_BROADCAST}, nullptr});
  add({"NsOnUnboundInterface", "vm9", [=] { return Ns(kVm1Mac, kVm1Ip6, kGwA6); }, kTcShot,
       {WEFT_DROP_NOT_BOUND}, nullptr});
  return c;
}
// clang-format on

// An extension header: next header, length in 8-byte units beyond the
// first 8, and for routing its type and segments left. Options are zero
// bytes: Pad1 options.
Bytes Ext(uint8_t next, uint8_t units = 0, uint8_t type = 0, uint8_t segments_left = 0) {
  Bytes h = {next, units, type, segments_left};
  h.resize(8 * (units + 1), 0);
  return h;
}

constexpr uint8_t kHop = 0, kRouting = 43, kFragment = 44, kDest = 60, kEsp = 50;

// IPv6 from vm1 to vm4 (same segment): `first` after the fixed header,
// then `chain`, then UDP.
Bytes V6(const Ipv6Address& src, uint8_t first, const Bytes& chain) {
  Ipv6Spec ip;
  ip.src = src;
  ip.dst = kVm4Ip6;
  ip.next_header = first;
  return Eth(kVm4Mac, kVm1Mac, kEthIpv6,
             Ipv6(ip, Join({chain, Udp(40000, 5001, Bytes(16, 0xab))})));
}
Bytes V6(uint8_t first, const Bytes& chain) { return V6(kVm1Ip6, first, chain); }

// vm1 to `dst` through blue-a's gateway (routed), with `hop_limit`.
Bytes Routed6(const Ipv6Address& dst, uint8_t hop_limit, uint8_t proto = kProtoUdp,
              const Bytes& payload = Udp(40000, 5001, Bytes(16, 0xab))) {
  Ipv6Spec ip;
  ip.src = kVm1Ip6;
  ip.dst = dst;
  ip.hop_limit = hop_limit;
  ip.next_header = proto;
  return Eth(kBlueGwMac, kVm1Mac, kEthIpv6, Ipv6(ip, payload));
}

// An ICMPv6 error from blue-a's gateway back to vm1, quoting the offending
// packet's header and 20 bytes (padded with zeros: bpf/lib/icmp6.h); `rest`
// is the header's last word (Packet Too Big: the MTU).
Check Icmp6ErrorBack(uint8_t type, uint8_t code, uint32_t rest = 0) {
  return [=](const Seen& s) {
    ASSERT_TRUE(s.p.eth && s.p.ipv6 && s.p.icmp) << s.p.error;
    EXPECT_EQ(s.p.eth->dst, kVm1Mac);
    EXPECT_EQ(s.p.eth->src, kBlueGwMac);
    EXPECT_EQ(s.p.ipv6->src, kGwA6);
    EXPECT_EQ(s.p.ipv6->dst, kVm1Ip6);
    EXPECT_EQ(s.p.ipv6->next_header, 58);
    EXPECT_GT(s.p.ipv6->hop_limit, 1);
    EXPECT_EQ(s.p.icmp->type, type);
    EXPECT_EQ(s.p.icmp->code, code);
    EXPECT_TRUE(s.p.icmp->checksum_ok);
    EXPECT_EQ(s.p.icmp->rest, rest);
    constexpr size_t kQuote = 40 + 20;
    EXPECT_EQ(s.out.size(), 14u + 40 + 8 + kQuote);
    Bytes quote(s.in.begin() + 14, s.in.begin() + 14 + std::min(s.in.size() - 14, kQuote));
    quote.resize(kQuote);
    EXPECT_EQ(s.p.icmp->payload, quote);
  };
}

// Routing would expire the hop limit: Time Exceeded from the gateway, before
// the route is looked up (as a router checks it first); what the gateway
// does not route is not checked for it.
std::vector<VmCase> HopLimitCases() {
  const Ipv6Address remote = Ip6("2001:db8:99::1");
  const Check expired = Icmp6ErrorBack(3, 0);
  return {
      {"HopLimit1Routed",
       "vm1",
       [=] { return Routed6(remote, 1); },
       kTcRedirect,
       {WEFT_ICMP_ERROR},
       expired},
      {"HopLimit0Routed",
       "vm1",
       [=] { return Routed6(remote, 0); },
       kTcRedirect,
       {WEFT_ICMP_ERROR},
       expired},
      {"HopLimit1EchoRequest",
       "vm1",
       [=] {
         return Routed6(remote, 1, 58, {128, 0, 0, 0, 0, 1, 0, 1});
       },
       kTcRedirect,
       {WEFT_ICMP_ERROR},
       expired},
      {"HopLimit1ShortPacketQuotedPadded",
       "vm1",
       [=] { return Routed6(remote, 1, 59, {}); },
       kTcRedirect,
       {WEFT_ICMP_ERROR},
       expired},
      {"HopLimit1BehindExtensionHeaders",
       "vm1",
       [=] {
         return Routed6(remote, 1, kDest, Join({Ext(kProtoUdp), Udp(1, 2, Bytes(8))}));
       },
       kTcRedirect,
       {WEFT_ICMP_ERROR},
       expired},
      // No error about an error, even behind a header.
      {"HopLimit1IcmpErrorGetsNone",
       "vm1",
       [=] {
         return Routed6(remote, 1, 58, {1, 0, 0, 0, 0, 0, 0, 0});
       },
       kTcShot,
       {WEFT_DROP_TTL_EXPIRED},
       nullptr},
      {"HopLimit1IcmpErrorBehindHeaderGetsNone",
       "vm1",
       [=] {
         return Routed6(remote, 1, kDest, Join({Ext(58), {3, 0, 0, 0, 0, 0, 0, 0}}));
       },
       kTcShot,
       {WEFT_DROP_TTL_EXPIRED},
       nullptr},
      // Not for routing: no error.
      {"HopLimit2Routed",
       "vm1",
       [=] { return Routed6(kVm4Ip6, 2); },
       kTcRedirect,
       {WEFT_DELIVER_LOCAL},
       nullptr},
      {"HopLimit1ToTheGatewayItself",
       "vm1",
       [] { return Routed6(kGwA6, 1); },
       kTcShot,
       {WEFT_DROP_UNKNOWN_DST},
       nullptr},
      {"HopLimit1ToLinkLocal",
       "vm1",
       [] { return Routed6(LinkLocalOf(kVm4Mac), 1); },
       kTcShot,
       {WEFT_DROP_UNKNOWN_DST},
       nullptr},
      {"HopLimit1Switched",
       "vm1",
       [] {
         Bytes f = V6(kProtoUdp, {});
         f[14 + 7] = 1;
         return f;
       },
       kTcRedirect,
       {WEFT_DELIVER_LOCAL},
       ExpectUnchanged},
  };
}

// `in` as the gateway routes it: MACs from the gateway to `dst`, hop limit
// one less, nothing else changed (IPv6 has no header checksum).
Bytes RoutedByGateway6(Bytes in, const Mac& gw, const Mac& dst) {
  std::copy(dst.begin(), dst.end(), in.begin());
  std::copy(gw.begin(), gw.end(), in.begin() + 6);
  in[14 + 7] -= 1;
  return in;
}

Check Routed6To(const Mac& dst) {
  return [=](const Seen& s) { EXPECT_EQ(s.out, RoutedByGateway6(s.in, kBlueGwMac, dst)); };
}

// VXLAN to `vtep` on blue-a around what vm1 sent: as it was (switched), or
// routed to `dst` (a remote endpoint's MAC, or the gateway's for a route).
Check Encap6(uint32_t vtep, std::optional<Mac> routed_to = std::nullopt) {
  return [=](const Seen& s) {
    ExpectVxlanFromHv1(s, vtep, kVniBlueA);
    EXPECT_EQ(s.p.inner, routed_to ? RoutedByGateway6(s.in, kBlueGwMac, *routed_to) : s.in);
  };
}

// vm1 -> `dst` (MAC, address) in blue-a, UDP with `payload_len` bytes.
Bytes Switched6(const Mac& dst_mac, const Ipv6Address& dst, size_t payload_len = 16) {
  Ipv6Spec ip;
  ip.src = kVm1Ip6;
  ip.dst = dst;
  return Eth(dst_mac, kVm1Mac, kEthIpv6,
             Ipv6(ip, Udp(40000, 5001, Bytes(payload_len, 0xab), kVm1Ip6, dst)));
}

// What the VM program forwards of IPv6 (no policy here: tenants allow by
// default; tests/bpf/firewall6_test.cc has the firewall).
std::vector<VmCase> Forward6Cases() {
  // The largest UDP payload whose frame fits ul0 (MTU 1500) once VXLAN's 50
  // bytes are added: 1500 - 50 - 40 - 8.
  constexpr size_t kFits = 1402;
  std::vector<VmCase> c;
  auto add = [&](VmCase v) { c.push_back(std::move(v)); };
  add({"SwitchedToLocalVm",
       "vm1",
       [] { return V6(kProtoUdp, {}); },
       kTcRedirect,
       {WEFT_DELIVER_LOCAL},
       ExpectUnchanged});
  add({"SwitchedBehindHopByHopDestinationRouting",
       "vm1",
       [] {
         return V6(kHop, Join({Ext(kDest), Ext(kRouting, 0, 4, 0), Ext(kProtoUdp, 1)}));
       },
       kTcRedirect,
       {WEFT_DELIVER_LOCAL},
       ExpectUnchanged});
  add({"SwitchedBehindFourHeaders",
       "vm1",
       [] {
         return V6(kHop, Join({Ext(kDest), Ext(kDest), Ext(kDest), Ext(kProtoUdp)}));
       },
       kTcRedirect,
       {WEFT_DELIVER_LOCAL},
       ExpectUnchanged});
  // ESP is the upper layer, not a header to walk past.
  add({"EspSwitched",
       "vm1",
       [] { return V6(kDest, Ext(kEsp)); },
       kTcRedirect,
       {WEFT_DELIVER_LOCAL},
       ExpectUnchanged});
  add({"SwitchedToRemoteVm",
       "vm1",
       [] { return Switched6(kBlueHv2AMac, kBlueHv2AIp6); },
       kTcRedirect,
       {WEFT_ENCAP},
       Encap6(kHv2Vtep)});
  add({"SwitchedToRemoteVmLargestThatFits",
       "vm1",
       [] { return Switched6(kBlueHv2AMac, kBlueHv2AIp6, kFits); },
       kTcRedirect,
       {WEFT_ENCAP},
       Encap6(kHv2Vtep)});
  add({"SwitchedToUnknownMac",
       "vm1",
       [] { return Switched6(kStrangerMac, kVm4Ip6); },
       kTcShot,
       {WEFT_DROP_UNKNOWN_DST},
       nullptr});
  add({"RoutedToLocalVm",
       "vm1",
       [] { return Routed6(kVm4Ip6, 64); },
       kTcRedirect,
       {WEFT_DELIVER_LOCAL},
       Routed6To(kVm4Mac)});
  add({"RoutedToRemoteVm",
       "vm1",
       [] { return Routed6(kBlueHv2AIp6, 64); },
       kTcRedirect,
       {WEFT_ENCAP},
       Encap6(kHv2Vtep, kBlueHv2AMac)});
  add({"RoutedByEcmpRoute",
       "vm1",
       [] { return Routed6(Ip6("2001:db8:9::1"), 64); },
       kTcRedirect,
       {WEFT_ENCAP},
       [](const Seen& s) {
         ASSERT_TRUE(s.p.ipv4.has_value());
         const uint32_t vtep = s.p.ipv4->dst;
         EXPECT_TRUE(vtep == kHv2Vtep || vtep == kLx1Vtep) << FormatIpv4(vtep);
         Encap6(vtep, kBlueGwMac)(s);
       }});
  add({"RoutedToBlackhole",
       "vm1",
       [] { return Routed6(Ip6("2001:db8:66::1"), 64); },
       kTcShot,
       {WEFT_DROP_BLACKHOLE},
       nullptr});
  add({"RoutedWithoutRoute",
       "vm1",
       [] { return Routed6(Ip6("2001:db8:77::1"), 64); },
       kTcShot,
       {WEFT_DROP_NO_ROUTE},
       nullptr});
  add({"RoutedToNoEndpointInSubnet",
       "vm1",
       [] { return Routed6(Ip6("2001:db8:1::99"), 64); },
       kTcShot,
       {WEFT_DROP_UNKNOWN_DST},
       nullptr});
  // Too big once encapsulated: Packet Too Big from the gateway with the
  // MTU the router advertisements announce; delivered locally, it fits.
  add({"TooBigForTheUnderlay",
       "vm1",
       [] { return Switched6(kBlueHv2AMac, kBlueHv2AIp6, kFits + 1); },
       kTcRedirect,
       {WEFT_ICMP_ERROR},
       Icmp6ErrorBack(2, 0, 1450)});
  add({"RoutedTooBigForTheUnderlay",
       "vm1",
       [] { return Routed6(kBlueHv2AIp6, 64, kProtoUdp, Udp(1, 2, Bytes(kFits + 1, 0))); },
       kTcRedirect,
       {WEFT_ICMP_ERROR},
       Icmp6ErrorBack(2, 0, 1450)});
  add({"LargeDeliveredLocally",
       "vm1",
       [] { return Switched6(kVm4Mac, kVm4Ip6, kFits + 1); },
       kTcRedirect,
       {WEFT_DELIVER_LOCAL},
       ExpectUnchanged});
  // Red has blue's prefix and no route of blue's: isolation by tenant.
  add({"RedHasNoBlueRoute6",
       "vm3",
       [] {
         Ipv6Spec ip;
         ip.src = kVm3Ip6;
         ip.dst = Ip6("2001:db8:9::1");
         return Eth(kRedGwMac, kVm3Mac, kEthIpv6, Ipv6(ip, Udp(1, 2, Bytes(8))));
       },
       kTcShot,
       {WEFT_DROP_NO_ROUTE},
       nullptr});
  add({"RedDoesNotReachBluesSameAddress",
       "vm3",
       [] {
         Ipv6Spec ip;
         ip.src = kVm3Ip6;
         ip.dst = kVm4Ip6;
         return Eth(kRedGwMac, kVm3Mac, kEthIpv6, Ipv6(ip, Udp(1, 2, Bytes(8))));
       },
       kTcShot,
       {WEFT_DROP_UNKNOWN_DST},
       nullptr});
  return c;
}

// What a VM's IPv6 is dropped for: which reason says how far it got.
std::vector<VmCase> Ipv6Cases() {
  std::vector<VmCase> c;
  auto add = [&](std::string name, std::function<Bytes()> packet, int reason) {
    c.push_back({std::move(name), "vm1", std::move(packet), kTcShot, {reason}, nullptr});
  };
  // The gateway answers no IPv6 but Neighbor Discovery.
  add(
      "EchoToGateway",
      [] {
        return Frame({.src_mac = kVm1Mac,
                      .src = kVm1Ip6,
                      .dst = kGwA6,
                      .dst_mac = kBlueGwMac,
                      .type = 128,
                      .body = Bytes(8, 0x5a)});
      },
      WEFT_DROP_UNKNOWN_DST);
  // The source.
  add(
      "FromAnotherEndpointsAddress", [] { return V6(kVm4Ip6, kProtoUdp, {}); }, WEFT_DROP_SPOOFED);
  add(
      "FromLinkLocalNotNd", [] { return V6(LinkLocalOf(kVm1Mac), kProtoUdp, {}); },
      WEFT_DROP_SPOOFED);
  add(
      "FromUnknownAddress", [] { return V6(Ip6("2001:db8:1::99"), kProtoUdp, {}); },
      WEFT_DROP_SPOOFED);
  // Red's vm3 has blue vm1's address, in its own tenant: past the source
  // check, to red's gateway address, which answers nothing.
  c.push_back({"RedsOwnAddressOnItsPort",
               "vm3",
               [] {
                 Ipv6Spec ip;
                 ip.src = kVm3Ip6;
                 ip.dst = kGwA6;
                 return Eth(kRedGwMac, kVm3Mac, kEthIpv6, Ipv6(ip, Udp(1, 2, Bytes(8))));
               },
               kTcShot,
               {WEFT_DROP_UNKNOWN_DST},
               nullptr});
  // The extension headers.
  add(
      "Fragment", [] { return V6(kFragment, Ext(kProtoUdp)); }, WEFT_DROP_FRAGMENT);
  add(
      "FragmentAfterHopByHop", [] { return V6(kHop, Ext(kFragment)); }, WEFT_DROP_FRAGMENT);
  add(
      "RoutingWithSegmentsLeft", [] { return V6(kRouting, Ext(kProtoUdp, 2, 4, 1)); },
      WEFT_DROP_IPV6_EXT_HEADERS);
  add(
      "FiveHeaders",
      [] {
        return V6(kDest, Join({Ext(kDest), Ext(kDest), Ext(kDest), Ext(kDest), Ext(kProtoUdp)}));
      },
      WEFT_DROP_IPV6_EXT_HEADERS);
  add(
      "HopByHopNotFirst",
      [] {
        return V6(kDest, Join({Ext(kHop), Ext(kProtoUdp)}));
      },
      WEFT_DROP_IPV6_EXT_HEADERS);
  add(
      "HeaderLongerThanWalked", [] { return V6(kDest, Ext(kProtoUdp, 40)); },
      WEFT_DROP_IPV6_EXT_HEADERS);
  add(
      "HeaderPastThePayload",
      [] {
        Bytes f = V6(kDest, Ext(kProtoUdp));
        f.resize(14 + 40 + 8);
        f[14 + 4] = 0;
        f[14 + 5] = 8;       // payload length: the header only
        f[14 + 40 + 1] = 1;  // which says it is 16 bytes
        return f;
      },
      WEFT_DROP_TRUNCATED);
  add(
      "HeaderCutShort",
      [] {
        Bytes f = V6(kDest, Ext(kProtoUdp));
        f.resize(14 + 40 + 4);
        f[14 + 4] = 0;
        f[14 + 5] = 4;
        return f;
      },
      WEFT_DROP_TRUNCATED);
  return c;
}

class NdTest : public VmTableTest {};
TEST_P(NdTest, Verdict) { RunCase(); }
INSTANTIATE_TEST_SUITE_P(Nd, NdTest, ::testing::ValuesIn(NdCases()), VmCaseName);

class HopLimitTest : public VmTableTest {};
TEST_P(HopLimitTest, Verdict) { RunCase(); }
INSTANTIATE_TEST_SUITE_P(HopLimit, HopLimitTest, ::testing::ValuesIn(HopLimitCases()), VmCaseName);

class Forward6Test : public VmTableTest {};
TEST_P(Forward6Test, Verdict) { RunCase(); }
INSTANTIATE_TEST_SUITE_P(Forward6, Forward6Test, ::testing::ValuesIn(Forward6Cases()), VmCaseName);

class Ipv6FromVmTest : public VmTableTest {};
TEST_P(Ipv6FromVmTest, Verdict) { RunCase(); }
INSTANTIATE_TEST_SUITE_P(Ipv6, Ipv6FromVmTest, ::testing::ValuesIn(Ipv6Cases()), VmCaseName);

}  // namespace
}  // namespace weft::testing
