// The firewall (docs/ARCHITECTURE.md §4) through the real programs: conntrack states,
// policy classification, reject replies, revocation. Each test writes the
// policy maps directly (tests/bpf/firewall_maps.h) and leaves them empty
// again (tests/bpf/firewall_fixture.h). IPv6: firewall6_test.cc.
//
// Topology (fixture.h): vm1 blue 10.0.1.10 and vm4 blue 10.0.1.12 are local;
// blue-hv2-a 10.0.1.11 sits behind hv2. A VM's packets run through the VM
// program on its interface; the remote side's through the underlay program
// (TC, and XDP where the hook matters) as VXLAN from hv2.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "agent/datapath/prog_test_run.h"
#include "common/packet/builder.h"
#include "common/packet/parser.h"
#include "tests/bpf/checks.h"
#include "tests/bpf/firewall_fixture.h"
#include "tests/bpf/firewall_maps.h"
#include "tests/bpf/fixture.h"

namespace weft::testing {
namespace {

constexpr uint32_t kBlue = 1;
constexpr uint32_t kRed = 2;
constexpr uint16_t kCport = 43210;  // the client's port
constexpr uint16_t kSport = 443;    // the server's

Bytes TcpFrame(const Mac& smac, uint32_t sip, const Mac& dmac, uint32_t dip, uint16_t sport,
               uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
               const Bytes& payload = {}) {
  Ipv4Spec ip;
  ip.src = sip;
  ip.dst = dip;
  ip.proto = kProtoTcp;
  ip.df = true;
  return Ipv4Frame(dmac, smac, ip, Tcp(sport, dport, flags, seq, ack, payload, sip, dip));
}

Bytes IcmpFrame(const Mac& smac, uint32_t sip, const Mac& dmac, uint32_t dip, const Bytes& icmp) {
  Ipv4Spec ip;
  ip.src = sip;
  ip.dst = dip;
  ip.proto = kProtoIcmp;
  return Ipv4Frame(dmac, smac, ip, icmp);
}

// ICMP error type/code (rest 0 or the MTU) quoting `quoted` (an IPv4 packet).
Bytes IcmpError(uint8_t type, uint8_t code, uint16_t mtu, const Bytes& quoted) {
  Bytes icmp = {
      type, code, 0, 0, 0, 0, static_cast<uint8_t>(mtu >> 8), static_cast<uint8_t>(mtu & 0xff)};
  icmp.insert(icmp.end(), quoted.begin(), quoted.begin() + std::min<size_t>(quoted.size(), 28));
  const uint16_t sum = InternetChecksum(icmp.data(), icmp.size());
  icmp[2] = sum >> 8;
  icmp[3] = sum & 0xff;
  return icmp;
}

// vm1 <-> blue-hv2-a.
Bytes Vm1Tcp(uint8_t flags, uint32_t seq, uint32_t ack, const Bytes& payload = {}) {
  return TcpFrame(kVm1Mac, kVm1Ip, kBlueHv2AMac, kBlueHv2AIp, kCport, kSport, flags, seq, ack,
                  payload);
}
Bytes Hv2Tcp(uint8_t flags, uint32_t seq, uint32_t ack, const Bytes& payload = {}) {
  return FromHv2(kVniBlueA, TcpFrame(kBlueHv2AMac, kBlueHv2AIp, kVm1Mac, kVm1Ip, kSport, kCport,
                                     flags, seq, ack, payload));
}
Bytes Vm1Udp(uint16_t sport = 40000, uint16_t dport = 53) {
  return UdpFrame(kBlueHv2AMac, kVm1Mac, kVm1Ip, kBlueHv2AIp, sport, dport, 16);
}
Bytes Hv2Udp(uint16_t sport = 53, uint16_t dport = 40000, uint32_t vni = kVniBlueA,
             const Mac& dmac = kVm1Mac, uint32_t dip = kVm1Ip) {
  return FromHv2(vni, UdpFrame(dmac, kBlueHv2AMac, kBlueHv2AIp, dip, sport, dport, 16));
}

// Rules applied to vm1 (egress or ingress), peer blue-hv2-a unless given.
RuleSpec Vm1Rule(uint32_t dir, uint8_t proto, std::optional<uint16_t> port,
                 uint32_t action = WEFT_ACTION_ALLOW,
                 std::vector<Prefix4> peers = {{kBlueHv2AIp, 32}}) {
  RuleSpec r;
  r.tenant = kBlue;
  r.direction = dir;
  r.applied = {kVm1Ip};
  r.peers = std::move(peers);
  r.protocol = proto;
  r.port = port;
  r.action = action;
  return r;
}

class FirewallTest : public FirewallFixture {
 protected:
  std::optional<weft_ct_entry> Vm1Hv2Tcp() const {
    return fw_->Ct(kBlue, kProtoTcp, kVm1Ip, kCport, kBlueHv2AIp, kSport);
  }
};

// --- TCP states ---------------------------------------------------------------------

TEST_F(FirewallTest, TcpHandshakeDataAndFinTeardownCrossHost) {
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport)}));
  struct Step {
    const char* what;
    bool from_vm1;
    uint8_t flags;
    uint32_t seq, ack;
    size_t payload;
    int state;
  };
  const std::vector<Step> steps = {
      {"SYN", true, kTcpSyn, 1000, 0, 0, WEFT_CT_SYN_SENT},
      {"SYN-ACK", false, kTcpSyn | kTcpAck, 5000, 1001, 0, WEFT_CT_SYN_RECV},
      {"ACK", true, kTcpAck, 1001, 5001, 0, WEFT_CT_ESTABLISHED},
      {"data out", true, kTcpAck | kTcpPsh, 1001, 5001, 100, WEFT_CT_ESTABLISHED},
      {"data back", false, kTcpAck | kTcpPsh, 5001, 1101, 200, WEFT_CT_ESTABLISHED},
      {"FIN out", true, kTcpFin | kTcpAck, 1101, 5201, 0, WEFT_CT_FIN_WAIT},
      {"FIN back", false, kTcpFin | kTcpAck, 5201, 1102, 0, WEFT_CT_CLOSING},
      {"last ACK", true, kTcpAck, 1102, 5202, 0, WEFT_CT_CLOSING},
  };
  uint64_t bytes[2] = {0, 0}, packets[2] = {0, 0};
  for (const Step& s : steps) {
    const Bytes payload(s.payload, 0x61);
    if (s.from_vm1)
      Vm("vm1", Vm1Tcp(s.flags, s.seq, s.ack, payload), WEFT_ENCAP, s.what);
    else
      Ul(Hv2Tcp(s.flags, s.seq, s.ack, payload), WEFT_DECAP, s.what);
    bytes[s.from_vm1 ? 0 : 1] += 40 + s.payload;
    packets[s.from_vm1 ? 0 : 1]++;
    auto e = Vm1Hv2Tcp();
    ASSERT_TRUE(e.has_value()) << s.what << ": no conntrack entry";
    EXPECT_EQ(e->state, s.state) << s.what;
  }
  auto e = Vm1Hv2Tcp();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->packets[0], packets[0]) << "per-entry packets, initiator -> responder";
  EXPECT_EQ(e->packets[1], packets[1]) << "per-entry packets, replies";
  EXPECT_EQ(e->bytes[0], bytes[0]) << "per-entry bytes (IPv4 total length)";
  EXPECT_EQ(e->bytes[1], bytes[1]);
  EXPECT_EQ(e->flags & (WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS), WEFT_CT_F_EGRESS)
      << "judged by vm1's egress only (the peer is remote)";
  EXPECT_EQ(e->flags & (WEFT_CT_F_FIN_ORIG | WEFT_CT_F_FIN_REPLY),
            WEFT_CT_F_FIN_ORIG | WEFT_CT_F_FIN_REPLY);
  EXPECT_EQ(e->rule_index, 0u);
  EXPECT_EQ(e->policy_generation, 1u);
  // The reply direction alone would not have been allowed.
  Ul(Hv2Tcp(kTcpSyn, 9000, 0), WEFT_DROP_POLICY, "unsolicited SYN from hv2-a, other port");
}

