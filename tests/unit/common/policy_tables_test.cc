#include "common/plan/policy_tables.h"

#include <arpa/inet.h>

#include <bit>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/model/net_format.h"
#include "common/model/state_yaml.h"
#include "common/model/validate.h"
#include "gtest/gtest.h"
#include "tests/testing/literals.h"
#include "weft/abi.h"

namespace weft {
namespace {

using weft::testing::Bytes;
using weft::testing::Ip;
using weft::testing::Ip6;
using weft::testing::Raw;

// Expected bytes below spell host-order fields little-endian.
static_assert(std::endian::native == std::endian::little);

// Rule numbering on hv1 (tenants blue and red; green has nothing there),
// policies by (priority, name):
//   red-in    (50)    0 tcp 22             1 udp 8064-8127 deny
//   web-in    (100)   2 tcp 80,1024-65535 from 10.0.0.0/16, log
//                     3 udp 8000-8080 from 10.0.2.0/24
//                     4 icmp type 8 from group db
//                     5 icmp, any peer: reject
//   a-tie     (1000)  6 egress to 10.0.1.0/24
//   blue-late (1000)  7 egress, anything: deny     (ties broken by name)
// IPv6: blue's segments have subnets, blue-web-1 (hv1) and blue-db-1 (hv2)
// addresses; red has none.
constexpr char kPolicyTablesState[] = R"yaml(
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: hv2, vtep: 198.18.0.2}
  - {name: lx1, vtep: 198.18.0.3, foreign: true}
tenants:
  - {name: blue, id: 1, default_action: deny}
  - {name: red, id: 2}
  - {name: green, id: 3}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01", subnet6: "2001:db8:1::/64", gateway6: "2001:db8:1::1"}
  - {name: blue-db, tenant: blue, vni: 1002, subnet: 10.0.2.0/24, gateway: 10.0.2.1, gateway_mac: "02:fe:00:00:00:01", subnet6: "2001:db8:2::/64", gateway6: "2001:db8:2::1"}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
  - {name: green-web, tenant: green, vni: 3001, subnet: 10.0.3.0/24, gateway: 10.0.3.1, gateway_mac: "02:fe:00:00:00:03"}
groups:
  - {name: web, tenant: blue}
  - {name: db, tenant: blue}
  - {name: web, tenant: red}
endpoints:
  - {name: blue-web-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vblue1, groups: [web], ip6: "2001:db8:1::10"}
  - {name: blue-web-2, segment: blue-web, ip: 10.0.1.11, mac: "02:00:00:01:01:11", node: hv2, interface: vblue2, groups: [web]}
  - {name: blue-db-1, segment: blue-db, ip: 10.0.2.10, mac: "02:00:00:01:02:10", node: hv2, interface: vdb1, groups: [db], ip6: "2001:db8:2::10"}
  - {name: blue-db-2, segment: blue-db, ip: 10.0.2.11, mac: "02:00:00:01:02:11", node: lx1, groups: [db]}
  - {name: red-web-1, segment: red-web, ip: 10.0.1.10, mac: "02:00:00:02:01:10", node: hv1, interface: vred1, groups: [web]}
  - {name: green-1, segment: green-web, ip: 10.0.3.10, mac: "02:00:00:03:01:10", node: hv2, interface: vgreen1}
policies:
  - name: blue-late
    tenant: blue
    applied_to: {endpoints: [blue-web-1]}
    rules:
      - {direction: egress, action: deny}
  - name: web-in
    tenant: blue
    priority: 100
    applied_to: {groups: [web]}
    rules:
      - {direction: ingress, peer: {cidrs: [10.0.0.0/16]}, protocol: tcp, ports: ["80", "1024-65535"], action: allow, log: true}
      - {direction: ingress, peer: {cidrs: [10.0.2.0/24]}, protocol: udp, ports: ["8000-8080"], action: allow}
      - {direction: ingress, peer: {groups: [db]}, protocol: icmp, icmp_type: 8, action: allow}
      - {direction: ingress, protocol: icmp, action: reject}
  - name: a-tie
    tenant: blue
    applied_to: {groups: [web]}
    rules:
      - {direction: egress, peer: {cidrs: [10.0.1.0/24]}, action: allow}
  - name: red-in
    tenant: red
    priority: 50
    applied_to: {groups: [web]}
    rules:
      - {direction: ingress, protocol: tcp, ports: ["22"], action: allow}
      - {direction: ingress, protocol: udp, ports: ["8064-8127"], action: deny}
  - name: green-in
    tenant: green
    applied_to: {endpoints: [green-1]}
    rules:
      - {direction: ingress, action: deny}
)yaml";

