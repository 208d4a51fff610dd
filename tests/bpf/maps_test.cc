// The typed read layer (agent/datapath/maps/) against the loaded maps: what
// the fixture's Apply wrote reads back through the typed readers.
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <algorithm>
#include <string>

#include "agent/datapath/maps/conntrack.h"
#include "agent/datapath/maps/endpoints.h"
#include "agent/datapath/maps/entries.h"
#include "agent/datapath/maps/fill.h"
#include "agent/datapath/maps/policy.h"
#include "agent/datapath/maps/routes.h"
#include "tests/bpf/fixture.h"

namespace weft::testing {
namespace {

using MapsTest = BpfTest;

// `entries` in MapTable's form, to compare with what the plan wrote.
template <typename Key, typename Value>
MapTable AsTable(const std::vector<Entry<Key, Value>>& entries) {
  MapTable table;
  for (const auto& [key, value] : entries) table.Put(key, value);
  return table;
}

TEST_F(MapsTest, EndpointsReadBackAsApplied) {
  auto endpoints = ReadEndpointsByIp(dp());
  ASSERT_TRUE(endpoints.ok()) << endpoints.status();
  const MapTable* applied = env().tables.Find(WEFT_MAP_EP_BY_IP);
  ASSERT_NE(applied, nullptr);
  EXPECT_FALSE(endpoints->empty());
  EXPECT_EQ(AsTable(*endpoints).entries, applied->entries);
}

TEST_F(MapsTest, RoutesReadBackAsAppliedInTenantAddressOrder) {
  auto routes = ReadRoutes(dp());
  ASSERT_TRUE(routes.ok()) << routes.status();
  const MapTable* applied = env().tables.Find(WEFT_MAP_ROUTES);
  ASSERT_NE(applied, nullptr);
  EXPECT_EQ(AsTable(*routes).entries, applied->entries);
  EXPECT_TRUE(std::is_sorted(routes->begin(), routes->end(), [](const auto& a, const auto& b) {
    return std::tuple(ntohl(a.key.tenant_id_be), ntohl(a.key.addr_be), a.key.prefixlen) <
           std::tuple(ntohl(b.key.tenant_id_be), ntohl(b.key.addr_be), b.key.prefixlen);
  }));
}

TEST_F(MapsTest, ReadingWithTheWrongTypesFails) {
  auto wrong = ReadEntries<weft_ip_key, weft_route>(dp(), Map::kEpByIp);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInternal) << wrong.status();
}

TEST_F(MapsTest, ConntrackEntryReadsBackAsItsInitiatorSentIt) {
  // 10.0.1.10:40000 -> 10.0.1.11:53, the initiator on the high side.
  const weft_ct_key key{.tenant_id = 4242,
                        .addr_lo_be = htonl(Ip("10.0.1.10")),
                        .addr_hi_be = htonl(Ip("10.0.1.11")),
                        .port_lo_be = htons(40000),
                        .port_hi_be = htons(53),
                        .protocol = 17};
  weft_ct_entry value{};
  value.packets[0] = 3;
  value.state = WEFT_CT_ESTABLISHED;
  ASSERT_EQ(bpf_map_update_elem(dp().MapFd(Map::kCt), &key, &value, BPF_ANY), 0);
  auto entries = ReadConntrack(dp());
  bpf_map_delete_elem(dp().MapFd(Map::kCt), &key);
  ASSERT_TRUE(entries.ok()) << entries.status();
  auto it = std::find_if(entries->begin(), entries->end(),
                         [](const ConntrackEntry& e) { return e.key.tenant_id == 4242; });
  ASSERT_NE(it, entries->end());
  EXPECT_EQ(it->value.packets[0], 3u);
  EXPECT_EQ(CtStateName(it->value.state), "established");
  const ConntrackFlow flow = FlowOf(*it);
  EXPECT_EQ(flow.src, Ip("10.0.1.11"));
  EXPECT_EQ(flow.sport, 53);
  EXPECT_EQ(flow.dst, Ip("10.0.1.10"));
  EXPECT_EQ(flow.dport, 40000);
  it->value.flags = WEFT_CT_F_ORIG_IS_LO;
  EXPECT_EQ(FlowOf(*it).src, Ip("10.0.1.10"));
  EXPECT_EQ(FlowOf(*it).dport, 53);
}

TEST_F(MapsTest, PolicyRulesAreReadPerSlot) {
  const int fd = dp().MapFd(Map::kPolRules);
  const weft_rule_key in_slot1{1, 7}, in_slot0{0, 7};
  const weft_rule deny{WEFT_ACTION_DENY, WEFT_RULE_F_LOG}, allow{WEFT_ACTION_ALLOW, 0};
  ASSERT_EQ(bpf_map_update_elem(fd, &in_slot1, &deny, BPF_ANY), 0);
  ASSERT_EQ(bpf_map_update_elem(fd, &in_slot0, &allow, BPF_ANY), 0);
  auto slot1 = ReadPolicyRules(dp(), 1);
  auto looked_up = LookupPolicyRule(dp(), 1, 7);
  auto missing = LookupPolicyRule(dp(), 1, 8);
  bpf_map_delete_elem(fd, &in_slot1);
  bpf_map_delete_elem(fd, &in_slot0);
  ASSERT_TRUE(slot1.ok()) << slot1.status();
  ASSERT_EQ(slot1->size(), 1u);
  EXPECT_EQ(ActionName((*slot1)[0].value.action), "deny");
  ASSERT_TRUE(looked_up.ok()) << looked_up.status();
  EXPECT_EQ(looked_up->flags, WEFT_RULE_F_LOG);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(MapsTest, FillCountsTheKeyedMaps) {
  const std::vector<Map> keyed = KeyedMaps(dp());
  EXPECT_EQ(std::count(keyed.begin(), keyed.end(), Map::kStats), 0);
  ASSERT_EQ(std::count(keyed.begin(), keyed.end(), Map::kEpByIp), 1);
  auto fill = ReadMapFill(dp(), Map::kEpByIp);
  ASSERT_TRUE(fill.ok()) << fill.status();
  EXPECT_EQ(fill->name, WEFT_MAP_EP_BY_IP);
  EXPECT_EQ(fill->entries, env().tables.Find(WEFT_MAP_EP_BY_IP)->entries.size());
  EXPECT_EQ(fill->capacity, uint64_t{WEFT_MAX_ENDPOINTS});
}

}  // namespace
}  // namespace weft::testing