TEST_F(FirewallTest, TcpRstClosesAndNewSynReusesTuple) {
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport)}));
  Vm("vm1", Vm1Tcp(kTcpSyn, 1000, 0), WEFT_ENCAP, "SYN");
  Ul(Hv2Tcp(kTcpSyn | kTcpAck, 5000, 1001), WEFT_DECAP, "SYN-ACK");
  Vm("vm1", Vm1Tcp(kTcpAck, 1001, 5001), WEFT_ENCAP, "ACK");
  Ul(Hv2Tcp(kTcpRst | kTcpAck, 5001, 1001), WEFT_DECAP, "RST from the server");
  ASSERT_TRUE(Vm1Hv2Tcp().has_value());
  EXPECT_EQ(Vm1Hv2Tcp()->state, WEFT_CT_CLOSING);
  const auto before = fw_->Stats();
  Vm("vm1", Vm1Tcp(kTcpSyn, 7000, 0), WEFT_ENCAP, "new SYN on the closed tuple");
  EXPECT_EQ(Vm1Hv2Tcp()->state, WEFT_CT_SYN_SENT);
  EXPECT_EQ(Vm1Hv2Tcp()->packets[0], 1u) << "a fresh entry";
  EXPECT_EQ(fw_->Stats()[WEFT_CT_STAT_REUSED] - before[WEFT_CT_STAT_REUSED], 1u);
}

TEST_F(FirewallTest, SameHostFlowJudgedAtBothEndsOnce) {
  RuleSpec eg = Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, 22, WEFT_ACTION_ALLOW, {{kVm4Ip, 32}});
  RuleSpec in;
  in.tenant = kBlue;
  in.direction = WEFT_DIR_INGRESS;
  in.applied = {kVm4Ip};
  in.peers = {{kVm1Ip, 32}};
  in.protocol = kProtoTcp;
  in.port = 22;
  // vm4 admits nothing yet: deny wins over vm1's allow.
  Policy(DefaultDeny({eg}));
  const Bytes syn = TcpFrame(kVm1Mac, kVm1Ip, kVm4Mac, kVm4Ip, kCport, 22, kTcpSyn, 1, 0);
  Vm("vm1", syn, WEFT_DROP_POLICY, "vm4's ingress denies");
  Policy(DefaultDeny({eg, in}), 1, 2);
  Vm("vm1", syn, WEFT_DELIVER_LOCAL, "both ends allow");
  auto e = fw_->Ct(kBlue, kProtoTcp, kVm1Ip, kCport, kVm4Ip, 22);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->flags & (WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS),
            WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS);
  Vm("vm4", TcpFrame(kVm4Mac, kVm4Ip, kVm1Mac, kVm1Ip, 22, kCport, kTcpSyn | kTcpAck, 9, 2),
     WEFT_DELIVER_LOCAL, "SYN-ACK from vm4's own interface");
  EXPECT_EQ(fw_->Ct(kBlue, kProtoTcp, kVm1Ip, kCport, kVm4Ip, 22)->state, WEFT_CT_SYN_RECV);
  EXPECT_EQ(fw_->CtCount(), 1u) << "one entry for both ends";
}

// --- invalid and picked up ---------------------------------------------------------

