#include "common/plan/tables.h"

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

// Expected bytes below spell host-order fields little-endian.
static_assert(std::endian::native == std::endian::little);

// Tenants blue (1) and red (2) both use 10.0.1.0/24 and the address
// 10.0.1.10; green (3) has nothing on hv1, so hv1's tables leave it out.
// Only blue and green have IPv6 subnets.
constexpr char kTablesState[] = R"yaml(
version: 7
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: hv2, vtep: 198.18.0.2}
  - {name: lx1, vtep: 198.18.0.3, foreign: true}
  - {name: hv3, vtep: 198.18.0.4}
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2}
  - {name: green, id: 3}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01", subnet6: "2001:db8:1::/64", gateway6: "2001:db8:1::1"}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
  - {name: green-web, tenant: green, vni: 3001, subnet: 10.0.3.0/24, gateway: 10.0.3.1, gateway_mac: "02:fe:00:00:00:03", subnet6: "2001:db8:3::/64", gateway6: "2001:db8:3::1"}
endpoints:
  - {name: blue-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vblue1, ip6: "2001:db8:1::10"}
  - {name: blue-2, segment: blue-web, ip: 10.0.1.11, mac: "02:00:00:01:01:11", node: hv2, interface: vblue2, ip6: "2001:db8:1::11"}
  - {name: blue-lx, segment: blue-web, ip: 10.0.1.30, mac: "02:00:00:01:01:30", node: lx1}
  - {name: blue-gone, segment: blue-web, ip: 10.0.1.12, mac: "02:00:00:01:01:12", node: hv1, interface: vgone}
  - {name: red-1, segment: red-web, ip: 10.0.1.10, mac: "02:00:00:02:01:10", node: hv1, interface: vred1}
  - {name: green-1, segment: green-web, ip: 10.0.3.10, mac: "02:00:00:03:01:10", node: hv3, interface: vgreen1}
routes:
  - {tenant: blue, prefix: 10.9.0.0/16, nodes: [hv2, lx1], segment: blue-web}
  - {tenant: blue, prefix: 10.66.0.0/16, blackhole: true}
  - {tenant: green, prefix: 10.8.0.0/16, nodes: [hv1], segment: green-web}
  - {tenant: blue, prefix: "2001:db8:9::/48", nodes: [hv2, lx1], segment: blue-web}
  - {tenant: blue, prefix: "2001:db8:7::/48", nodes: [hv2], segment: blue-web}
  - {tenant: blue, prefix: "2001:db8:66::/48", blackhole: true}
  - {tenant: green, prefix: "2001:db8:8::/48", nodes: [hv1], segment: green-web}
)yaml";

// A weft_routes6 key: prefixlen (32 + length), tenant (network order),
// the 16 address bytes.
std::string Route6KeyBytes(uint8_t tenant, const char* addr, uint8_t len) {
  const Ipv6Address a = weft::testing::Ip6(addr);
  return Bytes({static_cast<uint8_t>(32 + len), 0, 0, 0, 0, 0, 0, tenant}) +
         std::string(a.begin(), a.end());
}

uint32_t Resolve(const std::string& name) {
  if (name == "vblue1") return 7;
  if (name == "vred1") return 9;
  return 0;  // vgone: not (yet) created
}

class TablesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<State> state = ParseStateYaml(kTablesState, "tables.yaml");
    ASSERT_TRUE(state.ok()) << state.status();
    ASSERT_TRUE(ValidateState(*state).ok()) << ValidateState(*state);
    state_ = *state;
    absl::StatusOr<NodeTables> tables = BuildNodeTables(
        state_, {.node = "hv1", .underlay_ifindex = 2, .underlay_mtu = 1500}, Resolve);
    ASSERT_TRUE(tables.ok()) << tables.status();
    tables_ = *tables;
  }

  const MapTable& Table(const char* name) const {
    const MapTable* table = tables_.Find(name);
    EXPECT_NE(table, nullptr) << name;
    static const MapTable kEmpty;
    return table ? *table : kEmpty;
  }

  // The value under `key`, or "<absent>".
  std::string Value(const char* map, const std::string& key) const {
    const MapTable& table = Table(map);
    auto it = table.entries.find(key);
    return it == table.entries.end() ? "<absent>" : it->second;
  }

  State state_;
  NodeTables tables_;
};

