// The IPv6 firewall through the real programs: conntrack of IPv6 flows
// (weft_ct6 and weft_ct6_pend), their classification by the IPv6 policy
// tables (weft_pol_appl6, weft_pol_peer6) of the one rule set both families
// share, rejects answered with ICMPv6, revocation and tenants. Each test
// writes the policy maps directly (tests/bpf/firewall_maps.h) and leaves
// them empty again (tests/bpf/firewall_fixture.h). IPv4: firewall_test.cc.
//
// Topology (fixture.h): blue-a has 2001:db8:1::/64 (gateway ::1); vm1 ::10
// and vm4 ::12 are local, blue-hv2-a ::11 sits behind hv2; blue routes
// 2001:db8:9::/48 to hv2 and lx1. Red's vm3 has vm1's address, ::10, on
// red-a. A VM's packets run through the VM program on its interface; the
// remote side's through the underlay program (TC, and XDP where the hook
// matters) as VXLAN from hv2.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "agent/datapath/maps/conntrack.h"
#include "common/packet/builder.h"
#include "common/packet/parser.h"
#include "tests/bpf/checks.h"
#include "tests/bpf/firewall_fixture.h"
#include "tests/bpf/firewall_maps.h"
#include "tests/bpf/fixture.h"

namespace weft::testing {
namespace {

constexpr uint16_t kFw6Cport = 43210;  // the client's port
constexpr uint16_t kFw6Sport = 443;    // the server's
constexpr uint8_t kFw6EchoRequest = 128;
constexpr uint8_t kFw6EchoReply = 129;
constexpr size_t kFw6VxlanOverhead = 14 + 20 + 8 + 8;
const Ipv6Address kFw6Net = Ip6("2001:db8:1::");      // blue-a's /64
const Ipv6Address kFw6Remote = Ip6("2001:db8:9::5");  // routed to hv2 and lx1
const Prefix6 kFw6BlueA{kFw6Net, 64};
const Prefix6 kFw6AnyPeer6{{}, 0};

// An Ethernet/IPv6 frame carrying `l4` of protocol `next`.
Bytes Fw6Frame(const Mac& smac, const Ipv6Address& sip, const Mac& dmac, const Ipv6Address& dip,
               uint8_t next, const Bytes& l4) {
  Ipv6Spec ip;
  ip.src = sip;
  ip.dst = dip;
  ip.next_header = next;
  return Eth(dmac, smac, kEthIpv6, Ipv6(ip, l4));
}
Bytes Fw6Tcp(const Mac& smac, const Ipv6Address& sip, const Mac& dmac, const Ipv6Address& dip,
             uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
             const Bytes& payload = {}) {
  return Fw6Frame(smac, sip, dmac, dip, kProtoTcp,
                  Tcp(sport, dport, flags, seq, ack, payload, sip, dip));
}
Bytes Fw6Udp(const Mac& smac, const Ipv6Address& sip, const Mac& dmac, const Ipv6Address& dip,
             uint16_t sport, uint16_t dport) {
  return Fw6Frame(smac, sip, dmac, dip, kProtoUdp, Udp(sport, dport, Bytes(16, 0x42), sip, dip));
}
Bytes Fw6Icmp(const Mac& smac, const Ipv6Address& sip, const Mac& dmac, const Ipv6Address& dip,
              const Icmp6Spec& icmp) {
  Ipv6Spec ip;
  ip.src = sip;
  ip.dst = dip;
  ip.next_header = kProtoIcmp6;
  return Icmp6Frame(dmac, smac, ip, icmp);
}
Icmp6Spec Fw6Echo(uint8_t type, uint16_t id) {
  return {.type = type, .code = 0, .rest = uint32_t{id} << 16 | 1, .body = Bytes(32, 0x5a)};
}
// An ICMPv6 error quoting the IPv6 packet of `frame` (an Ethernet frame).
Icmp6Spec Fw6Error(uint8_t type, uint8_t code, uint32_t rest, const Bytes& frame) {
  return {.type = type, .code = code, .rest = rest, .body = Bytes(frame.begin() + 14, frame.end())};
}

// vm1 <-> blue-hv2-a.
Bytes Fw6Vm1Tcp(uint8_t flags, uint32_t seq, uint32_t ack, const Bytes& payload = {},
                uint16_t sport = kFw6Cport, uint16_t dport = kFw6Sport) {
  return Fw6Tcp(kVm1Mac, kVm1Ip6, kBlueHv2AMac, kBlueHv2AIp6, sport, dport, flags, seq, ack,
                payload);
}
Bytes Fw6Hv2Tcp(uint8_t flags, uint32_t seq, uint32_t ack, const Bytes& payload = {},
                uint16_t sport = kFw6Sport, uint16_t dport = kFw6Cport) {
  return FromHv2(kVniBlueA, Fw6Tcp(kBlueHv2AMac, kBlueHv2AIp6, kVm1Mac, kVm1Ip6, sport, dport,
                                   flags, seq, ack, payload));
}
Bytes Fw6Vm1Udp(uint16_t sport = 40000, uint16_t dport = 53) {
  return Fw6Udp(kVm1Mac, kVm1Ip6, kBlueHv2AMac, kBlueHv2AIp6, sport, dport);
}
Bytes Fw6Hv2Udp(uint16_t sport = 53, uint16_t dport = 40000, uint32_t vni = kVniBlueA,
                const Mac& dmac = kVm1Mac) {
  return FromHv2(vni, Fw6Udp(kBlueHv2AMac, kBlueHv2AIp6, dmac, kVm1Ip6, sport, dport));
}
Bytes Fw6Vm1Icmp(const Icmp6Spec& icmp) {
  return Fw6Icmp(kVm1Mac, kVm1Ip6, kBlueHv2AMac, kBlueHv2AIp6, icmp);
}
Bytes Fw6Hv2Icmp(const Icmp6Spec& icmp) {
  return FromHv2(kVniBlueA, Fw6Icmp(kBlueHv2AMac, kBlueHv2AIp6, kVm1Mac, kVm1Ip6, icmp));
}
// vm1 to `dst` through blue-a's gateway.
Bytes Fw6Vm1Routed(const Ipv6Address& dst, uint8_t flags, uint16_t dport, uint32_t seq,
                   const Bytes& payload = {}) {
  return Fw6Tcp(kVm1Mac, kVm1Ip6, kBlueGwMac, dst, kFw6Cport, dport, flags, seq, 0, payload);
}

// A blue rule applied to vm1's IPv6 address (egress or ingress), its peers
// IPv6 prefixes only: blue-hv2-a unless given.
RuleSpec Fw6Rule(uint32_t dir, uint8_t proto, std::optional<uint16_t> port,
                 uint32_t action = WEFT_ACTION_ALLOW,
                 std::vector<Prefix6> peers6 = {{kBlueHv2AIp6, 128}}) {
  RuleSpec r;
  r.tenant = kBlueTenant;
  r.direction = dir;
  r.applied6 = {kVm1Ip6};
  r.peers6 = std::move(peers6);
  r.protocol = proto;
  r.port = port;
  r.action = action;
  return r;
}

// ICMPv6 destination unreachable, administratively prohibited (1/1), from
// blue-a's gateway back to vm1 on its own interface, quoting `in`'s IPv6
// packet (its first 60 bytes, zero-padded: bpf/lib/icmp6.h).
void Fw6ExpectProhibited(const Bytes& in, const RunResult& r) {
  EXPECT_EQ(TcRetName(r.retval), TcRetName(kTcRedirect)) << "the answer goes back to vm1";
  const Parsed p = Parse(r.out);
  ASSERT_TRUE(p.eth && p.ipv6 && p.icmp) << p.error << "\n" << HexDump(r.out);
  EXPECT_EQ(FormatMac(p.eth->dst), FormatMac(kVm1Mac));
  EXPECT_EQ(FormatMac(p.eth->src), FormatMac(kBlueGwMac)) << "from the gateway MAC";
  EXPECT_EQ(p.eth->ethertype, kEthIpv6);
  EXPECT_EQ(FormatIpv6(p.ipv6->src), FormatIpv6(kGwA6)) << "from blue-a's IPv6 gateway";
  EXPECT_EQ(FormatIpv6(p.ipv6->dst), FormatIpv6(kVm1Ip6));
  EXPECT_EQ(p.ipv6->next_header, kProtoIcmp6);
  EXPECT_GT(p.ipv6->hop_limit, 1);
  EXPECT_EQ(p.ipv6->payload_length, r.out.size() - 14 - 40);
  EXPECT_EQ(p.icmp->type, 1) << "destination unreachable";
  EXPECT_EQ(p.icmp->code, 1) << "administratively prohibited";
  EXPECT_TRUE(p.icmp->checksum_ok) << "ICMPv6 checksum 0x" << std::hex << p.icmp->checksum;
  EXPECT_EQ(p.icmp->rest, 0u);
  constexpr size_t kQuote = 40 + 20;
  Bytes quote(in.begin() + 14, in.begin() + 14 + std::min(in.size() - 14, kQuote));
  quote.resize(kQuote);
  EXPECT_EQ(p.icmp->payload, quote) << "the quote: the offending packet's start\n"
                                    << HexDump(r.out);
}

// `out` is the RST the TCP segment `in` (Ethernet, IPv6, TCP) gets back: the
// frame a sender would build, byte for byte (addresses and ports swapped,
// RST|ACK with `seq`/`ack`, window 0, hop limit 64, checksum over the IPv6
// pseudo header).
void Fw6ExpectRst(const Bytes& in, const Bytes& out, uint32_t seq, uint32_t ack) {
  const Parsed p = Parse(in);
  ASSERT_TRUE(p.eth && p.ipv6 && p.tcp) << p.error;
  const Bytes want = Fw6Frame(p.eth->dst, p.ipv6->dst, p.eth->src, p.ipv6->src, kProtoTcp,
                              Tcp(p.tcp->dport, p.tcp->sport, kTcpRst | kTcpAck, seq, ack, {},
                                  p.ipv6->dst, p.ipv6->src, /*window=*/0));
  EXPECT_EQ(HexDump(out), HexDump(want));
}

class Firewall6Test : public FirewallFixture {
 protected:
  std::optional<weft_ct_entry> Vm1Hv2Tcp() const {
    return fw_->Ct6(kBlueTenant, kProtoTcp, kVm1Ip6, kFw6Cport, kBlueHv2AIp6, kFw6Sport);
  }
  std::optional<weft_ct_entry> Vm1Hv2Udp(uint16_t vm1_port = 40000, uint16_t port = 53) const {
    return fw_->Ct6(kBlueTenant, kProtoUdp, kVm1Ip6, vm1_port, kBlueHv2AIp6, port);
  }
  bool Confirmed(uint8_t proto, uint16_t vm1_port, uint16_t port) const {
    return fw_->Ct6In(Map::kCt6, kBlueTenant, proto, kVm1Ip6, vm1_port, kBlueHv2AIp6, port)
        .has_value();
  }
  bool Pending(uint8_t proto, uint16_t vm1_port, uint16_t port) const {
    return fw_->Ct6In(Map::kCt6Pending, kBlueTenant, proto, kVm1Ip6, vm1_port, kBlueHv2AIp6, port)
        .has_value();
  }
  size_t Ipv4Entries() const { return fw_->CtCountIn(Map::kCt) + fw_->CtCountIn(Map::kCtPending); }
  uint64_t Moved(const CtStats& before, int stat) const {
    return fw_->Stats()[stat] - before[stat];
  }

