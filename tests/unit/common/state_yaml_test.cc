#include "common/model/state_yaml.h"

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/model/net_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kLab[] = R"yaml(
version: 7
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: lx1, vtep: 198.18.0.3, foreign: true}
tenants:
  - {name: blue, id: 1, default_action: deny}
  - {name: red, id: 2}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01"}
endpoints:
  - {name: blue-web-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vblue1}
  - name: lx-vm
    segment: blue-web
    ip: 10.0.1.30
    mac: 02:00:00:01:01:30   # unquoted works too
    node: lx1
routes:
  - {tenant: blue, prefix: 10.9.0.0/16, nodes: [hv1, lx1], segment: blue-web}
  - {tenant: blue, prefix: 10.66.0.0/16, blackhole: true}
)yaml";

TEST(StateYamlTest, ParsesEveryField) {
  absl::StatusOr<State> state = ParseStateYaml(kLab, "lab.yaml");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->version, 7u);

  ASSERT_EQ(state->nodes.size(), 2u);
  EXPECT_EQ(state->nodes[0].name, "hv1");
  EXPECT_EQ(state->nodes[0].vtep, 0xc6120001u);
  EXPECT_FALSE(state->nodes[0].foreign);
  EXPECT_TRUE(state->nodes[1].foreign);

  ASSERT_EQ(state->tenants.size(), 2u);
  EXPECT_EQ(state->tenants[0].id, 1u);
  EXPECT_EQ(state->tenants[0].default_action, FirewallAction::kDeny);
  EXPECT_EQ(state->tenants[1].default_action, FirewallAction::kAllow);

  ASSERT_EQ(state->segments.size(), 1u);
  const Segment& seg = state->segments[0];
  EXPECT_EQ(seg.name, "blue-web");
  EXPECT_EQ(seg.tenant, "blue");
  EXPECT_EQ(seg.vni, 1001u);
  EXPECT_EQ(seg.subnet, (Ipv4Prefix{0x0a000100u, 24}));
  EXPECT_EQ(seg.gateway, 0x0a000101u);
  EXPECT_EQ(seg.gateway_mac, (MacAddress{0x02, 0xfe, 0, 0, 0, 0x01}));

  ASSERT_EQ(state->endpoints.size(), 2u);
  const Endpoint& ep = state->endpoints[0];
  EXPECT_EQ(ep.name, "blue-web-1");
  EXPECT_EQ(ep.segment, "blue-web");
  EXPECT_EQ(ep.ip, 0x0a00010au);
  EXPECT_EQ(ep.mac, (MacAddress{0x02, 0, 0, 0x01, 0x01, 0x10}));
  EXPECT_EQ(ep.node, "hv1");
  EXPECT_EQ(ep.interface, "vblue1");
  EXPECT_EQ(state->endpoints[1].mac, (MacAddress{0x02, 0, 0, 0x01, 0x01, 0x30}));
  EXPECT_EQ(state->endpoints[1].interface, "");

  ASSERT_EQ(state->routes.size(), 2u);
  const Route& remote = state->routes[0];
  EXPECT_EQ(remote.tenant, "blue");
  EXPECT_EQ(remote.prefix, (Ipv4Prefix{0x0a090000u, 16}));
  EXPECT_FALSE(remote.blackhole);
  EXPECT_EQ(remote.nodes, (std::vector<std::string>{"hv1", "lx1"}));
  EXPECT_EQ(remote.segment, "blue-web");
  EXPECT_TRUE(state->routes[1].blackhole);
  EXPECT_TRUE(state->routes[1].nodes.empty());
}

constexpr char kFirewall[] = R"yaml(
groups:
  - {name: web, tenant: blue}
  - {name: db, tenant: blue}
endpoints:
  - {name: blue-web-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vblue1, groups: [web, db]}
policies:
  - name: web-in
    tenant: blue
    priority: 100
    applied_to: {groups: [web], endpoints: [blue-web-1]}
    rules:
      - {direction: ingress, peer: {cidrs: [10.0.2.0/24], groups: [db]}, protocol: tcp, ports: ["80", "8000-8080", 443], action: allow, log: true}
      - {direction: ingress, protocol: icmp, icmp_type: 8, action: allow}
      - {direction: egress, protocol: udp, action: deny}
      - {direction: ingress, action: reject}
  - name: defaults
    tenant: blue
    applied_to:
      groups: [db]
)yaml";

