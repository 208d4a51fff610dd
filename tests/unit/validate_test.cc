#include "agent/model/validate.h"

#include <functional>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/model/net_format.h"
#include "agent/model/state_yaml.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "weft/abi.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

// Valid, and close to every rule's edge: overlapping subnets, a shared IP
// and MAC, and a shared interface name, each across a boundary that allows
// them (tenant, segment, node).
constexpr char kBase[] = R"yaml(
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: hv2, vtep: 198.18.0.2}
  - {name: lx1, vtep: 198.18.0.3, foreign: true}
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2, default_action: deny}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01"}
  - {name: blue-db, tenant: blue, vni: 1002, subnet: 10.0.2.0/24, gateway: 10.0.2.1, gateway_mac: "02:fe:00:00:00:01"}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
endpoints:
  - {name: blue-web-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vblue1}
  - {name: blue-web-2, segment: blue-web, ip: 10.0.1.11, mac: "02:00:00:01:01:11", node: hv2, interface: vblue1}
  - {name: blue-db-1, segment: blue-db, ip: 10.0.2.10, mac: "02:00:00:01:01:10", node: hv2, interface: vdb1}
  - {name: lx-vm, segment: blue-web, ip: 10.0.1.30, mac: "02:00:00:01:01:30", node: lx1}
  - {name: red-web-1, segment: red-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vred1}
routes:
  - {tenant: blue, prefix: 10.9.0.0/16, nodes: [hv2, lx1], segment: blue-web}
  - {tenant: blue, prefix: 10.66.0.0/16, blackhole: true}
  - {tenant: red, prefix: 10.9.0.0/16, nodes: [hv1], segment: red-web}
  - {tenant: blue, prefix: 0.0.0.0/0, nodes: [hv1], segment: blue-db}
)yaml";

State Base() {
  absl::StatusOr<State> state = ParseStateYaml(kBase, "base.yaml");
  EXPECT_TRUE(state.ok()) << state.status();
  return *state;
}

uint32_t Ip(const char* text) { return *ParseIpv4(text); }
Ipv4Prefix Prefix(uint32_t addr, uint8_t length) { return {addr, length}; }
MacAddress Mac(const char* text) { return *ParseMac(text); }

TEST(ValidateTest, BaseIsValid) {
  absl::Status status = ValidateState(Base());
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ValidateTest, EmptyStateIsValid) {
  EXPECT_TRUE(ValidateState(State{}).ok());
}

TEST(ValidateTest, EdgesThatAreAllowed) {
  const std::function<void(State&)> allowed[] = {
      [](State& s) { s.segments[1].vni = WEFT_VNI_MAX; },
      [](State& s) {
        s.segments[1].subnet = Prefix(Ip("10.0.2.0"), 30);
        s.endpoints[2].ip = Ip("10.0.2.2");
      },
      [](State& s) {  // /8 in a tenant of its own
        s.segments[2].subnet = Prefix(Ip("10.0.0.0"), 8);
      },
      [](State& s) {
        for (int i = 0; i < WEFT_ECMP_MAX; ++i) {
          s.nodes.push_back({absl::StrCat("e", i), Ip("198.19.0.1") + i});
          if (i > 1) s.routes[0].nodes.push_back(absl::StrCat("e", i));
        }
      },
      [](State& s) { s.routes[1].prefix = Prefix(Ip("10.0.1.10"), 32); },
  };
  for (const auto& mutate : allowed) {
    State state = Base();
    mutate(state);
    absl::Status status = ValidateState(state);
    EXPECT_TRUE(status.ok()) << status;
  }
}

struct Case {
  const char* rule;
  std::function<void(State&)> mutate;
  std::string object;
  const char* field;
  const char* what;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.rule; }

class ValidateRuleTest : public testing::TestWithParam<Case> {};

TEST_P(ValidateRuleTest, ReportsObjectAndField) {
  State state = Base();
  GetParam().mutate(state);
  absl::Status status = ValidateState(state);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(
      std::string(status.message()),
      HasSubstr(absl::StrCat(GetParam().object, ": field \"", GetParam().field,
                             "\": ", GetParam().what)));
}

// Adds `count` endpoints on hv1 in a /16 segment of a tenant of their own.
void AddLocalEndpoints(State& s, int count) {
  s.tenants.push_back({"big", 9});
  s.segments.push_back({"big", "big", 9, Prefix(Ip("10.128.0.0"), 16),
                        Ip("10.128.0.1"), Mac("02:fe:00:00:00:09")});
  for (int i = 0; i < count; ++i) {
    const uint32_t n = i + 2;
    s.endpoints.push_back(
        {absl::StrCat("big-", i), "big", Ip("10.128.0.0") + n,
         MacAddress{0x02, 0, 0, 0, static_cast<uint8_t>(n >> 8),
                    static_cast<uint8_t>(n)},
         "hv1", absl::StrCat("b", i)});
  }
}