  // vm1's SYN, hv2-a's SYN-ACK, vm1's ACK: established and confirmed.
  void Handshake() {
    Vm("vm1", Fw6Vm1Tcp(kTcpSyn, 1000, 0), WEFT_ENCAP, "SYN");
    Ul(Fw6Hv2Tcp(kTcpSyn | kTcpAck, 5000, 1001), WEFT_DECAP, "SYN-ACK");
    Vm("vm1", Fw6Vm1Tcp(kTcpAck, 1001, 5001), WEFT_ENCAP, "ACK");
    ASSERT_TRUE(Vm1Hv2Tcp().has_value());
    ASSERT_EQ(Vm1Hv2Tcp()->state, WEFT_CT_ESTABLISHED);
  }
};

// --- TCP and UDP across hosts -----------------------------------------------------------

TEST_F(Firewall6Test, TcpHandshakeDataAndFinTeardownCrossHost) {
  Policy(DefaultDeny(
      {Fw6Rule(WEFT_DIR_EGRESS, kProtoTcp, kFw6Sport, WEFT_ACTION_ALLOW, {kFw6BlueA})}));
  const CtStats before = fw_->Stats();
  struct Step {
    const char* what;
    bool from_vm1;
    uint8_t flags;
    uint32_t seq, ack;
    size_t payload;
    int state;
    bool confirmed;
  };
  const std::vector<Step> steps = {
      {"SYN", true, kTcpSyn, 1000, 0, 0, WEFT_CT_SYN_SENT, false},
      {"SYN-ACK", false, kTcpSyn | kTcpAck, 5000, 1001, 0, WEFT_CT_SYN_RECV, false},
      {"ACK", true, kTcpAck, 1001, 5001, 0, WEFT_CT_ESTABLISHED, true},
      {"data out", true, kTcpAck | kTcpPsh, 1001, 5001, 100, WEFT_CT_ESTABLISHED, true},
      {"data back", false, kTcpAck | kTcpPsh, 5001, 1101, 200, WEFT_CT_ESTABLISHED, true},
      {"FIN out", true, kTcpFin | kTcpAck, 1101, 5201, 0, WEFT_CT_FIN_WAIT, true},
      {"FIN back", false, kTcpFin | kTcpAck, 5201, 1102, 0, WEFT_CT_CLOSING, true},
      {"last ACK", true, kTcpAck, 1102, 5202, 0, WEFT_CT_CLOSING, true},
  };
  uint64_t bytes[2] = {0, 0}, packets[2] = {0, 0};
  for (const Step& s : steps) {
    const Bytes payload(s.payload, 0x61);
    if (s.from_vm1) {
      const Bytes in = Fw6Vm1Tcp(s.flags, s.seq, s.ack, payload);
      RunResult r = Vm("vm1", in, WEFT_ENCAP, s.what);
      const Parsed p = Parse(r.out);
      ExpectVxlanFromHv1(Seen{in, r.out, p, env()}, kHv2Vtep, kVniBlueA);
      EXPECT_EQ(p.inner, in) << s.what << ": switched, the frame itself unchanged";
    } else {
      Ul(Fw6Hv2Tcp(s.flags, s.seq, s.ack, payload), WEFT_DECAP, s.what);
    }
    bytes[s.from_vm1 ? 0 : 1] += 40 + 20 + s.payload;
    packets[s.from_vm1 ? 0 : 1]++;
    auto e = Vm1Hv2Tcp();
    ASSERT_TRUE(e.has_value()) << s.what << ": no conntrack entry";
    EXPECT_EQ(e->state, s.state) << s.what;
    EXPECT_EQ(Confirmed(kProtoTcp, kFw6Cport, kFw6Sport), s.confirmed) << s.what << ": in weft_ct6";
    EXPECT_EQ(Pending(kProtoTcp, kFw6Cport, kFw6Sport), !s.confirmed)
        << s.what << ": in weft_ct6_pend";
  }
  auto e = Vm1Hv2Tcp();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->packets[0], packets[0]) << "per-entry packets, initiator -> responder";
  EXPECT_EQ(e->packets[1], packets[1]) << "per-entry packets, replies";
  EXPECT_EQ(e->bytes[0], bytes[0]) << "per-entry bytes (IPv6 payload length + 40)";
  EXPECT_EQ(e->bytes[1], bytes[1]);
  EXPECT_EQ(e->flags & (WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS), WEFT_CT_F_EGRESS)
      << "judged by vm1's egress only (the peer is remote)";
  EXPECT_EQ(e->flags & (WEFT_CT_F_FIN_ORIG | WEFT_CT_F_FIN_REPLY),
            WEFT_CT_F_FIN_ORIG | WEFT_CT_F_FIN_REPLY);
  EXPECT_EQ(e->rule_index, 0u);
  EXPECT_EQ(e->policy_generation, 1u);
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_CREATED), 1u);
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_CONFIRMED), 1u);
  EXPECT_EQ(fw_->CtCount(), 1u);
  EXPECT_EQ(Ipv4Entries(), 0u) << "an IPv6 flow has no entry in the IPv4 tables";
  // What the rule does not cover stays denied.
  Ul(Fw6Hv2Tcp(kTcpSyn, 9000, 0, {}, kFw6Sport, 22), WEFT_DROP_POLICY,
     "unsolicited SYN from hv2-a to vm1:22");
  Vm("vm1", Fw6Vm1Tcp(kTcpSyn, 1, 0, {}, kFw6Cport, 80), WEFT_DROP_POLICY, "SYN to hv2-a:80");
  EXPECT_EQ(fw_->CtCount(), 1u) << "denied flows leave no entry";
}

