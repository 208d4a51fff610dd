#include <string>

#include "common/model/state_yaml.h"
#include "common/model/validate.h"
#include "common/plan/node_check.h"
#include "common/wire/convert.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

constexpr char kConvertFleet[] = R"yaml(
version: 3
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: hv2, vtep: 198.18.0.2}
  - {name: lx1, vtep: 198.18.0.3, foreign: true}
  - {name: edge1, vtep: 198.18.0.11, role: edge}
tenants:
  - {name: blue, id: 1, default_action: deny}
  - {name: red, id: 2}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01", subnet6: "fd00:1:0:1::/64", gateway6: "fd00:1:0:1::1", vlan_bridge: {node: hv1, standby: hv2, trunk: eth9, vlan: 100}}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
groups:
  - {name: web, tenant: blue}
endpoints:
  - {name: blue-web-1, segment: blue-web, ip: 10.0.1.10, ip6: "fd00:1:0:1::10", mac: "02:00:00:01:01:10", node: hv1, interface: vblue1, groups: [web]}
  - {name: blue-web-2, segment: blue-web, ip: 10.0.1.11, mac: "02:00:00:01:01:11", node: hv2, interface: vblue2}
  - {name: red-web-1, segment: red-web, ip: 10.0.1.10, mac: "02:00:00:02:01:10", node: hv2, interface: vred1}
  - {name: lx-vm, segment: blue-web, ip: 10.0.1.30, mac: "02:00:00:01:01:30", node: lx1}
physical_hosts:
  - {name: rack-1, segment: blue-web, ip: 10.0.1.50, mac: "02:aa:00:00:00:50", groups: [web]}
  - {name: rack-2, segment: blue-web, ip: 10.0.1.51, ip6: "fd00:1:0:1::51"}
routes:
  - {tenant: blue, prefix: 10.9.0.0/16, nodes: [hv2, lx1], segment: blue-web}
  - {tenant: blue, prefix: "2001:db8:9::/48", nodes: [hv2], segment: blue-web}
  - {tenant: blue, prefix: 10.66.0.0/16, blackhole: true, advertise: true}
  - {tenant: blue, prefix: "::/0", blackhole: true}
uplinks:
  - {name: blue-edge1, node: edge1, tenant: blue, interface: eth1, vlan: 100, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001, hold_time: 9, keepalive: 3}
  - {name: red-edge1, node: edge1, tenant: red, interface: eth2, transit: 192.0.2.8/29, address: 192.0.2.10, peer: 192.0.2.9, peer_as: 64501, local_as: 65002}
policies:
  - name: web-in
    tenant: blue
    priority: 10
    applied_to: {groups: [web], endpoints: [blue-web-2]}
    rules:
      - {direction: ingress, peer: {cidrs: [10.0.0.0/8], groups: [web]}, protocol: tcp, ports: ["80", "8000-8080"], action: allow, log: true}
      - {direction: egress, protocol: icmp, icmp_type: 8, action: reject}
      - {direction: egress, peer: {cidrs: ["2001:db8::/32", 10.1.0.0/16]}, action: deny}
)yaml";

State ConvertFleet() {
  absl::StatusOr<State> state = ParseStateYaml(kConvertFleet, "fleet.yaml");
  EXPECT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(ValidateState(*state).ok());
  return *state;
}

