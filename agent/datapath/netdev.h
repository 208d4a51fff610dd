// Interface facts from the agent's own network namespace.
#ifndef WEFT_AGENT_DATAPATH_NETDEV_H_
#define WEFT_AGENT_DATAPATH_NETDEV_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace weft {

// 0 when there is no such interface (yet).
uint32_t InterfaceIndex(const std::string& name);
absl::StatusOr<uint16_t> InterfaceMtu(const std::string& name);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_NETDEV_H_