TEST_F(Firewall6Test, TcpRstClosesAndNewSynReusesTuple) {
  Policy(DefaultDeny({Fw6Rule(WEFT_DIR_EGRESS, kProtoTcp, kFw6Sport)}));
  Handshake();
  Ul(Fw6Hv2Tcp(kTcpRst | kTcpAck, 5001, 1001), WEFT_DECAP, "RST from the server");
  ASSERT_TRUE(Vm1Hv2Tcp().has_value());
  EXPECT_EQ(Vm1Hv2Tcp()->state, WEFT_CT_CLOSING);
  const CtStats before = fw_->Stats();
  Vm("vm1", Fw6Vm1Tcp(kTcpSyn, 7000, 0), WEFT_ENCAP, "new SYN on the closed tuple");
  ASSERT_TRUE(Vm1Hv2Tcp().has_value());
  EXPECT_EQ(Vm1Hv2Tcp()->state, WEFT_CT_SYN_SENT);
  EXPECT_EQ(Vm1Hv2Tcp()->packets[0], 1u) << "a fresh entry";
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_REUSED), 1u);
}

TEST_F(Firewall6Test, UdpReplyPassesByConntrackUnderDefaultDeny) {
  Policy(DefaultDeny({Fw6Rule(WEFT_DIR_EGRESS, kProtoUdp, 53, WEFT_ACTION_ALLOW, {kFw6BlueA})}));
  const CtStats before = fw_->Stats();
  Ul(Fw6Hv2Udp(), WEFT_DROP_POLICY, "unsolicited before the request");
  Vm("vm1", Fw6Vm1Udp(), WEFT_ENCAP, "request");
  auto e = Vm1Hv2Udp();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->state, WEFT_CT_NEW);
  EXPECT_EQ(e->flags & (WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS), WEFT_CT_F_EGRESS);
  EXPECT_EQ(e->bytes[0], 40u + 8 + 16);
  EXPECT_TRUE(Pending(kProtoUdp, 40000, 53)) << "one direction seen: pending";
  Ul(Fw6Hv2Udp(), WEFT_DECAP, "reply");
  EXPECT_TRUE(Confirmed(kProtoUdp, 40000, 53)) << "the first reply confirms";
  EXPECT_FALSE(Pending(kProtoUdp, 40000, 53));
  EXPECT_EQ(Vm1Hv2Udp()->state, WEFT_CT_ESTABLISHED);
  Ul(Fw6Hv2Udp(), WEFT_DECAP, "another reply", /*xdp=*/true);
  EXPECT_EQ(Vm1Hv2Udp()->packets[1], 2u);
  Ul(Fw6Hv2Udp(53, 40001), WEFT_DROP_POLICY, "another port is another flow");
  Vm("vm1", Fw6Vm1Udp(40000, 54), WEFT_DROP_POLICY, "egress to a port no rule allows");
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_CREATED), 1u);
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_CONFIRMED), 1u);
}