TEST_F(FirewallTest, MidStreamAckWithoutEntryDeniedIsInvalid) {
  Policy(DefaultDeny({}));
  Ul(Hv2Tcp(kTcpAck, 5001, 1001), WEFT_DROP_CT_INVALID, "mid-stream ACK, nothing allows it");
  Vm("vm1", Vm1Tcp(kTcpAck, 1001, 5001), WEFT_DROP_CT_INVALID, "same from vm1");
  EXPECT_EQ(fw_->CtCount(), 0u);
}

TEST_F(FirewallTest, BadFlagCombinationsInvalidEvenWhenAllowed) {
  Policy(PolicySpec{});  // default allow
  Vm("vm1", Vm1Tcp(kTcpSyn | kTcpFin, 1, 0), WEFT_DROP_CT_INVALID, "SYN+FIN");
  Vm("vm1", Vm1Tcp(kTcpSyn | kTcpRst, 1, 0), WEFT_DROP_CT_INVALID, "SYN+RST");
  Vm("vm1", Vm1Tcp(0, 1, 0), WEFT_DROP_CT_INVALID, "no flags");
  Vm("vm1", Vm1Tcp(kTcpSyn, 1000, 0), WEFT_ENCAP, "SYN");
  Ul(Hv2Tcp(kTcpSyn | kTcpFin, 1, 0), WEFT_DROP_CT_INVALID, "SYN+FIN on a tracked flow");
}

TEST_F(FirewallTest, MidStreamAckPickedUpWhenPolicyAllowsEitherWay) {
  // vm1 may open to hv2-a:443; nothing may come in.
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport)}));
  auto before = fw_->Stats();
  // An evicted flow's next packet from the server, arriving at vm1's host:
  // the reply of a flow vm1's egress admits.
  Ul(Hv2Tcp(kTcpAck | kTcpPsh, 5001, 1001, Bytes(10, 1)), WEFT_DECAP, "reply-side pick-up");
  auto e = Vm1Hv2Tcp();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->state, WEFT_CT_ESTABLISHED);
  EXPECT_EQ(e->packets[1], 1u) << "counted as a reply: vm1 is the initiator";
  EXPECT_EQ(e->flags & (WEFT_CT_F_EGRESS | WEFT_CT_F_INGRESS), WEFT_CT_F_EGRESS);
  EXPECT_TRUE(fw_->CtIn(Map::kCtPending, kBlue, kProtoTcp, kVm1Ip, kCport, kBlueHv2AIp, kSport))
      << "seen one way only: pending (a flood of crafted ACKs evicts only its own kind)";
  Vm("vm1", Vm1Tcp(kTcpAck, 1001, 5011), WEFT_ENCAP, "vm1 continues");
  EXPECT_EQ(Vm1Hv2Tcp()->packets[0], 1u);
  EXPECT_TRUE(fw_->CtIn(Map::kCt, kBlue, kProtoTcp, kVm1Ip, kCport, kBlueHv2AIp, kSport))
      << "both ways seen: confirmed";
  EXPECT_EQ(fw_->Stats()[WEFT_CT_STAT_PICKED_UP] - before[WEFT_CT_STAT_PICKED_UP], 1u);
}

// --- UDP and ICMP echo ---------------------------------------------------------------

TEST_F(FirewallTest, UdpReplyPassesUnderDefaultDeny) {
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoUdp, 53)}));
  Ul(Hv2Udp(), WEFT_DROP_POLICY, "unsolicited before the request");
  Vm("vm1", Vm1Udp(), WEFT_ENCAP, "request");
  auto e = fw_->Ct(kBlue, kProtoUdp, kVm1Ip, 40000, kBlueHv2AIp, 53);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->state, WEFT_CT_NEW);
  Ul(Hv2Udp(), WEFT_DECAP, "reply");
  EXPECT_EQ(fw_->Ct(kBlue, kProtoUdp, kVm1Ip, 40000, kBlueHv2AIp, 53)->state, WEFT_CT_ESTABLISHED);
  Ul(Hv2Udp(53, 40001), WEFT_DROP_POLICY, "another port is another flow");
  Vm("vm1", Vm1Udp(40000, 54), WEFT_DROP_POLICY, "egress to a port no rule allows");
}

TEST_F(FirewallTest, IcmpEchoTrackedByIdentifier) {
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoIcmp, 8 << 8, WEFT_ACTION_ALLOW, {{0, 0}})}));
  // The rule names ICMP type 8 with any code.
  const Bytes request = IcmpFrame(kVm1Mac, kVm1Ip, kBlueHv2AMac, kBlueHv2AIp,
                                  IcmpEcho(8, 0x4242, 1, Bytes(32, 0x5a)));
  auto reply = [](uint16_t id) {
    return FromHv2(kVniBlueA, IcmpFrame(kBlueHv2AMac, kBlueHv2AIp, kVm1Mac, kVm1Ip,
                                        IcmpEcho(0, id, 1, Bytes(32, 0x5a))));
  };
  Vm("vm1", request, WEFT_ENCAP, "echo request");
  ASSERT_TRUE(fw_->Ct(kBlue, kProtoIcmp, kVm1Ip, 0x4242, kBlueHv2AIp, 0x4242).has_value());
  Ul(reply(0x4242), WEFT_DECAP, "echo reply, same identifier");
  EXPECT_EQ(fw_->Ct(kBlue, kProtoIcmp, kVm1Ip, 0x4242, kBlueHv2AIp, 0x4242)->state,
            WEFT_CT_ESTABLISHED);
  Ul(reply(0x4343), WEFT_DROP_POLICY, "echo reply, other identifier");
  Ul(FromHv2(kVniBlueA, IcmpFrame(kBlueHv2AMac, kBlueHv2AIp, kVm1Mac, kVm1Ip,
                                  IcmpEcho(8, 0x4242, 1, Bytes(8, 0)))),
     WEFT_DECAP, "a request from the peer with the tracked identifier is the same flow");
}

