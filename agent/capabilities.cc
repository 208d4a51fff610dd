#include "agent/capabilities.h"

#include "common/model/features.h"

namespace weft {

const std::vector<std::string>& AgentCapabilities() {
  // ipv6-tenants: the datapath switches, routes and polices tenants' IPv6
  // (docs/design/DUAL_STACK.md).
  static const std::vector<std::string> kCapabilities = {"sotw", "chunked", kCapabilityIpv6Tenants};
  return kCapabilities;
}

std::vector<std::string> UnrealizedByThisAgent(const State& state) {
  return Unrealized(FeaturesUsed(state), AgentCapabilities());
}

}  // namespace weft