// --- both ends on this host, and inbound ------------------------------------------------

TEST_F(Firewall6Test, SameHostFlowJudgedAtBothEndsOnce) {
  RuleSpec eg = Fw6Rule(WEFT_DIR_EGRESS, kProtoTcp, 22, WEFT_ACTION_ALLOW, {{kVm4Ip6, 128}});
  RuleSpec in;
  in.tenant = kBlueTenant;
  in.direction = WEFT_DIR_INGRESS;
  in.applied6 = {kVm4Ip6};
  in.peers6 = {{kVm1Ip6, 128}};
  in.protocol = kProtoTcp;
  in.port = 22;
  const Bytes syn = Fw6Tcp(kVm1Mac, kVm1Ip6, kVm4Mac, kVm4Ip6, kFw6Cport, 22, kTcpSyn, 1, 0);
  Policy(DefaultDeny({eg}));
  Vm("vm1", syn, WEFT_DROP_POLICY, "vm4's ingress denies");
  Policy(DefaultDeny({in}), 1, 2);
  Vm("vm1", syn, WEFT_DROP_POLICY, "vm1's egress denies");
  Policy(DefaultDeny({eg, in}), 0, 3);
  RunResult r = Vm("vm1", syn, WEFT_DELIVER_LOCAL, "both ends allow");
  EXPECT_EQ(r.out, syn) << "switched: the frame unchanged";
  auto e = fw_->Ct6(kBlueTenant, kProtoTcp, kVm1Ip6, kFw6Cport, kVm4Ip6, 22);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->flags & (WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS),
            WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS);
  EXPECT_EQ(e->policy_generation, 3u);
  Vm("vm4", Fw6Tcp(kVm4Mac, kVm4Ip6, kVm1Mac, kVm1Ip6, 22, kFw6Cport, kTcpSyn | kTcpAck, 9, 2),
     WEFT_DELIVER_LOCAL, "SYN-ACK from vm4's own interface");
  EXPECT_EQ(fw_->Ct6(kBlueTenant, kProtoTcp, kVm1Ip6, kFw6Cport, kVm4Ip6, 22)->state,
            WEFT_CT_SYN_RECV);
  Vm("vm1", Fw6Tcp(kVm1Mac, kVm1Ip6, kVm4Mac, kVm4Ip6, kFw6Cport, 22, kTcpAck, 2, 10),
     WEFT_DELIVER_LOCAL, "ACK");
  EXPECT_TRUE(fw_->Ct6In(Map::kCt6, kBlueTenant, kProtoTcp, kVm1Ip6, kFw6Cport, kVm4Ip6, 22))
      << "established both ways: confirmed";
  EXPECT_EQ(fw_->CtCount(), 1u) << "one entry for both ends";
}

TEST_F(Firewall6Test, InboundOverVxlanJudgedByIngressRules) {
  Policy(DefaultDeny({Fw6Rule(WEFT_DIR_INGRESS, kProtoTcp, 22)}));
  for (bool xdp : {false, true}) {
    const uint16_t port = xdp ? 50001 : 50000;  // hv2-a's
    const std::string hook = xdp ? " (xdp)" : " (tc)";
    Ul(Fw6Hv2Tcp(kTcpSyn, 7000, 0, {}, port, 22), WEFT_DECAP, "SYN to vm1:22", xdp);
    auto e = fw_->Ct6(kBlueTenant, kProtoTcp, kBlueHv2AIp6, port, kVm1Ip6, 22);
    ASSERT_TRUE(e.has_value()) << hook;
    EXPECT_EQ(e->state, WEFT_CT_SYN_SENT) << hook;
    EXPECT_EQ(e->flags & (WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS), WEFT_CT_F_INGRESS) << hook;
    Vm("vm1", Fw6Vm1Tcp(kTcpSyn | kTcpAck, 9000, 7001, {}, 22, port), WEFT_ENCAP,
       "vm1's SYN-ACK: the entry passes it, not vm1's egress" + hook);
    EXPECT_EQ(fw_->Ct6(kBlueTenant, kProtoTcp, kBlueHv2AIp6, port, kVm1Ip6, 22)->state,
              WEFT_CT_SYN_RECV)
        << hook;
    Ul(Fw6Hv2Tcp(kTcpSyn, 7000, 0, {}, port, 23), WEFT_DROP_POLICY, "SYN to vm1:23", xdp);
    Ul(Fw6Hv2Udp(port, 22), WEFT_DROP_POLICY, "UDP to vm1:22", xdp);
  }
  EXPECT_EQ(fw_->CtCount(), 2u);
}

// --- classification ----------------------------------------------------------------------

// Rules of one rule set, applied to vm1's both addresses: peers of one
// family admit no flow of the other; no peers at all admit both.
TEST_F(Firewall6Test, PeersOfOneFamilyAdmitNoFlowOfTheOther) {
  auto rule = [](uint16_t port, std::vector<Prefix4> peers, std::vector<Prefix6> peers6) {
    RuleSpec r = Fw6Rule(WEFT_DIR_EGRESS, kProtoUdp, port, WEFT_ACTION_ALLOW, std::move(peers6));
    r.applied = {kVm1Ip};
    r.peers = std::move(peers);
    return r;
  };
  Policy(DefaultDeny({
      rule(53, {}, {kFw6BlueA}),                             // IPv6 peers only
      rule(54, {{Ip("10.0.1.0"), 24}}, {}),                  // IPv4 peers only
      rule(55, {}, {}),                                      // no peers: any of both
      rule(56, {{kBlueHv2AIp, 32}}, {{kBlueHv2AIp6, 128}}),  // both
  }));
  struct Row {
    uint16_t port;
    int v4, v6;
  };
  for (const Row& row :
       {Row{53, WEFT_DROP_POLICY, WEFT_ENCAP}, Row{54, WEFT_ENCAP, WEFT_DROP_POLICY},
        Row{55, WEFT_ENCAP, WEFT_ENCAP}, Row{56, WEFT_ENCAP, WEFT_ENCAP}}) {
    const std::string port = " to port " + std::to_string(row.port);
    Vm("vm1", UdpFrame(kBlueHv2AMac, kVm1Mac, kVm1Ip, kBlueHv2AIp, 40000, row.port, 16), row.v4,
       "IPv4" + port);
    Vm("vm1", Fw6Vm1Udp(40000, row.port), row.v6, "IPv6" + port);
  }
}