bool SameProto(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEST(SyncConvertTest, RoundTripKeepsEveryField) {
  const State state = ConvertFleet();
  const v1::State proto = ToProto(state);
  EXPECT_EQ(proto.version(), 3u);
  EXPECT_EQ(proto.segments(0).subnet(), "10.0.1.0/24");
  EXPECT_EQ(proto.segments(0).gateway_mac(), "02:fe:00:00:00:01");
  EXPECT_EQ(proto.endpoints(0).ip(), "10.0.1.10");
  EXPECT_EQ(proto.segments(0).subnet6(), "fd00:1:0:1::/64");
  EXPECT_EQ(proto.segments(0).gateway6(), "fd00:1:0:1::1");
  EXPECT_EQ(proto.endpoints(0).ip6(), "fd00:1:0:1::10");
  EXPECT_EQ(proto.segments(1).subnet6(), "") << "none written as none";
  EXPECT_EQ(proto.segments(0).vlan_bridge().standby(), "hv2");
  EXPECT_EQ(proto.segments(0).vlan_bridge().vlan(), 100u);
  EXPECT_FALSE(proto.segments(1).has_vlan_bridge());
  EXPECT_EQ(proto.endpoints(1).ip6(), "");
  EXPECT_EQ(proto.tenants(0).default_action(), v1::FIREWALL_ACTION_DENY);
  EXPECT_EQ(proto.policies(0).rules(0).ports(1).first(), 8000u);
  EXPECT_EQ(proto.policies(0).rules(0).ports(1).last(), 8080u);
  EXPECT_TRUE(proto.policies(0).rules(1).has_icmp_type());
  // IPv6 routes in their own field, which an agent predating them ignores;
  // a rule's prefixes of both families in one, which such an agent refuses.
  ASSERT_EQ(proto.routes_size(), 2);
  ASSERT_EQ(proto.routes6_size(), 2);
  EXPECT_EQ(proto.routes6(0).prefix(), "2001:db8:9::/48");
  EXPECT_EQ(proto.routes6(1).prefix(), "::/0");
  EXPECT_THAT(proto.policies(0).rules(2).peer().cidrs(),
              ::testing::ElementsAre("10.1.0.0/16", "2001:db8::/32"));

  absl::StatusOr<State> back = StateFromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameProto(ToProto(*back), proto));
  EXPECT_EQ(back->endpoints[0].groups, std::vector<std::string>{"web"});
  EXPECT_EQ(back->policies[0].priority, 10u);
  EXPECT_EQ(back->policies[0].rules[1].icmp_type, 8u);
  EXPECT_FALSE(back->policies[0].rules[0].icmp_type.has_value());
  EXPECT_TRUE(back->nodes[2].foreign);
  EXPECT_EQ(back->segments[0].subnet6, state.segments[0].subnet6);
  EXPECT_FALSE(back->segments[1].subnet6.has_value());
  EXPECT_EQ(back->segments[0].vlan_bridge, state.segments[0].vlan_bridge);
  EXPECT_FALSE(back->segments[1].vlan_bridge.has_value());
  EXPECT_FALSE(back->endpoints[1].ip6.has_value());
  ASSERT_EQ(back->physical_hosts.size(), 2u);
  EXPECT_EQ(back->physical_hosts[0].mac, state.physical_hosts[0].mac);
  EXPECT_EQ(back->physical_hosts[0].groups, std::vector<std::string>{"web"});
  EXPECT_FALSE(back->physical_hosts[1].mac.has_value()) << "learned: none written, none read";
  EXPECT_EQ(back->physical_hosts[1].ip6, state.physical_hosts[1].ip6);
  EXPECT_EQ(proto.physical_hosts(1).mac(), "");
  ASSERT_EQ(back->routes6.size(), 2u);
  EXPECT_EQ(back->routes6[0].nodes, std::vector<std::string>{"hv2"});
  EXPECT_TRUE(back->routes6[1].blackhole);
  EXPECT_EQ(back->policies[0].rules[2].peer_cidrs6, state.policies[0].rules[2].peer_cidrs6);
  EXPECT_EQ(back->policies[0].rules[2].peer_cidrs, state.policies[0].rules[2].peer_cidrs);
  EXPECT_TRUE(ValidateState(*back).ok());
}

TEST(SyncConvertTest, Ipv6RouteAndPeerErrorsNameTheField) {
  v1::State proto = ToProto(ConvertFleet());
  proto.mutable_routes6(0)->set_prefix("10.9.0.0/16");
  EXPECT_THAT(std::string(StateFromProto(proto).status().message()),
              HasSubstr("IPv6 route #0: field \"prefix\": \"10.9.0.0/16\" is not an IPv6 prefix"));

  proto = ToProto(ConvertFleet());
  proto.mutable_policies(0)->mutable_rules(2)->mutable_peer()->set_cidrs(1, "2001:db8::1/32");
  EXPECT_THAT(std::string(StateFromProto(proto).status().message()),
              HasSubstr("field \"peer.cidrs\": 2001:db8::1/32 has host bits set"));
}