// --- related ICMP errors ---------------------------------------------------------

TEST_F(FirewallTest, IcmpErrorsOfTrackedFlowPassAsRelated) {
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoUdp, 53)}));
  const Bytes out = Vm1Udp();
  Vm("vm1", out, WEFT_ENCAP, "request");
  const Bytes quoted(out.begin() + 14, out.end());
  auto before = fw_->Stats();
  Ul(FromHv2(kVniBlueA,
             IcmpFrame(kBlueHv2AMac, kBlueHv2AIp, kVm1Mac, kVm1Ip, IcmpError(3, 4, 1400, quoted))),
     WEFT_DECAP, "frag needed for the tracked flow");
  Ul(FromHv2(kVniBlueA,
             IcmpFrame(kBlueHv2AMac, kBlueHv2AIp, kVm1Mac, kVm1Ip, IcmpError(3, 3, 0, quoted))),
     WEFT_DECAP, "port unreachable for the tracked flow");
  EXPECT_EQ(fw_->Stats()[WEFT_CT_STAT_RELATED] - before[WEFT_CT_STAT_RELATED], 2u);

  const Bytes other = UdpFrame(kBlueHv2AMac, kVm1Mac, kVm1Ip, kBlueHv2AIp, 40999, 53, 16);
  const Bytes unrelated =
      FromHv2(kVniBlueA, IcmpFrame(kBlueHv2AMac, kBlueHv2AIp, kVm1Mac, kVm1Ip,
                                   IcmpError(3, 4, 1400, Bytes(other.begin() + 14, other.end()))));
  Ul(unrelated, WEFT_DROP_POLICY, "frag needed for no tracked flow: judged by policy (deny)");
  RuleSpec icmp_in = Vm1Rule(WEFT_DIR_INGRESS, kProtoIcmp, 3 << 8, WEFT_ACTION_ALLOW, {});
  icmp_in.port_bits = 8;
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoUdp, 53), icmp_in}), 1, 2);
  Ul(unrelated, WEFT_DECAP, "... and allowed when a rule admits ICMP unreachable");
}

// --- tenants ---------------------------------------------------------------------------

TEST_F(FirewallTest, IdenticalTuplesInTwoTenantsAreTwoFlows) {
  // Blue allows by default, red denies.
  PolicySpec p;
  p.tenant_default = {{kBlue, WEFT_ACTION_ALLOW}, {kRed, WEFT_ACTION_DENY}};
  Policy(p);
  // 10.0.1.11:53 -> 10.0.1.10:40000 exists in both tenants (vm1 blue, vm3 red).
  Vm("vm1", Vm1Udp(), WEFT_ENCAP, "blue vm1 opens the flow");
  Ul(Hv2Udp(53, 40000, kVniRedA, kVm3Mac, kVm3Ip), WEFT_DROP_POLICY,
     "the same tuple in red is not blue's reply");
  Ul(Hv2Udp(), WEFT_DECAP, "blue's reply");
  EXPECT_TRUE(fw_->Ct(kBlue, kProtoUdp, kVm1Ip, 40000, kBlueHv2AIp, 53).has_value());
  EXPECT_FALSE(fw_->Ct(kRed, kProtoUdp, kVm3Ip, 40000, kBlueHv2AIp, 53).has_value());
  // Red admits the identical tuple: a second entry.
  p.tenant_default[kRed] = WEFT_ACTION_ALLOW;
  Policy(p, 1, 2);
  Ul(Hv2Udp(53, 40000, kVniRedA, kVm3Mac, kVm3Ip), WEFT_DECAP, "red, now allowed");
  EXPECT_TRUE(fw_->Ct(kRed, kProtoUdp, kVm3Ip, 40000, kBlueHv2AIp, 53).has_value());
  EXPECT_TRUE(fw_->Ct(kBlue, kProtoUdp, kVm1Ip, 40000, kBlueHv2AIp, 53).has_value());
  EXPECT_EQ(fw_->CtCount(), 2u);
}

// --- rule order, groups ---------------------------------------------------------------

struct PriorityCase {
  std::string name;
  std::vector<uint32_t> actions;  // rules 0.. all matching the SYN
  int reason;
};

class FirewallPriorityTest : public FirewallTest,
                             public ::testing::WithParamInterface<PriorityCase> {};

TEST_P(FirewallPriorityTest, LowestMatchingRuleDecides) {
  std::vector<RuleSpec> rules;
  for (uint32_t a : GetParam().actions)
    rules.push_back(Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport, a));
  Policy(DefaultDeny(rules));
  Vm("vm1", Vm1Tcp(kTcpSyn, 1000, 0), GetParam().reason, GetParam().name);
}

INSTANTIATE_TEST_SUITE_P(
    Firewall, FirewallPriorityTest,
    ::testing::Values(
        PriorityCase{"DenyBeforeAllow", {WEFT_ACTION_DENY, WEFT_ACTION_ALLOW}, WEFT_DROP_POLICY},
        PriorityCase{"AllowBeforeDeny", {WEFT_ACTION_ALLOW, WEFT_ACTION_DENY}, WEFT_ENCAP},
        PriorityCase{"RejectBeforeAllow", {WEFT_ACTION_REJECT, WEFT_ACTION_ALLOW}, WEFT_REJECT},
        PriorityCase{"AllowBeforeReject", {WEFT_ACTION_ALLOW, WEFT_ACTION_REJECT}, WEFT_ENCAP},
        PriorityCase{"NoRuleDefaultDeny", {}, WEFT_DROP_POLICY}),
    [](const ::testing::TestParamInfo<PriorityCase>& i) { return i.param.name; });