// A vector with exactly these bits set.
std::string Bits(std::initializer_list<uint32_t> rules) {
  weft_rule_bits bits{};
  for (uint32_t i : rules) bits.words[i / 64] |= uint64_t{1} << (i % 64);
  return Raw(bits);
}

std::string TenantKey(uint32_t slot, uint32_t tenant) {
  weft_tenant_key key{};
  key.slot = slot;
  key.tenant_id = tenant;
  return Raw(key);
}

std::string RuleKey(uint32_t slot, uint32_t index) {
  weft_rule_key key{};
  key.slot = slot;
  key.index = index;
  return Raw(key);
}

std::string RuleValue(uint32_t action, uint32_t flags = 0) {
  weft_rule value{};
  value.action = action;
  value.flags = flags;
  return Raw(value);
}

std::string AppliedKey(uint32_t slot, uint32_t dir, uint32_t tenant, const char* ip) {
  weft_applied_key key{};
  key.slot = slot;
  key.direction = dir;
  key.tenant_id = tenant;
  key.ip_be = htonl(Ip(ip));
  return Raw(key);
}

std::string PeerKey(uint32_t slot, uint32_t tenant, const char* addr, uint32_t len) {
  weft_peer_key key{};
  key.prefixlen = WEFT_PEER_KEY_PREFIXLEN(len);
  key.slot_be = htonl(slot);
  key.tenant_id_be = htonl(tenant);
  key.addr_be = htonl(Ip(addr));
  return Raw(key);
}

std::string Applied6Key(uint32_t slot, uint32_t dir, uint32_t tenant, const char* ip) {
  weft_applied6_key key{};
  key.slot = slot;
  key.direction = dir;
  key.tenant_id = tenant;
  const Ipv6Address addr = Ip6(ip);
  std::copy(addr.begin(), addr.end(), key.addr);
  return Raw(key);
}

std::string Peer6Key(uint32_t slot, uint32_t tenant, const char* addr, uint32_t len) {
  weft_peer6_key key{};
  key.prefixlen = WEFT_PEER_KEY_PREFIXLEN(len);
  key.slot_be = htonl(slot);
  key.tenant_id_be = htonl(tenant);
  const Ipv6Address a = Ip6(addr);
  std::copy(a.begin(), a.end(), key.addr);
  return Raw(key);
}

std::string L4Key(uint32_t slot, uint32_t prefixlen, uint8_t protocol, uint16_t port) {
  weft_l4_key key{};
  key.prefixlen = prefixlen;
  key.slot_be = htonl(slot);
  key.protocol = protocol;
  key.port_be = htons(port);
  return Raw(key);
}

class PolicyTablesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<State> state = ParseStateYaml(kPolicyTablesState, "policy.yaml");
    ASSERT_TRUE(state.ok()) << state.status();
    ASSERT_TRUE(ValidateState(*state).ok()) << ValidateState(*state);
    state_ = *state;
    Build("hv1", 1);
  }

  void Build(const std::string& node, uint32_t slot) {
    absl::StatusOr<std::vector<MapTable>> tables = BuildPolicyTables(state_, node, slot);
    ASSERT_TRUE(tables.ok()) << tables.status();
    tables_ = *tables;
  }

  const MapTable& Table(const char* name) const {
    for (const MapTable& table : tables_) {
      if (table.map_name == name) return table;
    }
    ADD_FAILURE() << "no table " << name;
    static const MapTable kEmpty;
    return kEmpty;
  }

  std::string Value(const char* map, const std::string& key) const {
    const MapTable& table = Table(map);
    auto it = table.entries.find(key);
    return it == table.entries.end() ? "<absent>" : it->second;
  }

  State state_;
  std::vector<MapTable> tables_;
};