// An entry of the peer trie holds the rules of every shorter prefix that
// covers it: the /128 of hv2-a carries the /64's rule.
TEST_F(Firewall6Test, PeerPrefixesLongestMatchCarriesCoveringRules) {
  Policy(DefaultDeny({
      Fw6Rule(WEFT_DIR_EGRESS, kProtoUdp, 53, WEFT_ACTION_ALLOW, {kFw6BlueA}),
      Fw6Rule(WEFT_DIR_EGRESS, kProtoTcp, 22, WEFT_ACTION_ALLOW, {{kBlueHv2AIp6, 128}}),
      Fw6Rule(WEFT_DIR_EGRESS, kProtoTcp, 22, WEFT_ACTION_ALLOW, {{Ip6("2001:db8:9::"), 48}}),
  }));
  Vm("vm1", Fw6Vm1Udp(), WEFT_ENCAP, "UDP 53 to hv2-a: the /64's rule, found under its /128");
  EXPECT_EQ(Vm1Hv2Udp()->rule_index, 0u);
  Vm("vm1", Fw6Vm1Tcp(kTcpSyn, 1, 0, {}, kFw6Cport, 22), WEFT_ENCAP, "TCP 22 to hv2-a");
  EXPECT_EQ(fw_->Ct6(kBlueTenant, kProtoTcp, kVm1Ip6, kFw6Cport, kBlueHv2AIp6, 22)->rule_index, 1u);
  Vm("vm1", Fw6Vm1Routed(kFw6Remote, kTcpSyn, 22, 1), WEFT_ENCAP,
     "TCP 22 routed to 2001:db8:9::5, in the /48");
  auto e = fw_->Ct6(kBlueTenant, kProtoTcp, kVm1Ip6, kFw6Cport, kFw6Remote, 22);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->rule_index, 2u);
  Vm("vm1", Fw6Tcp(kVm1Mac, kVm1Ip6, kBlueGwMac, kFw6Remote, 40000, 53, kTcpSyn, 1, 0),
     WEFT_DROP_POLICY, "TCP 53 routed: no rule for it");
  Vm("vm1",
     Fw6Frame(kVm1Mac, kVm1Ip6, kBlueGwMac, kFw6Remote, kProtoUdp,
              Udp(40000, 53, Bytes(8, 1), kVm1Ip6, kFw6Remote)),
     WEFT_DROP_POLICY, "UDP 53 routed: outside the /64");
}

TEST_F(Firewall6Test, LoggedRuleHitOfAnIpv6FlowCarriesItsAddresses) {
  RuleSpec r = Fw6Rule(WEFT_DIR_EGRESS, kProtoUdp, 53, WEFT_ACTION_ALLOW, {});
  r.applied = {kVm1Ip};
  r.flags = WEFT_RULE_F_LOG;
  Policy(DefaultDeny({r}));
  fw_->DrainEvents();
  Vm("vm1", Fw6Vm1Udp(), WEFT_ENCAP, "IPv6 through the logged rule");
  auto events = fw_->DrainEvents();
  ASSERT_EQ(events.size(), 1u) << "the rule logs IPv6 flows";
  const weft_event6& hit = events[0];
  EXPECT_EQ(hit.ev.type, WEFT_EVENT_RULE_HIT);
  EXPECT_EQ(hit.ev.flags, WEFT_EVENT_F_IPV6);
  EXPECT_EQ(hit.ev.action, WEFT_ACTION_ALLOW);
  EXPECT_EQ(hit.ev.direction, WEFT_DIR_EGRESS);
  EXPECT_EQ(hit.ev.tenant_id, kBlueTenant);
  EXPECT_EQ(hit.ev.protocol, kProtoUdp);
  EXPECT_EQ(ntohs(hit.ev.dport_be), 53);
  EXPECT_EQ(hit.ev.saddr_be, 0u);
  EXPECT_EQ(Ipv6Address(std::to_array(hit.saddr)), kVm1Ip6);
  EXPECT_EQ(Ipv6Address(std::to_array(hit.daddr)), kBlueHv2AIp6);
  Vm("vm1", UdpFrame(kBlueHv2AMac, kVm1Mac, kVm1Ip, kBlueHv2AIp, 40000, 53, 16), WEFT_ENCAP,
     "IPv4 through the same rule");
  events = fw_->DrainEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].ev.flags, 0u);
  EXPECT_EQ(ntohl(events[0].ev.saddr_be), kVm1Ip);
}

// A dropped IPv6 packet's sampled event carries its addresses: a VM's, and
// the inner one of VXLAN from hv2.
TEST_F(Firewall6Test, DropEventsOfIpv6PacketsCarryTheirAddresses) {
  Policy(DefaultDeny({}));
  fw_->DrainEvents();
  Vm("vm1", Fw6Vm1Udp(), WEFT_DROP_POLICY, "vm1's UDP under default deny");
  for (bool xdp : {false, true})
    Ul(Fw6Hv2Udp(), WEFT_DROP_POLICY, "hv2's UDP to vm1 under default deny", xdp);
  const auto events = fw_->DrainEvents();
  ASSERT_EQ(events.size(), 3u);
  for (size_t i = 0; i < events.size(); ++i) {
    const weft_event6& e = events[i];
    const bool from_vm = i == 0;
    EXPECT_EQ(e.ev.type, WEFT_EVENT_DROP) << i;
    EXPECT_EQ(e.ev.reason, WEFT_DROP_POLICY) << i;
    EXPECT_EQ(e.ev.flags, WEFT_EVENT_F_IPV6) << i;
    EXPECT_EQ(e.ev.tenant_id, kBlueTenant) << i;
    EXPECT_EQ(e.ev.protocol, kProtoUdp) << i;
    EXPECT_EQ(Ipv6Address(std::to_array(e.saddr)), from_vm ? kVm1Ip6 : kBlueHv2AIp6) << i;
    EXPECT_EQ(Ipv6Address(std::to_array(e.daddr)), from_vm ? kBlueHv2AIp6 : kVm1Ip6) << i;
    EXPECT_EQ(ntohs(e.ev.dport_be), from_vm ? 53 : 40000) << i;
  }
}

// --- reject ------------------------------------------------------------------------------

