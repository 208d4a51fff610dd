#include "common/model/validate.h"

#include <functional>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/model/net_format.h"
#include "common/model/state_yaml.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/literals.h"
#include "weft/abi.h"

namespace weft {
namespace {

using ::testing::HasSubstr;
using weft::testing::Ip;

// Valid, and close to every rule's edge: overlapping subnets (IPv4 and
// IPv6), a shared IP, IPv6 address and MAC, and a shared interface name, each across a boundary
// that allows them (tenant, segment, node); one transit on two edges, two VLANs of one link.
constexpr char kBase[] = R"yaml(
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: hv2, vtep: 198.18.0.2}
  - {name: lx1, vtep: 198.18.0.3, foreign: true}
  - {name: edge1, vtep: 198.18.0.11, role: edge}
  - {name: edge2, vtep: 198.18.0.12, role: edge}
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2, default_action: deny}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01", subnet6: "fd00:1:0:1::/64", gateway6: "fd00:1:0:1::1", vlan_bridge: {node: hv2, standby: hv1, trunk: eth1, vlan: 100}}
  - {name: blue-db, tenant: blue, vni: 1002, subnet: 10.0.2.0/24, gateway: 10.0.2.1, gateway_mac: "02:fe:00:00:00:01", subnet6: "fd00:1:0:2::/64", gateway6: "fd00:1:0:2::1"}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02", subnet6: "fd00:1:0:1::/64", gateway6: "fd00:1:0:1::1", vlan_bridge: {node: hv1, trunk: eth1, vlan: 200}}
groups:
  - {name: web, tenant: blue}
  - {name: db, tenant: blue}
  - {name: web, tenant: red}  # group names are per tenant
endpoints:
  - {name: blue-web-1, segment: blue-web, ip: 10.0.1.10, ip6: "fd00:1:0:1::10", mac: "02:00:00:01:01:10", node: hv1, interface: vblue1, groups: [web]}
  - {name: blue-web-2, segment: blue-web, ip: 10.0.1.11, ip6: "fd00:1:0:1::11", mac: "02:00:00:01:01:11", node: hv2, interface: vblue1, groups: [web]}
  - {name: blue-db-1, segment: blue-db, ip: 10.0.2.10, mac: "02:00:00:01:01:10", node: hv2, interface: vdb1, groups: [db]}
  - {name: lx-vm, segment: blue-web, ip: 10.0.1.30, mac: "02:00:00:01:01:30", node: lx1}
  - {name: red-web-1, segment: red-web, ip: 10.0.1.10, ip6: "fd00:1:0:1::10", mac: "02:00:00:01:01:10", node: hv1, interface: vred1, groups: [web]}
physical_hosts:
  - {name: db-rack-1, segment: blue-web, ip: 10.0.1.50, ip6: "fd00:1:0:1::50", mac: "02:aa:00:00:00:50", groups: [db]}
  - {name: rack-learned, segment: red-web, ip: 10.0.1.50}  # same IP, another tenant; MAC learned
policies:
  - name: web-in
    tenant: blue
    priority: 100
    applied_to: {groups: [web], endpoints: [blue-db-1]}
    rules:
      - {direction: ingress, peer: {cidrs: [10.0.2.0/24, "fd00:1:0:2::/64"], groups: [db]}, protocol: tcp, ports: ["80", "8000-8080"], action: allow, log: true}
      - {direction: ingress, protocol: icmp, icmp_type: 8, action: allow}
      - {direction: ingress, action: reject}
  - name: red-out
    tenant: red
    applied_to: {endpoints: [red-web-1]}
    rules:
      - {direction: egress, protocol: udp, ports: ["53"], action: deny}
routes:
  - {tenant: blue, prefix: 10.9.0.0/16, nodes: [hv2, lx1], segment: blue-web}
  - {tenant: blue, prefix: 10.66.0.0/16, blackhole: true, advertise: true}
  - {tenant: red, prefix: 10.9.0.0/16, nodes: [hv1], segment: red-web}
  - {tenant: blue, prefix: 0.0.0.0/0, nodes: [hv1], segment: blue-db}
  - {tenant: blue, prefix: "2001:db8:9::/48", nodes: [hv2, lx1], segment: blue-web}
  - {tenant: red, prefix: "2001:db8:9::/48", nodes: [hv1], segment: red-web}
  - {tenant: blue, prefix: "::/0", blackhole: true}
uplinks:
  - {name: blue-e1, node: edge1, tenant: blue, interface: eth1, vlan: 100, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001}
  - {name: red-e1, node: edge1, tenant: red, interface: eth1, vlan: 200, transit: 192.0.2.8/29, address: 192.0.2.10, peer: 192.0.2.9, peer_as: 64500, local_as: 65002, hold_time: 9, keepalive: 3}
  - {name: blue-e2, node: edge2, tenant: blue, interface: eth2, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001}
)yaml";

State Base() {
  absl::StatusOr<State> state = ParseStateYaml(kBase, "base.yaml");
  EXPECT_TRUE(state.ok()) << state.status();
  return *state;
}

Ipv4Prefix Prefix(uint32_t addr, uint8_t length) { return {addr, length}; }
Ipv6Prefix Prefix6(const char* text) { return *ParseIpv6Prefix(text); }
Ipv6Address Ip6(const char* text) { return *ParseIpv6(text); }

UnderlayAddress Vtep6(const char* text) {
  UnderlayAddress address;
  address.v6 = *ParseIpv6(text);
  return address;
}

// Every node of Base() on an IPv6 VTEP: 2001:db8::1, ::2, ...
void AllIpv6(State& s) {
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    s.nodes[i].vtep = Vtep6(absl::StrCat("2001:db8::", i + 1).c_str());
  }
}
MacAddress Mac(const char* text) { return *ParseMac(text); }

// Adds `count` edges x0, x1, ... each with an uplink of tenant blue.
void AddBlueEdges(State& s, int count) {
  for (int i = 0; i < count; ++i) {
    const std::string edge = absl::StrCat("x", i);
    s.nodes.push_back({edge, Ip("198.19.1.1") + i, false, NodeRole::kEdge});
    s.uplinks.push_back({"blue-" + edge, edge, "blue", "eth1", std::nullopt,
                         Prefix(Ip("192.0.2.0"), 30), Ip("192.0.2.2"), Ip("192.0.2.1"), 64500,
                         65001});
  }
}

// Puts `uplink` on the transit addr/length, its peer and address the last
// two usable addresses in it.
void SetTransit(Uplink& uplink, const char* addr, uint8_t length) {
  uplink.transit = Prefix(Ip(addr), length);
  uplink.peer = uplink.transit.Broadcast() - 2;
  uplink.address = uplink.transit.Broadcast() - 1;
}

TEST(ValidateTest, BaseIsValid) {
  absl::Status status = ValidateState(Base());
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ValidateTest, EmptyStateIsValid) { EXPECT_TRUE(ValidateState(State{}).ok()); }