TEST_F(PolicyTablesTest, TablesInOrder) {
  std::vector<std::string> names;
  for (const MapTable& table : tables_) names.push_back(table.map_name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       WEFT_MAP_POL_TENANT, WEFT_MAP_POL_RULES, WEFT_MAP_POL_L4, WEFT_MAP_POL_PEER,
                       WEFT_MAP_POL_APPLIED, WEFT_MAP_POL_PEER6, WEFT_MAP_POL_APPLIED6}));
}

TEST_F(PolicyTablesTest, KeyBytes) {
  // Host-order keys: slot first, little-endian.
  EXPECT_EQ(TenantKey(1, 2), Bytes({1, 0, 0, 0, 2, 0, 0, 0}));
  EXPECT_EQ(RuleKey(1, 5), Bytes({1, 0, 0, 0, 5, 0, 0, 0}));
  EXPECT_EQ(AppliedKey(1, WEFT_DIR_INGRESS, 2, "10.0.1.10"),
            Bytes({1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 10, 0, 1, 10}));
  // LPM keys: everything after prefixlen big-endian, as the trie compares.
  EXPECT_EQ(PeerKey(1, 2, "10.0.2.0", 24),
            Bytes({88, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 10, 0, 2, 0}));
  EXPECT_EQ(L4Key(1, 56, 1, 0x0800), Bytes({56, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0x08, 0x00}));
  EXPECT_EQ(L4Key(1, 64, 6, 8080), Bytes({64, 0, 0, 0, 0, 0, 0, 1, 6, 0, 0x1f, 0x90}));
  // The IPv6 twins: the same fields, a 16-byte address.
  // clang-format off
  EXPECT_EQ(Applied6Key(1, WEFT_DIR_INGRESS, 2, "2001:db8::10"),
            Bytes({1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,  // slot, direction, tenant_id
                   0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10}));
  EXPECT_EQ(Peer6Key(1, 2, "2001:db8::", 32),
            Bytes({96, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2,  // 64 + 32, slot_be, tenant_id_be
                   0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  // clang-format on
}

TEST_F(PolicyTablesTest, TenantDefaultsOfTheNodesTenants) {
  const MapTable& table = Table(WEFT_MAP_POL_TENANT);
  EXPECT_EQ(table.entries.size(), 2u);
  EXPECT_EQ(Value(WEFT_MAP_POL_TENANT, TenantKey(1, 1)), Bytes({WEFT_ACTION_DENY, 0, 0, 0}));
  EXPECT_EQ(Value(WEFT_MAP_POL_TENANT, TenantKey(1, 2)), Bytes({WEFT_ACTION_ALLOW, 0, 0, 0}));
  EXPECT_EQ(Value(WEFT_MAP_POL_TENANT, TenantKey(1, 3)), "<absent>");
}

TEST_F(PolicyTablesTest, RulesInPriorityThenNameOrder) {
  const MapTable& table = Table(WEFT_MAP_POL_RULES);
  EXPECT_EQ(table.entries.size(), 8u);  // green's rule is not hv1's
  const std::string expected[] = {
      RuleValue(WEFT_ACTION_ALLOW),                   // red-in 0
      RuleValue(WEFT_ACTION_DENY),                    // red-in 1
      RuleValue(WEFT_ACTION_ALLOW, WEFT_RULE_F_LOG),  // web-in 0
      RuleValue(WEFT_ACTION_ALLOW),                   // web-in 1
      RuleValue(WEFT_ACTION_ALLOW),                   // web-in 2
      RuleValue(WEFT_ACTION_REJECT),                  // web-in 3
      RuleValue(WEFT_ACTION_ALLOW),                   // a-tie 0
      RuleValue(WEFT_ACTION_DENY),                    // blue-late 0
  };
  for (uint32_t i = 0; i < std::size(expected); ++i) {
    EXPECT_EQ(Value(WEFT_MAP_POL_RULES, RuleKey(1, i)), expected[i]) << i;
  }
}

TEST_F(PolicyTablesTest, AppliedOnlyToLocalEndpoints) {
  const MapTable& table = Table(WEFT_MAP_POL_APPLIED);
  // Same address in blue and red: distinct keys. blue-web-2 is on hv2.
  EXPECT_EQ(table.entries.size(), 3u);
  EXPECT_EQ(Value(WEFT_MAP_POL_APPLIED, AppliedKey(1, WEFT_DIR_INGRESS, 1, "10.0.1.10")),
            Bits({2, 3, 4, 5}));
  EXPECT_EQ(Value(WEFT_MAP_POL_APPLIED, AppliedKey(1, WEFT_DIR_EGRESS, 1, "10.0.1.10")),
            Bits({6, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_APPLIED, AppliedKey(1, WEFT_DIR_INGRESS, 2, "10.0.1.10")),
            Bits({0, 1}));
  EXPECT_EQ(Value(WEFT_MAP_POL_APPLIED, AppliedKey(1, WEFT_DIR_INGRESS, 1, "10.0.1.11")),
            "<absent>");
}

TEST_F(PolicyTablesTest, PeersWithCoveringUnionsAndGroupMembers) {
  const MapTable& table = Table(WEFT_MAP_POL_PEER);
  EXPECT_EQ(table.entries.size(), 7u);
  // Any peer: the tenant's /0.
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(1, 1, "0.0.0.0", 0)), Bits({5, 7}));
  // The /16 has its own rule and the /0's; the /24 inside it has both.
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(1, 1, "10.0.0.0", 16)), Bits({2, 5, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(1, 1, "10.0.2.0", 24)), Bits({2, 3, 5, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(1, 1, "10.0.1.0", 24)), Bits({2, 5, 6, 7}));
  // Group db: a /32 per member, on any node (hv2, and lx1, foreign).
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(1, 1, "10.0.2.10", 32)), Bits({2, 3, 4, 5, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(1, 1, "10.0.2.11", 32)), Bits({2, 3, 4, 5, 7}));
  // red: its own /0 under its own tenant id.
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(1, 2, "0.0.0.0", 0)), Bits({0, 1}));
}