TEST(SyncConvertTest, RoundTripKeepsNorthSouthFields) {
  const v1::State proto = ToProto(ConvertFleet());
  EXPECT_EQ(proto.nodes(0).role(), v1::NODE_ROLE_HYPERVISOR);
  EXPECT_EQ(proto.nodes(3).role(), v1::NODE_ROLE_EDGE);
  EXPECT_TRUE(proto.routes(1).advertise());
  ASSERT_EQ(proto.uplinks_size(), 2);
  const v1::Uplink& u = proto.uplinks(0);
  EXPECT_EQ(u.transit(), "192.0.2.0/30");
  EXPECT_EQ(u.address(), "192.0.2.2");
  EXPECT_EQ(u.peer(), "192.0.2.1");
  EXPECT_TRUE(u.has_vlan());
  EXPECT_TRUE(u.has_hold_time());
  EXPECT_FALSE(proto.uplinks(1).has_vlan());
  EXPECT_FALSE(proto.uplinks(1).has_keepalive());

  absl::StatusOr<State> back = StateFromProto(proto);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameProto(ToProto(*back), proto));
  EXPECT_EQ(back->nodes[3].role, NodeRole::kEdge);
  EXPECT_TRUE(back->routes[1].advertise);
  const Uplink& edge1 = back->uplinks[0];
  EXPECT_EQ(edge1.name, "blue-edge1");
  EXPECT_EQ(edge1.node, "edge1");
  EXPECT_EQ(edge1.tenant, "blue");
  EXPECT_EQ(edge1.interface, "eth1");
  EXPECT_EQ(edge1.vlan, std::optional<uint32_t>(100));
  EXPECT_EQ(edge1.peer_as, 64500u);
  EXPECT_EQ(edge1.local_as, 65001u);
  EXPECT_EQ(edge1.hold_time, std::optional<uint32_t>(9));
  EXPECT_EQ(edge1.keepalive, std::optional<uint32_t>(3));
  EXPECT_FALSE(back->uplinks[1].vlan.has_value());
  EXPECT_FALSE(back->uplinks[1].hold_time.has_value());
}

TEST(SyncConvertTest, NorthSouthDefaultsAndErrors) {
  v1::State proto = ToProto(ConvertFleet());
  proto.mutable_nodes(0)->set_role(v1::NODE_ROLE_UNSPECIFIED);  // as absent in YAML
  absl::StatusOr<State> state = StateFromProto(proto);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->nodes[0].role, NodeRole::kHypervisor);

  proto.mutable_nodes(3)->set_role(static_cast<v1::NodeRole>(7));
  EXPECT_THAT(StateFromProto(proto).status().message(),
              HasSubstr("node \"edge1\": field \"role\": 7 is not hypervisor or edge"));
  proto = ToProto(ConvertFleet());
  proto.mutable_uplinks(1)->clear_interface();
  EXPECT_THAT(StateFromProto(proto).status().message(),
              HasSubstr("uplink \"red-edge1\": field \"interface\": is required"));
  proto = ToProto(ConvertFleet());
  proto.mutable_uplinks(1)->set_peer("192.0.2.300");
  EXPECT_THAT(StateFromProto(proto).status().message(),
              HasSubstr("uplink \"red-edge1\": field \"peer\": \"192.0.2.300\" is not an IPv4"));
}

// The rules are ValidateState's, whichever way the state came.
TEST(SyncConvertTest, UplinkRulesApplyToTheWire) {
  v1::State proto = ToProto(ConvertFleet());
  proto.mutable_uplinks(0)->set_peer("192.0.2.9");
  absl::StatusOr<State> state = StateFromProto(proto);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_THAT(ValidateForNode(*state, "edge1").message(),
              HasSubstr("uplink \"blue-edge1\": field \"peer\": 192.0.2.9 is outside the "
                        "transit 192.0.2.0/30"));
}

TEST(SyncConvertTest, DefaultsMatchTheYaml) {
  v1::State proto;
  v1::Tenant* t = proto.add_tenants();
  t->set_name("blue");
  t->set_id(1);
  v1::Policy* p = proto.add_policies();
  p->set_name("p");
  p->set_tenant("blue");
  p->mutable_applied_to()->add_groups("web");
  v1::Rule* r = p->add_rules();
  r->set_direction(v1::RULE_DIRECTION_INGRESS);
  r->set_action(v1::RULE_ACTION_ALLOW);
  r->set_protocol(v1::RULE_PROTOCOL_TCP);
  r->add_ports()->set_first(443);  // last 0: a single port
  absl::StatusOr<State> state = StateFromProto(proto);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->tenants[0].default_action, FirewallAction::kAllow);
  EXPECT_EQ(state->policies[0].priority, Policy::kDefaultPriority);
  EXPECT_EQ(state->policies[0].rules[0].ports[0], (PortRange{443, 443}));
}