TEST(StateYamlTest, ParsesFirewallObjects) {
  absl::StatusOr<State> state = ParseStateYaml(kFirewall, "fw.yaml");
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->groups.size(), 2u);
  EXPECT_EQ(state->groups[0].name, "web");
  EXPECT_EQ(state->groups[0].tenant, "blue");
  EXPECT_EQ(state->endpoints[0].groups, (std::vector<std::string>{"web", "db"}));

  ASSERT_EQ(state->policies.size(), 2u);
  const Policy& p = state->policies[0];
  EXPECT_EQ(p.name, "web-in");
  EXPECT_EQ(p.tenant, "blue");
  EXPECT_EQ(p.priority, 100u);
  EXPECT_EQ(p.applied_to_groups, (std::vector<std::string>{"web"}));
  EXPECT_EQ(p.applied_to_endpoints, (std::vector<std::string>{"blue-web-1"}));
  ASSERT_EQ(p.rules.size(), 4u);

  const Rule& r0 = p.rules[0];
  EXPECT_EQ(r0.direction, RuleDirection::kIngress);
  EXPECT_EQ(r0.peer_cidrs, (std::vector<Ipv4Prefix>{{0x0a000200u, 24}}));
  EXPECT_EQ(r0.peer_groups, (std::vector<std::string>{"db"}));
  EXPECT_EQ(r0.protocol, RuleProtocol::kTcp);
  EXPECT_EQ(r0.ports, (std::vector<PortRange>{{80, 80}, {8000, 8080}, {443, 443}}));
  EXPECT_FALSE(r0.icmp_type.has_value());
  EXPECT_EQ(r0.action, RuleAction::kAllow);
  EXPECT_TRUE(r0.log);

  const Rule& r1 = p.rules[1];
  EXPECT_EQ(r1.protocol, RuleProtocol::kIcmp);
  EXPECT_EQ(r1.icmp_type, std::optional<uint32_t>(8));
  EXPECT_TRUE(r1.peer_cidrs.empty());
  EXPECT_TRUE(r1.peer_groups.empty());
  EXPECT_FALSE(r1.log);

  EXPECT_EQ(p.rules[2].direction, RuleDirection::kEgress);
  EXPECT_EQ(p.rules[2].protocol, RuleProtocol::kUdp);
  EXPECT_EQ(p.rules[2].action, RuleAction::kDeny);
  EXPECT_EQ(p.rules[3].protocol, RuleProtocol::kAny);
  EXPECT_EQ(p.rules[3].action, RuleAction::kReject);

  // Defaults: priority 1000, no rules.
  const Policy& d = state->policies[1];
  EXPECT_EQ(d.priority, Policy::kDefaultPriority);
  EXPECT_EQ(d.priority, 1000u);
  EXPECT_EQ(d.applied_to_groups, (std::vector<std::string>{"db"}));
  EXPECT_TRUE(d.applied_to_endpoints.empty());
  EXPECT_TRUE(d.rules.empty());
}