// An endpoint's IPv6 address gets the bits its IPv4 address has, in the
// same slot and directions; endpoints without one (red-web-1) get nothing.
TEST_F(PolicyTablesTest, Ipv6AppliedHasTheIpv4Bits) {
  EXPECT_EQ(Table(WEFT_MAP_POL_APPLIED6).entries.size(), 2u);
  for (const uint32_t dir : {WEFT_DIR_INGRESS, WEFT_DIR_EGRESS}) {
    const std::string bits = Value(WEFT_MAP_POL_APPLIED6, Applied6Key(1, dir, 1, "2001:db8:1::10"));
    EXPECT_EQ(bits, Value(WEFT_MAP_POL_APPLIED, AppliedKey(1, dir, 1, "10.0.1.10"))) << dir;
  }
  EXPECT_EQ(Value(WEFT_MAP_POL_APPLIED6, Applied6Key(1, WEFT_DIR_INGRESS, 1, "2001:db8:1::10")),
            Bits({2, 3, 4, 5}));
  EXPECT_EQ(Value(WEFT_MAP_POL_APPLIED6, Applied6Key(1, WEFT_DIR_EGRESS, 1, "2001:db8:1::10")),
            Bits({6, 7}));
}

// The IPv6 peer trie with the IPv4 trie's bit numbering: the any-peer rules
// (5, 7; red's 0, 1) at each tenant's ::/0, group db's member with an IPv6
// address (blue-db-1; not blue-db-2) as a /128 holding the /0's rules too.
// The rules whose peers are IPv4 prefixes only (2, 3, 6) are nowhere.
TEST_F(PolicyTablesTest, Ipv6PeersAnyPeerAndGroupMembers) {
  EXPECT_EQ(Table(WEFT_MAP_POL_PEER6).entries.size(), 3u);
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER6, Peer6Key(1, 1, "::", 0)), Bits({5, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER6, Peer6Key(1, 1, "2001:db8:2::10", 128)), Bits({4, 5, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER6, Peer6Key(1, 2, "::", 0)), Bits({0, 1}));
}