TEST_F(TablesTest, TablesInWriteOrder) {
  std::vector<std::string> names;
  for (const MapTable& table : tables_.tables) names.push_back(table.map_name);
  EXPECT_EQ(names,
            (std::vector<std::string>{WEFT_MAP_CONFIG, WEFT_MAP_VTEPS, WEFT_MAP_VTEP6,
                                      WEFT_MAP_SEGMENTS, WEFT_MAP_SEGMENTS6, WEFT_MAP_EP_BY_IP,
                                      WEFT_MAP_EP_BY_IP6, WEFT_MAP_EP_BY_MAC, WEFT_MAP_EP_BY_IF,
                                      WEFT_MAP_UPLINKS, WEFT_MAP_ROUTES, WEFT_MAP_ROUTES6}));
  EXPECT_TRUE(Table(WEFT_MAP_UPLINKS).entries.empty());  // a hypervisor has none
  EXPECT_EQ(tables_.Find("weft_nothing"), nullptr);
}

TEST_F(TablesTest, Config) {
  EXPECT_EQ(Table(WEFT_MAP_CONFIG).entries.size(), 1u);
  EXPECT_EQ(Value(WEFT_MAP_CONFIG, Bytes({0, 0, 0, 0})),
            Bytes({2,    0,    0, 0,                 // underlay_ifindex
                   198,  18,   0, 1,                 // local_vtep_be
                   0xdc, 0x05, 0, 0,                 // underlay_mtu 1500, flags
                   0,    0,    0, 0,                 // pad1
                   30,   0,    0, 0,                 // ct.tcp_syn
                   0x10, 0x0e, 0, 0,                 // ct.tcp_established 3600
                   30,   0,    0, 0,                 // ct.tcp_closing
                   60,   0,    0, 0,                 // ct.udp
                   30,   0,    0, 0,                 // ct.icmp
                   0,    0,    0, 0,                 // ct.pad0
                   7,    0,    0, 0, 0, 0, 0, 0}));  // state_version
}

TEST_F(TablesTest, VtepsOfOtherNodesWithForeignFlag) {
  const MapTable& vteps = Table(WEFT_MAP_VTEPS);
  EXPECT_EQ(vteps.entries.size(), 3u);  // not hv1's own
  EXPECT_EQ(Value(WEFT_MAP_VTEPS, Bytes({198, 18, 0, 2})), Bytes({0, 0, 0, 0}));
  EXPECT_EQ(Value(WEFT_MAP_VTEPS, Bytes({198, 18, 0, 3})), Bytes({1, 0, 0, 0}));
  EXPECT_EQ(Value(WEFT_MAP_VTEPS, Bytes({198, 18, 0, 4})), Bytes({0, 0, 0, 0}));
}

TEST_F(TablesTest, AnIpv4UnderlayHasNoIpv6Vteps) {
  EXPECT_TRUE(Table(WEFT_MAP_VTEP6).entries.empty());
}

