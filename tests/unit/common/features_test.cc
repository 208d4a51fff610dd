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
  EXPECT_EQ(Unrealized(FeaturesUsed({}), none), FeatureList{});
  EXPECT_EQ(Unrealized(FeaturesUsed({&plain}), none), FeatureList{});
  EXPECT_EQ(Unrealized(FeaturesUsed({&bridged, &plain, &dual}), none),
            (FeatureList{kCapabilityIpv6Tenants, kCapabilityVlanBridging}))
      << "in the order of the list, whatever the segments' order";
  // Two tenants' sets: their union, less what the agent announces.
  const FeatureSet used = FeaturesUsed({&bridged}) | FeaturesUsed({&dual});
  EXPECT_EQ(used, FeaturesUsed({&dual, &bridged}));
  EXPECT_EQ(Unrealized(used, {"sotw", "chunked"}),
            (FeatureList{kCapabilityIpv6Tenants, kCapabilityVlanBridging}));
  EXPECT_EQ(Unrealized(used, {kCapabilityVlanBridging}), FeatureList{kCapabilityIpv6Tenants});
  EXPECT_EQ(Unrealized(used, {kCapabilityIpv6Tenants, kCapabilityVlanBridging}), FeatureList{});
}

}  // namespace
}  // namespace weft