// An IPv6 prefix holds the rules of the shorter prefixes that cover it and
// passes its own to the longer ones inside it, not to those beside it.
TEST_F(PolicyTablesTest, Ipv6PeerPrefixesCoverTheirMembers) {
  Rule& a_tie = state_.policies[2].rules[0];  // rule 6, egress to 10.0.1.0/24
  a_tie.peer_cidrs6 = {*ParseIpv6Prefix("2001:db8::/32")};
  state_.policies[1].rules[1].peer_cidrs6 = {*ParseIpv6Prefix("2001:db8:1::/48")};  // rule 3
  Build("hv1", 0);
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER6, Peer6Key(0, 1, "::", 0)), Bits({5, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER6, Peer6Key(0, 1, "2001:db8::", 32)), Bits({5, 6, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER6, Peer6Key(0, 1, "2001:db8:1::", 48)), Bits({3, 5, 6, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER6, Peer6Key(0, 1, "2001:db8:2::10", 128)), Bits({4, 5, 6, 7}));
  // Their IPv4 prefixes as before: a rule of both families is no any-peer rule.
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(0, 1, "0.0.0.0", 0)), Bits({5, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(0, 1, "10.0.1.0", 24)), Bits({2, 5, 6, 7}));
}

// A rule without peers matches any peer of either family: the tenant's /0
// in both tries (green-in's rule, 6 on hv2).
TEST_F(PolicyTablesTest, AnyPeerIsBothFamiliesSlashZero) {
  Build("hv2", 0);
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(0, 3, "0.0.0.0", 0)), Bits({6}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER6, Peer6Key(0, 3, "::", 0)), Bits({6}));
}

// A rule whose peers are IPv4 prefixes only matches no IPv6 flow: no ::/0.
TEST_F(PolicyTablesTest, Ipv4OnlyPeersAreNoIpv6Peer) {
  state_.policies[4].rules[0].peer_cidrs.push_back(*ParseIpv4Prefix("10.0.0.0/8"));
  Build("hv2", 0);
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(0, 3, "10.0.0.0", 8)), Bits({6}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER6, Peer6Key(0, 3, "::", 0)), "<absent>");
}

TEST_F(PolicyTablesTest, L4PortsProtocolsAndIcmpTypes) {
  const MapTable& table = Table(WEFT_MAP_POL_L4);
  EXPECT_EQ(table.entries.size(), 15u);
  constexpr uint8_t kIcmp = 1, kTcp = 6, kUdp = 17;
  auto port = [](uint8_t bits) { return WEFT_L4_KEY_PORT_PREFIXLEN(bits); };
  // Any protocol: rules 6 and 7; every other entry holds them too.
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(1, WEFT_L4_KEY_ANY_PROTOCOL, 0, 0)), Bits({6, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(1, port(16), kTcp, 22)), Bits({0, 6, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(1, port(16), kTcp, 80)), Bits({2, 6, 7}));
  // 1024-65535: six aligned blocks.
  for (auto [start, bits] : {std::pair<uint16_t, uint8_t>{1024, 6},
                             {2048, 5},
                             {4096, 4},
                             {8192, 3},
                             {16384, 2},
                             {32768, 1}}) {
    EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(1, port(bits), kTcp, start)), Bits({2, 6, 7})) << start;
  }
  // udp 8000-8080 (rule 3) = 8000/10 8064/12 8080/16; 8064-8127 (rule 1)
  // = 8064/10 covers the last two.
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(1, port(10), kUdp, 8000)), Bits({3, 6, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(1, port(10), kUdp, 8064)), Bits({1, 6, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(1, port(12), kUdp, 8064)), Bits({1, 3, 6, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(1, port(16), kUdp, 8080)), Bits({1, 3, 6, 7}));
  // ICMP: any type (protocol only), and type 8 as the port's high byte.
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(1, WEFT_L4_KEY_PROTOCOL, kIcmp, 0)), Bits({5, 6, 7}));
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(1, port(8), kIcmp, 8 << 8)), Bits({4, 5, 6, 7}));
}