TEST_F(FirewallTest, RuleInSecondWordAndNonMatchingRulesBefore) {
  std::vector<RuleSpec> rules;
  for (int i = 0; i < 70; ++i)  // deny rules for other ports
    rules.push_back(Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, 1000 + i, WEFT_ACTION_DENY));
  rules.push_back(Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport));
  Policy(DefaultDeny(rules));
  Vm("vm1", Vm1Tcp(kTcpSyn, 1000, 0), WEFT_ENCAP, "rule 70 allows");
  ASSERT_TRUE(Vm1Hv2Tcp().has_value());
  EXPECT_EQ(Vm1Hv2Tcp()->rule_index, 70u);
  Vm("vm1", TcpFrame(kVm1Mac, kVm1Ip, kBlueHv2AMac, kBlueHv2AIp, kCport, 1065, kTcpSyn, 1, 0),
     WEFT_DROP_POLICY, "rule 65 denies");
}

TEST_F(FirewallTest, GroupPeersAsHostPrefixes) {
  // A group {blue-hv2-a, blue-lx1} as two /32 peers of one rule.
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport, WEFT_ACTION_ALLOW,
                              {{kBlueHv2AIp, 32}, {kBlueLx1Ip, 32}})}));
  Vm("vm1", Vm1Tcp(kTcpSyn, 1, 0), WEFT_ENCAP, "member hv2-a");
  Vm("vm1", TcpFrame(kVm1Mac, kVm1Ip, kBlueLx1Mac, kBlueLx1Ip, kCport, kSport, kTcpSyn, 1, 0),
     WEFT_ENCAP, "member lx1");
  Vm("vm1", TcpFrame(kVm1Mac, kVm1Ip, kVm4Mac, kVm4Ip, kCport, kSport, kTcpSyn, 1, 0),
     WEFT_DROP_POLICY, "vm4 is no member");
}

// --- reject --------------------------------------------------------------------------

void ExpectRstFor(const Bytes& in_frame, const Bytes& out_frame, uint32_t want_seq,
                  uint32_t want_ack) {
  Parsed in = Parse(in_frame), p = Parse(out_frame);
  ASSERT_TRUE(in.eth && in.ipv4 && in.tcp);
  ASSERT_TRUE(p.eth && p.ipv4 && p.tcp) << HexDump(out_frame);
  EXPECT_EQ(out_frame.size(), 14u + 40u) << "no payload, no options";
  EXPECT_EQ(FormatMac(p.eth->dst), FormatMac(in.eth->src));
  EXPECT_EQ(FormatMac(p.eth->src), FormatMac(in.eth->dst));
  EXPECT_EQ(FormatIpv4(p.ipv4->src), FormatIpv4(in.ipv4->dst));
  EXPECT_EQ(FormatIpv4(p.ipv4->dst), FormatIpv4(in.ipv4->src));
  EXPECT_EQ(p.ipv4->total_length, 40);
  EXPECT_TRUE(p.ipv4->checksum_ok) << "IPv4 checksum";
  EXPECT_EQ(p.tcp->sport, in.tcp->dport);
  EXPECT_EQ(p.tcp->dport, in.tcp->sport);
  EXPECT_EQ(p.tcp->flags, kTcpRst | kTcpAck);
  const uint8_t* t = out_frame.data() + 14 + 20;
  const uint32_t seq = uint32_t{t[4]} << 24 | t[5] << 16 | t[6] << 8 | t[7];
  const uint32_t ack = uint32_t{t[8]} << 24 | t[9] << 16 | t[10] << 8 | t[11];
  EXPECT_EQ(seq, want_seq);
  EXPECT_EQ(ack, want_ack);
  EXPECT_EQ(t[12], 0x50) << "data offset 5";
  // TCP checksum over the pseudo header: sums to zero.
  Bytes pseudo = {out_frame[26],
                  out_frame[27],
                  out_frame[28],
                  out_frame[29],
                  out_frame[30],
                  out_frame[31],
                  out_frame[32],
                  out_frame[33],
                  0,
                  kProtoTcp,
                  0,
                  20};
  pseudo.insert(pseudo.end(), t, t + 20);
  EXPECT_EQ(InternetChecksum(pseudo.data(), pseudo.size()), 0) << "TCP checksum";
}

TEST_F(FirewallTest, RejectTcpAtSourceAnswersWithRst) {
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport, WEFT_ACTION_REJECT)}));
  const Bytes syn = Vm1Tcp(kTcpSyn, 1000, 0);
  RunResult r = Vm("vm1", syn, WEFT_REJECT, "SYN rejected");
  EXPECT_EQ(TcRetName(r.retval), TcRetName(kTcRedirect)) << "the RST goes back to vm1";
  ExpectRstFor(syn, r.out, 0, 1001);
  // A routed SYN carrying data (TCP Fast Open): the ack covers the data.
  // (A segment with ACK never opens a flow: denied, it is invalid, not
  // rejected.)
  Policy(PolicySpec{.tenant_default = {{kBlue, WEFT_ACTION_REJECT}}}, 1, 2);
  const Bytes data = TcpFrame(kVm1Mac, kVm1Ip, kBlueGwMac, kBlueHv2BIp, kCport, 80,
                              kTcpSyn | kTcpPsh, 7, 0, Bytes(30, 1));
  r = Vm("vm1", data, WEFT_REJECT, "routed SYN with data rejected by the default");
  ExpectRstFor(data, r.out, 0, 7 + 30 + 1);
  Vm("vm1", TcpFrame(kVm1Mac, kVm1Ip, kBlueGwMac, kBlueHv2BIp, kCport, 80, kTcpAck, 7, 99),
     WEFT_DROP_CT_INVALID, "mid-stream under a reject default: invalid");
  EXPECT_EQ(fw_->CtCount(), 0u) << "rejected flows leave no entry";
}