INSTANTIATE_TEST_SUITE_P(
    Capacity, ValidateRuleTest,
    testing::Values(
        Case{"nodes", [](State& s) { s.nodes.resize(WEFT_MAX_VTEPS + 1); },
             "state", "nodes",
             "4097 nodes exceed the datapath's capacity of 4096"},
        Case{"segments",
             [](State& s) { s.segments.resize(WEFT_MAX_SEGMENTS + 1); },
             "state", "segments",
             "16385 segments exceed the datapath's capacity of 16384"},
        Case{"endpoints",
             [](State& s) { s.endpoints.resize(WEFT_MAX_ENDPOINTS + 1); },
             "state", "endpoints",
             "131073 endpoints exceed the datapath's capacity of 131072"},
        Case{"routes count connected ones",
             [](State& s) {
               s.routes.resize(WEFT_MAX_ROUTES - s.segments.size() + 1);
             },
             "state", "routes",
             "65537 routes (counting one connected route per segment) exceed "
             "the datapath's capacity of 65536"},
        // hv1 has two interfaces already: the 4095th new one is too many.
        Case{"local interfaces",
             [](State& s) { AddLocalEndpoints(s, WEFT_MAX_LOCAL_IFACES); },
             "endpoint \"big-4094\"", "node",
             "node \"hv1\" has more than 4096 interfaces"}));

INSTANTIATE_TEST_SUITE_P(
    Nodes, ValidateRuleTest,
    testing::Values(Case{"name empty", [](State& s) { s.nodes[1].name = ""; },
                         "node #1", "name", "is empty"},
                    Case{"name unique",
                         [](State& s) { s.nodes[1].name = "hv1"; },
                         "node \"hv1\"", "name", "another node has this name"},
                    Case{"vtep nonzero", [](State& s) { s.nodes[1].vtep = 0; },
                         "node \"hv2\"", "vtep", "must not be 0.0.0.0"},
                    Case{"vtep unique",
                         [](State& s) { s.nodes[2].vtep = s.nodes[0].vtep; },
                         "node \"lx1\"", "vtep",
                         "198.18.0.1 is already the VTEP of node \"hv1\""}));

INSTANTIATE_TEST_SUITE_P(
    Tenants, ValidateRuleTest,
    testing::Values(
        Case{"name empty", [](State& s) { s.tenants[1].name = ""; },
             "tenant #1", "name", "is empty"},
        Case{"name unique", [](State& s) { s.tenants[1].name = "blue"; },
             "tenant \"blue\"", "name", "another tenant has this name"},
        Case{"id nonzero", [](State& s) { s.tenants[1].id = 0; },
             "tenant \"red\"", "id", "must not be 0"},
        Case{"id unique", [](State& s) { s.tenants[1].id = 1; },
             "tenant \"red\"", "id", "id 1 is already tenant \"blue\"'s"}));