TEST_F(PolicyTablesTest, ProtocolOnlyEntryCoversItsPorts) {
  // tcp, any port, for blue: a prefixlen-40 entry; the tcp port entries now
  // hold it too, udp's do not.
  state_.policies[1].rules.push_back(
      {.direction = RuleDirection::kIngress, .protocol = RuleProtocol::kTcp});
  Build("hv1", 0);
  // The new rule is web-in's fifth: bit 6; a-tie and blue-late move to 7, 8.
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(0, WEFT_L4_KEY_PROTOCOL, 6, 0)), Bits({6, 7, 8}));
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(0, WEFT_L4_KEY_PORT_PREFIXLEN(16), 6, 80)),
            Bits({2, 6, 7, 8}));
  EXPECT_EQ(Value(WEFT_MAP_POL_L4, L4Key(0, WEFT_L4_KEY_PORT_PREFIXLEN(10), 17, 8000)),
            Bits({3, 7, 8}));
}

TEST_F(PolicyTablesTest, EveryKeyCarriesTheSlot) {
  Build("hv1", 0);
  const std::vector<MapTable> slot0 = tables_;
  Build("hv1", 1);
  ASSERT_EQ(slot0.size(), tables_.size());
  for (size_t i = 0; i < tables_.size(); ++i) {
    ASSERT_EQ(slot0[i].entries.size(), tables_[i].entries.size());
    for (auto a = slot0[i].entries.cbegin(), b = tables_[i].entries.cbegin();
         a != slot0[i].entries.end(); ++a, ++b) {
      EXPECT_EQ(a->second, b->second) << tables_[i].map_name;
      // The keys differ in the slot field only.
      std::string k0 = a->first, k1 = b->first;
      const size_t at = tables_[i].map_name == WEFT_MAP_POL_PEER ||
                                tables_[i].map_name == WEFT_MAP_POL_PEER6 ||
                                tables_[i].map_name == WEFT_MAP_POL_L4
                            ? 7   // last byte of slot_be
                            : 0;  // first byte of a host-order slot
      EXPECT_EQ(k0[at], 0) << tables_[i].map_name;
      EXPECT_EQ(k1[at], 1) << tables_[i].map_name;
      k1[at] = 0;
      EXPECT_EQ(k0, k1) << tables_[i].map_name;
    }
  }
}

TEST_F(PolicyTablesTest, SameStateSameBytes) {
  absl::StatusOr<std::vector<MapTable>> again = BuildPolicyTables(state_, "hv1", 1);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), tables_.size());
  for (size_t i = 0; i < tables_.size(); ++i) {
    EXPECT_EQ((*again)[i].entries, tables_[i].entries);
  }
}

