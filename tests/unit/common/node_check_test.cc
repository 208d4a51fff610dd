// The per-node checks of common/plan/node_check.h that concern an edge's
// uplinks: the agent's own interfaces are not an uplink's plain link, the
// VLAN subinterfaces the agent makes have names the kernel takes and no
// endpoint takes one.
#include "common/plan/node_check.h"

#include <string>

#include "common/model/state_yaml.h"
#include "common/model/validate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

// blue rides a VLAN of edge1's eth0, red the plain link eth1.
constexpr char kEdges[] = R"yaml(
nodes:
  - {name: edge1, vtep: 198.18.0.11, role: edge}
  - {name: edge2, vtep: 198.18.0.12, role: edge}
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2}
uplinks:
  - {name: blue-e1, node: edge1, tenant: blue, interface: eth0, vlan: 100, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001}
  - {name: red-e1, node: edge1, tenant: red, interface: eth1, transit: 192.0.2.8/30, address: 192.0.2.10, peer: 192.0.2.9, peer_as: 64500, local_as: 65002}
)yaml";

State Edges() {
  absl::StatusOr<State> state = ParseStateYaml(kEdges, "edges.yaml");
  EXPECT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(ValidateState(*state).ok());
  return *state;
}

TEST(NodeCheckTest, AVlanMayRideOnTheUnderlay) {
  const ReservedInterfaces reserved = {{"eth0", "the agent's underlay"}, {"lo", "loopback"}};
  const absl::Status status = CheckForNode(Edges(), "edge1", reserved);
  EXPECT_TRUE(status.ok()) << status;
}

TEST(NodeCheckTest, AnUntaggedUplinkMayNotTakeAReservedInterface) {
  const ReservedInterfaces reserved = {{"eth1", "the agent's underlay"}, {"lo", "loopback"}};
  EXPECT_THAT(std::string(CheckForNode(Edges(), "edge1", reserved).message()),
              HasSubstr("uplink \"red-e1\": field \"interface\": \"eth1\" is the agent's underlay "
                        "on node \"edge1\": an untagged uplink may not take an interface the "
                        "agent relies on (a VLAN on it may)"));
  // Another edge's uplinks are not this agent's business.
  const absl::Status other = CheckForNode(Edges(), "edge2", reserved);
  EXPECT_TRUE(other.ok()) << other;
}

TEST(NodeCheckTest, AVlanSubinterfaceNameMustFitTheKernel) {
  State state = Edges();
  state.uplinks[0].interface = "enp129s0f1np1";  // 13 + ".100": 17 characters
  EXPECT_THAT(std::string(CheckForNode(state, "edge1", {}).message()),
              HasSubstr("uplink \"blue-e1\": field \"vlan\": the VLAN subinterface "
                        "\"enp129s0f1np1.100\" would be 17 characters, over the kernel's 15: "
                        "name the link with at most 11 characters"));
  // Not this node's business elsewhere.
  EXPECT_TRUE(CheckForNode(state, "edge2", {}).ok());
  state.uplinks[0].interface = "enp129s0f1n";  // 11 + 4: just fits
  EXPECT_TRUE(CheckForNode(state, "edge1", {}).ok());
}

TEST(NodeCheckTest, AnEndpointMayNotTakeAnUplinksVlanSubinterface) {
  State state = Edges();
  state.segments.push_back({.name = "blue-web",
                            .tenant = "blue",
                            .vni = 1001,
                            .subnet = {0x0a000100, 24},
                            .gateway = 0x0a000101,
                            .gateway_mac = {2, 0xfe, 0, 0, 0, 1}});
  state.endpoints.push_back({.name = "blue-1",
                             .segment = "blue-web",
                             .ip = 0x0a00010a,
                             .mac = {2, 0, 0, 1, 1, 0x10},
                             .node = "edge1",
                             .interface = "eth0.100"});
  ASSERT_TRUE(ValidateState(state).ok()) << ValidateState(state);
  EXPECT_THAT(std::string(CheckForNode(state, "edge1", {}).message()),
              HasSubstr("endpoint \"blue-1\": field \"interface\": \"eth0.100\" on node "
                        "\"edge1\" is uplink \"blue-e1\"'s VLAN subinterface: an endpoint may "
                        "not take an interface the agent relies on"));
}

}  // namespace
}  // namespace weft