// A state that validates can be sent: no name is megabytes long, and the
// message that refuses one does not carry it either.
TEST(ValidateTest, HugeNameIsRefusedInFewWords) {
  State state = Base();
  state.tenants[1].name = std::string(5 << 20, 'r');
  absl::Status status = ValidateState(state);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(status.message().size(), 200u) << status.message().substr(0, 200);
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
      // Firewall edges.
      [](State& s) {
        s.policies[0].rules[0].ports = {{1, 1}, {65535, 65535}, {1, 65535}};
      },
      [](State& s) { s.policies[0].rules[1].icmp_type = 0; },
      [](State& s) { s.policies[0].rules[1].icmp_type = 255; },
      [](State& s) { s.policies[0].rules[1].icmp_type.reset(); },
      [](State& s) { s.policies[0].priority = 0; },
      [](State& s) {
        s.policies[0].rules[0].peer_cidrs = {Prefix(0, 0), Prefix(Ip("10.0.1.10"), 32)};
      },
      [](State& s) { s.policies[0].applied_to_groups.clear(); },
      [](State& s) { s.policies[0].applied_to_endpoints.clear(); },
      [](State& s) { s.policies[0].rules.clear(); },
      [](State& s) { s.policies[0].rules.resize(WEFT_MAX_RULES - s.policies[1].rules.size()); },
      [](State& s) {
        s.endpoints[0].groups = {"web", "db"};
      },
      // Names: the whole set, at the length bounds.
      [](State& s) { s.endpoints[1].name = "Blue_2.web-X"; },  // named by no policy
      [](State& s) { s.endpoints[1].name = std::string(63, 'e'); },
      [](State& s) {
        s.groups.push_back({std::string(63, 'g'), "blue"});
      },
      [](State& s) {
        s.nodes.push_back({std::string(253, 'n'), Ip("198.18.0.9")});
      },
      [](State& s) { s.endpoints[0].interface = "vm-0123456789.@"; },  // 15, printable
      // North-south.
      [](State& s) { AddBlueEdges(s, WEFT_ECMP_MAX - 2); },  // blue on 8 edges
      [](State& s) { s.endpoints[1].node = "edge1"; },       // an edge may host endpoints
      [](State& s) {  // red's transit inside blue's segment: the tables are apart
        SetTransit(s.uplinks[1], "10.0.2.8", 29);
      },
      [](State& s) {  // a tenant without uplinks may mark routes: nothing is announced
        s.uplinks.erase(s.uplinks.begin() + 1);
        s.routes[2].advertise = true;
      },
      [](State& s) {  // an edge without uplinks (and without the bridge it would not take)
        s.nodes[1].role = NodeRole::kEdge;
        s.segments[0].vlan_bridge.reset();
        s.physical_hosts.erase(s.physical_hosts.begin());  // on blue-web's VLAN
      },
      // Physical hosts: one may take an address another tenant's endpoint has.
      [](State& s) { s.physical_hosts[1].ip = Ip("10.0.1.11"); },
      // VLAN bridges.
      [](State& s) { s.segments[0].vlan_bridge->vlan = 1; },
      [](State& s) { s.segments[0].vlan_bridge->vlan = 4094; },
      [](State& s) { s.segments[0].vlan_bridge->standby.clear(); },
      [](State& s) {  // VLAN 200 of eth1 is red-web's on hv1 only; hv2 may give it blue-web
        s.segments[0].vlan_bridge->standby.clear();
        s.segments[0].vlan_bridge->vlan = 200;
      },
      [](State& s) { s.segments[2].vlan_bridge->trunk = "eth2"; },
      [](State& s) { s.endpoints[0].interface = "eth2"; },  // no trunk of hv1
      [](State& s) { s.uplinks[0].vlan = 1; },
      [](State& s) { s.uplinks[0].vlan = 4094; },
      [](State& s) { s.uplinks[2].interface = "eth1"; },  // eth1 is edge1's, not edge2's
      [](State& s) {
        s.uplinks[0].peer_as = 1;
        s.uplinks[0].local_as = 4294967294;
      },
      [](State& s) { s.uplinks[0].hold_time = 0; },  // no keepalives
      [](State& s) {
        s.uplinks[0].hold_time = 3;
        s.uplinks[0].keepalive = 1;
      },
      [](State& s) { s.uplinks[0].hold_time = 65535; },
      [](State& s) { s.uplinks[0].keepalive = 30; },  // a third of the default 90
      [](State& s) { s.uplinks[0].name = std::string(63, 'u'); },
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

class ValidateRuleTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidateRuleTest, ReportsObjectAndField) {
  State state = Base();
  GetParam().mutate(state);
  absl::Status status = ValidateState(state);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(absl::StrCat(GetParam().object, ": field \"", GetParam().field,
                                     "\": ", GetParam().what)));
}

// Adds `count` endpoints on hv1 in a /16 segment of a tenant of their own.
void AddLocalEndpoints(State& s, int count) {
  s.tenants.push_back({"big", 9});
  s.segments.push_back(
      {"big", "big", 9, Prefix(Ip("10.128.0.0"), 16), Ip("10.128.0.1"), Mac("02:fe:00:00:00:09")});
  for (int i = 0; i < count; ++i) {
    const uint32_t n = i + 2;
    s.endpoints.push_back(
        {absl::StrCat("big-", i), "big", Ip("10.128.0.0") + n,
         MacAddress{0x02, 0, 0, 0, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)}, "hv1",
         absl::StrCat("b", i)});
  }
}

INSTANTIATE_TEST_SUITE_P(
    Capacity, ValidateRuleTest,
    ::testing::Values(
        Case{"nodes", [](State& s) { s.nodes.resize(WEFT_MAX_VTEPS + 1); }, "state", "nodes",
             "4097 nodes exceed the datapath's capacity of 4096"},
        Case{"segments", [](State& s) { s.segments.resize(WEFT_MAX_SEGMENTS + 1); }, "state",
             "segments", "16385 segments exceed the datapath's capacity of 16384"},
        Case{"endpoints count physical hosts",
             [](State& s) { s.endpoints.resize(WEFT_MAX_ENDPOINTS - 1); }, "state", "endpoints",
             "131073 endpoints (counting physical hosts) exceed the datapath's capacity of 131072"},
        Case{"routes count connected ones",
             [](State& s) { s.routes.resize(WEFT_MAX_ROUTES - s.segments.size() + 1); }, "state",
             "routes",
             "65537 routes (counting one connected route per segment) exceed "
             "the datapath's capacity of 65536"},
        // hv1 has two interfaces already: the 4095th new one is too many.
        Case{"local interfaces", [](State& s) { AddLocalEndpoints(s, WEFT_MAX_LOCAL_IFACES); },
             "endpoint \"big-4094\"", "node", "node \"hv1\" has more than 4096 interfaces"}));

INSTANTIATE_TEST_SUITE_P(
    Nodes, ValidateRuleTest,
    ::testing::Values(
        Case{"name empty", [](State& s) { s.nodes[1].name = ""; }, "node #1", "name", "is empty"},
        Case{"name unique", [](State& s) { s.nodes[1].name = "hv1"; }, "node \"hv1\"", "name",
             "another node has this name"},
        Case{"vtep nonzero", [](State& s) { s.nodes[1].vtep = 0; }, "node \"hv2\"", "vtep",
             "must not be 0.0.0.0"},
        Case{"vtep unique", [](State& s) { s.nodes[2].vtep = s.nodes[0].vtep; }, "node \"lx1\"",
             "vtep", "198.18.0.1 is already the VTEP of node \"hv1\""},
        Case{"vtep one family", [](State& s) { s.nodes[1].vtep = Vtep6("2001:db8::2"); },
             "node \"hv2\"", "vtep",
             "2001:db8::2 is IPv6 but node \"hv1\"'s VTEP 198.18.0.1 is not"},
        Case{"vtep6 unique",
             [](State& s) {
               AllIpv6(s);
               s.nodes[2].vtep = s.nodes[0].vtep;
             },
             "node \"lx1\"", "vtep", "2001:db8::1 is already the VTEP of node \"hv1\""},
        Case{"vtep6 unique in its last 32 bits",
             [](State& s) {
               AllIpv6(s);
               s.nodes[1].vtep = Vtep6("2001:db8:ff::1");
             },
             "node \"hv2\"", "vtep",
             "2001:db8:ff::1 ends in the same 32 bits as node \"hv1\"'s VTEP 2001:db8::1"},
        Case{"vtep6 not link-local",
             [](State& s) {
               AllIpv6(s);
               s.nodes[1].vtep = Vtep6("fe80::2");
             },
             "node \"hv2\"", "vtep", "fe80::2 is not a unicast address the underlay can route"},
        Case{"vtep6 not multicast",
             [](State& s) {
               AllIpv6(s);
               s.nodes[1].vtep = Vtep6("ff02::2");
             },
             "node \"hv2\"", "vtep", "ff02::2 is not a unicast address the underlay can route"},
        Case{"vtep6 not loopback",
             [](State& s) {
               AllIpv6(s);
               s.nodes[1].vtep = Vtep6("::1");
             },
             "node \"hv2\"", "vtep", "::1 is not a unicast address the underlay can route"},
        Case{"vtep6 not IPv4-mapped",
             [](State& s) {
               AllIpv6(s);
               s.nodes[1].vtep = Vtep6("::ffff:198.18.0.2");
             },
             "node \"hv2\"", "vtep", "::ffff:198.18.0.2 is IPv4-mapped"}));

