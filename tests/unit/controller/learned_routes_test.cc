// Routes learned upstream in the controller's views (controller/learned_routes.h,
// Controller::ReportLearned, docs/NORTH_SOUTH.md#learned-routes).
#include "controller/learned_routes.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/model/net_format.h"
#include "common/model/state_yaml.h"
#include "common/model/validate.h"
#include "common/plan/node_check.h"
#include "common/wire/convert.h"
#include "controller/controller.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

// blue lives on hv1 and goes out through edge1 and edge2; red lives on hv2
// and goes out through edge2.
constexpr char kLearnedFleet[] = R"yaml(
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: hv2, vtep: 198.18.0.2}
  - {name: edge1, vtep: 198.18.0.11, role: edge}
  - {name: edge2, vtep: 198.18.0.12, role: edge}
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2}
segments:
  - {name: blue-db, tenant: blue, vni: 1002, subnet: 10.0.2.0/24, gateway: 10.0.2.1, gateway_mac: "02:fe:00:00:00:03"}
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

Ipv4Prefix P(const std::string& text) { return *ParseIpv4Prefix(text); }

class LearnedRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<State> state = ParseStateYaml(kLearnedFleet, "fleet.yaml");
    ASSERT_TRUE(state.ok()) << state.status();
    ASSERT_TRUE(ValidateState(*state).ok()) << ValidateState(*state);
    ASSERT_TRUE(controller_.Apply(*state, "test").ok());
  }

  // The node's view, valid for it as the agent checks it.
  State ViewOf(const std::string& node) {
    absl::StatusOr<State> view = StateFromProto(controller_.View(node)->Merged());
    EXPECT_TRUE(view.ok()) << view.status();
    const absl::Status valid = ValidateForNode(*view, node);
    EXPECT_TRUE(valid.ok()) << node << ": " << valid;
    return *view;
  }
  // The learned routes of `node`'s view, as "tenant prefix nodes segment by".
  std::vector<std::string> LearnedIn(const std::string& node) {
    std::vector<std::string> out;
    for (const Route& r : ViewOf(node).routes) {
      if (r.learned_by.empty()) continue;
      out.push_back(absl::StrCat(r.tenant, " ", FormatIpv4Prefix(r.prefix), " ",
                                 absl::StrJoin(r.nodes, ","), " ", r.segment, " ",
                                 absl::StrJoin(r.learned_by, ",")));
    }
    return out;
  }
  uint64_t VersionOf(const std::string& node) { return controller_.View(node)->version; }

  Controller controller_;
};

TEST_F(LearnedRoutesTest, TwoEdgesLearningAPrefixAreItsNextHopsSorted) {
  // edge2 first: the next hops are sorted, not in the order they came.
  ASSERT_TRUE(controller_.ReportLearned("edge2", 2, {{"blue-e2", {P("198.51.100.0/24")}}}).ok());
  ASSERT_TRUE(controller_.ReportLearned("edge1", 1, {{"blue-e1", {P("198.51.100.0/24")}}}).ok());
  // The transit segment is blue's lowest VNI (blue-web, 1001), not its first.
  const std::vector<std::string> want = {
      "blue 198.51.100.0/24 edge1,edge2 blue-web blue-e1,blue-e2"};
  EXPECT_EQ(LearnedIn("hv1"), want);
  EXPECT_EQ(LearnedIn("edge1"), want);
  EXPECT_EQ(LearnedIn("edge2"), want);
  EXPECT_TRUE(LearnedIn("hv2").empty());  // red learned nothing
  ASSERT_EQ(controller_.LearnedRoutes().size(), 1u);
}

TEST_F(LearnedRoutesTest, AnEdgesStreamGoneTakesItOutOfTheNextHops) {
  ASSERT_TRUE(controller_.ReportLearned("edge1", 1, {{"blue-e1", {P("198.51.100.0/24")}}}).ok());
  ASSERT_TRUE(controller_.ReportLearned("edge2", 2, {{"blue-e2", {P("198.51.100.0/24")}}}).ok());
  controller_.ForgetLearned("edge1", 1);
  EXPECT_EQ(LearnedIn("hv1"),
            std::vector<std::string>{"blue 198.51.100.0/24 edge2 blue-web blue-e2"});
  // An older stream of edge2 ending does not take what the live one reported.
  controller_.ForgetLearned("edge2", 1);
  EXPECT_EQ(LearnedIn("hv1").size(), 1u);
  controller_.ForgetLearned("edge2", 2);
  EXPECT_TRUE(LearnedIn("hv1").empty());
  EXPECT_TRUE(controller_.LearnedRoutes().empty());
}