// The same fleet on IPv6 VTEPs: weft_vtep6 holds every node's address, this
// node's own marked, under the last 32 bits that every reference to it
// (config, endpoints, route next hops) is written as; weft_vteps is empty.
TEST_F(TablesTest, AnIpv6UnderlayNamesItsVtepsByTheirLast32Bits) {
  State state = state_;
  for (Node& node : state.nodes) {
    node.vtep = *ParseUnderlayAddress(absl::StrCat("2001:db8::ab:", node.vtep.v4 & 0xff));
  }
  ASSERT_TRUE(ValidateState(state).ok()) << ValidateState(state);
  absl::StatusOr<NodeTables> tables =
      BuildNodeTables(state, {.node = "hv1", .underlay_ifindex = 2, .underlay_mtu = 1500}, Resolve);
  ASSERT_TRUE(tables.ok()) << tables.status();
  auto value = [&](const char* map, const std::string& key) -> std::string {
    const MapTable* table = tables->Find(map);
    if (table == nullptr) return "<no table>";
    auto it = table->entries.find(key);
    return it == table->entries.end() ? "<absent>" : it->second;
  };
  const std::string config = value(WEFT_MAP_CONFIG, Bytes({0, 0, 0, 0}));
  ASSERT_EQ(config.size(), sizeof(weft_config));
  EXPECT_EQ(config.substr(4, 4), Bytes({0, 0xab, 0, 1})) << "local_vtep_be: hv1's reference";
  EXPECT_EQ(config.substr(10, 2), Bytes({WEFT_CONFIG_F_UNDERLAY6, 0})) << "flags";
  EXPECT_TRUE(tables->Find(WEFT_MAP_VTEPS)->entries.empty());
  EXPECT_EQ(tables->Find(WEFT_MAP_VTEP6)->entries.size(), 4u) << "hv1's own included";
  const std::string addr = Bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0});
  EXPECT_EQ(value(WEFT_MAP_VTEP6, Bytes({0, 0xab, 0, 1})),
            addr + Bytes({1, WEFT_VTEP_LOCAL, 0, 0, 0}));
  EXPECT_EQ(value(WEFT_MAP_VTEP6, Bytes({0, 0xab, 0, 2})), addr + Bytes({2, 0, 0, 0, 0}));
  EXPECT_EQ(value(WEFT_MAP_VTEP6, Bytes({0, 0xab, 0, 3})),
            addr + Bytes({3, WEFT_VTEP_FOREIGN, 0, 0, 0}));
  // blue-2 on hv2: its vtep_be (bytes 16..19) is hv2's reference.
  EXPECT_EQ(value(WEFT_MAP_EP_BY_IP, Bytes({1, 0, 0, 0, 10, 0, 1, 11})).substr(16, 4),
            Bytes({0, 0xab, 0, 2}));
  // 10.9.0.0/16 over hv2 and lx1: next hops (bytes 20.. of the value) are references.
  const std::string route = value(WEFT_MAP_ROUTES, Bytes({48, 0, 0, 0, 0, 0, 0, 1, 10, 9, 0, 0}));
  ASSERT_GE(route.size(), 28u) << route;
  EXPECT_EQ(route.substr(20, 8), Bytes({0, 0xab, 0, 2, 0, 0xab, 0, 3}));
  // So are an IPv6 route's: 2001:db8:9::/48 over the same two nodes.
  EXPECT_EQ(value(WEFT_MAP_ROUTES6, Route6KeyBytes(1, "2001:db8:9::", 48)), route);
}

TEST_F(TablesTest, SegmentsOfTheNodesTenantsOnly) {
  EXPECT_EQ(Table(WEFT_MAP_SEGMENTS).entries.size(), 2u);
  EXPECT_EQ(Value(WEFT_MAP_SEGMENTS, Bytes({0xe9, 0x03, 0, 0})),  // 1001
            Bytes({1, 0, 0, 0,                                    // tenant_id
                   10, 0, 1, 1,                                   // gateway_ip_be
                   0x02, 0xfe, 0, 0, 0, 0x01,                     // gateway_mac
                   0, 0}));                                       // pad0
  EXPECT_EQ(Value(WEFT_MAP_SEGMENTS, Bytes({0xd1, 0x07, 0, 0})),  // 2001
            Bytes({2, 0, 0, 0, 10, 0, 1, 1, 0x02, 0xfe, 0, 0, 0, 0x02, 0, 0}));
  EXPECT_EQ(Value(WEFT_MAP_SEGMENTS, Bytes({0xb9, 0x0b, 0, 0})),  // 3001
            "<absent>");
}

