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

bool Contains(const std::vector<std::string>& list, const char* name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace

std::vector<std::string> FeaturesUsed(const std::vector<const Segment*>& segments) {
  std::vector<std::string> out;
  for (const auto& [capability, uses] : kFeatures) {
    if (std::any_of(segments.begin(), segments.end(), uses)) out.push_back(capability);
  }
  return out;
}

std::vector<std::string> Unrealized(const std::vector<std::vector<std::string>>& used,
                                    const std::vector<std::string>& capabilities) {
  std::vector<std::string> out;
  for (const auto& feature : kFeatures) {
    const char* name = feature.capability;
    if (!Contains(capabilities, name) &&
        std::any_of(used.begin(), used.end(),
                    [name](const std::vector<std::string>& u) { return Contains(u, name); })) {
      out.push_back(name);
    }
  }
  return out;
}

}  // namespace weft