// Routes and peer prefixes of both families in one list each, as an
// operator writes them; the model keeps one list per family, in order.
TEST(StateYamlTest, ReadsIpv6RoutesAndPeersBesideIpv4Ones) {
  absl::StatusOr<State> state = ParseStateYaml(R"yaml(
routes:
  - {tenant: blue, prefix: "2001:db8:9::/48", nodes: [hv2], segment: blue-web}
  - {tenant: blue, prefix: 10.9.0.0/16, blackhole: true}
  - {tenant: red, prefix: "::/0", blackhole: true}
policies:
  - name: p
    tenant: blue
    applied_to: {groups: [web]}
    rules:
      - {direction: ingress, peer: {cidrs: ["fd00::/8", 10.0.0.0/8, "2001:db8::/32"]}, action: allow}
      - {direction: ingress, peer: {cidrs: ["fd00::/8"]}, action: deny}
)yaml",
                                               "mixed.yaml");
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->routes.size(), 1u);
  EXPECT_EQ(FormatIpv4Prefix(state->routes[0].prefix), "10.9.0.0/16");
  ASSERT_EQ(state->routes6.size(), 2u);
  EXPECT_EQ(FormatIpv6Prefix(state->routes6[0].prefix), "2001:db8:9::/48");
  EXPECT_EQ(state->routes6[0].nodes, std::vector<std::string>{"hv2"});
  EXPECT_EQ(state->routes6[0].segment, "blue-web");
  EXPECT_EQ(state->routes6[1].tenant, "red");
  EXPECT_TRUE(state->routes6[1].blackhole);

  const Rule& both = state->policies[0].rules[0];
  EXPECT_EQ(both.peer_cidrs, (std::vector<Ipv4Prefix>{{0x0a000000u, 8}}));
  ASSERT_EQ(both.peer_cidrs6.size(), 2u);
  EXPECT_EQ(FormatIpv6Prefix(both.peer_cidrs6[1]), "2001:db8::/32");
  const Rule& v6_only = state->policies[0].rules[1];
  EXPECT_TRUE(v6_only.peer_cidrs.empty());
  EXPECT_FALSE(v6_only.AnyPeer()) << "IPv6 peers only is not any peer";

  const absl::Status bad = ParseStateYaml(R"yaml(
routes:
  - {tenant: blue, prefix: "2001:db8:9::1/48", blackhole: true}
)yaml",
                                          "bad.yaml")
                               .status();
  EXPECT_THAT(std::string(bad.message()),
              HasSubstr("route #0: field \"prefix\": 2001:db8:9::1/48 has host bits set"));
}

constexpr char kNorthSouth[] = R"yaml(
nodes:
  - {name: hv1, vtep: 198.18.0.1, role: hypervisor}
  - {name: edge1, vtep: 198.18.0.11, role: edge}
routes:
  - {tenant: blue, prefix: 10.0.0.0/8, blackhole: true, advertise: true}
  - {tenant: blue, prefix: 10.66.0.0/16, blackhole: true}
uplinks:
  - name: blue-edge1
    node: edge1
    tenant: blue
    interface: eth1
    vlan: 100
    transit: 192.0.2.0/30
    address: 192.0.2.2
    peer: 192.0.2.1
    peer_as: 64500
    local_as: 4200000001
    hold_time: 9
    keepalive: 3
  - {name: blue-edge2, node: edge2, tenant: blue, interface: eth2, transit: 192.0.2.8/29, address: 192.0.2.10, peer: 192.0.2.9, peer_as: 64500, local_as: 65001}
)yaml";

TEST(StateYamlTest, ParsesNorthSouthObjects) {
  absl::StatusOr<State> state = ParseStateYaml(kNorthSouth, "ns.yaml");
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->nodes[0].role, NodeRole::kHypervisor);
  EXPECT_EQ(state->nodes[1].role, NodeRole::kEdge);
  EXPECT_TRUE(state->routes[0].advertise);
  EXPECT_FALSE(state->routes[1].advertise);

  ASSERT_EQ(state->uplinks.size(), 2u);
  const Uplink& u = state->uplinks[0];
  EXPECT_EQ(u.name, "blue-edge1");
  EXPECT_EQ(u.node, "edge1");
  EXPECT_EQ(u.tenant, "blue");
  EXPECT_EQ(u.interface, "eth1");
  EXPECT_EQ(u.vlan, std::optional<uint32_t>(100));
  EXPECT_EQ(u.transit, (Ipv4Prefix{0xc0000200u, 30}));
  EXPECT_EQ(u.address, 0xc0000202u);
  EXPECT_EQ(u.peer, 0xc0000201u);
  EXPECT_EQ(u.peer_as, 64500u);
  EXPECT_EQ(u.local_as, 4200000001u);  // 4-byte AS numbers
  EXPECT_EQ(u.hold_time, std::optional<uint32_t>(9));
  EXPECT_EQ(u.keepalive, std::optional<uint32_t>(3));
  EXPECT_EQ(u.HoldTime(), 9u);
  EXPECT_EQ(u.Keepalive(), 3u);

  // Absent: the plain link, BGP's default timers.
  const Uplink& plain = state->uplinks[1];
  EXPECT_FALSE(plain.vlan.has_value());
  EXPECT_FALSE(plain.hold_time.has_value());
  EXPECT_FALSE(plain.keepalive.has_value());
  EXPECT_EQ(plain.HoldTime(), 90u);
  EXPECT_EQ(plain.Keepalive(), 30u);
  // A node is a hypervisor unless it says otherwise.
  absl::StatusOr<State> bare = ParseStateYaml("nodes: [{name: hv1, vtep: 198.18.0.1}]", "n.yaml");
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(bare->nodes[0].role, NodeRole::kHypervisor);
}