TEST_F(TablesTest, EndpointsLocalRemoteAndOverlapping) {
  const std::string blue1 = Bytes({1,    0,    0, 0,                 // tenant_id
                                   0xe9, 0x03, 0, 0,                 // vni 1001
                                   10,   0,    1, 10,                // ip_be
                                   7,    0,    0, 0,                 // ifindex
                                   0,    0,    0, 0,                 // vtep_be
                                   0x02, 0,    0, 0x01, 0x01, 0x10,  // mac
                                   0,    0});
  const std::string red1 = Bytes({2, 0, 0, 0, 0xd1, 0x07, 0,    0, 10, 0,    1,    10,   9, 0,
                                  0, 0, 0, 0, 0,    0,    0x02, 0, 0,  0x02, 0x01, 0x10, 0, 0});
  const std::string blue2 =
      Bytes({1,    0,  0, 0,    0xe9, 0x03, 0, 0, 10, 0, 1, 11, 0, 0, 0, 0,  // remote: no ifindex
             198,  18, 0, 2,                                                 // hv2
             0x02, 0,  0, 0x01, 0x01, 0x11, 0, 0});
  const std::string blue_lx = Bytes({1, 0,   0,  0, 0xe9, 0x03, 0, 0, 10,   0,    1,    30, 0, 0, 0,
                                     0, 198, 18, 0, 3,    0x02, 0, 0, 0x01, 0x01, 0x30, 0,  0});

  // Same address, two tenants: two keys.
  EXPECT_EQ(Value(WEFT_MAP_EP_BY_IP, Bytes({1, 0, 0, 0, 10, 0, 1, 10})), blue1);
  EXPECT_EQ(Value(WEFT_MAP_EP_BY_IP, Bytes({2, 0, 0, 0, 10, 0, 1, 10})), red1);
  EXPECT_EQ(Value(WEFT_MAP_EP_BY_IP, Bytes({1, 0, 0, 0, 10, 0, 1, 11})), blue2);
  EXPECT_EQ(Value(WEFT_MAP_EP_BY_IP, Bytes({1, 0, 0, 0, 10, 0, 1, 30})), blue_lx);
  // blue-gone's interface does not resolve; green has nothing on hv1.
  EXPECT_EQ(Value(WEFT_MAP_EP_BY_IP, Bytes({1, 0, 0, 0, 10, 0, 1, 12})), "<absent>");
  EXPECT_EQ(Table(WEFT_MAP_EP_BY_IP).entries.size(), 4u);

  EXPECT_EQ(Value(WEFT_MAP_EP_BY_MAC, Bytes({0xe9, 0x03, 0, 0,  // vni 1001
                                             0x02, 0, 0, 0x01, 0x01, 0x10, 0, 0})),
            blue1);
  EXPECT_EQ(
      Value(WEFT_MAP_EP_BY_MAC, Bytes({0xd1, 0x07, 0, 0, 0x02, 0, 0, 0x02, 0x01, 0x10, 0, 0})),
      red1);
  EXPECT_EQ(
      Value(WEFT_MAP_EP_BY_MAC, Bytes({0xe9, 0x03, 0, 0, 0x02, 0, 0, 0x01, 0x01, 0x30, 0, 0})),
      blue_lx);
  EXPECT_EQ(Table(WEFT_MAP_EP_BY_MAC).entries.size(), 4u);

  // Only resolved local interfaces.
  EXPECT_EQ(Value(WEFT_MAP_EP_BY_IF, Bytes({7, 0, 0, 0})), blue1);
  EXPECT_EQ(Value(WEFT_MAP_EP_BY_IF, Bytes({9, 0, 0, 0})), red1);
  EXPECT_EQ(Table(WEFT_MAP_EP_BY_IF).entries.size(), 2u);
  EXPECT_EQ(tables_.local_interfaces,
            (std::map<std::string, uint32_t>{{"vblue1", 7}, {"vred1", 9}}));
}

// Only segments with an IPv6 subnet, of the node's tenants (not green's).
TEST_F(TablesTest, Ipv6SideOfSegmentsOfTheNodesTenantsOnly) {
  EXPECT_EQ(Table(WEFT_MAP_SEGMENTS6).entries.size(), 1u);
  EXPECT_EQ(Value(WEFT_MAP_SEGMENTS6, Bytes({0xe9, 0x03, 0, 0})),               // 1001
            Bytes({0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,  // gateway
                   0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0}));                       // prefix
}

// Endpoints with an IPv6 address, by tenant and address; the value is the
// one of the other indexes.
TEST_F(TablesTest, EndpointsByIpv6Address) {
  auto key = [](uint8_t tenant, uint8_t last) {
    return Bytes({tenant, 0, 0, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, last});
  };
  EXPECT_EQ(Table(WEFT_MAP_EP_BY_IP6).entries.size(), 2u);
  EXPECT_EQ(Value(WEFT_MAP_EP_BY_IP6, key(1, 0x10)),
            Value(WEFT_MAP_EP_BY_IP, Bytes({1, 0, 0, 0, 10, 0, 1, 10})));
  EXPECT_EQ(Value(WEFT_MAP_EP_BY_IP6, key(1, 0x11)),
            Value(WEFT_MAP_EP_BY_IP, Bytes({1, 0, 0, 0, 10, 0, 1, 11})));
  EXPECT_EQ(Value(WEFT_MAP_EP_BY_IP6, key(2, 0x10)), "<absent>");  // red-1 has no ip6
}

