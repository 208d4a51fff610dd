// The few rtnetlink requests an edge's agent makes to set up its uplinks
// (agent/edge/uplink_links.h), in its own network namespace: no `ip`
// binary, no library. Each call opens a socket, sends one request and waits
// for the kernel's answer.
#ifndef WEFT_AGENT_EDGE_RTNETLINK_H_
#define WEFT_AGENT_EDGE_RTNETLINK_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/model/state.h"

namespace weft::edge {

// What the agent needs to know of an existing link.
struct LinkFacts {
  uint32_t ifindex = 0;
  MacAddress mac{};
  bool up = false;  // administratively (IFF_UP)
  // A VLAN device: its parent's ifindex and its VLAN id; else both 0.
  uint32_t vlan_parent = 0;
  uint16_t vlan_id = 0;
};

// std::nullopt when there is no such link.
absl::StatusOr<std::optional<LinkFacts>> LinkNamed(const std::string& name);
absl::StatusOr<std::optional<LinkFacts>> LinkWithIndex(uint32_t ifindex);

// An 802.1Q device `name` on `parent`, created down.
absl::Status CreateVlan(const std::string& name, uint32_t parent, uint16_t vlan_id);
// Gone already: fine.
absl::Status DeleteLink(uint32_t ifindex);
absl::Status SetLinkUp(uint32_t ifindex);

// IPv4 `address`/`length` (host order) on the link; there already: fine.
absl::Status AddAddress(uint32_t ifindex, uint32_t address, uint8_t length);
// Not there: fine.
absl::Status DeleteAddress(uint32_t ifindex, uint32_t address, uint8_t length);

}  // namespace weft::edge

#endif  // WEFT_AGENT_EDGE_RTNETLINK_H_