TEST_F(Firewall6Test, RejectAtSourceAnswersRstOrIcmp6AdminProhibited) {
  Policy(
      DefaultDeny({Fw6Rule(WEFT_DIR_EGRESS, kProtoTcp, kFw6Sport, WEFT_ACTION_REJECT, {kFw6BlueA}),
                   Fw6Rule(WEFT_DIR_EGRESS, kProtoUdp, 53, WEFT_ACTION_REJECT, {kFw6BlueA})}));
  // TCP gets a RST at once, as over IPv4: an ICMPv6 error made while the
  // SYN is sent only reaches the socket as a soft error.
  const Bytes syn = Fw6Vm1Tcp(kTcpSyn, 1000, 0);
  Fw6ExpectRst(syn, Vm("vm1", syn, WEFT_REJECT, "TCP SYN rejected").out, 0, 1001);
  const Bytes udp = Fw6Vm1Udp();
  Fw6ExpectProhibited(udp, Vm("vm1", udp, WEFT_REJECT, "UDP rejected"));
  // The tenant's default rejects a routed SYN carrying data the same way.
  Policy(PolicySpec{.tenant_default = {{kBlueTenant, WEFT_ACTION_REJECT}}}, 1, 2);
  const Bytes routed = Fw6Vm1Routed(kFw6Remote, kTcpSyn | kTcpPsh, 80, 7, Bytes(30, 1));
  Fw6ExpectRst(routed, Vm("vm1", routed, WEFT_REJECT, "routed SYN rejected by the default").out, 0,
               7 + 30 + 1);
  // Behind an extension header, the TCP header is not where a RST made in
  // place needs it: ICMPv6 administratively prohibited instead.
  Ipv6Spec behind;
  behind.src = kVm1Ip6;
  behind.dst = kBlueHv2AIp6;
  behind.next_header = 60;
  const Bytes with_options =
      Eth(kBlueHv2AMac, kVm1Mac, kEthIpv6,
          Ipv6(behind, Concat(Bytes{kProtoTcp, 0, 1, 4, 0, 0, 0, 0},
                              Tcp(kFw6Cport, 80, kTcpSyn, 1, 0, {}, kVm1Ip6, kBlueHv2AIp6))));
  Fw6ExpectProhibited(with_options,
                      Vm("vm1", with_options, WEFT_REJECT, "SYN behind destination options"));
  Vm("vm1", Fw6Vm1Routed(kFw6Remote, kTcpAck, 80, 7), WEFT_DROP_CT_INVALID,
     "mid-stream under a reject default: invalid");
  // Never an error about an error: an untracked one is dropped.
  const Bytes untracked = Fw6Udp(kBlueHv2AMac, kBlueHv2AIp6, kVm1Mac, kVm1Ip6, 53, 40999);
  Vm("vm1", Fw6Vm1Icmp(Fw6Error(1, 4, 0, untracked)), WEFT_DROP_POLICY,
     "vm1's unrelated ICMPv6 error under a reject default");
  EXPECT_EQ(fw_->CtCount(), 0u) << "rejected flows leave no entry";
}

TEST_F(Firewall6Test, RejectAtUnderlayBouncesRstOrDrops) {
  // The tenant allows: only the rule refuses.
  PolicySpec p;
  p.tenant_default = {{kBlueTenant, WEFT_ACTION_ALLOW}};
  p.rules = {Fw6Rule(WEFT_DIR_INGRESS, kProtoTcp, 22, WEFT_ACTION_REJECT)};
  Policy(p);
  for (bool xdp : {false, true}) {
    const Bytes syn = Fw6Hv2Tcp(kTcpSyn, 5000, 0, {}, 50000, 22);
    const RunResult r = Ul(syn, WEFT_REJECT, "rejected SYN to vm1:22: RST through the tunnel", xdp);
    if (xdp)
      EXPECT_EQ(XdpRetName(r.retval), XdpRetName(kXdpTx));
    else
      EXPECT_EQ(TcRetName(r.retval), TcRetName(kTcRedirect));
    const Parsed out = Parse(r.out);
    ASSERT_TRUE(out.ipv4 && out.vxlan) << HexDump(r.out);
    EXPECT_EQ(FormatIpv4(out.ipv4->dst), FormatIpv4(kHv2Vtep)) << "back to hv2";
    Fw6ExpectRst(Parse(syn).inner, out.inner, 0, 5001);
    Ul(Fw6Hv2Tcp(kTcpSyn, 5000, 0, {}, xdp ? 50003 : 50002, 23), WEFT_DECAP,
       "SYN to vm1:23, under the tenant's allow", xdp);
  }
  Policy(PolicySpec{.tenant_default = {{kBlueTenant, WEFT_ACTION_REJECT}}}, 1, 2);
  for (bool xdp : {false, true})
    Ul(Fw6Hv2Udp(), WEFT_DROP_POLICY, "UDP under a reject default", xdp);
  EXPECT_EQ(fw_->CtCount(), 2u) << "the two allowed SYNs only";
}

// --- ICMPv6 ------------------------------------------------------------------------------

TEST_F(Firewall6Test, Icmp6EchoTrackedByIdentifier) {
  // ICMP without a type admits ICMPv6.
  Policy(DefaultDeny(
      {Fw6Rule(WEFT_DIR_EGRESS, kProtoIcmp, std::nullopt, WEFT_ACTION_ALLOW, {kFw6AnyPeer6})}));
  auto reply = [](uint8_t type, uint16_t id) { return Fw6Hv2Icmp(Fw6Echo(type, id)); };
  Vm("vm1", Fw6Vm1Icmp(Fw6Echo(kFw6EchoRequest, 0x4242)), WEFT_ENCAP, "echo request");
  auto e = fw_->Ct6(kBlueTenant, kProtoIcmp6, kVm1Ip6, 0x4242, kBlueHv2AIp6, 0x4242);
  ASSERT_TRUE(e.has_value()) << "keyed by the identifier in both ports";
  EXPECT_EQ(e->state, WEFT_CT_NEW);
  Ul(reply(kFw6EchoReply, 0x4242), WEFT_DECAP, "echo reply, same identifier");
  EXPECT_EQ(fw_->Ct6(kBlueTenant, kProtoIcmp6, kVm1Ip6, 0x4242, kBlueHv2AIp6, 0x4242)->state,
            WEFT_CT_ESTABLISHED);
  EXPECT_TRUE(
      fw_->Ct6In(Map::kCt6, kBlueTenant, kProtoIcmp6, kVm1Ip6, 0x4242, kBlueHv2AIp6, 0x4242))
      << "confirmed";
  Ul(reply(kFw6EchoReply, 0x4343), WEFT_DROP_POLICY, "echo reply, other identifier");
  Ul(reply(kFw6EchoRequest, 0x4242), WEFT_DECAP,
     "a request from the peer with the tracked identifier is the same flow");

  // A rule naming an ICMP type speaks IPv4's numbers: it never matches
  // ICMPv6, not even with ICMPv6's own echo request number.
  RuleSpec v4_echo = Fw6Rule(WEFT_DIR_EGRESS, kProtoIcmp, 8 << 8, WEFT_ACTION_ALLOW, {});
  v4_echo.port_bits = 8;
  RuleSpec v6_number =
      Fw6Rule(WEFT_DIR_EGRESS, kProtoIcmp, kFw6EchoRequest << 8, WEFT_ACTION_ALLOW, {});
  v6_number.port_bits = 8;
  Policy(DefaultDeny({v4_echo, v6_number}), 1, 2);
  Vm("vm1", Fw6Vm1Icmp(Fw6Echo(kFw6EchoRequest, 0x5151)), WEFT_DROP_POLICY,
     "echo request under rules with ICMP types");
}