TEST_F(PolicyTablesTest, OtherNodeNumbersItsOwnTenantsRules) {
  // hv2: blue and green. web-in 0..3, a-tie 4, blue-late 5, green-in 6.
  Build("hv2", 0);
  EXPECT_EQ(Table(WEFT_MAP_POL_RULES).entries.size(), 7u);
  EXPECT_EQ(Value(WEFT_MAP_POL_RULES, RuleKey(0, 6)), RuleValue(WEFT_ACTION_DENY));
  EXPECT_EQ(Table(WEFT_MAP_POL_TENANT).entries.size(), 2u);
  EXPECT_EQ(Value(WEFT_MAP_POL_TENANT, TenantKey(0, 3)), Bytes({WEFT_ACTION_ALLOW, 0, 0, 0}));
  const MapTable& applied = Table(WEFT_MAP_POL_APPLIED);
  EXPECT_EQ(applied.entries.size(), 3u);  // blue-db-1 has no policy
  EXPECT_EQ(Value(WEFT_MAP_POL_APPLIED, AppliedKey(0, WEFT_DIR_INGRESS, 1, "10.0.1.11")),
            Bits({0, 1, 2, 3}));
  EXPECT_EQ(Value(WEFT_MAP_POL_APPLIED, AppliedKey(0, WEFT_DIR_EGRESS, 1, "10.0.1.11")), Bits({4}));
  EXPECT_EQ(Value(WEFT_MAP_POL_APPLIED, AppliedKey(0, WEFT_DIR_INGRESS, 3, "10.0.3.10")),
            Bits({6}));
}

// A rule whose peers are IPv6 prefixes only matches no IPv4 flow: it adds
// no IPv4 peer entry, least of all the tenant's /0 (any peer).
TEST_F(PolicyTablesTest, Ipv6OnlyPeersAreNoIpv4Peer) {
  state_.policies[4].rules[0].peer_cidrs6.push_back(*ParseIpv6Prefix("2001:db8::/32"));
  Build("hv2", 0);  // green-in's rule is 6 on hv2
  EXPECT_EQ(Value(WEFT_MAP_POL_RULES, RuleKey(0, 6)), RuleValue(WEFT_ACTION_DENY));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(0, 3, "0.0.0.0", 0)), "<absent>");
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER6, Peer6Key(0, 3, "2001:db8::", 32)), Bits({6}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER6, Peer6Key(0, 3, "::", 0)), "<absent>");
  // Beside an IPv4 prefix, that prefix alone.
  state_.policies[4].rules[0].peer_cidrs.push_back(*ParseIpv4Prefix("10.0.0.0/8"));
  Build("hv2", 0);
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(0, 3, "10.0.0.0", 8)), Bits({6}));
  EXPECT_EQ(Value(WEFT_MAP_POL_PEER, PeerKey(0, 3, "0.0.0.0", 0)), "<absent>");
}

TEST_F(PolicyTablesTest, NoPoliciesOnlyTenantDefaults) {
  state_.policies.clear();
  Build("hv1", 0);
  EXPECT_EQ(Table(WEFT_MAP_POL_TENANT).entries.size(), 2u);
  for (const char* name : {WEFT_MAP_POL_RULES, WEFT_MAP_POL_L4, WEFT_MAP_POL_PEER,
                           WEFT_MAP_POL_APPLIED, WEFT_MAP_POL_PEER6, WEFT_MAP_POL_APPLIED6}) {
    EXPECT_TRUE(Table(name).entries.empty()) << name;
  }
}