INSTANTIATE_TEST_SUITE_P(
    Segments, ValidateRuleTest,
    testing::Values(
        Case{"name empty", [](State& s) { s.segments[1].name = ""; },
             "segment #1", "name", "is empty"},
        Case{"name unique", [](State& s) { s.segments[1].name = "blue-web"; },
             "segment \"blue-web\"", "name", "another segment has this name"},
        Case{"tenant exists", [](State& s) { s.segments[1].tenant = "green"; },
             "segment \"blue-db\"", "tenant", "no tenant \"green\""},
        Case{"vni nonzero", [](State& s) { s.segments[1].vni = 0; },
             "segment \"blue-db\"", "vni", "VNI 0 is outside 1..16777215"},
        Case{"vni 24 bits",
             [](State& s) { s.segments[1].vni = WEFT_VNI_MAX + 1; },
             "segment \"blue-db\"", "vni",
             "VNI 16777216 is outside 1..16777215"},
        Case{"vni unique in the fleet",
             [](State& s) { s.segments[2].vni = 1001; }, "segment \"red-web\"",
             "vni", "VNI 1001 is already segment \"blue-web\"'s"},
        Case{
            "subnet host bits",
            [](State& s) { s.segments[1].subnet = Prefix(Ip("10.0.2.1"), 24); },
            "segment \"blue-db\"", "subnet",
            "10.0.2.1/24 has host bits set (the network is 10.0.2.0/24)"},
        Case{"subnet length over 32",
             [](State& s) { s.segments[1].subnet.length = 33; },
             "segment \"blue-db\"", "subnet", "prefix length 33 is over 32"},
        Case{"subnet at least /8",
             [](State& s) { s.segments[1].subnet = Prefix(Ip("10.0.0.0"), 7); },
             "segment \"blue-db\"", "subnet", "length /7 is outside /8../30"},
        Case{
            "subnet at most /30",
            [](State& s) { s.segments[1].subnet = Prefix(Ip("10.0.2.0"), 31); },
            "segment \"blue-db\"", "subnet", "length /31 is outside /8../30"},
        Case{"gateway inside",
             [](State& s) { s.segments[1].gateway = Ip("10.0.3.1"); },
             "segment \"blue-db\"", "gateway",
             "10.0.3.1 is outside the subnet 10.0.2.0/24"},
        Case{"gateway not network",
             [](State& s) { s.segments[1].gateway = Ip("10.0.2.0"); },
             "segment \"blue-db\"", "gateway",
             "10.0.2.0 is the subnet's network or broadcast address"},
        Case{"gateway not broadcast",
             [](State& s) { s.segments[1].gateway = Ip("10.0.2.255"); },
             "segment \"blue-db\"", "gateway",
             "10.0.2.255 is the subnet's network or broadcast address"},
        Case{"gateway_mac not multicast",
             [](State& s) {
               s.segments[1].gateway_mac = Mac("01:00:5e:00:00:01");
             },
             "segment \"blue-db\"", "gateway_mac",
             "01:00:5e:00:00:01 is not a unicast MAC address"},
        Case{"gateway_mac not zero",
             [](State& s) { s.segments[1].gateway_mac = MacAddress{}; },
             "segment \"blue-db\"", "gateway_mac",
             "00:00:00:00:00:00 is not a unicast MAC address"},
        Case{
            "no overlap in a tenant",
            [](State& s) { s.segments[1].subnet = Prefix(Ip("10.0.0.0"), 16); },
            "segment \"blue-db\"", "subnet",
            "10.0.0.0/16 overlaps segment \"blue-web\"'s 10.0.1.0/24 in "
            "tenant \"blue\""},
        // The later segment is blamed even when it sorts first.
        Case{"no overlap, later blamed",
             [](State& s) {
               s.segments[0].subnet = Prefix(Ip("10.0.0.0"), 16);
               s.segments[0].gateway = Ip("10.0.0.1");
             },
             "segment \"blue-db\"", "subnet",
             "10.0.2.0/24 overlaps segment \"blue-web\"'s 10.0.0.0/16 in "
             "tenant \"blue\""}));

INSTANTIATE_TEST_SUITE_P(
    Endpoints, ValidateRuleTest,
    testing::Values(
        Case{"name empty", [](State& s) { s.endpoints[1].name = ""; },
             "endpoint #1", "name", "is empty"},
        Case{"name unique",
             [](State& s) { s.endpoints[1].name = "blue-web-1"; },
             "endpoint \"blue-web-1\"", "name",
             "another endpoint has this name"},
        Case{"segment exists",
             [](State& s) { s.endpoints[1].segment = "nowhere"; },
             "endpoint \"blue-web-2\"", "segment", "no segment \"nowhere\""},
        Case{"node exists", [](State& s) { s.endpoints[1].node = "hv9"; },
             "endpoint \"blue-web-2\"", "node", "no node \"hv9\""},
        Case{"ip inside subnet",
             [](State& s) { s.endpoints[1].ip = Ip("10.0.2.11"); },
             "endpoint \"blue-web-2\"", "ip",
             "10.0.2.11 is outside segment \"blue-web\"'s subnet 10.0.1.0/24"},
        Case{"ip not network",
             [](State& s) { s.endpoints[1].ip = Ip("10.0.1.0"); },
             "endpoint \"blue-web-2\"", "ip",
             "10.0.1.0 is the subnet's network or broadcast address"},
        Case{"ip not broadcast",
             [](State& s) { s.endpoints[1].ip = Ip("10.0.1.255"); },
             "endpoint \"blue-web-2\"", "ip",
             "10.0.1.255 is the subnet's network or broadcast address"},
        Case{"ip not gateway",
             [](State& s) { s.endpoints[1].ip = Ip("10.0.1.1"); },
             "endpoint \"blue-web-2\"", "ip",
             "10.0.1.1 is the segment's gateway address"},
        Case{"ip unique in tenant",
             [](State& s) { s.endpoints[1].ip = Ip("10.0.1.10"); },
             "endpoint \"blue-web-2\"", "ip",
             "10.0.1.10 is already endpoint \"blue-web-1\"'s in tenant "
             "\"blue\""},
        Case{"mac unicast",
             [](State& s) { s.endpoints[1].mac = Mac("ff:ff:ff:ff:ff:ff"); },
             "endpoint \"blue-web-2\"", "mac",
             "ff:ff:ff:ff:ff:ff is not a unicast MAC address"},
        Case{"mac unique in segment",
             [](State& s) { s.endpoints[1].mac = s.endpoints[0].mac; },
             "endpoint \"blue-web-2\"", "mac",
             "02:00:00:01:01:10 is already endpoint \"blue-web-1\"'s in "
             "segment \"blue-web\""},
        Case{"no interface on a foreign node",
             [](State& s) { s.endpoints[3].interface = "vlx"; },
             "endpoint \"lx-vm\"", "interface",
             "node \"lx1\" is foreign (runs no Weft agent)"},
        Case{"interface on a Weft node",
             [](State& s) { s.endpoints[1].interface = ""; },
             "endpoint \"blue-web-2\"", "interface",
             "is required on Weft node \"hv2\""},
        Case{"interface name length",
             [](State& s) { s.endpoints[1].interface = "0123456789abcdef"; },
             "endpoint \"blue-web-2\"", "interface",
             "\"0123456789abcdef\" is longer than 15 characters"},
        Case{"interface unique on node",
             [](State& s) { s.endpoints[4].interface = "vblue1"; },
             "endpoint \"red-web-1\"", "interface",
             "\"vblue1\" on node \"hv1\" is already endpoint "
             "\"blue-web-1\"'s"}));