// Errors name object and field as the YAML path does.
TEST(SyncConvertTest, BadCidrNamesSegmentAndField) {
  v1::State proto = ToProto(ConvertFleet());
  proto.mutable_segments(1)->set_subnet("10.0.1.0/33");
  absl::StatusOr<State> state = StateFromProto(proto);
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(state.status().message(),
              HasSubstr("segment \"red-web\": field \"subnet\": \"10.0.1.0/33\""));
}

TEST(SyncConvertTest, SameMessageAsYaml) {
  // The YAML parser's message for the same mistake, after its file prefix.
  std::string yaml = kConvertFleet;
  yaml.replace(yaml.find("gateway: 10.0.1.1, gateway_mac: \"02:fe:00:00:00:02\""),
               std::string("gateway: 10.0.1.1").size(), "gateway: 10.0.1.300");
  absl::StatusOr<State> from_yaml = ParseStateYaml(yaml, "f");
  ASSERT_FALSE(from_yaml.ok());
  v1::State proto = ToProto(ConvertFleet());
  proto.mutable_segments(1)->set_gateway("10.0.1.300");
  absl::StatusOr<State> from_proto = StateFromProto(proto);
  ASSERT_FALSE(from_proto.ok());
  EXPECT_EQ(absl::StrCat("f: ", from_proto.status().message()), from_yaml.status().message());
}

TEST(SyncConvertTest, BadMacAndMissingAddress) {
  v1::State proto = ToProto(ConvertFleet());
  proto.mutable_endpoints(2)->set_mac("02:00:00:02:01");
  EXPECT_THAT(StateFromProto(proto).status().message(),
              HasSubstr("endpoint \"red-web-1\": field \"mac\""));
  proto = ToProto(ConvertFleet());
  proto.mutable_nodes(1)->clear_vtep();
  EXPECT_THAT(StateFromProto(proto).status().message(),
              HasSubstr("node \"hv2\": field \"vtep\": is required"));
}

TEST(SyncConvertTest, RuleErrorsNamePolicyAndRule) {
  v1::State proto = ToProto(ConvertFleet());
  proto.mutable_policies(0)->mutable_rules(1)->set_action(v1::RULE_ACTION_UNSPECIFIED);
  EXPECT_THAT(StateFromProto(proto).status().message(),
              HasSubstr("policy \"web-in\": rule 1: field \"action\": is required"));
  proto = ToProto(ConvertFleet());
  proto.mutable_policies(0)->mutable_rules(0)->mutable_peer()->set_cidrs(0, "10.0.0.1/8");
  EXPECT_THAT(StateFromProto(proto).status().message(),
              HasSubstr("policy \"web-in\": rule 0: field \"peer.cidrs\""));
  proto = ToProto(ConvertFleet());
  proto.mutable_policies(0)->mutable_rules(0)->set_direction(static_cast<v1::RuleDirection>(9));
  EXPECT_THAT(StateFromProto(proto).status().message(),
              HasSubstr("rule 0: field \"direction\": 9 is not ingress or egress"));
}

TEST(SyncConvertTest, VniZeroIsRefusedByValidation) {
  v1::State proto = ToProto(ConvertFleet());
  proto.mutable_segments(0)->set_vni(0);
  absl::StatusOr<State> state = StateFromProto(proto);
  ASSERT_TRUE(state.ok());  // parses; the rule is validation's
  absl::Status s = ValidateForNode(*state, "hv1");
  EXPECT_THAT(s.message(), HasSubstr("segment \"blue-web\": field \"vni\": VNI 0 is outside 1.."));
}

TEST(SyncConvertTest, UnknownNodeIsRefusedByValidation) {
  v1::State proto = ToProto(ConvertFleet());
  proto.mutable_endpoints(1)->set_node("hv9");
  absl::StatusOr<State> state = StateFromProto(proto);
  ASSERT_TRUE(state.ok());
  EXPECT_THAT(ValidateForNode(*state, "hv1").message(),
              HasSubstr("endpoint \"blue-web-2\": field \"node\": no node \"hv9\""));
}

TEST(SyncConvertTest, ValidateForNodeRefusesAForeignOrAbsentNode) {
  const State state = ConvertFleet();
  EXPECT_TRUE(ValidateForNode(state, "hv1").ok());
  EXPECT_FALSE(ValidateForNode(state, "lx1").ok());
  EXPECT_FALSE(ValidateForNode(state, "nope").ok());
}

}  // namespace
}  // namespace weft