TEST_F(FirewallTest, RejectUdpAtSourceAnswersWithIcmpAdminProhibited) {
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoUdp, 53, WEFT_ACTION_REJECT)}));
  const Bytes in = Vm1Udp();
  RunResult r = Vm("vm1", in, WEFT_REJECT, "UDP rejected");
  EXPECT_EQ(TcRetName(r.retval), TcRetName(kTcRedirect));
  Parsed p = Parse(r.out);
  ExpectIcmpErrorBack(in, p, 3, 13, 0, kGwA, kBlueGwMac);
}

TEST_F(FirewallTest, RejectTcpAtIngressBouncesRstThroughTunnel) {
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_INGRESS, kProtoTcp, kCport, WEFT_ACTION_REJECT)}));
  for (bool xdp : {true, false}) {
    const Bytes in = Hv2Tcp(kTcpSyn, 5000, 0);
    RunResult r = Ul(in, WEFT_REJECT, "SYN to vm1 rejected", xdp);
    if (xdp)
      EXPECT_EQ(XdpRetName(r.retval), XdpRetName(kXdpTx));
    else
      EXPECT_EQ(TcRetName(r.retval), TcRetName(kTcRedirect));
    Parsed p = Parse(r.out);
    ASSERT_TRUE(p.eth && p.ipv4 && p.udp && p.vxlan) << HexDump(r.out);
    EXPECT_EQ(FormatMac(p.eth->dst), FormatMac(kHv2Mac));
    EXPECT_EQ(FormatMac(p.eth->src), FormatMac(kUl0Mac));
    EXPECT_EQ(FormatIpv4(p.ipv4->src), FormatIpv4(kHv1Vtep));
    EXPECT_EQ(FormatIpv4(p.ipv4->dst), FormatIpv4(kHv2Vtep));
    EXPECT_TRUE(p.ipv4->checksum_ok) << "outer IPv4 checksum";
    EXPECT_EQ(p.ipv4->total_length, r.out.size() - 14);
    EXPECT_EQ(p.udp->length, r.out.size() - 34);
    EXPECT_EQ(p.udp->dport, 4789);
    EXPECT_EQ(p.udp->checksum, 0);
    EXPECT_EQ(p.vxlan->vni, kVniBlueA);
    ExpectRstFor(Parse(in).inner, p.inner, 0, 5001);
  }
}

TEST_F(FirewallTest, RejectUdpAtIngressDrops) {
  Policy(PolicySpec{.tenant_default = {{kBlue, WEFT_ACTION_REJECT}}});
  Ul(Hv2Udp(), WEFT_DROP_POLICY, "no ICMP back through the tunnel", true);
  Ul(Hv2Udp(), WEFT_DROP_POLICY, "no ICMP back through the tunnel", false);
}

// --- revocation, atomic flips --------------------------------------------------------

TEST_F(FirewallTest, RemovedAllowRuleCutsOpenFlowOnNextPacket) {
  const PolicySpec with = DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport)});
  Policy(with, 0, 1);
  Vm("vm1", Vm1Tcp(kTcpSyn, 1000, 0), WEFT_ENCAP, "SYN");
  Ul(Hv2Tcp(kTcpSyn | kTcpAck, 5000, 1001), WEFT_DECAP, "SYN-ACK");
  Vm("vm1", Vm1Tcp(kTcpAck, 1001, 5001), WEFT_ENCAP, "ACK");
  // The new rule set (slot 1) has lost the rule; flip.
  Policy(DefaultDeny({}), 1, 2);
  auto before = fw_->Stats();
  Ul(Hv2Tcp(kTcpAck | kTcpPsh, 5001, 1001, Bytes(10, 1)), WEFT_DROP_POLICY_REVOKED,
     "the server's next segment");
  EXPECT_FALSE(Vm1Hv2Tcp().has_value()) << "entry removed";
  EXPECT_EQ(fw_->Stats()[WEFT_CT_STAT_REVOKED] - before[WEFT_CT_STAT_REVOKED], 1u);
  Vm("vm1", Vm1Tcp(kTcpAck, 1001, 5011), WEFT_DROP_CT_INVALID, "and vm1's, no entry left");
}

TEST_F(FirewallTest, KeptAllowRuleRevalidatesOpenFlow) {
  const PolicySpec with = DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport)});
  Policy(with, 0, 1);
  Vm("vm1", Vm1Tcp(kTcpSyn, 1000, 0), WEFT_ENCAP, "SYN");
  // New generation: the same rule, now at index 1 behind an unrelated one.
  PolicySpec moved = DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoUdp, 53), with.rules[0]});
  Policy(moved, 1, 2);
  auto before = fw_->Stats();
  Ul(Hv2Tcp(kTcpSyn | kTcpAck, 5000, 1001), WEFT_DECAP, "SYN-ACK after the flip");
  auto e = Vm1Hv2Tcp();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->policy_generation, 2u);
  EXPECT_EQ(e->rule_index, 1u);
  EXPECT_EQ(e->state, WEFT_CT_SYN_RECV);
  EXPECT_EQ(fw_->Stats()[WEFT_CT_STAT_REVALIDATED] - before[WEFT_CT_STAT_REVALIDATED], 1u);
}