TEST_F(LearnedRoutesTest, TheStateWinsOverALearnedRoute) {
  // 10.0.0.0/8 is blue's static route, 10.0.1.0/24 its segment's subnet; red
  // has neither of 10.0.0.0/8, so it takes that one. 10.0.1.128/25 overlaps
  // blue-web: kept (the longest prefix wins).
  ASSERT_TRUE(controller_
                  .ReportLearned("edge2", 1,
                                 {{"blue-e2", {P("10.0.0.0/8"), P("10.0.1.0/24"),
                                               P("10.0.1.128/25")}},
                                  {"red-e2", {P("10.0.0.0/8")}}})
                  .ok());
  EXPECT_EQ(LearnedIn("hv1"),
            std::vector<std::string>{"blue 10.0.1.128/25 edge2 blue-web blue-e2"});
  EXPECT_EQ(LearnedIn("hv2"), std::vector<std::string>{"red 10.0.0.0/8 edge2 red-web red-e2"});
}

TEST_F(LearnedRoutesTest, OnlyTheNodesWhoseViewChangedGetANewVersion) {
  const uint64_t hv2 = VersionOf("hv2");
  const uint64_t before = controller_.version();
  ASSERT_TRUE(controller_.ReportLearned("edge1", 1, {{"blue-e1", {P("198.51.100.0/24")}}}).ok());
  EXPECT_EQ(controller_.version(), before + 1);
  EXPECT_EQ(VersionOf("hv1"), before + 1);
  EXPECT_EQ(VersionOf("edge2"), before + 1);  // carries blue too
  EXPECT_EQ(VersionOf("hv2"), hv2);           // red's only
  // The same report again, or one only shadowed by the state: no version.
  ASSERT_TRUE(controller_.ReportLearned("edge1", 1, {{"blue-e1", {P("198.51.100.0/24")}}}).ok());
  ASSERT_TRUE(controller_
                  .ReportLearned("edge1", 1,
                                 {{"blue-e1", {P("198.51.100.0/24"), P("10.0.0.0/8")}}})
                  .ok());
  EXPECT_EQ(controller_.version(), before + 1);
}

TEST_F(LearnedRoutesTest, ANodeMayReportOnlyItsOwnUplinksAndOnlyAsAnEdge) {
  const absl::Status hv = controller_.ReportLearned("hv1", 1, {{"blue-e1", {P("10.9.0.0/16")}}});
  EXPECT_EQ(hv.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(hv.message().find("\"hv1\" reports learned routes but is not an edge"),
            std::string::npos)
      << hv;
  const absl::Status other =
      controller_.ReportLearned("edge1", 1, {{"blue-e2", {P("10.9.0.0/16")}}});
  EXPECT_EQ(other.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(other.message().find("uplink \"blue-e2\", which is edge \"edge2\"'s"),
            std::string::npos)
      << other;
  EXPECT_TRUE(controller_.LearnedRoutes().empty());
  // An uplink the state does not know (just removed) is ignored, not refused.
  EXPECT_TRUE(controller_.ReportLearned("edge1", 1, {{"gone", {P("10.9.0.0/16")}}}).ok());
  EXPECT_TRUE(controller_.LearnedRoutes().empty());
}

TEST_F(LearnedRoutesTest, AStateChangeKeepsTheReportsAndAppliesThemToTheNewState) {
  ASSERT_TRUE(controller_.ReportLearned("edge1", 1, {{"blue-e1", {P("198.51.100.0/24")}}}).ok());
  State state = controller_.state();
  // The operator now routes the prefix statically: the state wins.
  Route fixed;
  fixed.tenant = "blue";
  fixed.prefix = P("198.51.100.0/24");
  fixed.blackhole = true;
  state.routes.push_back(fixed);
  ASSERT_TRUE(controller_.Apply(state, "test").ok());
  EXPECT_TRUE(LearnedIn("hv1").empty());
  state.routes.pop_back();
  ASSERT_TRUE(controller_.Apply(state, "test").ok());
  EXPECT_EQ(LearnedIn("hv1").size(), 1u);
}

}  // namespace
}  // namespace weft