TEST(ValidateState, AFleetOnAnIpv6UnderlayIsValid) {
  State state = Base();
  AllIpv6(state);
  EXPECT_TRUE(ValidateState(state).ok()) << ValidateState(state);
}

INSTANTIATE_TEST_SUITE_P(
    Tenants, ValidateRuleTest,
    ::testing::Values(Case{"name empty", [](State& s) { s.tenants[1].name = ""; }, "tenant #1",
                           "name", "is empty"},
                      Case{"name unique", [](State& s) { s.tenants[1].name = "blue"; },
                           "tenant \"blue\"", "name", "another tenant has this name"},
                      Case{"id nonzero", [](State& s) { s.tenants[1].id = 0; }, "tenant \"red\"",
                           "id", "must not be 0"},
                      Case{"id unique", [](State& s) { s.tenants[1].id = 1; }, "tenant \"red\"",
                           "id", "id 1 is already tenant \"blue\"'s"}));

INSTANTIATE_TEST_SUITE_P(
    Segments, ValidateRuleTest,
    ::testing::Values(
        Case{"name empty", [](State& s) { s.segments[1].name = ""; }, "segment #1", "name",
             "is empty"},
        Case{"name unique", [](State& s) { s.segments[1].name = "blue-web"; },
             "segment \"blue-web\"", "name", "another segment has this name"},
        Case{"tenant exists", [](State& s) { s.segments[1].tenant = "green"; },
             "segment \"blue-db\"", "tenant", "no tenant \"green\""},
        Case{"vni nonzero", [](State& s) { s.segments[1].vni = 0; }, "segment \"blue-db\"", "vni",
             "VNI 0 is outside 1..16777215"},
        Case{"vni 24 bits", [](State& s) { s.segments[1].vni = WEFT_VNI_MAX + 1; },
             "segment \"blue-db\"", "vni", "VNI 16777216 is outside 1..16777215"},
        Case{"vni unique in the fleet", [](State& s) { s.segments[2].vni = 1001; },
             "segment \"red-web\"", "vni", "VNI 1001 is already segment \"blue-web\"'s"},
        Case{"subnet host bits",
             [](State& s) { s.segments[1].subnet = Prefix(Ip("10.0.2.1"), 24); },
             "segment \"blue-db\"", "subnet",
             "10.0.2.1/24 has host bits set (the network is 10.0.2.0/24)"},
        Case{"subnet length over 32", [](State& s) { s.segments[1].subnet.length = 33; },
             "segment \"blue-db\"", "subnet", "prefix length 33 is over 32"},
        Case{"subnet at least /8",
             [](State& s) { s.segments[1].subnet = Prefix(Ip("10.0.0.0"), 7); },
             "segment \"blue-db\"", "subnet", "length /7 is outside /8../30"},
        Case{"subnet at most /30",
             [](State& s) { s.segments[1].subnet = Prefix(Ip("10.0.2.0"), 31); },
             "segment \"blue-db\"", "subnet", "length /31 is outside /8../30"},
        Case{"gateway inside", [](State& s) { s.segments[1].gateway = Ip("10.0.3.1"); },
             "segment \"blue-db\"", "gateway", "10.0.3.1 is outside the subnet 10.0.2.0/24"},
        Case{"gateway not network", [](State& s) { s.segments[1].gateway = Ip("10.0.2.0"); },
             "segment \"blue-db\"", "gateway",
             "10.0.2.0 is the subnet's network or broadcast address"},
        Case{"gateway not broadcast", [](State& s) { s.segments[1].gateway = Ip("10.0.2.255"); },
             "segment \"blue-db\"", "gateway",
             "10.0.2.255 is the subnet's network or broadcast address"},
        Case{"gateway_mac not multicast",
             [](State& s) { s.segments[1].gateway_mac = Mac("01:00:5e:00:00:01"); },
             "segment \"blue-db\"", "gateway_mac",
             "01:00:5e:00:00:01 is not a unicast MAC address"},
        Case{"gateway_mac not zero", [](State& s) { s.segments[1].gateway_mac = MacAddress{}; },
             "segment \"blue-db\"", "gateway_mac",
             "00:00:00:00:00:00 is not a unicast MAC address"},
        Case{"no overlap in a tenant",
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

// IPv6 beside IPv4 in a tenant's segments (docs/design/DUAL_STACK.md §6):
// each mixed-family or out-of-place address refused naming its field.
INSTANTIATE_TEST_SUITE_P(
    Ipv6Tenants, ValidateRuleTest,
    ::testing::Values(
        Case{"gateway6 needs subnet6", [](State& s) { s.segments[1].subnet6.reset(); },
             "segment \"blue-db\"", "subnet6", "is required with gateway6"},
        Case{"subnet6 needs gateway6", [](State& s) { s.segments[1].gateway6.reset(); },
             "segment \"blue-db\"", "gateway6", "is required with subnet6"},
        Case{"subnet6 a /64", [](State& s) { s.segments[1].subnet6 = Prefix6("fd00:1:0:2::/80"); },
             "segment \"blue-db\"", "subnet6",
             "fd00:1:0:2::/80 is not a /64 (SLAAC and neighbor discovery assume"},
        Case{"subnet6 not link-local",
             [](State& s) {
               s.segments[1].subnet6 = Prefix6("fe80::/64");
               s.segments[1].gateway6 = Ip6("fe80::1");
             },
             "segment \"blue-db\"", "subnet6", "fe80::/64 is link-local space"},
        Case{"subnet6 not multicast",
             [](State& s) {
               s.segments[1].subnet6 = Prefix6("ff05::/64");
               s.segments[1].gateway6 = Ip6("ff05::1");
             },
             "segment \"blue-db\"", "subnet6", "ff05::/64 is multicast space"},
        Case{"subnet6 not in ::/8",
             [](State& s) {
               s.segments[1].subnet6 = Prefix6("0:0:0:2::/64");
               s.segments[1].gateway6 = Ip6("0:0:0:2::1");
             },
             "segment \"blue-db\"", "subnet6", "0:0:0:2::/64 is in ::/8"},
        Case{"gateway6 inside subnet6",
             [](State& s) { s.segments[1].gateway6 = Ip6("fd00:1:0:3::1"); }, "segment \"blue-db\"",
             "gateway6", "fd00:1:0:3::1 is outside the subnet6 fd00:1:0:2::/64"},
        Case{"gateway6 not the anycast address",
             [](State& s) { s.segments[1].gateway6 = Ip6("fd00:1:0:2::"); }, "segment \"blue-db\"",
             "gateway6", "fd00:1:0:2:: is the subnet's subnet-router anycast address"},
        Case{"subnet6 no overlap in a tenant",
             [](State& s) {
               s.segments[1].subnet6 = Prefix6("fd00:1:0:1::/64");
               s.segments[1].gateway6 = Ip6("fd00:1:0:1::2");
             },
             "segment \"blue-db\"", "subnet6",
             "fd00:1:0:1::/64 overlaps segment \"blue-web\"'s fd00:1:0:1::/64 in tenant "
             "\"blue\""},
        Case{"ip6 needs a subnet6",
             [](State& s) {
               s.segments[1].subnet6.reset();
               s.segments[1].gateway6.reset();
               s.endpoints[2].ip6 = Ip6("fd00:1:0:2::10");
             },
             "endpoint \"blue-db-1\"", "ip6", "fd00:1:0:2::10: segment \"blue-db\" has no subnet6"},
        Case{"ip6 inside subnet6", [](State& s) { s.endpoints[1].ip6 = Ip6("fd00:1:0:2::11"); },
             "endpoint \"blue-web-2\"", "ip6",
             "fd00:1:0:2::11 is outside segment \"blue-web\"'s subnet6 fd00:1:0:1::/64"},
        Case{"ip6 not the anycast address",
             [](State& s) { s.endpoints[1].ip6 = Ip6("fd00:1:0:1::"); }, "endpoint \"blue-web-2\"",
             "ip6", "fd00:1:0:1:: is the subnet's subnet-router anycast address"},
        Case{"ip6 not gateway6", [](State& s) { s.endpoints[1].ip6 = Ip6("fd00:1:0:1::1"); },
             "endpoint \"blue-web-2\"", "ip6", "fd00:1:0:1::1 is the segment's gateway6 address"},
        Case{"ip6 unique in tenant", [](State& s) { s.endpoints[1].ip6 = Ip6("fd00:1:0:1::10"); },
             "endpoint \"blue-web-2\"", "ip6",
             "fd00:1:0:1::10 is already endpoint \"blue-web-1\"'s in tenant \"blue\""}));

// Physical hosts on a bridged segment's VLAN (docs/design/VLAN_BRIDGING.md
// §2): endpoints of the tenant for addresses, MACs and groups. Base()'s:
// db-rack-1 (blue-web, 10.0.1.50), rack-learned (red-web, 10.0.1.50, no MAC).
INSTANTIATE_TEST_SUITE_P(
    PhysicalHosts, ValidateRuleTest,
    ::testing::Values(
        Case{"name unique among hosts", [](State& s) { s.physical_hosts[1].name = "db-rack-1"; },
             "physical host \"db-rack-1\"", "name", "another physical host has this name"},
        Case{"name not an endpoint's", [](State& s) { s.physical_hosts[0].name = "blue-web-1"; },
             "physical host \"blue-web-1\"", "name", "an endpoint has this name"},
        Case{"segment exists", [](State& s) { s.physical_hosts[0].segment = "nope"; },
             "physical host \"db-rack-1\"", "segment", "no segment \"nope\""},
        Case{"segment bridged", [](State& s) { s.physical_hosts[0].segment = "blue-db"; },
             "physical host \"db-rack-1\"", "segment",
             "segment \"blue-db\" has no vlan_bridge: a physical host is reached through one"},
        Case{"ip in the subnet", [](State& s) { s.physical_hosts[0].ip = Ip("10.0.9.1"); },
             "physical host \"db-rack-1\"", "ip",
             "10.0.9.1 is outside segment \"blue-web\"'s subnet 10.0.1.0/24"},
        Case{"ip not the gateway", [](State& s) { s.physical_hosts[0].ip = Ip("10.0.1.1"); },
             "physical host \"db-rack-1\"", "ip", "10.0.1.1 is the segment's gateway address"},
        Case{"ip not an endpoint's", [](State& s) { s.physical_hosts[0].ip = Ip("10.0.1.10"); },
             "physical host \"db-rack-1\"", "ip",
             "10.0.1.10 is already endpoint \"blue-web-1\"'s in tenant \"blue\""},
        Case{"ip not another host's",
             [](State& s) {
               s.physical_hosts.push_back(s.physical_hosts[0]);
               s.physical_hosts.back().name = "db-rack-2";
             },
             "physical host \"db-rack-2\"", "ip",
             "10.0.1.50 is already physical host \"db-rack-1\"'s in tenant \"blue\""},
        Case{"ip6 not an endpoint's",
             [](State& s) { s.physical_hosts[0].ip6 = Ip6("fd00:1:0:1::10"); },
             "physical host \"db-rack-1\"", "ip6",
             "fd00:1:0:1::10 is already endpoint \"blue-web-1\"'s in tenant \"blue\""},
        Case{"mac unicast", [](State& s) { s.physical_hosts[0].mac = Mac("03:00:00:00:00:01"); },
             "physical host \"db-rack-1\"", "mac",
             "03:00:00:00:00:01 is not a unicast MAC address"},
        Case{"mac not an endpoint's",
             [](State& s) { s.physical_hosts[0].mac = Mac("02:00:00:01:01:10"); },
             "physical host \"db-rack-1\"", "mac",
             "02:00:00:01:01:10 is already endpoint \"blue-web-1\"'s in segment \"blue-web\""},
        Case{"groups of the tenant", [](State& s) { s.physical_hosts[1].groups = {"db"}; },
             "physical host \"rack-learned\"", "groups", "no group \"db\" in tenant \"red\""}));

// IPv6 routes and peer prefixes (docs/design/DUAL_STACK.md §6). Base()'s
// IPv6 routes: blue 2001:db8:9::/48, red 2001:db8:9::/48, blue ::/0.
INSTANTIATE_TEST_SUITE_P(
    Ipv6RoutesAndPeers, ValidateRuleTest,
    ::testing::Values(
        Case{"IPv6 routes count IPv6 connected ones",
             [](State& s) { s.routes6.resize(WEFT_MAX_ROUTES - 3 + 1); }, "state", "routes",
             "65537 IPv6 routes (counting one connected route per segment with a subnet6) "
             "exceed the datapath's capacity of 65536"},
        Case{"prefix length", [](State& s) { s.routes6[0].prefix.length = 129; },
             "route \"blue 2001:db8:9::/129\"", "prefix", "prefix length 129 is over 128"},
        Case{"prefix host bits", [](State& s) { s.routes6[0].prefix.addr = Ip6("2001:db8:9::1"); },
             "route \"blue 2001:db8:9::1/48\"", "prefix",
             "2001:db8:9::1/48 has host bits set (the network is 2001:db8:9::/48)"},
        Case{"unique per tenant", [](State& s) { s.routes6.push_back(s.routes6[0]); },
             "route \"blue 2001:db8:9::/48\"", "prefix",
             "another route has the same tenant and prefix"},
        Case{"not a connected route",
             [](State& s) { s.routes6[0].prefix = Prefix6("fd00:1:0:2::/64"); },
             "route \"blue fd00:1:0:2::/64\"", "prefix",
             "is segment \"blue-db\"'s subnet6, already a connected route"},
        Case{"segment of the tenant", [](State& s) { s.routes6[0].segment = "red-web"; },
             "route \"blue 2001:db8:9::/48\"", "segment",
             "segment \"red-web\" belongs to tenant \"red\", not \"blue\""},
        Case{"segment with a subnet6",
             [](State& s) {
               s.segments[1].subnet6.reset();
               s.segments[1].gateway6.reset();
               s.routes6[0].segment = "blue-db";
             },
             "route \"blue 2001:db8:9::/48\"", "segment",
             "segment \"blue-db\" has no subnet6: an IPv6 route's next hops are reached on an "
             "IPv6 segment"},
        Case{"blackhole without next hops", [](State& s) { s.routes6[2].nodes = {"hv1"}; },
             "route \"blue ::/0\"", "nodes", "a blackhole route has no next hops"},
        Case{"not advertised", [](State& s) { s.routes6[2].advertise = true; },
             "route \"blue ::/0\"", "advertise",
             "IPv6 prefixes are not announced upstream yet (uplinks carry IPv4 only)"},
        Case{"peer prefix host bits",
             [](State& s) {
               s.policies[0].rules[0].peer_cidrs6[0] = {Ip6("fd00:1:0:2::1"), 64};
             },
             "policy \"web-in\": rule 0", "peer.cidrs",
             "fd00:1:0:2::1/64 has host bits set (the network is fd00:1:0:2::/64)"},
        Case{"no ICMP type with an IPv6 peer",
             [](State& s) {
               s.policies[0].rules[1].peer_cidrs6.push_back(Prefix6("2001:db8::/32"));
             },
             "policy \"web-in\": rule 1", "icmp_type",
             "is an IPv4 ICMP type, and peer.cidrs has the IPv6 prefix 2001:db8::/32"}));

// Segments bridged to a VLAN (docs/design/VLAN_BRIDGING.md): blue-web by
// hv2 with hv1 standing by, red-web by hv1, both on eth1.
INSTANTIATE_TEST_SUITE_P(
    VlanBridges, ValidateRuleTest,
    ::testing::Values(
        Case{"bridge node exists", [](State& s) { s.segments[0].vlan_bridge->node = "hv9"; },
             "segment \"blue-web\"", "vlan_bridge.node", "no node \"hv9\""},
        Case{"bridge node not foreign", [](State& s) { s.segments[0].vlan_bridge->node = "lx1"; },
             "segment \"blue-web\"", "vlan_bridge.node",
             "node \"lx1\" is not a Weft hypervisor, so it cannot bridge a VLAN"},
        Case{"bridge node not an edge", [](State& s) { s.segments[0].vlan_bridge->node = "edge1"; },
             "segment \"blue-web\"", "vlan_bridge.node", "node \"edge1\" is not a Weft hypervisor"},
        Case{"standby exists", [](State& s) { s.segments[0].vlan_bridge->standby = "hv9"; },
             "segment \"blue-web\"", "vlan_bridge.standby", "no node \"hv9\""},
        Case{"standby differs", [](State& s) { s.segments[0].vlan_bridge->standby = "hv2"; },
             "segment \"blue-web\"", "vlan_bridge.standby", "is the active node itself"},
        Case{"trunk an interface name",
             [](State& s) { s.segments[0].vlan_bridge->trunk = "eth/1"; }, "segment \"blue-web\"",
             "vlan_bridge.trunk", "\"eth/1\" has the character \"/\""},
        Case{"vlan not 0", [](State& s) { s.segments[0].vlan_bridge->vlan = 0; },
             "segment \"blue-web\"", "vlan_bridge.vlan", "VLAN 0 is outside 1..4094"},
        Case{"vlan not 4095", [](State& s) { s.segments[0].vlan_bridge->vlan = 4095; },
             "segment \"blue-web\"", "vlan_bridge.vlan", "VLAN 4095 is outside 1..4094"},
        // hv1 stands by for blue-web on eth1 VLAN 100: red-web cannot take it there.
        Case{"one segment per VLAN of a trunk",
             [](State& s) { s.segments[2].vlan_bridge->vlan = 100; }, "segment \"red-web\"",
             "vlan_bridge.vlan",
             "VLAN 100 of \"eth1\" on node \"hv1\" already bridges segment \"blue-web\""},
        Case{"an endpoint not on a trunk", [](State& s) { s.endpoints[0].interface = "eth1"; },
             "endpoint \"blue-web-1\"", "interface",
             "\"eth1\" on node \"hv1\" is a VLAN bridge's trunk"}));

// Every name an object defines, and every interface name: a character set
// and a length bound (a NUL would be cut by the kernel; megabytes could not be
// sent to an agent).
INSTANTIATE_TEST_SUITE_P(
    Names, ValidateRuleTest,
    ::testing::Values(
        Case{"node name length", [](State& s) { s.nodes[1].name = std::string(254, 'n'); },
             absl::StrCat("node \"", std::string(64, 'n'), "\"..."), "name",
             "is 254 characters long, over 253"},
        Case{"node name no path", [](State& s) { s.nodes[1].name = ".."; }, "node \"..\"", "name",
             "\"..\" does not start with a letter or a digit"},
        Case{"node name no slash", [](State& s) { s.nodes[1].name = "hv2/x"; }, "node \"hv2/x\"",
             "name", "\"hv2/x\" has the character \"/\""},
        Case{"tenant name NUL", [](State& s) { s.tenants[1].name = std::string("red\0x", 5); },
             "tenant \"red\\x00x\"", "name", "\"red\\x00x\" has the character \"\\x00\""},
        Case{"tenant name 5 MiB", [](State& s) { s.tenants[1].name = std::string(5 << 20, 'r'); },
             absl::StrCat("tenant \"", std::string(64, 'r'), "\"..."), "name",
             "is 5242880 characters long, over 63"},
        Case{"segment name space", [](State& s) { s.segments[1].name = "blue db"; },
             "segment \"blue db\"", "name", "\"blue db\" has the character \" \""},
        Case{"endpoint name newline", [](State& s) { s.endpoints[1].name = "a\nb"; },
             "endpoint \"a\\nb\"", "name", "\"a\\nb\" has the character \"\\n\""},
        Case{"endpoint name non-ASCII", [](State& s) { s.endpoints[1].name = "caf\xc3\xa9"; },
             "endpoint \"caf\\xc3\\xa9\"", "name", "\"caf\\xc3\\xa9\" has the character \"\\xc3\""},
        Case{"group name length", [](State& s) { s.groups[1].name = std::string(64, 'g'); },
             absl::StrCat("group \"", std::string(64, 'g'), "\""), "name",
             "is 64 characters long, over 63"},
        Case{"group name colon", [](State& s) { s.groups[1].name = "db:1"; }, "group \"db:1\"",
             "name", "\"db:1\" has the character \":\""},
        Case{"policy name start", [](State& s) { s.policies[1].name = "-red"; }, "policy \"-red\"",
             "name", "\"-red\" does not start with a letter or a digit"},
        Case{"interface NUL (another tenant's interface)",
             [](State& s) { s.endpoints[4].interface = std::string("vblue1\0red", 10); },
             "endpoint \"red-web-1\"", "interface",
             "\"vblue1\\x00red\" has the character \"\\x00\": an interface name is printable "
             "ASCII without spaces, '/' or ':'"},
        Case{"interface slash", [](State& s) { s.endpoints[1].interface = "v/1"; },
             "endpoint \"blue-web-2\"", "interface", "\"v/1\" has the character \"/\""},
        Case{"interface colon", [](State& s) { s.endpoints[1].interface = "v:1"; },
             "endpoint \"blue-web-2\"", "interface", "\"v:1\" has the character \":\""},
        Case{"interface space", [](State& s) { s.endpoints[1].interface = "v 1"; },
             "endpoint \"blue-web-2\"", "interface", "\"v 1\" has the character \" \""},
        Case{"interface tab", [](State& s) { s.endpoints[1].interface = "v\t1"; },
             "endpoint \"blue-web-2\"", "interface", "\"v\\t1\" has the character \"\\t\""},
        Case{"interface DEL", [](State& s) { s.endpoints[1].interface = "v\x7f"; },
             "endpoint \"blue-web-2\"", "interface", "\"v\\x7f\" has the character \"\\x7f\""},
        Case{"interface dot", [](State& s) { s.endpoints[1].interface = "."; },
             "endpoint \"blue-web-2\"", "interface", "\".\" is not an interface name"},
        Case{"interface dot dot", [](State& s) { s.endpoints[1].interface = ".."; },
             "endpoint \"blue-web-2\"", "interface", "\"..\" is not an interface name"}));

INSTANTIATE_TEST_SUITE_P(
    Endpoints, ValidateRuleTest,
    ::testing::Values(
        Case{"name empty", [](State& s) { s.endpoints[1].name = ""; }, "endpoint #1", "name",
             "is empty"},
        Case{"name unique", [](State& s) { s.endpoints[1].name = "blue-web-1"; },
             "endpoint \"blue-web-1\"", "name", "another endpoint has this name"},
        Case{"segment exists", [](State& s) { s.endpoints[1].segment = "nowhere"; },
             "endpoint \"blue-web-2\"", "segment", "no segment \"nowhere\""},
        Case{"node exists", [](State& s) { s.endpoints[1].node = "hv9"; },
             "endpoint \"blue-web-2\"", "node", "no node \"hv9\""},
        Case{"ip inside subnet", [](State& s) { s.endpoints[1].ip = Ip("10.0.2.11"); },
             "endpoint \"blue-web-2\"", "ip",
             "10.0.2.11 is outside segment \"blue-web\"'s subnet 10.0.1.0/24"},
        Case{"ip not network", [](State& s) { s.endpoints[1].ip = Ip("10.0.1.0"); },
             "endpoint \"blue-web-2\"", "ip",
             "10.0.1.0 is the subnet's network or broadcast address"},
        Case{"ip not broadcast", [](State& s) { s.endpoints[1].ip = Ip("10.0.1.255"); },
             "endpoint \"blue-web-2\"", "ip",
             "10.0.1.255 is the subnet's network or broadcast address"},
        Case{"ip not gateway", [](State& s) { s.endpoints[1].ip = Ip("10.0.1.1"); },
             "endpoint \"blue-web-2\"", "ip", "10.0.1.1 is the segment's gateway address"},
        Case{"ip unique in tenant", [](State& s) { s.endpoints[1].ip = Ip("10.0.1.10"); },
             "endpoint \"blue-web-2\"", "ip",
             "10.0.1.10 is already endpoint \"blue-web-1\"'s in tenant "
             "\"blue\""},
        Case{"mac unicast", [](State& s) { s.endpoints[1].mac = Mac("ff:ff:ff:ff:ff:ff"); },
             "endpoint \"blue-web-2\"", "mac", "ff:ff:ff:ff:ff:ff is not a unicast MAC address"},
        Case{"mac unique in segment", [](State& s) { s.endpoints[1].mac = s.endpoints[0].mac; },
             "endpoint \"blue-web-2\"", "mac",
             "02:00:00:01:01:10 is already endpoint \"blue-web-1\"'s in "
             "segment \"blue-web\""},
        Case{"no interface on a foreign node", [](State& s) { s.endpoints[3].interface = "vlx"; },
             "endpoint \"lx-vm\"", "interface", "node \"lx1\" is foreign (runs no Weft agent)"},
        Case{"interface on a Weft node", [](State& s) { s.endpoints[1].interface = ""; },
             "endpoint \"blue-web-2\"", "interface", "is required on Weft node \"hv2\""},
        Case{"interface name length",
             [](State& s) { s.endpoints[1].interface = "0123456789abcdef"; },
             "endpoint \"blue-web-2\"", "interface",
             "\"0123456789abcdef\" is longer than 15 characters"},
        Case{"interface unique on node", [](State& s) { s.endpoints[4].interface = "vblue1"; },
             "endpoint \"red-web-1\"", "interface",
             "\"vblue1\" on node \"hv1\" is already endpoint "
             "\"blue-web-1\"'s"}));

INSTANTIATE_TEST_SUITE_P(
    NodeRoles, ValidateRuleTest,
    ::testing::Values(Case{"role known",
                           [](State& s) { s.nodes[1].role = static_cast<NodeRole>(5); },
                           "node \"hv2\"", "role", "is not hypervisor or edge"},
                      Case{"a foreign node is no edge",
                           [](State& s) { s.nodes[2].role = NodeRole::kEdge; }, "node \"lx1\"",
                           "role", "a foreign node runs no Weft agent, so it cannot be an edge"}));

INSTANTIATE_TEST_SUITE_P(
    Uplinks, ValidateRuleTest,
    ::testing::Values(
        Case{"name empty", [](State& s) { s.uplinks[1].name = ""; }, "uplink #1", "name",
             "is empty"},
        Case{"name unique", [](State& s) { s.uplinks[1].name = "blue-e1"; }, "uplink \"blue-e1\"",
             "name", "another uplink has this name"},
        Case{"name characters", [](State& s) { s.uplinks[1].name = "red e1"; }, "uplink \"red e1\"",
             "name", "\"red e1\" has the character \" \""},
        Case{"name length", [](State& s) { s.uplinks[1].name = std::string(64, 'u'); },
             absl::StrCat("uplink \"", std::string(64, 'u'), "\""), "name",
             "is 64 characters long, over 63"},
        Case{"edge exists", [](State& s) { s.uplinks[0].node = "edge9"; }, "uplink \"blue-e1\"",
             "node", "no node \"edge9\""},
        Case{"node is an edge", [](State& s) { s.uplinks[0].node = "hv1"; }, "uplink \"blue-e1\"",
             "node", "node \"hv1\" is not an edge: only a node with role: edge carries uplinks"},
        Case{"tenant exists", [](State& s) { s.uplinks[0].tenant = "green"; }, "uplink \"blue-e1\"",
             "tenant", "no tenant \"green\""},
        Case{"one uplink per tenant on an edge",
             [](State& s) {
               s.uplinks[2].node = "edge1";
               s.uplinks[2].interface = "eth2";
             },
             "uplink \"blue-e2\"", "tenant",
             "edge \"edge1\" already has uplink \"blue-e1\" for tenant \"blue\": one uplink per "
             "tenant on an edge"},
        Case{"a tenant on at most WEFT_ECMP_MAX edges",
             [](State& s) { AddBlueEdges(s, WEFT_ECMP_MAX - 1); }, "uplink \"blue-x6\"", "tenant",
             "tenant \"blue\" has uplinks on more than 8 edges, the datapath's ECMP limit"},
        Case{"interface required", [](State& s) { s.uplinks[0].interface = ""; },
             "uplink \"blue-e1\"", "interface", "is required"},
        Case{"interface name characters", [](State& s) { s.uplinks[0].interface = "eth1/100"; },
             "uplink \"blue-e1\"", "interface", "\"eth1/100\" has the character \"/\""},
        Case{"interface name length", [](State& s) { s.uplinks[0].interface = "0123456789abcdef"; },
             "uplink \"blue-e1\"", "interface",
             "\"0123456789abcdef\" is longer than 15 characters"},
        Case{"vlan not 0", [](State& s) { s.uplinks[0].vlan = 0; }, "uplink \"blue-e1\"", "vlan",
             "VLAN 0 is outside 1..4094"},
        Case{"vlan at most 4094", [](State& s) { s.uplinks[0].vlan = 4095; }, "uplink \"blue-e1\"",
             "vlan", "VLAN 4095 is outside 1..4094"},
        Case{"a VLAN of a link once", [](State& s) { s.uplinks[1].vlan = 100; },
             "uplink \"red-e1\"", "vlan",
             "VLAN 100 of \"eth1\" on edge \"edge1\" is already uplink \"blue-e1\"'s"},
        Case{"no untagged uplink beside tagged ones", [](State& s) { s.uplinks[1].vlan.reset(); },
             "uplink \"red-e1\"", "interface",
             "\"eth1\" on edge \"edge1\" is already uplink \"blue-e1\"'s: a link carries one "
             "untagged uplink, or tagged ones only"},
        Case{"no tagged uplink beside an untagged one",
             [](State& s) {
               s.uplinks.push_back(s.uplinks[1]);
               s.uplinks.back().name = "red-e2";
               s.uplinks.back().node = "edge2";
               s.uplinks.back().interface = "eth2";
             },
             "uplink \"red-e2\"", "interface",
             "\"eth2\" on edge \"edge2\" is already uplink \"blue-e2\"'s"},
        Case{"transit host bits",
             [](State& s) { s.uplinks[0].transit = Prefix(Ip("192.0.2.1"), 30); },
             "uplink \"blue-e1\"", "transit",
             "192.0.2.1/30 has host bits set (the network is 192.0.2.0/30)"},
        Case{"transit at least /29", [](State& s) { SetTransit(s.uplinks[0], "192.0.2.16", 28); },
             "uplink \"blue-e1\"", "transit",
             "length /28 is outside /29../30: a transit is point-to-point"},
        Case{"transit at most /30", [](State& s) { SetTransit(s.uplinks[0], "192.0.2.0", 31); },
             "uplink \"blue-e1\"", "transit", "length /31 is outside /29../30"},
        Case{"address inside the transit", [](State& s) { s.uplinks[0].address = Ip("192.0.2.6"); },
             "uplink \"blue-e1\"", "address", "192.0.2.6 is outside the transit 192.0.2.0/30"},
        Case{"address not broadcast", [](State& s) { s.uplinks[0].address = Ip("192.0.2.3"); },
             "uplink \"blue-e1\"", "address",
             "192.0.2.3 is the transit's network or broadcast address"},
        Case{"peer inside the transit", [](State& s) { s.uplinks[0].peer = Ip("192.0.2.9"); },
             "uplink \"blue-e1\"", "peer", "192.0.2.9 is outside the transit 192.0.2.0/30"},
        Case{"peer not network", [](State& s) { s.uplinks[0].peer = Ip("192.0.2.0"); },
             "uplink \"blue-e1\"", "peer",
             "192.0.2.0 is the transit's network or broadcast address"},
        Case{"peer not the address", [](State& s) { s.uplinks[0].peer = Ip("192.0.2.2"); },
             "uplink \"blue-e1\"", "peer", "192.0.2.2 is the edge's own address"},
        // The same transit on two edges is allowed (kBase); on one edge the
        // later uplink is blamed.
        Case{"transits of one edge apart",
             [](State& s) { SetTransit(s.uplinks[1], "192.0.2.0", 29); }, "uplink \"red-e1\"",
             "transit",
             "192.0.2.0/29 overlaps uplink \"blue-e1\"'s 192.0.2.0/30 on edge \"edge1\": this "
             "kernel has no VRF devices, so the transits of one edge share its routing table and "
             "must not overlap"},
        Case{"transit apart from the tenant's segments",
             [](State& s) { SetTransit(s.uplinks[0], "10.0.2.248", 29); }, "uplink \"blue-e1\"",
             "transit",
             "10.0.2.248/29 overlaps segment \"blue-db\"'s subnet 10.0.2.0/24 in tenant \"blue\""},
        Case{"transit holds no VTEP", [](State& s) { SetTransit(s.uplinks[0], "198.18.0.0", 29); },
             "uplink \"blue-e1\"", "transit",
             "198.18.0.0/29 holds node \"hv1\"'s VTEP 198.18.0.1: the edge would send that node's "
             "overlay traffic out of the uplink"},
        Case{"peer_as not 0", [](State& s) { s.uplinks[0].peer_as = 0; }, "uplink \"blue-e1\"",
             "peer_as", "AS 0 is outside 1..4294967294"},
        Case{"local_as not 4294967295", [](State& s) { s.uplinks[0].local_as = 4294967295; },
             "uplink \"blue-e1\"", "local_as", "AS 4294967295 is outside 1..4294967294"},
        Case{"peer_as not AS_TRANS", [](State& s) { s.uplinks[0].peer_as = 23456; },
             "uplink \"blue-e1\"", "peer_as", "AS 23456 is AS_TRANS (RFC 6793)"},
        Case{"local_as not 65535", [](State& s) { s.uplinks[0].local_as = 65535; },
             "uplink \"blue-e1\"", "local_as", "AS 65535 is reserved (RFC 7300)"},
        Case{"eBGP", [](State& s) { s.uplinks[0].local_as = 64500; }, "uplink \"blue-e1\"",
             "local_as", "AS 64500 is the peer's too: an uplink speaks eBGP to its upstream"},
        Case{"hold_time at least 3", [](State& s) { s.uplinks[0].hold_time = 2; },
             "uplink \"blue-e1\"", "hold_time",
             "hold time 2 is neither 0 (no keepalives) nor in 3..65535 seconds"},
        Case{"hold_time 16 bits", [](State& s) { s.uplinks[0].hold_time = 65536; },
             "uplink \"blue-e1\"", "hold_time", "hold time 65536 is neither 0"},
        Case{"no keepalive without a hold time", [](State& s) { s.uplinks[1].hold_time = 0; },
             "uplink \"red-e1\"", "keepalive",
             "a hold time of 0 sends no keepalives: leave keepalive out"},
        Case{"keepalive not 0", [](State& s) { s.uplinks[1].keepalive = 0; }, "uplink \"red-e1\"",
             "keepalive",
             "keepalive 0 is outside 1..3 seconds (at most a third of the hold time 9)"},
        Case{"keepalive a third of the hold time", [](State& s) { s.uplinks[1].keepalive = 4; },
             "uplink \"red-e1\"", "keepalive", "keepalive 4 is outside 1..3 seconds"},
        Case{"keepalive a third of the default hold time",
             [](State& s) { s.uplinks[0].keepalive = 31; }, "uplink \"blue-e1\"", "keepalive",
             "keepalive 31 is outside 1..30 seconds (at most a third of the hold time 90)"},
        // Uplinks are reserved for the agent on their edge.
        Case{"no endpoint on an uplink's link",
             [](State& s) {
               s.endpoints[1].node = "edge1";
               s.endpoints[1].interface = "eth1";
             },
             "endpoint \"blue-web-2\"", "interface",
             "\"eth1\" on node \"edge1\" is uplink \"blue-e1\"'s link: an endpoint may not take "
             "an interface the agent relies on"}));

INSTANTIATE_TEST_SUITE_P(
    Routes, ValidateRuleTest,
    ::testing::Values(
        Case{"tenant exists", [](State& s) { s.routes[1].tenant = "green"; },
             "route \"green 10.66.0.0/16\"", "tenant", "no tenant \"green\""},
        Case{"prefix host bits", [](State& s) { s.routes[1].prefix = Prefix(Ip("10.66.0.1"), 16); },
             "route \"blue 10.66.0.1/16\"", "prefix",
             "10.66.0.1/16 has host bits set (the network is 10.66.0.0/16)"},
        Case{"prefix length", [](State& s) { s.routes[1].prefix.length = 33; },
             "route \"blue 10.66.0.0/33\"", "prefix", "prefix length 33 is over 32"},
        Case{"blackhole or nodes", [](State& s) { s.routes[1].blackhole = false; },
             "route \"blue 10.66.0.0/16\"", "nodes", "ECMP group empty"},
        Case{"not both blackhole and nodes", [](State& s) { s.routes[1].nodes = {"hv1"}; },
             "route \"blue 10.66.0.0/16\"", "nodes", "a blackhole route has no next hops"},
        Case{"no segment on a blackhole", [](State& s) { s.routes[1].segment = "blue-web"; },
             "route \"blue 10.66.0.0/16\"", "segment", "a blackhole route has no segment"},
        Case{"at most WEFT_ECMP_MAX nodes",
             [](State& s) { s.routes[0].nodes.resize(WEFT_ECMP_MAX + 1, "hv1"); },
             "route \"blue 10.9.0.0/16\"", "nodes", "9 next hops exceed the ECMP limit of 8"},
        Case{"nodes exist", [](State& s) { s.routes[0].nodes.push_back("hv9"); },
             "route \"blue 10.9.0.0/16\"", "nodes", "no node \"hv9\""},
        Case{"nodes distinct", [](State& s) { s.routes[0].nodes.push_back("hv2"); },
             "route \"blue 10.9.0.0/16\"", "nodes", "node \"hv2\" is listed twice"},
        Case{"segment required", [](State& s) { s.routes[0].segment = ""; },
             "route \"blue 10.9.0.0/16\"", "segment", "is required for a route to nodes"},
        Case{"segment exists", [](State& s) { s.routes[0].segment = "nowhere"; },
             "route \"blue 10.9.0.0/16\"", "segment", "no segment \"nowhere\""},
        Case{"segment of the same tenant", [](State& s) { s.routes[0].segment = "red-web"; },
             "route \"blue 10.9.0.0/16\"", "segment",
             "segment \"red-web\" belongs to tenant \"red\", not \"blue\""},
        Case{"tenant and prefix unique", [](State& s) { s.routes[3].prefix = s.routes[0].prefix; },
             "route \"blue 10.9.0.0/16\"", "prefix",
             "another route has the same tenant and prefix"},
        Case{"not a connected subnet", [](State& s) { s.routes[3].prefix = s.segments[1].subnet; },
             "route \"blue 10.0.2.0/24\"", "prefix",
             "is segment \"blue-db\"'s subnet, already a connected route"}));

INSTANTIATE_TEST_SUITE_P(
    Groups, ValidateRuleTest,
    ::testing::Values(
        Case{"name empty", [](State& s) { s.groups[1].name = ""; }, "group #1", "name", "is empty"},
        Case{"tenant exists", [](State& s) { s.groups[1].tenant = "green"; }, "group \"db\"",
             "tenant", "no tenant \"green\""},
        Case{"name unique in tenant", [](State& s) { s.groups[1].name = "web"; }, "group \"web\"",
             "name", "tenant \"blue\" already has a group of this name"},
        Case{"endpoint groups exist",
             [](State& s) {
               s.endpoints[1].groups = {"web", "app"};
             },
             "endpoint \"blue-web-2\"", "groups", "no group \"app\" in tenant \"blue\""},
        // red has no "db": blue's does not count.
        Case{"endpoint groups of the endpoint's tenant",
             [](State& s) { s.endpoints[4].groups = {"db"}; }, "endpoint \"red-web-1\"", "groups",
             "no group \"db\" in tenant \"red\""},
        Case{"endpoint groups listed once",
             [](State& s) {
               s.endpoints[1].groups = {"web", "web"};
             },
             "endpoint \"blue-web-2\"", "groups", "group \"web\" is listed twice"}));

INSTANTIATE_TEST_SUITE_P(
    Policies, ValidateRuleTest,
    ::testing::Values(
        Case{"rules capacity",
             [](State& s) {
               s.policies[0].rules.resize(WEFT_MAX_RULES + 1 - s.policies[1].rules.size());
             },
             "state", "policies",
             "too many rules for the configured capacity 10240 (10241 rules "
             "in all policies)"},
        Case{"name empty", [](State& s) { s.policies[1].name = ""; }, "policy #1", "name",
             "is empty"},
        Case{"name unique", [](State& s) { s.policies[1].name = "web-in"; }, "policy \"web-in\"",
             "name", "another policy has this name"},
        Case{"tenant exists", [](State& s) { s.policies[1].tenant = "green"; },
             "policy \"red-out\"", "tenant", "no tenant \"green\""},
        Case{"applied_to not empty", [](State& s) { s.policies[1].applied_to_endpoints.clear(); },
             "policy \"red-out\"", "applied_to", "names no group and no endpoint"},
        Case{"applied_to groups exist", [](State& s) { s.policies[0].applied_to_groups = {"app"}; },
             "policy \"web-in\"", "applied_to.groups", "no group \"app\" in tenant \"blue\""},
        Case{"applied_to groups of the tenant",
             [](State& s) { s.policies[1].applied_to_groups = {"db"}; }, "policy \"red-out\"",
             "applied_to.groups", "no group \"db\" in tenant \"red\""},
        Case{"applied_to groups once",
             [](State& s) {
               s.policies[0].applied_to_groups = {"web", "web"};
             },
             "policy \"web-in\"", "applied_to.groups", "group \"web\" is listed twice"},
        Case{"applied_to endpoints exist",
             [](State& s) { s.policies[0].applied_to_endpoints = {"vm9"}; }, "policy \"web-in\"",
             "applied_to.endpoints", "no endpoint \"vm9\""},
        Case{"applied_to endpoints of the tenant",
             [](State& s) { s.policies[0].applied_to_endpoints = {"red-web-1"}; },
             "policy \"web-in\"", "applied_to.endpoints",
             "endpoint \"red-web-1\" belongs to tenant \"red\", not "
             "\"blue\""},
        Case{"applied_to endpoints once",
             [](State& s) {
               s.policies[1].applied_to_endpoints = {"red-web-1", "red-web-1"};
             },
             "policy \"red-out\"", "applied_to.endpoints",
             "endpoint \"red-web-1\" is listed twice"}));

INSTANTIATE_TEST_SUITE_P(
    Rules, ValidateRuleTest,
    ::testing::Values(
        Case{"direction valid",
             [](State& s) { s.policies[0].rules[2].direction = static_cast<RuleDirection>(7); },
             "policy \"web-in\": rule 2", "direction", "is not ingress or egress"},
        Case{"peer cidr host bits",
             [](State& s) { s.policies[0].rules[0].peer_cidrs = {Prefix(Ip("10.0.2.1"), 24)}; },
             "policy \"web-in\": rule 0", "peer.cidrs",
             "10.0.2.1/24 has host bits set (the network is 10.0.2.0/24)"},
        Case{"peer cidr length",
             [](State& s) { s.policies[0].rules[0].peer_cidrs = {Prefix(Ip("10.0.2.0"), 33)}; },
             "policy \"web-in\": rule 0", "peer.cidrs", "prefix length 33 is over 32"},
        Case{"peer groups exist", [](State& s) { s.policies[0].rules[0].peer_groups = {"app"}; },
             "policy \"web-in\": rule 0", "peer.groups", "no group \"app\" in tenant \"blue\""},
        Case{"peer groups of the tenant",
             [](State& s) { s.policies[1].rules[0].peer_groups = {"db"}; },
             "policy \"red-out\": rule 0", "peer.groups", "no group \"db\" in tenant \"red\""},
        Case{"protocol valid",
             [](State& s) { s.policies[0].rules[2].protocol = static_cast<RuleProtocol>(9); },
             "policy \"web-in\": rule 2", "protocol", "is not any, tcp, udp or icmp"},
        Case{"ports not for any",
             [](State& s) {
               s.policies[0].rules[2].ports = {{80, 80}};
             },
             "policy \"web-in\": rule 2", "ports", "only for protocol tcp or udp"},
        Case{"ports not for icmp",
             [](State& s) {
               s.policies[0].rules[1].ports = {{80, 80}};
             },
             "policy \"web-in\": rule 1", "ports", "only for protocol tcp or udp"},
        Case{"range reversed",
             [](State& s) {
               s.policies[0].rules[0].ports = {{90, 80}};
             },
             "policy \"web-in\": rule 0", "ports", "range 90-80 is reversed"},
        Case{"port 0",
             [](State& s) {
               s.policies[0].rules[0].ports = {{0, 80}};
             },
             "policy \"web-in\": rule 0", "ports", "port 0 is outside 1..65535"},
        Case{"port over 65535",
             [](State& s) {
               s.policies[1].rules[0].ports = {{53, 65536}};
             },
             "policy \"red-out\": rule 0", "ports", "port 65536 is outside 1..65535"},
        Case{"icmp_type only for icmp", [](State& s) { s.policies[0].rules[0].icmp_type = 8; },
             "policy \"web-in\": rule 0", "icmp_type", "only for protocol icmp"},
        Case{"icmp_type not for any", [](State& s) { s.policies[0].rules[2].icmp_type = 0; },
             "policy \"web-in\": rule 2", "icmp_type", "only for protocol icmp"},
        Case{"icmp_type 0..255", [](State& s) { s.policies[0].rules[1].icmp_type = 256; },
             "policy \"web-in\": rule 1", "icmp_type", "ICMP type 256 is outside 0..255"},
        Case{"action valid",
             [](State& s) { s.policies[0].rules[2].action = static_cast<RuleAction>(3); },
             "policy \"web-in\": rule 2", "action", "is not allow, deny or reject"}));

}  // namespace
}  // namespace weft