TEST_F(FirewallTest, EstablishedFlowsNeverConsultRules) {
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport)}), 0, 7);
  Vm("vm1", Vm1Tcp(kTcpSyn, 1000, 0), WEFT_ENCAP, "SYN");
  // Every rule gone from the active slot, generation unchanged (not a
  // flip): the tracked flow goes on, a new one is denied.
  PolicySpec none = DefaultDeny({});
  ASSERT_EQ(fw_->WriteSlot(0, none), "");
  Ul(Hv2Tcp(kTcpSyn | kTcpAck, 5000, 1001), WEFT_DECAP, "SYN-ACK");
  Vm("vm1", Vm1Tcp(kTcpAck, 1001, 5001), WEFT_ENCAP, "ACK");
  Vm("vm1", TcpFrame(kVm1Mac, kVm1Ip, kBlueHv2AMac, kBlueHv2AIp, kCport + 1, kSport, kTcpSyn, 1, 0),
     WEFT_DROP_POLICY, "a new flow sees the empty rule set");
}

TEST_F(FirewallTest, NoPolicyMeansAllowAndFlowsAreStillTracked) {
  Vm("vm1", Vm1Udp(), WEFT_ENCAP, "no policy at all");
  EXPECT_TRUE(fw_->Ct(kBlue, kProtoUdp, kVm1Ip, 40000, kBlueHv2AIp, 53).has_value());
}

// --- timeouts ------------------------------------------------------------------------

// The timeouts come from weft_config (the agent's settings): with UDP at 1 s,
// an idle flow's entry is gone after it, and the late reply is judged anew.
TEST_F(FirewallTest, IdleUdpEntryExpiresAfterConfiguredTimeout) {
  const int fd = dp().MapFd(Map::kConfig);
  uint32_t zero = 0;
  weft_config saved{}, cfg{};
  ASSERT_EQ(bpf_map_lookup_elem(fd, &zero, &saved), 0);
  cfg = saved;
  cfg.ct.udp = 1;
  ASSERT_EQ(bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY), 0);
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoUdp, 53)}));
  Vm("vm1", Vm1Udp(), WEFT_ENCAP, "request");
  Ul(Hv2Udp(), WEFT_DECAP, "prompt reply");
  usleep(1'200'000);
  auto before = fw_->Stats();
  Ul(Hv2Udp(), WEFT_DROP_POLICY, "reply after the entry expired");
  EXPECT_EQ(fw_->Stats()[WEFT_CT_STAT_EXPIRED] - before[WEFT_CT_STAT_EXPIRED], 1u);
  EXPECT_FALSE(fw_->Ct(kBlue, kProtoUdp, kVm1Ip, 40000, kBlueHv2AIp, 53).has_value());
  EXPECT_EQ(bpf_map_update_elem(fd, &zero, &saved, BPF_ANY), 0);
}

// --- conntrack under new-flow pressure ------------------------------------------------

TEST_F(FirewallTest, FlowsStartPendingAndMoveToTheMainTableWhenConfirmed) {
  Policy(DefaultDeny(
      {Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport), Vm1Rule(WEFT_DIR_EGRESS, kProtoUdp, 53)}));
  const auto before = fw_->Stats();
  auto tcp_in = [&](Map table) {
    return fw_->CtIn(table, kBlue, kProtoTcp, kVm1Ip, kCport, kBlueHv2AIp, kSport).has_value();
  };
  auto udp_in = [&](Map table) {
    return fw_->CtIn(table, kBlue, kProtoUdp, kVm1Ip, 40000, kBlueHv2AIp, 53).has_value();
  };
  Vm("vm1", Vm1Tcp(kTcpSyn, 1000, 0), WEFT_ENCAP, "SYN");
  EXPECT_TRUE(tcp_in(Map::kCtPending));
  EXPECT_FALSE(tcp_in(Map::kCt));
  Ul(Hv2Tcp(kTcpSyn | kTcpAck, 5000, 1001), WEFT_DECAP, "SYN-ACK");
  EXPECT_TRUE(tcp_in(Map::kCtPending)) << "a handshake not yet done stays pending";
  Vm("vm1", Vm1Tcp(kTcpAck, 1001, 5001), WEFT_ENCAP, "ACK");
  EXPECT_TRUE(tcp_in(Map::kCt)) << "established: confirmed";
  EXPECT_FALSE(tcp_in(Map::kCtPending));
  EXPECT_EQ(Vm1Hv2Tcp()->packets[0], 2u) << "the entry moved with its counters";

  Vm("vm1", Vm1Udp(), WEFT_ENCAP, "UDP request");
  EXPECT_TRUE(udp_in(Map::kCtPending));
  Ul(Hv2Udp(), WEFT_DECAP, "UDP reply");
  EXPECT_TRUE(udp_in(Map::kCt)) << "the first reply confirms";
  EXPECT_FALSE(udp_in(Map::kCtPending));
  EXPECT_EQ(fw_->Stats()[WEFT_CT_STAT_CONFIRMED] - before[WEFT_CT_STAT_CONFIRMED], 2u);
}