TEST_F(Firewall6Test, Icmp6ErrorsOfTrackedFlowPassAsRelated) {
  const RuleSpec dns = Fw6Rule(WEFT_DIR_EGRESS, kProtoUdp, 53, WEFT_ACTION_ALLOW, {kFw6BlueA});
  Policy(DefaultDeny({dns}));
  const Bytes out = Fw6Vm1Udp();
  Vm("vm1", out, WEFT_ENCAP, "request");
  const CtStats before = fw_->Stats();
  Ul(Fw6Hv2Icmp(Fw6Error(1, 4, 0, out)), WEFT_DECAP, "port unreachable for the tracked flow");
  Ul(Fw6Hv2Icmp(Fw6Error(2, 0, 1280, out)), WEFT_DECAP, "packet too big for the tracked flow",
     /*xdp=*/true);
  Ul(Fw6Hv2Icmp(Fw6Error(3, 0, 0, out)), WEFT_DECAP, "time exceeded for the tracked flow");
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_RELATED), 3u);
  EXPECT_EQ(Vm1Hv2Udp()->state, WEFT_CT_NEW) << "related errors are no replies";

  const Bytes unrelated = Fw6Hv2Icmp(Fw6Error(1, 4, 0, Fw6Vm1Udp(40999, 53)));
  Ul(unrelated, WEFT_DROP_POLICY, "an error about no tracked flow: judged by policy (deny)");
  RuleSpec typed = Fw6Rule(WEFT_DIR_INGRESS, kProtoIcmp, 3 << 8, WEFT_ACTION_ALLOW, {});
  typed.port_bits = 8;
  Policy(DefaultDeny({dns, typed}), 1, 2);
  Ul(unrelated, WEFT_DROP_POLICY, "... a rule for ICMP unreachable (a type) does not admit it");
  Policy(DefaultDeny(
             {dns, Fw6Rule(WEFT_DIR_INGRESS, kProtoIcmp, std::nullopt, WEFT_ACTION_ALLOW, {})}),
         0, 3);
  Ul(unrelated, WEFT_DECAP, "... a rule for ICMP without a type does");
}

TEST_F(Firewall6Test, Icmp6ErrorFromVmAboutTrackedFlowPassesAsRelated) {
  Policy(DefaultDeny({Fw6Rule(WEFT_DIR_INGRESS, kProtoUdp, 5001, WEFT_ACTION_ALLOW, {kFw6BlueA})}));
  const Bytes in = Fw6Hv2Udp(40000, 5001);
  Ul(in, WEFT_DECAP, "hv2-a to vm1:5001, admitted by vm1's ingress");
  const Bytes delivered(in.begin() + kFw6VxlanOverhead, in.end());
  const CtStats before = fw_->Stats();
  Vm("vm1", Fw6Vm1Icmp(Fw6Error(1, 4, 0, delivered)), WEFT_ENCAP,
     "vm1's port unreachable about it, though vm1's egress admits nothing");
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_RELATED), 1u);
  const Bytes other(Fw6Hv2Udp(40000, 5002));
  Vm("vm1", Fw6Vm1Icmp(Fw6Error(1, 4, 0, Bytes(other.begin() + kFw6VxlanOverhead, other.end()))),
     WEFT_DROP_POLICY, "about a flow never seen: vm1's egress denies");
}

// --- revocation --------------------------------------------------------------------------

TEST_F(Firewall6Test, RemovedAllowRuleCutsOpenFlowOnNextPacket) {
  Policy(DefaultDeny({Fw6Rule(WEFT_DIR_EGRESS, kProtoTcp, kFw6Sport)}), 0, 1);
  Handshake();
  // The new rule set (slot 1) has lost the rule; flip.
  Policy(DefaultDeny({}), 1, 2);
  const CtStats before = fw_->Stats();
  Ul(Fw6Hv2Tcp(kTcpAck | kTcpPsh, 5001, 1001, Bytes(10, 1)), WEFT_DROP_POLICY_REVOKED,
     "the server's next segment");
  EXPECT_FALSE(Vm1Hv2Tcp().has_value()) << "entry removed";
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_REVOKED), 1u);
  Vm("vm1", Fw6Vm1Tcp(kTcpAck, 1001, 5011), WEFT_DROP_CT_INVALID, "and vm1's, no entry left");
}

// Two open flows, one each way (vm1 the initiator, and hv2-a), re-judged
// after a flip that keeps their rules at other indices.
TEST_F(Firewall6Test, KeptAllowRulesRevalidateOpenFlows) {
  const RuleSpec out = Fw6Rule(WEFT_DIR_EGRESS, kProtoTcp, kFw6Sport);
  const RuleSpec in = Fw6Rule(WEFT_DIR_INGRESS, kProtoUdp, 5001);
  Policy(DefaultDeny({out, in}), 0, 1);
  Vm("vm1", Fw6Vm1Tcp(kTcpSyn, 1000, 0), WEFT_ENCAP, "SYN");
  Ul(Fw6Hv2Udp(40000, 5001), WEFT_DECAP, "hv2-a's datagram to vm1:5001");
  Policy(DefaultDeny({Fw6Rule(WEFT_DIR_EGRESS, kProtoUdp, 53), in, out}), 1, 2);
  const CtStats before = fw_->Stats();
  Ul(Fw6Hv2Tcp(kTcpSyn | kTcpAck, 5000, 1001), WEFT_DECAP, "SYN-ACK after the flip");
  auto e = Vm1Hv2Tcp();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->policy_generation, 2u);
  EXPECT_EQ(e->rule_index, 2u);
  EXPECT_EQ(e->state, WEFT_CT_SYN_RECV);
  Vm("vm1", Fw6Vm1Udp(5001, 40000), WEFT_ENCAP, "vm1's answer to hv2-a after the flip");
  auto u = Vm1Hv2Udp(5001, 40000);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->policy_generation, 2u);
  EXPECT_EQ(u->rule_index, 1u);
  EXPECT_EQ(u->flags & (WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS), WEFT_CT_F_INGRESS);
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_REVALIDATED), 2u);
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_REVOKED), 0u);
}

// --- tenants ---------------------------------------------------------------------------

