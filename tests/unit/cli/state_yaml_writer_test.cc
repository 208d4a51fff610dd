// weftctl store export's YAML (cli/state_yaml_writer.h): read back by the
// state reader, it is the same state, field for field.
#include "cli/state_yaml_writer.h"

#include <gtest/gtest.h>

#include "common/model/state_yaml.h"
#include "common/wire/convert.h"
#include "google/protobuf/util/message_differencer.h"

namespace weft {
namespace {

// Every kind of object, every optional field set and unset, and names that
// YAML would otherwise read as something else.
constexpr char kEverything[] = R"yaml(
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: lx1, vtep: 198.18.0.3, foreign: true}
  - {name: edge1, vtep: 198.18.0.11, role: edge}
tenants:
  - {name: blue, id: 1, default_action: deny}
  - {name: "null", id: 2}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01", subnet6: "2001:db8:0:1::/64", gateway6: "2001:db8:0:1::1", vlan_bridge: {node: hv1, trunk: eth9, vlan: 100}}
  - {name: "say \"hi\" \\ #1", tenant: "null", vni: 7, subnet: 10.0.2.0/24, gateway: 10.0.2.1, gateway_mac: "02:fe:00:00:00:02"}
endpoints:
  - {name: blue-web-1, segment: blue-web, ip: 10.0.1.10, ip6: "2001:db8:0:1::10", mac: "02:00:00:01:01:10", node: hv1, interface: vblue1, groups: [web, db]}
  - {name: lx-vm, segment: blue-web, ip: 10.0.1.30, mac: "02:00:00:01:01:30", node: lx1}
  - {name: "yes", segment: "say \"hi\" \\ #1", ip: 10.0.2.5, mac: "02:00:00:01:02:05", node: hv1, interface: "v: x"}
physical_hosts:
  - {name: rack-1, segment: blue-web, ip: 10.0.1.50, ip6: "2001:db8:0:1::50", mac: "02:aa:00:00:00:50", groups: [db]}
  - {name: rack-2, segment: blue-web, ip: 10.0.1.51}
routes:
  - {tenant: blue, prefix: 10.9.0.0/16, nodes: [hv1, lx1], segment: blue-web}
  - {tenant: blue, prefix: "2001:db8:9::/48", nodes: [hv1], segment: blue-web}
  - {tenant: blue, prefix: 10.0.0.0/8, blackhole: true, advertise: true}
groups:
  - {name: web, tenant: blue}
  - {name: db, tenant: blue}
policies:
  - name: web-in
    tenant: blue
    priority: 100
    applied_to: {groups: [web], endpoints: [blue-web-1]}
    rules:
      - {direction: ingress, peer: {cidrs: [10.0.2.0/24], groups: [db]}, protocol: tcp, ports: ["80", "8000-8080"], action: allow, log: true}
      - {direction: ingress, protocol: icmp, icmp_type: 0, action: allow}
      - {direction: egress, peer: {groups: [db]}, protocol: udp, action: deny}
      - {direction: egress, peer: {cidrs: ["2001:db8::/32", 10.3.0.0/16]}, action: deny}
      - {direction: egress, peer: {cidrs: ["2001:db8::/32"]}, action: allow}
      - {direction: ingress, action: reject}
  - name: defaults
    tenant: blue
    applied_to: {groups: [db]}
uplinks:
  - {name: blue-edge1, node: edge1, tenant: blue, interface: eth1, vlan: 0, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 4200000001, hold_time: 9, keepalive: 3}
  - {name: blue-edge2, node: edge1, tenant: blue, interface: eth2, transit: 192.0.2.8/29, address: 192.0.2.10, peer: 192.0.2.9, peer_as: 64500, local_as: 65001}
)yaml";

TEST(StateYamlWriterTest, ReadsBackAsTheSameState) {
  absl::StatusOr<State> original = ParseStateYaml(kEverything, "everything.yaml");
  ASSERT_TRUE(original.ok()) << original.status();
  const std::string text = cli::StateToYaml(*original, "exported\nat version 9");
  absl::StatusOr<State> again = ParseStateYaml(text, "exported.yaml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(ToProto(*original), ToProto(*again)))
      << text;
  // Written again, the same text: nothing depends on how it was read.
  EXPECT_EQ(cli::StateToYaml(*again, "exported\nat version 9"), text);
  EXPECT_EQ(text.rfind("# exported\n# at version 9\nnodes:\n", 0), 0u) << text;
}

TEST(StateYamlWriterTest, TheEmptyStateIsAnEmptyDocument) {
  const std::string text = cli::StateToYaml(State{}, "");
  EXPECT_EQ(text, "");
  absl::StatusOr<State> again = ParseStateYaml(text, "empty.yaml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->nodes.empty());
}

TEST(StateYamlWriterTest, ControlCharactersInANameStayInsideTheScalar) {
  State state;
  state.nodes.push_back({.name = "a\nb: \x01\"", .vtep = 0x01020304});
  const std::string text = cli::StateToYaml(state, "");
  absl::StatusOr<State> again = ParseStateYaml(text, "x.yaml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  ASSERT_EQ(again->nodes.size(), 1u);
  EXPECT_EQ(again->nodes[0].name, "a\nb: \x01\"");
}

}  // namespace
}  // namespace weft
