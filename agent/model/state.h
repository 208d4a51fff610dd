// The desired state of a Weft fleet (DESIGN.md §2), as the agent and the
// controller both hold it. Objects refer to each other by name; addresses are
// IPv4 in host byte order. Parsing lives in state_yaml.h, checking in
// validate.h; this header only describes.
#ifndef WEFT_AGENT_MODEL_STATE_H_
#define WEFT_AGENT_MODEL_STATE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace weft {

using MacAddress = std::array<uint8_t, 6>;

struct Ipv4Prefix {
  uint32_t addr = 0;  // host order, host bits zero
  uint8_t length = 0;

  uint32_t Mask() const;       // the `length` network bits set
  uint32_t Broadcast() const;  // last address: host bits all set
  bool Contains(uint32_t ip) const;
  bool Overlaps(const Ipv4Prefix& other) const;
  friend bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;
};

enum class FirewallAction { kAllow, kDeny };

// A hypervisor. A foreign node runs no Weft agent, only a kernel vxlan device.
struct Node {
  std::string name;
  uint32_t vtep = 0;
  bool foreign = false;
};

// A VRF: every lookup on the packet path is keyed by its id.
struct Tenant {
  std::string name;
  uint32_t id = 0;  // 1..2^32-1, unique
  FirewallAction default_action = FirewallAction::kAllow;
};

// A logical switch: one VNI, one subnet, an anycast gateway.
struct Segment {
  std::string name;
  std::string tenant;
  uint32_t vni = 0;  // 1..2^24-1, unique in the fleet
  Ipv4Prefix subnet;
  uint32_t gateway = 0;
  MacAddress gateway_mac{};
};

// A VM NIC. `interface` is the host-side interface name on `node`
// (required on Weft nodes, absent on foreign ones).
struct Endpoint {
  std::string name;
  std::string segment;
  uint32_t ip = 0;
  MacAddress mac{};
  std::string node;
  std::string interface;
};

// A static route in a tenant. Connected routes for segment subnets are
// implied and never written here. Either blackhole, or forwarded to the
// VTEPs of `nodes` (ECMP by flow hash when several) on segment `segment`.
struct Route {
  std::string tenant;
  Ipv4Prefix prefix;
  bool blackhole = false;
  std::vector<std::string> nodes;
  std::string segment;
};

struct State {
  uint64_t version = 0;
  std::vector<Node> nodes;
  std::vector<Tenant> tenants;
  std::vector<Segment> segments;
  std::vector<Endpoint> endpoints;
  std::vector<Route> routes;
};

}  // namespace weft

#endif  // WEFT_AGENT_MODEL_STATE_H_
