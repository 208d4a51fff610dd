// The state's features an agent realizes only when it announces them
// (common/model/features.h), and what is left unrealized.
#include "common/model/features.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/model/net_format.h"

namespace weft {
namespace {

using FeatureList = std::vector<std::string>;

TEST(FeaturesTest, WhatSegmentsUseAndWhatAnAgentLeavesUnrealized) {
  Segment plain, dual, bridged;
  dual.subnet6 = *ParseIpv6Prefix("fd00:1:0:1::/64");
  bridged.vlan_bridge = VlanBridge{.node = "hv1", .trunk = "eth1", .vlan = 100};
  const FeatureList none;
  EXPECT_EQ(Unrealized(FeaturesUsed(State{}), none), FeatureList{});
  EXPECT_EQ(Unrealized(FeaturesOf(plain), none), FeatureList{});
  State all;
  all.segments = {bridged, plain, dual};
  EXPECT_EQ(Unrealized(FeaturesUsed(all), none),
            (FeatureList{kCapabilityIpv6Tenants, kCapabilityVlanBridging}))
      << "in the order of the list, whatever the segments' order";
  // Two tenants' sets: their union, less what the agent announces.
  const FeatureSet used = FeaturesOf(bridged) | FeaturesOf(dual);
  EXPECT_EQ(used, FeaturesUsed(all));
  EXPECT_EQ(Unrealized(used, {"sotw", "chunked"}),
            (FeatureList{kCapabilityIpv6Tenants, kCapabilityVlanBridging}));
  EXPECT_EQ(Unrealized(used, {kCapabilityVlanBridging}), FeatureList{kCapabilityIpv6Tenants});
  EXPECT_EQ(Unrealized(used, {kCapabilityIpv6Tenants, kCapabilityVlanBridging}), FeatureList{});
}

TEST(FeaturesTest, AnIpv6RouteOrPeerPrefixUsesIpv6WithoutAnIpv6Segment) {
  State routed;
  routed.routes6.push_back(Route6{.tenant = "blue", .prefix = *ParseIpv6Prefix("2001:db8::/48")});
  EXPECT_EQ(Unrealized(FeaturesUsed(routed), {}), FeatureList{kCapabilityIpv6Tenants});

  Policy policy;
  policy.rules.resize(2);
  policy.rules[0].peer_cidrs.push_back(*ParseIpv4Prefix("10.0.0.0/8"));
  EXPECT_EQ(FeaturesOf(policy), 0u) << "IPv4 peers only";
  policy.rules[1].peer_cidrs6.push_back(*ParseIpv6Prefix("2001:db8::/32"));
  State policed;
  policed.policies.push_back(policy);
  EXPECT_EQ(Unrealized(FeaturesUsed(policed), {}), FeatureList{kCapabilityIpv6Tenants});
  EXPECT_EQ(Unrealized(FeaturesUsed(policed), {kCapabilityIpv6Tenants}), FeatureList{});
}

}  // namespace
}  // namespace weft