TEST_F(PolicyTablesTest, TooManyRules) {
  // Exactly the capacity on hv1 is fine: 8 rules already.
  state_.policies[0].rules.resize(WEFT_MAX_RULES - 7, state_.policies[0].rules[0]);
  EXPECT_TRUE(BuildPolicyTables(state_, "hv1", 0).ok());
  state_.policies[0].rules.push_back(state_.policies[0].rules[0]);
  absl::StatusOr<std::vector<MapTable>> tables = BuildPolicyTables(state_, "hv1", 0);
  EXPECT_EQ(tables.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(tables.status().message().find("too many rules for the configured capacity 10240"),
            std::string::npos)
      << tables.status();
  // Only the node's tenants count: green's rules are not hv1's.
  state_.policies[0].rules.pop_back();
  state_.policies[4].rules.resize(WEFT_MAX_RULES, state_.policies[4].rules[0]);
  EXPECT_TRUE(BuildPolicyTables(state_, "hv1", 0).ok());
}

TEST_F(PolicyTablesTest, TooManyPeerPrefixes) {
  // A group of 40000 members is more /32s than half of weft_pol_peer.
  for (uint32_t i = 0; i < 40000; ++i) {
    state_.endpoints.push_back({.name = absl::StrCat("many-", i),
                                .segment = "blue-db",
                                .ip = Ip("10.1.0.0") + i,
                                .node = "hv2",
                                .groups = {"db"}});
  }
  absl::StatusOr<std::vector<MapTable>> tables = BuildPolicyTables(state_, "hv1", 0);
  EXPECT_EQ(tables.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(tables.status().message().find("peer prefixes"), std::string::npos) << tables.status();
}

TEST_F(PolicyTablesTest, TooManyIpv6PeerPrefixes) {
  // 40000 members sharing one IPv4 address (one /32) with an IPv6 address
  // each: the IPv6 trie alone is over half its capacity.
  Ipv6Address ip6 = Ip6("2001:db8:2::");
  for (uint32_t i = 0; i < 40000; ++i) {
    ip6[14] = static_cast<uint8_t>(i >> 8);
    ip6[15] = static_cast<uint8_t>(i);
    state_.endpoints.push_back({.name = absl::StrCat("many6-", i),
                                .segment = "blue-db",
                                .ip = Ip("10.0.2.200"),
                                .node = "hv2",
                                .groups = {"db"},
                                .ip6 = ip6});
  }
  absl::StatusOr<std::vector<MapTable>> tables = BuildPolicyTables(state_, "hv1", 0);
  EXPECT_EQ(tables.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(tables.status().message().find("IPv6 peer prefixes in " WEFT_MAP_POL_PEER6),
            std::string::npos)
      << tables.status();
}

TEST_F(PolicyTablesTest, BadNodeOrSlot) {
  EXPECT_EQ(BuildPolicyTables(state_, "hv9", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(BuildPolicyTables(state_, "lx1", 0).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(BuildPolicyTables(state_, "hv1", 2).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PortRangePrefixesTest, Examples) {
  EXPECT_EQ(PortRangePrefixes(80, 80), (std::vector<PortPrefix>{{80, 16}}));
  EXPECT_EQ(PortRangePrefixes(1024, 65535),
            (std::vector<PortPrefix>{
                {1024, 6}, {2048, 5}, {4096, 4}, {8192, 3}, {16384, 2}, {32768, 1}}));
  EXPECT_EQ(PortRangePrefixes(8000, 8080),
            (std::vector<PortPrefix>{{8000, 10}, {8064, 12}, {8080, 16}}));
  EXPECT_EQ(PortRangePrefixes(0, 65535), (std::vector<PortPrefix>{{0, 0}}));
  EXPECT_EQ(PortRangePrefixes(1, 65535).size(), 16u);
  EXPECT_EQ(PortRangePrefixes(65535, 65535), (std::vector<PortPrefix>{{65535, 16}}));
  // The worst case.
  EXPECT_EQ(PortRangePrefixes(1, 65534).size(), 30u);
}

TEST(PortRangePrefixesTest, ExactAlignedCover) {
  for (uint32_t first = 1; first <= 65535; first += 997) {
    for (uint32_t last = first; last <= 65535; last += 991) {
      const std::vector<PortPrefix> prefixes = PortRangePrefixes(first, last);
      ASSERT_LE(prefixes.size(), 30u);
      uint32_t next = first;
      for (const PortPrefix& p : prefixes) {
        const uint32_t size = uint32_t{1} << (16 - p.bits);
        ASSERT_EQ(p.port, next) << first << "-" << last;
        ASSERT_EQ(p.port % size, 0u) << first << "-" << last;
        next += size;
      }
      ASSERT_EQ(next, last + 1) << first << "-" << last;
    }
  }
}

}  // namespace
}  // namespace weft