INSTANTIATE_TEST_SUITE_P(
    Routes, ValidateRuleTest,
    testing::Values(
        Case{"tenant exists", [](State& s) { s.routes[1].tenant = "green"; },
             "route \"green 10.66.0.0/16\"", "tenant", "no tenant \"green\""},
        Case{"prefix host bits",
             [](State& s) { s.routes[1].prefix = Prefix(Ip("10.66.0.1"), 16); },
             "route \"blue 10.66.0.1/16\"", "prefix",
             "10.66.0.1/16 has host bits set (the network is 10.66.0.0/16)"},
        Case{"prefix length", [](State& s) { s.routes[1].prefix.length = 33; },
             "route \"blue 10.66.0.0/33\"", "prefix",
             "prefix length 33 is over 32"},
        Case{"blackhole or nodes",
             [](State& s) { s.routes[1].blackhole = false; },
             "route \"blue 10.66.0.0/16\"", "nodes", "ECMP group empty"},
        Case{"not both blackhole and nodes",
             [](State& s) { s.routes[1].nodes = {"hv1"}; },
             "route \"blue 10.66.0.0/16\"", "nodes",
             "a blackhole route has no next hops"},
        Case{"no segment on a blackhole",
             [](State& s) { s.routes[1].segment = "blue-web"; },
             "route \"blue 10.66.0.0/16\"", "segment",
             "a blackhole route has no segment"},
        Case{"at most WEFT_ECMP_MAX nodes",
             [](State& s) {
               s.routes[0].nodes.resize(WEFT_ECMP_MAX + 1, "hv1");
             },
             "route \"blue 10.9.0.0/16\"", "nodes",
             "9 next hops exceed the ECMP limit of 8"},
        Case{"nodes exist",
             [](State& s) { s.routes[0].nodes.push_back("hv9"); },
             "route \"blue 10.9.0.0/16\"", "nodes", "no node \"hv9\""},
        Case{"nodes distinct",
             [](State& s) { s.routes[0].nodes.push_back("hv2"); },
             "route \"blue 10.9.0.0/16\"", "nodes",
             "node \"hv2\" is listed twice"},
        Case{"segment required", [](State& s) { s.routes[0].segment = ""; },
             "route \"blue 10.9.0.0/16\"", "segment",
             "is required for a route to nodes"},
        Case{"segment exists",
             [](State& s) { s.routes[0].segment = "nowhere"; },
             "route \"blue 10.9.0.0/16\"", "segment", "no segment \"nowhere\""},
        Case{"segment of the same tenant",
             [](State& s) { s.routes[0].segment = "red-web"; },
             "route \"blue 10.9.0.0/16\"", "segment",
             "segment \"red-web\" belongs to tenant \"red\", not \"blue\""},
        Case{"tenant and prefix unique",
             [](State& s) { s.routes[3].prefix = s.routes[0].prefix; },
             "route \"blue 10.9.0.0/16\"", "prefix",
             "another route has the same tenant and prefix"},
        Case{"not a connected subnet",
             [](State& s) { s.routes[3].prefix = s.segments[1].subnet; },
             "route \"blue 10.0.2.0/24\"", "prefix",
             "is segment \"blue-db\"'s subnet, already a connected route"}));

}  // namespace
}  // namespace weft
