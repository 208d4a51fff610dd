// PlanEdgeBgp: what an edge's speaker must hold, from the state alone.
#include "agent/edge/bgp_plan.h"
#include "common/model/net_format.h"
#include "common/model/state_yaml.h"
#include "common/model/validate.h"
#include "gtest/gtest.h"

namespace weft::edge {
namespace {

// Two tenants with the same segment on edge1 (different local AS numbers),
// a hypervisor, and a route of blue's marked advertise.
constexpr char kEdgeBgpPlanState[] = R"(version: 1
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: edge1, vtep: 198.18.0.11, role: edge}
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01"}
  - {name: blue-db, tenant: blue, vni: 1002, subnet: 10.0.2.0/24, gateway: 10.0.2.1, gateway_mac: "02:fe:00:00:00:01"}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
routes:
  - {tenant: blue, prefix: 10.0.0.0/16, blackhole: true, advertise: true}
uplinks:
  - {name: blue-edge1, node: edge1, tenant: blue, interface: eth1, vlan: 100,
     transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001}
  - {name: red-edge1, node: edge1, tenant: red, interface: eth1, vlan: 200,
     transit: 192.0.2.8/29, address: 192.0.2.10, peer: 192.0.2.9, peer_as: 64500, local_as: 65002,
     hold_time: 9, keepalive: 3}
)";

State ParseValid() {
  absl::StatusOr<State> state = ParseStateYaml(kEdgeBgpPlanState, "test");
  EXPECT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(ValidateState(*state).ok()) << ValidateState(*state);
  return *state;
}

std::vector<std::string> Formatted(const std::vector<Ipv4Prefix>& prefixes) {
  std::vector<std::string> out;
  for (const Ipv4Prefix& prefix : prefixes) out.push_back(FormatIpv4Prefix(prefix));
  return out;
}

TEST(PlanEdgeBgp, OneSessionPerUplinkWithItsTenantsAnnouncements) {
  const EdgeBgpPlan plan = PlanEdgeBgp(ParseValid(), "edge1");
  EXPECT_EQ(FormatIpv4(plan.router_id), "198.18.0.11");
  EXPECT_EQ(plan.asn, 65001u);  // the first uplink's
  ASSERT_EQ(plan.by_tenant.size(), 2u);

  const UplinkSession& blue = plan.by_tenant.at("blue");
  EXPECT_EQ(blue.uplink, "blue-edge1");
  EXPECT_EQ(blue.peer.vrf, "blue");
  EXPECT_EQ(blue.peer.vrf_number, 1u);
  EXPECT_EQ(FormatIpv4(blue.peer.peer_address), "192.0.2.1");
  EXPECT_EQ(blue.peer.peer_asn, 64500u);
  EXPECT_EQ(blue.peer.local_asn, 65001u);
  EXPECT_EQ(blue.peer.hold_time_seconds, 90u);
  EXPECT_EQ(blue.peer.keepalive_seconds, 30u);
  EXPECT_EQ(FormatIpv4(blue.next_hop), "192.0.2.2");
  EXPECT_EQ(Formatted(blue.prefixes),
            (std::vector<std::string>{"10.0.0.0/16", "10.0.1.0/24", "10.0.2.0/24"}));

  const UplinkSession& red = plan.by_tenant.at("red");
  EXPECT_EQ(red.peer.local_asn, 65002u);  // each session its own AS
  EXPECT_EQ(red.peer.hold_time_seconds, 9u);
  EXPECT_EQ(red.peer.keepalive_seconds, 3u);
  EXPECT_EQ(FormatIpv4(red.next_hop), "192.0.2.10");
  EXPECT_EQ(Formatted(red.prefixes), (std::vector<std::string>{"10.0.1.0/24"}));
}

TEST(PlanEdgeBgp, NothingForAHypervisorOrAnUnknownNode) {
  const State state = ParseValid();
  EXPECT_TRUE(PlanEdgeBgp(state, "hv1").by_tenant.empty());
  EXPECT_EQ(PlanEdgeBgp(state, "hv1").asn, 0u);
  EXPECT_TRUE(PlanEdgeBgp(state, "nobody").by_tenant.empty());
}

TEST(PlanEdgeBgp, SameSessionIgnoresPrefixesOnly) {
  const EdgeBgpPlan plan = PlanEdgeBgp(ParseValid(), "edge1");
  UplinkSession blue = plan.by_tenant.at("blue");
  UplinkSession changed = blue;
  changed.prefixes.clear();
  EXPECT_TRUE(SameSession(blue, changed));
  changed.peer.local_asn = 65009;
  EXPECT_FALSE(SameSession(blue, changed));
  changed = blue;
  changed.next_hop = 1;
  EXPECT_FALSE(SameSession(blue, changed));
}

}  // namespace
}  // namespace weft::edge
