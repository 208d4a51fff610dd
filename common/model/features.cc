#include "common/model/features.h"

#include <algorithm>

namespace weft {
namespace {

const struct {
  const char* capability;
  bool (*uses)(const Segment*);
} kFeatures[] = {
    {kCapabilityIpv6Tenants, [](const Segment* s) { return s->subnet6.has_value(); }},
    {kCapabilityVlanBridging, [](const Segment* s) { return s->vlan_bridge.has_value(); }},
};

}  // namespace

FeatureSet FeaturesUsed(const std::vector<const Segment*>& segments) {
  FeatureSet used = 0;
  for (size_t i = 0; i < std::size(kFeatures); ++i) {
    if (std::any_of(segments.begin(), segments.end(), kFeatures[i].uses)) used |= 1u << i;
  }
  return used;
}

std::vector<std::string> Unrealized(FeatureSet used, const std::vector<std::string>& capabilities) {
  std::vector<std::string> out;
  for (size_t i = 0; i < std::size(kFeatures); ++i) {
    const char* name = kFeatures[i].capability;
    if ((used & (1u << i)) &&
        std::find(capabilities.begin(), capabilities.end(), name) == capabilities.end()) {
      out.push_back(name);
    }
  }
  return out;
}

}  // namespace weft