// A flood of new flows larger than the pending table: it evicts pending
// entries only. The established flows keep their entries (counters intact,
// no pick-up) and their replies pass under default deny, which only an
// entry allows.
TEST_F(FirewallTest, NewFlowFloodEvictsOnlyPendingEntries) {
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport),
                      Vm1Rule(WEFT_DIR_EGRESS, kProtoUdp, std::nullopt)}));
  Vm("vm1", Vm1Tcp(kTcpSyn, 1000, 0), WEFT_ENCAP, "SYN");
  Ul(Hv2Tcp(kTcpSyn | kTcpAck, 5000, 1001), WEFT_DECAP, "SYN-ACK");
  Vm("vm1", Vm1Tcp(kTcpAck, 1001, 5001), WEFT_ENCAP, "ACK");
  Vm("vm1", Vm1Udp(), WEFT_ENCAP, "UDP request");
  Ul(Hv2Udp(), WEFT_DECAP, "UDP reply");
  ASSERT_EQ(fw_->CtCountIn(Map::kCt), 2u);

  constexpr uint32_t kFlood = WEFT_MAX_CT_PENDING + WEFT_MAX_CT_PENDING / 4;
  constexpr uint32_t kPorts = 60000;
  const auto before = fw_->Stats();
  const uint32_t vm1 = IfIndex("vm1");
  uint32_t encapsulated = 0;
  for (uint32_t i = 0; i < kFlood; ++i) {
    // Destination ports from 1000 up: never the established flows' 53.
    const Bytes frame = UdpFrame(kBlueHv2AMac, kVm1Mac, kVm1Ip, kBlueHv2AIp,
                                 static_cast<uint16_t>(1024 + i % kPorts),
                                 static_cast<uint16_t>(1000 + i / kPorts), 16);
    absl::StatusOr<ProgTestRunOutput> run = ProgTestRun(
        {.prog_fd = dp().VmProgramFd(), .hook = Hook::kTc, .ingress_ifindex = vm1, .frame = frame});
    ASSERT_TRUE(run.ok()) << "flow " << i << ": " << run.status();
    encapsulated += run->retval == kTcRedirect;
  }
  const auto after = fw_->Stats();
  const uint64_t created = after[WEFT_CT_STAT_CREATED] - before[WEFT_CT_STAT_CREATED];
  const uint64_t failed = after[WEFT_CT_STAT_INSERT_FAILED] - before[WEFT_CT_STAT_INSERT_FAILED];
  EXPECT_EQ(encapsulated, kFlood) << "every new flow the policy admits passes";
  EXPECT_EQ(created + failed, kFlood);
  EXPECT_LE(fw_->CtCountIn(Map::kCtPending), uint64_t{WEFT_MAX_CT_PENDING});
  EXPECT_LT(fw_->CtCountIn(Map::kCtPending), created) << "the flood evicted (its own) entries";
  EXPECT_EQ(fw_->CtCountIn(Map::kCt), 2u) << "the flood left the confirmed table alone";

  auto tcp = Vm1Hv2Tcp();
  ASSERT_TRUE(tcp.has_value()) << "the established TCP flow lost its entry";
  EXPECT_EQ(tcp->packets[0], 2u);
  EXPECT_EQ(tcp->packets[1], 1u);
  Ul(Hv2Tcp(kTcpAck | kTcpPsh, 5001, 1001, Bytes(100, 1)), WEFT_DECAP, "server data after");
  Vm("vm1", Vm1Tcp(kTcpAck, 1001, 5101), WEFT_ENCAP, "client ACK after");
  Ul(Hv2Udp(), WEFT_DECAP, "UDP reply after (default deny: only the entry admits it)");
  EXPECT_EQ(Vm1Hv2Tcp()->packets[1], 2u) << "the same entry, not a new one";
  EXPECT_EQ(fw_->Stats()[WEFT_CT_STAT_PICKED_UP] - after[WEFT_CT_STAT_PICKED_UP], 0u);
}

// --- logging -------------------------------------------------------------------------

TEST_F(FirewallTest, LoggedRuleEmitsEvent) {
  RuleSpec r = Vm1Rule(WEFT_DIR_EGRESS, kProtoTcp, kSport, WEFT_ACTION_DENY);
  r.flags = WEFT_RULE_F_LOG;
  Policy(DefaultDeny({Vm1Rule(WEFT_DIR_EGRESS, kProtoUdp, 53), r}), 0, 3);
  fw_->DrainEvents();
  Vm("vm1", Vm1Udp(), WEFT_ENCAP, "unlogged rule");
  Vm("vm1", Vm1Tcp(kTcpSyn, 1, 0), WEFT_DROP_POLICY, "logged deny");
  auto events = fw_->DrainEvents();
  // The rule hit, then the drop event of the exit (stats.h).
  ASSERT_EQ(events.size(), 2u);
  const weft_event& drop = events[1].ev;
  EXPECT_EQ(drop.type, WEFT_EVENT_DROP);
  EXPECT_EQ(drop.reason, WEFT_DROP_POLICY);
  EXPECT_EQ(drop.tenant_id, kBlue);
  EXPECT_EQ(drop.rule_index, WEFT_RULE_NONE);
  EXPECT_EQ(ntohl(drop.saddr_be), kVm1Ip);
  EXPECT_EQ(ntohs(drop.dport_be), kSport);
  const weft_event& ev = events[0].ev;
  EXPECT_EQ(ev.flags, 0u) << "an IPv4 flow's event";
  EXPECT_EQ(ev.type, WEFT_EVENT_RULE_HIT);
  EXPECT_EQ(ev.reason, WEFT_DROP_POLICY);
  EXPECT_EQ(ev.tenant_id, kBlue);
  EXPECT_EQ(ev.rule_index, 1u);
  EXPECT_EQ(ev.ifindex, IfIndex("vm1"));
  EXPECT_EQ(ntohl(ev.saddr_be), kVm1Ip);
  EXPECT_EQ(ntohl(ev.daddr_be), kBlueHv2AIp);
  EXPECT_EQ(ntohs(ev.sport_be), kCport);
  EXPECT_EQ(ntohs(ev.dport_be), kSport);
  EXPECT_EQ(ev.protocol, kProtoTcp);
  EXPECT_EQ(ev.direction, WEFT_DIR_EGRESS);
  EXPECT_EQ(ev.action, WEFT_ACTION_DENY);
  EXPECT_EQ(ev.policy_generation, 3u);
}

}  // namespace
}  // namespace weft::testing
