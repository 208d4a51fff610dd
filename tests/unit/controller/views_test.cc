// What the controller sends an edge and the hypervisors of its tenants
// (controller/views.h, docs/NORTH_SOUTH.md).
#include "controller/views.h"

#include <string>
#include <vector>

#include "common/model/features.h"
#include "common/model/net_format.h"
#include "common/model/state_yaml.h"
#include "common/model/validate.h"
#include "common/plan/node_check.h"
#include "common/wire/convert.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

// blue lives on hv1 and goes out through edge1 and edge2; red lives on hv2
// and goes out through edge2; edge3 carries nothing yet.
constexpr char kViewsFleet[] = R"yaml(
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: hv2, vtep: 198.18.0.2}
  - {name: edge1, vtep: 198.18.0.11, role: edge}
  - {name: edge2, vtep: 198.18.0.12, role: edge}
  - {name: edge3, vtep: 198.18.0.13, role: edge}
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01"}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
endpoints:
  - {name: blue-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vblue1}
  - {name: red-1, segment: red-web, ip: 10.0.1.10, mac: "02:00:00:02:01:10", node: hv2, interface: vred1}
routes:
  - {tenant: blue, prefix: 10.0.0.0/8, blackhole: true, advertise: true}
uplinks:
  - {name: blue-e1, node: edge1, tenant: blue, interface: eth1, vlan: 100, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001}
  - {name: blue-e2, node: edge2, tenant: blue, interface: eth1, vlan: 100, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001}
  - {name: red-e2, node: edge2, tenant: red, interface: eth1, vlan: 200, transit: 192.0.2.4/30, address: 192.0.2.6, peer: 192.0.2.5, peer_as: 64500, local_as: 65002}
)yaml";

State ViewsFleet() {
  absl::StatusOr<State> state = ParseStateYaml(kViewsFleet, "fleet.yaml");
  EXPECT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(ValidateState(*state).ok()) << ValidateState(*state);
  return *state;
}

State ViewOf(const ViewBuilder& b, const std::string& node) {
  absl::StatusOr<State> view = StateFromProto(b.View(node, 1)->Merged());
  EXPECT_TRUE(view.ok()) << view.status();
  // Every view stands on its own: the agent validates it as a whole.
  const absl::Status valid = ValidateForNode(*view, node);
  EXPECT_TRUE(valid.ok()) << node << ": " << valid;
  return *view;
}

template <typename T>
std::vector<std::string> Names(const std::vector<T>& objects) {
  std::vector<std::string> names;
  for (const T& o : objects) names.push_back(o.name);
  return names;
}

// A view with an IPv6 subnet is not all realized by an agent that does not
// announce ipv6-tenants; a view without one is, by any agent.
TEST(ViewsTest, Ipv6InAViewNeedsTheAgentsCapability) {
  State state = ViewsFleet();
  state.segments[0].subnet6 = *ParseIpv6Prefix("fd00:1:0:1::/64");
  state.segments[0].gateway6 = *ParseIpv6("fd00:1:0:1::1");
  ASSERT_TRUE(ValidateState(state).ok());
  ViewBuilder b;
  b.Update(state);
  const std::vector<std::string> today = {"sotw", "chunked"};
  const std::vector<std::string> with_ipv6 = {"sotw", "chunked", kCapabilityIpv6Tenants};
  EXPECT_EQ(Unrealized(b.View("hv1", 1)->features, today),
            std::vector<std::string>{kCapabilityIpv6Tenants});  // blue has IPv6
  EXPECT_EQ(Unrealized(b.View("edge1", 1)->features, today),
            std::vector<std::string>{kCapabilityIpv6Tenants});  // so does the edge carrying it
  EXPECT_TRUE(Unrealized(b.View("hv1", 1)->features, with_ipv6).empty());
  EXPECT_TRUE(Unrealized(b.View("hv2", 1)->features, today).empty());  // red has none
  EXPECT_TRUE(Unrealized(b.View("edge3", 1)->features, today).empty());
  // and the view carries it to the agent
  EXPECT_EQ(ViewOf(b, "hv1").segments[0].subnet6, state.segments[0].subnet6);
}

// An IPv6 route, or a rule with an IPv6 peer prefix, needs the capability
// too, in the views of its tenant only, and the view carries it.
TEST(ViewsTest, Ipv6RoutesAndPeersInAViewNeedTheAgentsCapability) {
  State state = ViewsFleet();
  state.routes6.push_back(
      Route6{.tenant = "blue", .prefix = *ParseIpv6Prefix("2001:db8:66::/48"), .blackhole = true});
  Policy policy{.name = "red-out", .tenant = "red", .applied_to_endpoints = {"red-1"}};
  policy.rules.push_back(Rule{.direction = RuleDirection::kEgress,
                              .peer_cidrs6 = {*ParseIpv6Prefix("2001:db8::/32")},
                              .action = RuleAction::kDeny});
  state.policies.push_back(policy);
  ASSERT_TRUE(ValidateState(state).ok()) << ValidateState(state);
  ViewBuilder b;
  b.Update(state);
  const std::vector<std::string> today = {"sotw", "chunked"};
  for (const char* node : {"hv1", "hv2", "edge2"}) {
    EXPECT_EQ(Unrealized(b.View(node, 1)->features, today),
              std::vector<std::string>{kCapabilityIpv6Tenants})
        << node;
  }
  const State hv1 = ViewOf(b, "hv1");
  ASSERT_EQ(hv1.routes6.size(), 1u);
  EXPECT_EQ(hv1.routes6[0].prefix, state.routes6[0].prefix);
  EXPECT_TRUE(hv1.policies.empty()) << "red's policy is not blue's";
  EXPECT_EQ(ViewOf(b, "hv2").policies.at(0).rules.at(0).peer_cidrs6, policy.rules[0].peer_cidrs6);
  EXPECT_TRUE(ViewOf(b, "hv2").routes6.empty());
}

