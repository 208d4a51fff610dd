#include "common/model/features.h"

#include <algorithm>

namespace weft {
namespace {

// In the order of the bits.
constexpr const char* kFeatures[] = {kCapabilityIpv6Tenants, kCapabilityVlanBridging};
constexpr FeatureSet kIpv6Tenants = 1u << 0;
constexpr FeatureSet kVlanBridging = 1u << 1;

template <typename T>
FeatureSet FeaturesOfAll(const std::vector<T>& objects) {
  FeatureSet used = 0;
  for (const T& object : objects) used |= FeaturesOf(object);
  return used;
}

}  // namespace

FeatureSet FeaturesOf(const Segment& segment) {
  return (segment.subnet6 ? kIpv6Tenants : 0) | (segment.vlan_bridge ? kVlanBridging : 0);
}

FeatureSet FeaturesOf(const Route6&) { return kIpv6Tenants; }

FeatureSet FeaturesOf(const Policy& policy) {
  const bool ipv6 = std::any_of(policy.rules.begin(), policy.rules.end(),
                                [](const Rule& r) { return !r.peer_cidrs6.empty(); });
  return ipv6 ? kIpv6Tenants : 0;
}

FeatureSet FeaturesUsed(const State& state) {
  return FeaturesOfAll(state.segments) | FeaturesOfAll(state.routes6) |
         FeaturesOfAll(state.policies);
}

std::vector<std::string> Unrealized(FeatureSet used, const std::vector<std::string>& capabilities) {
  std::vector<std::string> out;
  for (size_t i = 0; i < std::size(kFeatures); ++i) {
    const char* name = kFeatures[i];
    if ((used & (1u << i)) &&
        std::find(capabilities.begin(), capabilities.end(), name) == capabilities.end()) {
      out.push_back(name);
    }
  }
  return out;
}

}  // namespace weft