TEST_F(TablesTest, RoutesConnectedRemoteEcmpAndBlackhole) {
  auto key = [](uint8_t tenant, std::initializer_list<uint8_t> addr, uint8_t len) {
    std::string k = Bytes({static_cast<uint8_t>(32 + len), 0, 0, 0,  // prefixlen
                           0, 0, 0, tenant});                        // tenant_id_be
    return k + Bytes(addr);
  };
  // Connected: same subnet, two tenants, two keys.
  EXPECT_EQ(Value(WEFT_MAP_ROUTES, key(1, {10, 0, 1, 0}, 24)),
            Bytes({1,    0,    0, 0,              // CONNECTED
                   0xe9, 0x03, 0, 0,              // vni 1001
                   0,    0,    0, 0,              // nhop_count
                   0,    0,    0, 0, 0, 0, 0, 0,  // gateway_mac, pad0
                   0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                   0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(
      Value(WEFT_MAP_ROUTES, key(2, {10, 0, 1, 0}, 24)),
      Bytes({1, 0, 0, 0, 0xd1, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
             0, 0, 0, 0, 0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(
      Value(WEFT_MAP_ROUTES, key(1, {10, 9, 0, 0}, 16)),
      Bytes({2,    0,    0, 0,                   // REMOTE
             0xe9, 0x03, 0, 0,                   // vni 1001
             2,    0,    0, 0,                   // nhop_count
             0x02, 0xfe, 0, 0, 0,   0x01, 0, 0,  // gateway_mac, pad0
             198,  18,   0, 2, 198, 18,   0, 3,  // hv2, lx1
             0,    0,    0, 0, 0,   0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Value(WEFT_MAP_ROUTES, key(1, {10, 66, 0, 0}, 16)),
            Bytes({3, 0, 0, 0,  // BLACKHOLE
                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Table(WEFT_MAP_ROUTES).entries.size(), 4u);  // not green's
}

// weft_routes6 holds the same values as weft_routes: the node's tenants'
// IPv6 subnets (red has none), their IPv6 routes (not green's).
TEST_F(TablesTest, Ipv6RoutesConnectedRemoteEcmpAndBlackhole) {
  EXPECT_EQ(Route6KeyBytes(1, "2001:db8:9::", 48),
            Bytes({80,   0,    0,    0,                                            // prefixlen
                   0,    0,    0,    1,                                            // tenant_id_be
                   0x20, 0x01, 0x0d, 0xb8, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));  // addr
  EXPECT_EQ(Value(WEFT_MAP_ROUTES6, Route6KeyBytes(1, "2001:db8:1::", 64)),
            Bytes({1,    0,    0, 0,              // CONNECTED
                   0xe9, 0x03, 0, 0,              // vni 1001
                   0,    0,    0, 0,              // nhop_count
                   0,    0,    0, 0, 0, 0, 0, 0,  // gateway_mac, pad0
                   0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                   0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(
      Value(WEFT_MAP_ROUTES6, Route6KeyBytes(1, "2001:db8:9::", 48)),
      Bytes({2,    0,    0, 0,                   // REMOTE
             0xe9, 0x03, 0, 0,                   // vni 1001
             2,    0,    0, 0,                   // nhop_count
             0x02, 0xfe, 0, 0, 0,   0x01, 0, 0,  // gateway_mac, pad0
             198,  18,   0, 2, 198, 18,   0, 3,  // hv2, lx1
             0,    0,    0, 0, 0,   0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Value(WEFT_MAP_ROUTES6, Route6KeyBytes(1, "2001:db8:7::", 48)),
            Bytes({2,    0,    0, 0,                 // REMOTE
                   0xe9, 0x03, 0, 0,                 // vni 1001
                   1,    0,    0, 0,                 // one next hop
                   0x02, 0xfe, 0, 0, 0, 0x01, 0, 0,  // gateway_mac, pad0
                   198,  18,   0, 2,                 // hv2
                   0,    0,    0, 0, 0, 0,    0, 0, 0, 0, 0, 0, 0, 0,
                   0,    0,    0, 0, 0, 0,    0, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(Value(WEFT_MAP_ROUTES6, Route6KeyBytes(1, "2001:db8:66::", 48)),
            Value(WEFT_MAP_ROUTES, Bytes({48, 0, 0, 0, 0, 0, 0, 1, 10, 66, 0, 0})))
      << "a blackhole, as the IPv4 one";
  EXPECT_EQ(Value(WEFT_MAP_ROUTES6, Route6KeyBytes(3, "2001:db8:3::", 64)), "<absent>");
  EXPECT_EQ(Value(WEFT_MAP_ROUTES6, Route6KeyBytes(3, "2001:db8:8::", 48)), "<absent>");
  EXPECT_EQ(Table(WEFT_MAP_ROUTES6).entries.size(), 4u);
}

TEST_F(TablesTest, SameStateSameBytes) {
  absl::StatusOr<NodeTables> again = BuildNodeTables(
      state_, {.node = "hv1", .underlay_ifindex = 2, .underlay_mtu = 1500}, Resolve);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->tables.size(), tables_.tables.size());
  for (size_t i = 0; i < tables_.tables.size(); ++i) {
    EXPECT_EQ(again->tables[i].entries, tables_.tables[i].entries) << tables_.tables[i].map_name;
  }
}

TEST_F(TablesTest, OtherNodeSeesItsOwnView) {
  absl::StatusOr<NodeTables> hv3 = BuildNodeTables(
      state_, {.node = "hv3"}, [](const std::string& name) { return name == "vgreen1" ? 4u : 0u; });
  ASSERT_TRUE(hv3.ok()) << hv3.status();
  EXPECT_EQ(hv3->Find(WEFT_MAP_SEGMENTS)->entries.size(), 1u);
  EXPECT_EQ(hv3->Find(WEFT_MAP_EP_BY_IP)->entries.size(), 1u);
  EXPECT_EQ(hv3->Find(WEFT_MAP_ROUTES)->entries.size(), 2u);
  // green's IPv6 subnet and route through hv1.
  EXPECT_EQ(hv3->Find(WEFT_MAP_ROUTES6)->entries.size(), 2u);
  EXPECT_EQ(hv3->Find(WEFT_MAP_ROUTES6)->entries.count(Route6KeyBytes(3, "2001:db8:8::", 48)), 1u);
  EXPECT_EQ(hv3->Find(WEFT_MAP_VTEPS)->entries.count(Bytes({198, 18, 0, 1})), 1u);
  EXPECT_EQ(hv3->Find(WEFT_MAP_VTEPS)->entries.count(Bytes({198, 18, 0, 4})), 0u);
}

TEST_F(TablesTest, UnknownOrForeignNodeIsAnError) {
  EXPECT_EQ(BuildNodeTables(state_, {.node = "hv9"}, Resolve).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(BuildNodeTables(state_, {.node = "lx1"}, Resolve).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

// An edge, edge1, carries blue's uplink on VLAN 100 of its trunk and red's
// on the plain link up-red, which is missing; green has nothing on edge1.
// Each tenant has a static upstream route through the edges.
constexpr char kEdgeState[] = R"yaml(
version: 3
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: edge1, vtep: 198.18.0.11, role: edge}
  - {name: edge2, vtep: 198.18.0.12, role: edge}
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2}
  - {name: green, id: 3}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01", subnet6: "2001:db8:1::/64", gateway6: "2001:db8:1::1"}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
  - {name: green-web, tenant: green, vni: 3001, subnet: 10.0.3.0/24, gateway: 10.0.3.1, gateway_mac: "02:fe:00:00:00:03", subnet6: "2001:db8:3::/64", gateway6: "2001:db8:3::1"}
endpoints:
  - {name: blue-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vblue1}
  - {name: red-1, segment: red-web, ip: 10.0.1.10, mac: "02:00:00:02:01:10", node: hv1, interface: vred1}
  - {name: green-1, segment: green-web, ip: 10.0.3.10, mac: "02:00:00:03:01:10", node: hv1, interface: vgreen1}
routes:
  - {tenant: blue, prefix: 10.200.0.0/24, nodes: [edge1, edge2], segment: blue-web}
  - {tenant: red, prefix: 10.200.0.0/24, nodes: [edge1], segment: red-web}
  - {tenant: red, prefix: 10.201.0.0/24, nodes: [edge1, edge2], segment: red-web}
  - {tenant: green, prefix: 10.200.0.0/24, nodes: [edge1], segment: green-web}
  - {tenant: blue, prefix: "2001:db8:200::/48", nodes: [edge1, edge2], segment: blue-web}
uplinks:
  - {name: blue-e1, node: edge1, tenant: blue, interface: trunk, vlan: 100, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001}
  - {name: blue-e2, node: edge2, tenant: blue, interface: trunk, vlan: 100, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001}
  - {name: red-e1, node: edge1, tenant: red, interface: up-red, transit: 192.0.2.8/30, address: 192.0.2.10, peer: 192.0.2.9, peer_as: 64500, local_as: 65002}
)yaml";

// A fake resolver: edge1's kernel has blue's VLAN subinterface, not red's link.
uint32_t ResolveOnEdge(const std::string& name) { return name == "trunk.100" ? 21 : 0; }
MacAddress FakeMacOf(uint32_t ifindex) {
  return {0x02, 0xaa, 0, 0, 0, static_cast<uint8_t>(ifindex)};
}

std::string RouteKeyBytes(uint8_t tenant, std::initializer_list<uint8_t> addr, uint8_t len) {
  return Bytes({static_cast<uint8_t>(32 + len), 0, 0, 0, 0, 0, 0, tenant}) + Bytes(addr);
}

class EdgeTablesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<State> state = ParseStateYaml(kEdgeState, "edge.yaml");
    ASSERT_TRUE(state.ok()) << state.status();
    ASSERT_TRUE(ValidateState(*state).ok()) << ValidateState(*state);
    state_ = *state;
  }

  NodeTables Build(const char* node, const InterfaceResolver& resolve) {
    absl::StatusOr<NodeTables> tables = BuildNodeTables(state_, {.node = node}, resolve, FakeMacOf);
    EXPECT_TRUE(tables.ok()) << tables.status();
    return tables.ok() ? *tables : NodeTables{};
  }

  static std::string Value(const NodeTables& tables, const char* map, const std::string& key) {
    const MapTable* table = tables.Find(map);
    if (table == nullptr) return "<no table>";
    auto it = table->entries.find(key);
    return it == table->entries.end() ? "<absent>" : it->second;
  }

  State state_;
};

TEST(UplinkDeviceTest, VlanSubinterfaceOrThePlainLink) {
  Uplink uplink{.interface = "eth1"};
  EXPECT_EQ(UplinkDevice(uplink), "eth1");
  uplink.vlan = 101;
  EXPECT_EQ(UplinkDevice(uplink), "eth1.101");
}

TEST_F(EdgeTablesTest, UplinksOfThisEdgeThatResolve) {
  const NodeTables edge1 = Build("edge1", ResolveOnEdge);
  EXPECT_EQ(Value(edge1, WEFT_MAP_UPLINKS, Bytes({21, 0, 0, 0})),
            Bytes({1,    0,    0, 0,         // tenant_id blue
                   192,  0,    2, 2,         // address_be
                   192,  0,    2, 1,         // peer_be
                   0x02, 0xaa, 0, 0, 0, 21,  // mac of ifindex 21
                   0,    0}));               // pad0
  // red's link is missing: no entry until it is there.
  EXPECT_EQ(edge1.Find(WEFT_MAP_UPLINKS)->entries.size(), 1u);
  EXPECT_EQ(edge1.uplink_interfaces, (std::map<std::string, uint32_t>{{"trunk.100", 21}}));
  EXPECT_TRUE(edge1.local_interfaces.empty());
}

TEST_F(EdgeTablesTest, RouteThroughThisEdgeLeavesByItsUplink) {
  const NodeTables edge1 = Build("edge1", ResolveOnEdge);
  EXPECT_EQ(Value(edge1, WEFT_MAP_ROUTES, RouteKeyBytes(1, {10, 200, 0, 0}, 24)),
            Bytes({4,   0, 0, 0,              // UPLINK
                   21,  0, 0, 0,              // ifindex (the VNI's place)
                   1,   0, 0, 0,              // nhop_count
                   0,   0, 0, 0, 0, 0, 0, 0,  // gateway_mac, pad0
                   192, 0, 2, 1,              // the uplink's peer
                   0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                   0,   0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  // red's uplink is not there: its route through edge1 alone has nowhere
  // to go; the one through edge2 too goes to edge2 meanwhile.
  EXPECT_EQ(Value(edge1, WEFT_MAP_ROUTES, RouteKeyBytes(2, {10, 200, 0, 0}, 24)), "<absent>");
  EXPECT_EQ(Value(edge1, WEFT_MAP_ROUTES, RouteKeyBytes(2, {10, 201, 0, 0}, 24)),
            Bytes({2,    0,    0, 0,                  // REMOTE
                   0xd1, 0x07, 0, 0,                  // vni 2001
                   1,    0,    0, 0,                  // nhop_count
                   0x02, 0xfe, 0, 0,  0, 0x02, 0, 0,  // gateway_mac, pad0
                   198,  18,   0, 12,                 // edge2
                   0,    0,    0, 0,  0, 0,    0, 0, 0, 0, 0, 0, 0, 0,
                   0,    0,    0, 0,  0, 0,    0, 0, 0, 0, 0, 0, 0, 0}));
}

// Uplinks carry IPv4 only: on edge1, whose blue uplink is there, blue's
// IPv6 route through both edges goes to both VTEPs, edge1's own included,
// as an IPv4 route of a tenant without an uplink here would.
TEST_F(EdgeTablesTest, AnIpv6RouteNeverLeavesByAnUplink) {
  const NodeTables edge1 = Build("edge1", ResolveOnEdge);
  EXPECT_EQ(
      Value(edge1, WEFT_MAP_ROUTES6, Route6KeyBytes(1, "2001:db8:200::", 48)),
      Bytes({2,    0,    0, 0,                     // REMOTE, not UPLINK
             0xe9, 0x03, 0, 0,                     // vni 1001
             2,    0,    0, 0,                     // nhop_count
             0x02, 0xfe, 0, 0,  0,   0x01, 0, 0,   // gateway_mac, pad0
             198,  18,   0, 11, 198, 18,   0, 12,  // edge1, edge2
             0,    0,    0, 0,  0,   0,    0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
}

TEST_F(EdgeTablesTest, TheEdgesTenantsAreThoseOfItsUplinks) {
  const NodeTables edge1 = Build("edge1", ResolveOnEdge);
  // blue and red (their uplinks), with the endpoints traffic from upstream
  // goes to; not green, whose route names edge1 but has no uplink there.
  EXPECT_EQ(edge1.Find(WEFT_MAP_SEGMENTS)->entries.size(), 2u);
  EXPECT_EQ(edge1.Find(WEFT_MAP_EP_BY_IP)->entries.size(), 2u);
  EXPECT_EQ(Value(edge1, WEFT_MAP_ROUTES, RouteKeyBytes(3, {10, 200, 0, 0}, 24)), "<absent>");
  // connected blue and red, blue's upstream route, red's through edge2
  EXPECT_EQ(edge1.Find(WEFT_MAP_ROUTES)->entries.size(), 4u);
}

TEST_F(EdgeTablesTest, ElsewhereTheRouteGoesToTheEdges) {
  const NodeTables hv1 = Build("hv1", [](const std::string&) { return 5u; });
  EXPECT_TRUE(hv1.Find(WEFT_MAP_UPLINKS)->entries.empty());
  EXPECT_TRUE(hv1.uplink_interfaces.empty());
  EXPECT_EQ(
      Value(hv1, WEFT_MAP_ROUTES, RouteKeyBytes(1, {10, 200, 0, 0}, 24)),
      Bytes({2,    0,    0, 0,                     // REMOTE
             0xe9, 0x03, 0, 0,                     // vni 1001
             2,    0,    0, 0,                     // ECMP over both edges
             0x02, 0xfe, 0, 0,  0,   0x01, 0, 0,   // gateway_mac, pad0
             198,  18,   0, 11, 198, 18,   0, 12,  // edge1, edge2
             0,    0,    0, 0,  0,   0,    0, 0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  // edge2 carries blue's uplink, but its interface is not there (yet): the
  // route goes to edge1 meanwhile.
  const NodeTables edge2 = Build("edge2", [](const std::string&) { return 0u; });
  EXPECT_EQ(
      Value(edge2, WEFT_MAP_ROUTES, RouteKeyBytes(1, {10, 200, 0, 0}, 24)),
      Bytes({2, 0, 0, 0, 0xe9, 0x03, 0, 0, 1, 0, 0, 0, 0x02, 0xfe, 0, 0, 0, 0x01, 0,
             0,               // gateway_mac,
                              // pad0
             198, 18, 0, 11,  // edge1 only
             0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace weft