TEST(StateYamlTest, EmptyDocumentIsEmptyState) {
  for (const char* text : {"", "# nothing yet\n", "nodes: []\n"}) {
    absl::StatusOr<State> state = ParseStateYaml(text, "empty.yaml");
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(state->version, 0u);
    EXPECT_TRUE(state->nodes.empty());
  }
}

struct StateYamlBadCase {
  const char* yaml;
  const char* error;  // expected in the message, after "bad.yaml: "
};

void PrintTo(const StateYamlBadCase& c, std::ostream* os) { *os << c.yaml; }

class StateYamlErrorTest : public ::testing::TestWithParam<StateYamlBadCase> {};

TEST_P(StateYamlErrorTest, NamesSourceObjectAndField) {
  absl::StatusOr<State> state = ParseStateYaml(GetParam().yaml, "bad.yaml");
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(state.status().message()),
              HasSubstr(std::string("bad.yaml: ") + GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Fields, StateYamlErrorTest,
    ::testing::Values(
        // The example of the schema.
        StateYamlBadCase{"segments: [{name: blue-web, tenant: blue, vni: 1001, "
                         "subnet: 10.0.1.0/33, gateway: 10.0.1.1, "
                         "gateway_mac: '02:fe:00:00:00:01'}]",
                         "segment \"blue-web\": field \"subnet\": \"10.0.1.0/33\" is "
                         "not an IPv4 prefix"},
        // A physical host: its MAC optional, but a MAC when given.
        StateYamlBadCase{"physical_hosts: [{name: rack-1, segment: s, ip: 10.0.1.50, "
                         "mac: '02:aa'}]",
                         "physical host \"rack-1\": field \"mac\": \"02:aa\" is not a MAC "
                         "address"},
        StateYamlBadCase{"physical_hosts: [{name: rack-1, segment: s, ip: 10.0.1.50, "
                         "interface: eth0}]",
                         "physical host \"rack-1\": field \"interface\""},
        // A nested mapping's fields are named with its own.
        StateYamlBadCase{"segments: [{name: s, tenant: b, vni: 1, subnet: 10.0.1.0/24, "
                         "gateway: 10.0.1.1, gateway_mac: '02:fe:00:00:00:01', "
                         "vlan_bridge: {node: hv1, trunk: eth1, vlan: ten}}]",
                         "segment \"s\": field \"vlan_bridge.vlan\": \"ten\" is not an integer"},
        StateYamlBadCase{"segments: [{name: s, tenant: b, vni: 1, subnet: 10.0.1.0/24, "
                         "gateway: 10.0.1.1, gateway_mac: '02:fe:00:00:00:01', "
                         "vlan_bridge: {node: hv1, trunk: eth1, vlan: 10, tag: 10}}]",
                         "segment \"s\": field \"vlan_bridge.tag\": unknown field"},
        StateYamlBadCase{"segments: [{name: s, tenant: b, vni: 1, subnet: 10.0.1.0/24, "
                         "gateway: 10.0.1.1, gateway_mac: '02:fe:00:00:00:01', "
                         "vlan_bridge: {trunk: eth1, vlan: 10}}]",
                         "segment \"s\": field \"vlan_bridge.node\": is required"},
        // Mixed-family mistakes name the field.
        StateYamlBadCase{"segments: [{name: s, tenant: b, vni: 1, subnet: 10.0.1.0/24, "
                         "gateway: 10.0.1.1, gateway_mac: '02:fe:00:00:00:01', "
                         "subnet6: 10.0.2.0/24, gateway6: 'fd00::1'}]",
                         "segment \"s\": field \"subnet6\": \"10.0.2.0/24\" is not an IPv6 "
                         "prefix"},
        StateYamlBadCase{"segments: [{name: s, tenant: b, vni: 1, subnet: 10.0.1.0/24, "
                         "gateway: 10.0.1.1, gateway_mac: '02:fe:00:00:00:01', "
                         "subnet6: 'fd00:0:0:1::1/64', gateway6: 'fd00:0:0:1::1'}]",
                         "segment \"s\": field \"subnet6\": fd00:0:0:1::1/64 has host bits set "
                         "(the network is fd00:0:0:1::/64)"},
        StateYamlBadCase{"endpoints: [{name: e, segment: s, ip: 10.0.1.5, ip6: 10.0.1.6, "
                         "mac: '02:00:00:00:00:01', node: hv1}]",
                         "endpoint \"e\": field \"ip6\": \"10.0.1.6\" is not an IPv6 address"},
        StateYamlBadCase{"endpoints: [{name: e, segment: s, ip: 'fd00::5', "
                         "mac: '02:00:00:00:00:01', node: hv1}]",
                         "endpoint \"e\": field \"ip\": \"fd00::5\" is not an IPv4 address"},
        StateYamlBadCase{"segments: [{name: s, tenant: b, vni: 1, subnet: 10.0.1.1/24, "
                         "gateway: 10.0.1.1, gateway_mac: '02:fe:00:00:00:01'}]",
                         "segment \"s\": field \"subnet\": 10.0.1.1/24 has host bits "
                         "set"},
        StateYamlBadCase{"segments: [{name: s, tenant: b, vni: 0x10, subnet: "
                         "10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "
                         "'02:fe:00:00:00:01'}]",
                         "segment \"s\": field \"vni\": \"0x10\" is not an integer in "
                         "0..4294967295"},
        StateYamlBadCase{"segments: [{name: s, tenant: b, vni: 1, subnet: 10.0.1.0/24, "
                         "gateway: 10.0.1.1, gateway_mac: '02:fe:00:00:00'}]",
                         "segment \"s\": field \"gateway_mac\": \"02:fe:00:00:00\" is "
                         "not a MAC address"},
        StateYamlBadCase{"segments: [{name: s, tenant: b, vni: 1, subnet: 10.0.1.0/24, "
                         "gateway_mac: '02:fe:00:00:00:01'}]",
                         "segment \"s\": field \"gateway\": is required"},
        StateYamlBadCase{"segments: [{name: s, tenant: [b], vni: 1}]",
                         "segment \"s\": field \"tenant\": must be a single value"},
        StateYamlBadCase{"nodes: [{name: hv1, vtep: 198.18.0.300}]",
                         "node \"hv1\": field \"vtep\": \"198.18.0.300\" is neither an "
                         "IPv4 nor an IPv6 address"},
        StateYamlBadCase{"nodes: [{name: hv1, vtep: 198.18.0.1, foreign: yes}]",
                         "node \"hv1\": field \"foreign\": \"yes\" is not true or "
                         "false"},
        // A typo is reported as such, not as the field it hides.
        StateYamlBadCase{"nodes: [{name: hv1, vetp: 198.18.0.1}]",
                         "node \"hv1\": field \"vetp\": unknown field; known fields: "
                         "name, vtep, foreign"},
        StateYamlBadCase{"nodes: [{name: hv1, vtep: 198.18.0.1, vtep: 198.18.0.2}]",
                         "node \"hv1\": field \"vtep\": given more than once"},
        // Without a name, an object is named by its index.
        StateYamlBadCase{"nodes: [{name: hv1, vtep: 198.18.0.1}, {vtep: 198.18.0.2}]",
                         "node #1: field \"name\": is required"},
        StateYamlBadCase{"nodes: [{name: '', vtep: 198.18.0.2}]",
                         "node #0: field \"name\": must not be empty"},
        StateYamlBadCase{"nodes: [hv1]", "node #0: is not a mapping"},
        StateYamlBadCase{"nodes: {name: hv1}", "state: field \"nodes\": must be a list"},
        StateYamlBadCase{"tenants: [{name: blue, id: -1}]",
                         "tenant \"blue\": field \"id\": \"-1\" is not an integer"},
        StateYamlBadCase{"tenants: [{name: blue, id: 4294967296}]",
                         "tenant \"blue\": field \"id\": \"4294967296\" is not an "
                         "integer in 0..4294967295"},
        StateYamlBadCase{"tenants: [{name: blue, id: 01}]",
                         "tenant \"blue\": field \"id\": \"01\" is not an integer"},
        StateYamlBadCase{"tenants: [{name: blue, id: 1, default_action: drop}]",
                         "tenant \"blue\": field \"default_action\": \"drop\" is not "
                         "allow or deny"},
        StateYamlBadCase{"endpoints: [{name: e, segment: s, ip: 10.0.1.10, mac: "
                         "'02:00:00:00:00:01', node: hv1, interface: {a: b}}]",
                         "endpoint \"e\": field \"interface\": must be a single value"},
        StateYamlBadCase{"endpoints: [{name: e, segment: s, ip: 10.0.1, mac: "
                         "'02:00:00:00:00:01', node: hv1}]",
                         "endpoint \"e\": field \"ip\": \"10.0.1\" is not an IPv4 "
                         "address"},
        StateYamlBadCase{"endpoints: [{name: e, segment: s, ip: 10.0.1.10, mac: "
                         "'02:00:00:00:00:01'}]",
                         "endpoint \"e\": field \"node\": is required"},
        StateYamlBadCase{"routes: [{tenant: blue, prefix: 10.9.0.0/16, nodes: hv2}]",
                         "route #0: field \"nodes\": must be a list"},
        StateYamlBadCase{"routes: [{tenant: blue, prefix: 10.9.0.0/16, nodes: [[hv2]]}]",
                         "route #0: field \"nodes\": must be a list of non-empty names"},
        StateYamlBadCase{"routes: [{tenant: blue, prefix: 10.9.0.0/16, blackhole: 1}]",
                         "route #0: field \"blackhole\": \"1\" is not true or false"},
        StateYamlBadCase{"routes: [{tenant: blue, prefix: 10.9.0.0/16, blackhole: "
                         "true}, {tenant: blue, prefx: 10.8.0.0/16}]",
                         "route #1: field \"prefx\": unknown field"},
        StateYamlBadCase{"version: seven",
                         "state: field \"version\": \"seven\" is "
                         "not an integer in 0..18446744073709551615"},
        StateYamlBadCase{"segmnets: []", "state: field \"segmnets\": unknown field"},
        // Firewall objects.
        StateYamlBadCase{"groups: [{name: web}]", "group \"web\": field \"tenant\": is required"},
        StateYamlBadCase{"groups: [{name: web, tenant: blue, members: [a]}]",
                         "group \"web\": field \"members\": unknown field"},
        StateYamlBadCase{"endpoints: [{name: e, segment: s, ip: 10.0.1.10, mac: "
                         "'02:00:00:00:00:01', node: hv1, groups: web}]",
                         "endpoint \"e\": field \"groups\": must be a list"},
        StateYamlBadCase{"policies: [{name: p, applied_to: {groups: [web]}}]",
                         "policy \"p\": field \"tenant\": is required"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue}]",
                         "policy \"p\": field \"applied_to\": is required"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: [web]}]",
                         "policy \"p\": field \"applied_to\": must be a mapping"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {group: "
                         "[web]}}]",
                         "policy \"p\": field \"applied_to.group\": unknown field; "
                         "known fields: groups, endpoints"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, priority: high, "
                         "applied_to: {groups: [web]}}]",
                         "policy \"p\": field \"priority\": \"high\" is not an "
                         "integer"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: {direction: ingress}}]",
                         "policy \"p\": field \"rules\": must be a list"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: in, action: allow}]}]",
                         "policy \"p\": rule 0: field \"direction\": \"in\" is not "
                         "ingress or egress"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{action: allow}]}]",
                         "policy \"p\": rule 0: field \"direction\": is required"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress}]}]",
                         "policy \"p\": rule 0: field \"action\": is required"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress, action: allow}, "
                         "{direction: egress, action: drop}]}]",
                         "policy \"p\": rule 1: field \"action\": \"drop\" is not "
                         "allow, deny or reject"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress, protocol: sctp, "
                         "action: allow}]}]",
                         "policy \"p\": rule 0: field \"protocol\": \"sctp\" is "
                         "not any, tcp, udp or icmp"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress, protocol: tcp, ports: "
                         "[http], action: allow}]}]",
                         "policy \"p\": rule 0: field \"ports\": \"http\" is not a "
                         "port or a port range (80, 8000-8080)"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress, protocol: tcp, ports: "
                         "['80-'], action: allow}]}]",
                         "policy \"p\": rule 0: field \"ports\": \"80-\" is not a "
                         "port"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress, protocol: tcp, ports: "
                         "'80', action: allow}]}]",
                         "policy \"p\": rule 0: field \"ports\": must be a list"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress, peer: {cidrs: "
                         "[10.0.2.1/24]}, action: allow}]}]",
                         "policy \"p\": rule 0: field \"peer.cidrs\": 10.0.2.1/24 "
                         "has host bits set"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress, peer: {cidr: "
                         "[10.0.2.0/24]}, action: allow}]}]",
                         "policy \"p\": rule 0: field \"peer.cidr\": unknown field; "
                         "known fields: cidrs, groups"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress, peer: 10.0.2.0/24, "
                         "action: allow}]}]",
                         "policy \"p\": rule 0: field \"peer\": must be a mapping"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress, protocol: icmp, "
                         "icmp_type: echo, action: allow}]}]",
                         "policy \"p\": rule 0: field \"icmp_type\": \"echo\" is not "
                         "an integer"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress, action: allow, log: "
                         "yes}]}]",
                         "policy \"p\": rule 0: field \"log\": \"yes\" is not true "
                         "or false"},
        StateYamlBadCase{"policies: [{name: p, tenant: blue, applied_to: {groups: "
                         "[web]}, rules: [{direction: ingress, action: allow, port: "
                         "[80]}]}]",
                         "policy \"p\": rule 0: field \"port\": unknown field"},
        StateYamlBadCase{"- just a list", "state: is not a mapping"},
        // North-south.
        StateYamlBadCase{"nodes: [{name: e1, vtep: 198.18.0.1, role: router}]",
                         "node \"e1\": field \"role\": \"router\" is not hypervisor or edge"},
        StateYamlBadCase{
            "routes: [{tenant: blue, prefix: 10.0.0.0/8, blackhole: true, advertise: yes}]",
            "route #0: field \"advertise\": \"yes\" is not true or false"},
        StateYamlBadCase{"uplinks: [{name: u, node: e1, tenant: blue, interface: eth1, transit: "
                         "192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500}]",
                         "uplink \"u\": field \"local_as\": is required"},
        StateYamlBadCase{"uplinks: [{name: u, node: e1, tenant: blue, interface: eth1, transit: "
                         "192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 4294967296, "
                         "local_as: 65001}]",
                         "uplink \"u\": field \"peer_as\": \"4294967296\" is not an integer in "
                         "0..4294967295"},
        StateYamlBadCase{
            "uplinks: [{name: u, node: e1, tenant: blue, interface: eth1, vlan: [100]}]",
            "uplink \"u\": field \"vlan\": must be a single value"},
        StateYamlBadCase{"uplinks: [{name: u, node: e1, tenant: blue, interface: eth1, transit: "
                         "192.0.2.1/30}]",
                         "uplink \"u\": field \"transit\": 192.0.2.1/30 has host bits set"},
        StateYamlBadCase{"uplinks: [{name: u, node: e1, tenant: blue, interface: ''}]",
                         "uplink \"u\": field \"interface\": must not be empty"},
        StateYamlBadCase{
            "uplinks: [{name: u, node: e1, tenant: blue, interface: eth1, transit: "
            "192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: "
            "65001, holdtime: 9}]",
            "uplink \"u\": field \"holdtime\": unknown field; known fields: name, node, "
            "tenant, interface, vlan, transit, address, peer, peer_as, local_as, hold_time, "
            "keepalive"}));

