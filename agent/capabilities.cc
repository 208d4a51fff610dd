#include "agent/capabilities.h"

#include "common/model/features.h"

namespace weft {

const std::vector<std::string>& AgentCapabilities() {
  static const std::vector<std::string> kCapabilities = {"sotw", "chunked"};
  return kCapabilities;
}

std::vector<std::string> UnrealizedByThisAgent(const State& state) {
  return Unrealized(FeaturesUsed(state), AgentCapabilities());
}

}  // namespace weft