// Red's vm3 has blue vm1's address: the same tuple in red is another flow,
// judged by red's policy.
TEST_F(Firewall6Test, IdenticalAddressesInTwoTenantsAreTwoFlows) {
  const RuleSpec blue_out = Fw6Rule(WEFT_DIR_EGRESS, kProtoUdp, 53, WEFT_ACTION_ALLOW, {kFw6BlueA});
  Policy(DefaultDeny({blue_out}));
  Vm("vm1", Fw6Vm1Udp(), WEFT_ENCAP, "blue vm1 opens the flow");
  Ul(Fw6Hv2Udp(53, 40000, kVniRedA, kVm3Mac), WEFT_DROP_POLICY,
     "the same tuple to red's vm3 is not blue's reply");
  Ul(Fw6Hv2Udp(), WEFT_DECAP, "blue's reply");
  EXPECT_FALSE(fw_->Ct6(kRedTenant, kProtoUdp, kVm3Ip6, 40000, kBlueHv2AIp6, 53).has_value());

  // Blue admits UDP to vm1:5001; red's vm3, with the same address, stays
  // under red's default.
  const RuleSpec blue_in = Fw6Rule(WEFT_DIR_INGRESS, kProtoUdp, 5001);
  Policy(DefaultDeny({blue_out, blue_in}), 1, 2);
  Ul(Fw6Hv2Udp(40001, 5001, kVniRedA, kVm3Mac), WEFT_DROP_POLICY, "red's vm3:5001");
  Ul(Fw6Hv2Udp(40001, 5001), WEFT_DECAP, "blue's vm1:5001");

  // Red's own rule for vm3: a second entry, red's.
  RuleSpec red_in = blue_in;
  red_in.tenant = kRedTenant;
  red_in.applied6 = {kVm3Ip6};
  Policy(DefaultDeny({blue_out, blue_in, red_in}), 0, 3);
  Ul(Fw6Hv2Udp(40001, 5001, kVniRedA, kVm3Mac), WEFT_DECAP, "red's vm3:5001, now allowed");
  auto red = fw_->Ct6(kRedTenant, kProtoUdp, kVm3Ip6, 5001, kBlueHv2AIp6, 40001);
  ASSERT_TRUE(red.has_value());
  EXPECT_EQ(red->rule_index, 2u) << "red's rule";
  auto blue = fw_->Ct6(kBlueTenant, kProtoUdp, kVm1Ip6, 5001, kBlueHv2AIp6, 40001);
  ASSERT_TRUE(blue.has_value());
  EXPECT_EQ(blue->rule_index, 1u) << "blue's rule";
  EXPECT_EQ(red->packets[0], 1u);
  EXPECT_EQ(blue->packets[0], 1u) << "red's packet did not count on blue's entry";
  EXPECT_EQ(fw_->CtCount(), 3u);
}

// --- picked up, expired ------------------------------------------------------------------

TEST_F(Firewall6Test, MidStreamTcpPickedUpWhenPolicyAllowsEitherWay) {
  Policy(DefaultDeny({}));
  Ul(Fw6Hv2Tcp(kTcpAck, 5001, 1001), WEFT_DROP_CT_INVALID, "mid-stream ACK, nothing allows it");
  Vm("vm1", Fw6Vm1Tcp(kTcpAck, 1001, 5001), WEFT_DROP_CT_INVALID, "same from vm1");
  EXPECT_EQ(fw_->CtCount(), 0u);

  // vm1 may open to hv2-a:443; nothing may come in.
  Policy(DefaultDeny({Fw6Rule(WEFT_DIR_EGRESS, kProtoTcp, kFw6Sport)}), 1, 2);
  const CtStats before = fw_->Stats();
  Ul(Fw6Hv2Tcp(kTcpAck | kTcpPsh, 5001, 1001, Bytes(10, 1)), WEFT_DECAP,
     "the server's segment: the reply of a flow vm1's egress admits");
  auto e = Vm1Hv2Tcp();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->state, WEFT_CT_ESTABLISHED);
  EXPECT_EQ(e->packets[1], 1u) << "counted as a reply: vm1 is the initiator";
  EXPECT_EQ(e->flags & (WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS), WEFT_CT_F_EGRESS);
  EXPECT_TRUE(Pending(kProtoTcp, kFw6Cport, kFw6Sport)) << "seen one way only: pending";
  Vm("vm1", Fw6Vm1Tcp(kTcpAck, 1001, 5011), WEFT_ENCAP, "vm1 continues");
  EXPECT_EQ(Vm1Hv2Tcp()->packets[0], 1u);
  EXPECT_TRUE(Confirmed(kProtoTcp, kFw6Cport, kFw6Sport)) << "both ways seen: confirmed";
  // vm1's own segment of another connection, admitted as it stands.
  Vm("vm1", Fw6Vm1Tcp(kTcpAck, 1, 1, {}, kFw6Cport + 1), WEFT_ENCAP, "vm1-side pick-up");
  auto o = fw_->Ct6(kBlueTenant, kProtoTcp, kVm1Ip6, kFw6Cport + 1, kBlueHv2AIp6, kFw6Sport);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->packets[0], 1u) << "counted as the initiator's";
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_PICKED_UP), 2u);
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_CONFIRMED), 1u);
}

// The timeouts come from weft_config: with UDP at 1 s, an idle flow's entry
// is gone after it, and the late reply is judged anew.
TEST_F(Firewall6Test, IdleUdpEntryExpiresAfterConfiguredTimeout) {
  const int fd = dp().MapFd(Map::kConfig);
  uint32_t zero = 0;
  weft_config saved{}, cfg{};
  ASSERT_EQ(bpf_map_lookup_elem(fd, &zero, &saved), 0);
  cfg = saved;
  cfg.ct.udp = 1;
  ASSERT_EQ(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY), 0);
  Policy(DefaultDeny({Fw6Rule(WEFT_DIR_EGRESS, kProtoUdp, 53)}));
  Vm("vm1", Fw6Vm1Udp(), WEFT_ENCAP, "request");
  Ul(Fw6Hv2Udp(), WEFT_DECAP, "prompt reply");
  usleep(1'200'000);
  const CtStats before = fw_->Stats();
  Ul(Fw6Hv2Udp(), WEFT_DROP_POLICY, "reply after the entry expired");
  EXPECT_EQ(Moved(before, WEFT_CT_STAT_EXPIRED), 1u);
  EXPECT_FALSE(Vm1Hv2Udp().has_value()) << "removed from weft_ct6";
  EXPECT_EQ(bpf_map_update_elem(fd, &zero, &saved, BPF_ANY), 0);
}

}  // namespace
}  // namespace weft::testing