// A bridge node serves the bridged segment's tenant, endpoints there or not;
// so does its standby. The tenant's views use a feature no agent announces.
TEST(ViewsTest, ABridgeNodeGetsTheBridgedTenant) {
  State state = ViewsFleet();
  state.segments[1].vlan_bridge =
      VlanBridge{.node = "hv1", .standby = "edge3", .trunk = "eth9", .vlan = 300};
  EXPECT_FALSE(ValidateState(state).ok()) << "an edge cannot stand by";
  state.segments[1].vlan_bridge->standby = "";
  ASSERT_TRUE(ValidateState(state).ok()) << ValidateState(state);
  ViewBuilder b;
  b.Update(state);
  EXPECT_EQ(Names(ViewOf(b, "hv1").tenants), (std::vector<std::string>{"blue", "red"}));
  ASSERT_TRUE(ViewOf(b, "hv1").segments[1].vlan_bridge.has_value());
  EXPECT_EQ(ViewOf(b, "hv1").segments[1].vlan_bridge->vlan, 300u);
  const std::vector<std::string> today = {"sotw", "chunked"};
  EXPECT_EQ(Unrealized(b.View("hv2", 1)->features, today),
            std::vector<std::string>{kCapabilityVlanBridging});  // red's own host
  EXPECT_EQ(Unrealized(b.View("hv2", 1)->features, {kCapabilityVlanBridging}),
            std::vector<std::string>{});
  EXPECT_TRUE(Unrealized(b.View("edge1", 1)->features, today).empty());  // blue only

  // A physical host on the bridged VLAN goes with its segment's tenant.
  state.physical_hosts.push_back(
      PhysicalHost{.name = "rack-1", .segment = "red-web", .ip = *ParseIpv4("10.0.1.50")});
  ASSERT_TRUE(ValidateState(state).ok()) << ValidateState(state);
  b.Update(state);
  ASSERT_EQ(ViewOf(b, "hv2").physical_hosts.size(), 1u);
  EXPECT_EQ(ViewOf(b, "hv2").physical_hosts[0].name, "rack-1");
  EXPECT_TRUE(ViewOf(b, "edge1").physical_hosts.empty());
}

TEST(ViewsTest, AnEdgeGetsTheTenantsItCarries) {
  ViewBuilder b;
  b.Update(ViewsFleet());
  const State edge1 = ViewOf(b, "edge1");
  EXPECT_EQ(edge1.nodes.size(), 5u);
  EXPECT_EQ(Names(edge1.tenants), std::vector<std::string>{"blue"});
  // What it announces and where it sends what comes back.
  EXPECT_EQ(Names(edge1.segments), std::vector<std::string>{"blue-web"});
  ASSERT_EQ(edge1.routes.size(), 1u);
  EXPECT_TRUE(edge1.routes[0].advertise);
  EXPECT_EQ(Names(edge1.endpoints), std::vector<std::string>{"blue-1"});
  // Its own uplink and its sibling's for the same tenant; not red's.
  EXPECT_EQ(Names(edge1.uplinks), (std::vector<std::string>{"blue-e1", "blue-e2"}));

  const State edge2 = ViewOf(b, "edge2");
  EXPECT_EQ(Names(edge2.tenants), (std::vector<std::string>{"blue", "red"}));
  EXPECT_EQ(Names(edge2.uplinks), (std::vector<std::string>{"blue-e1", "blue-e2", "red-e2"}));

  // An edge without uplinks (or endpoints) gets the node list only.
  const State edge3 = ViewOf(b, "edge3");
  EXPECT_EQ(edge3.nodes.size(), 5u);
  EXPECT_TRUE(edge3.tenants.empty());
  EXPECT_TRUE(edge3.uplinks.empty());
}

TEST(ViewsTest, AHypervisorGetsItsTenantsUplinks) {
  ViewBuilder b;
  b.Update(ViewsFleet());
  // They name the edges that are the tenant's next hops north-south.
  EXPECT_EQ(Names(ViewOf(b, "hv1").uplinks), (std::vector<std::string>{"blue-e1", "blue-e2"}));
  EXPECT_EQ(Names(ViewOf(b, "hv2").uplinks), std::vector<std::string>{"red-e2"});
}

TEST(ViewsTest, AnUplinkChangeRebuildsOnlyItsTenant) {
  ViewBuilder b;
  State s = ViewsFleet();
  b.Update(s);
  const auto hv1 = b.View("hv1", 1);
  const auto hv2 = b.View("hv2", 1);
  const auto edge1 = b.View("edge1", 1);
  s.uplinks[2].hold_time = 9;  // red's
  b.Update(s);
  EXPECT_EQ(b.View("hv1", 2)->fingerprint, hv1->fingerprint);
  EXPECT_EQ(b.View("edge1", 2)->fingerprint, edge1->fingerprint);
  EXPECT_NE(b.View("hv2", 2)->fingerprint, hv2->fingerprint);
  // edge1 loses its only uplink: blue leaves its view.
  s.uplinks.erase(s.uplinks.begin());
  b.Update(s);
  EXPECT_EQ(b.View("edge1", 3)->parts.size(), 1u);
}

}  // namespace
}  // namespace weft