TEST(StateYamlTest, SyntaxErrorHasLine) {
  absl::StatusOr<State> state = ParseStateYaml("nodes:\n  - {name: hv1,\n", "bad.yaml");
  ASSERT_FALSE(state.ok());
  EXPECT_THAT(std::string(state.status().message()), HasSubstr("bad.yaml:3:"));
}

// 1,000 policies × 1,000 rules × 1,000 peer CIDRs from 13 KB: read as it
// was, a billion CIDRs (the controller died of bad_alloc past 1 GiB).
TEST(StateYamlTest, BillionLaughsIsRefused) {
  std::string cidrs = "[&c 10.0.0.0/8";
  std::string rules = "[&r {direction: ingress, action: allow, peer: {cidrs: ";
  std::string text = "policies:\n- &p {name: p, tenant: t, applied_to: {groups: [g]}, rules: ";
  for (int i = 1; i < 1000; ++i) absl::StrAppend(&cidrs, ", *c");
  absl::StrAppend(&rules, cidrs, "]}}");
  for (int i = 1; i < 1000; ++i) absl::StrAppend(&rules, ", *r");
  absl::StrAppend(&text, rules, "]}\n");
  for (int i = 1; i < 1000; ++i) absl::StrAppend(&text, "- *p\n");
  absl::StatusOr<State> state = ParseStateYaml(text, "laughs.yaml");
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(state.status().message()), StartsWith("laughs.yaml:2:"));
  EXPECT_THAT(std::string(state.status().message()),
              HasSubstr(": alias *r makes the aliases repeat more than 1048576 nodes"));
}

TEST(StateYamlTest, DeepNestingIsRefused) {
  const std::string text =
      "nodes: " + std::string(1'000'000, '[') + std::string(1'000'000, ']') + "\n";
  absl::StatusOr<State> state = ParseStateYaml(text, "deep.yaml");
  // The top-level mapping is the first level: the 64th '[' (column 71) is
  // the 65th.
  EXPECT_EQ(std::string(state.status().message()),
            "deep.yaml:1:71: collections nested more than 64 levels deep; at most 64 are read");
}

TEST(StateYamlTest, TextOverTheLimitIsRefusedUnparsed) {
  const std::string text(kMaxStateBytes + 1, '#');
  absl::StatusOr<State> state = ParseStateYaml(text, "big.yaml");
  EXPECT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state.status().message(),
            "big.yaml: 67108865 bytes; a state is at most 67108864 bytes");
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(LoadStateFileTest, LoadsAndValidates) {
  absl::StatusOr<State> state = LoadStateFile(WriteTemp("good.yaml", kLab));
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->endpoints.size(), 2u);
}

TEST(LoadStateFileTest, MissingFileIsNotFound) {
  const std::string path = ::testing::TempDir() + "no-such-state.yaml";
  absl::StatusOr<State> state = LoadStateFile(path);
  EXPECT_EQ(state.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(state.status().message()), HasSubstr(path));
}

// std::ifstream read a directory as an empty text: an empty state, a
// fleet wiped.
TEST(LoadStateFileTest, ADirectoryIsNotAnEmptyState) {
  const std::string path = ::testing::TempDir() + "state-dir";
  ASSERT_TRUE(std::filesystem::create_directories(path) || std::filesystem::is_directory(path));
  absl::StatusOr<State> state = LoadStateFile(path);
  EXPECT_EQ(state.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(state.status().message()), HasSubstr(path + ": is not a regular file"));
}

TEST(LoadStateFileTest, ValidationErrorsNameTheFile) {
  const std::string path = WriteTemp("invalid.yaml",
                                     "nodes: [{name: hv1, vtep: 198.18.0.1}, "
                                     "{name: hv2, vtep: 198.18.0.1}]\n");
  absl::StatusOr<State> state = LoadStateFile(path);
  ASSERT_FALSE(state.ok());
  EXPECT_THAT(std::string(state.status().message()),
              HasSubstr(path + ": node \"hv2\": field \"vtep\": 198.18.0.1 is "
                               "already the VTEP of node \"hv1\""));
}

}  // namespace
}  // namespace weft
