// The desired state of a Weft fleet (docs/ARCHITECTURE.md §2), as the agent and the
// controller both hold it. Objects refer to each other by name; addresses are
// IPv4 in host byte order. Parsing lives in state_yaml.h, checking in
// validate.h; this header only describes.
#ifndef WEFT_COMMON_MODEL_STATE_H_
#define WEFT_COMMON_MODEL_STATE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace weft {

using MacAddress = std::array<uint8_t, 6>;
using Ipv6Address = std::array<uint8_t, 16>;  // network order

// An address of either family: IPv4 (host order), or IPv6. A VTEP's underlay
// address (a fleet's VTEPs are all of one family, validate.h), and the
// addresses of a traced packet (agent/api/trace_frame.h).
struct UnderlayAddress {
  uint32_t v4 = 0;
  std::optional<Ipv6Address> v6;

  UnderlayAddress() = default;
  UnderlayAddress(uint32_t ipv4) : v4(ipv4) {}  // NOLINT: an IPv4 address is one

  bool is_v6() const { return v6.has_value(); }
  // How the datapath's maps name this VTEP (weft_endpoint.vtep_be,
  // weft_route.nhops_be; docs/DATAPATH.md "IPv6 underlay"): the IPv4
  // address, or the last 32 bits of the IPv6 one, which validation keeps
  // unique among a fleet's VTEPs. Host order.
  uint32_t Ref() const;
  friend bool operator==(const UnderlayAddress&, const UnderlayAddress&) = default;
};

struct Ipv4Prefix {
  uint32_t addr = 0;  // host order, host bits zero
  uint8_t length = 0;

  uint32_t Mask() const;       // the `length` network bits set
  uint32_t Broadcast() const;  // last address: host bits all set
  bool Contains(uint32_t ip) const;
  bool Overlaps(const Ipv4Prefix& other) const;
  friend bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;
};

// An IPv6 prefix: a tenant segment's /64 (docs/design/DUAL_STACK.md §6).
struct Ipv6Prefix {
  Ipv6Address addr{};  // network order, host bits zero
  uint8_t length = 0;

  Ipv6Address Masked(const Ipv6Address& ip) const;  // `ip` with the host bits zero
  bool Contains(const Ipv6Address& ip) const;
  bool Overlaps(const Ipv6Prefix& other) const;
  friend bool operator==(const Ipv6Prefix&, const Ipv6Prefix&) = default;
};

enum class FirewallAction { kAllow, kDeny };

// An edge is a Weft node that carries uplinks (docs/NORTH_SOUTH.md); it
// may host endpoints too.
enum class NodeRole { kHypervisor, kEdge };

// A hypervisor, or an edge. A foreign node runs no Weft agent, only a kernel
// vxlan device (so it is never an edge).
struct Node {
  std::string name;
  UnderlayAddress vtep;
  bool foreign = false;
  NodeRole role = NodeRole::kHypervisor;
};

// A VRF: every lookup on the packet path is keyed by its id.
struct Tenant {
  std::string name;
  uint32_t id = 0;  // 1..2^32-1, unique
  FirewallAction default_action = FirewallAction::kAllow;
};

// A segment's bridge to a VLAN of physical servers
// (docs/design/VLAN_BRIDGING.md): the hypervisor `node` bridges it on
// `trunk`, tagged `vlan`; `standby`, when given, takes the role over.
// Accepted, validated and carried, not yet realized by any agent.
struct VlanBridge {
  std::string node;
  std::string standby;  // empty: none
  std::string trunk;
  // Wider than its 12 bits so that validation, not parsing, reports a
  // VLAN out of range (as Uplink::vlan).
  uint32_t vlan = 0;
  friend bool operator==(const VlanBridge&, const VlanBridge&) = default;
};

// A logical switch: one VNI, one subnet, an anycast gateway; optionally an
// IPv6 subnet beside the IPv4 one, with its own gateway address (the same
// gateway MAC). IPv6 is accepted, validated and carried to the agents, not
// yet forwarded (docs/design/DUAL_STACK.md).
struct Segment {
  std::string name;
  std::string tenant;
  uint32_t vni = 0;  // 1..2^24-1, unique in the fleet
  Ipv4Prefix subnet;
  uint32_t gateway = 0;
  MacAddress gateway_mac{};
  std::optional<Ipv6Prefix> subnet6;  // with gateway6, or neither
  std::optional<Ipv6Address> gateway6;
  std::optional<VlanBridge> vlan_bridge;
};

// A named set of a tenant's endpoints, for firewall policy. Group names are
// scoped to their tenant: blue and red may each have a group "web".
struct Group {
  std::string name;
  std::string tenant;
};

// A VM NIC. `interface` is the host-side interface name on `node`
// (required on Weft nodes, absent on foreign ones). `groups` names groups
// of the endpoint's tenant (the tenant of its segment).
struct Endpoint {
  std::string name;
  std::string segment;
  uint32_t ip = 0;
  MacAddress mac{};
  std::string node;
  std::string interface;
  std::vector<std::string> groups;
  std::optional<Ipv6Address> ip6;  // only in a segment with an IPv6 subnet
};

// A server on the VLAN a segment is bridged to (docs/design/VLAN_BRIDGING.md),
// known to the state: an endpoint of the segment's tenant for routing and
// policy (groups may name it), reached through the segment's bridge node.
// Its MAC, when left out, is learned from the VLAN. Accepted, validated and
// carried, not yet realized by any agent.
struct PhysicalHost {
  std::string name;  // unique among endpoints and physical hosts
  std::string segment;
  uint32_t ip = 0;
  std::optional<MacAddress> mac;
  std::vector<std::string> groups;
  std::optional<Ipv6Address> ip6;
};

// A static route in a tenant, to an IPv4 prefix (Route) or an IPv6 one
// (Route6). Connected routes for segment subnets are implied and never
// written here. Either blackhole, or forwarded to the VTEPs of `nodes` (ECMP
// by flow hash when several) on segment `segment` (which, for an IPv6 route,
// has a subnet6). `advertise`: the tenant's uplinks announce the prefix
// upstream, beside its segments' subnets (a blackhole aggregate is the usual
// one); IPv4 only. IPv6 routes are accepted, validated and carried to the
// agents, not yet realized (docs/design/DUAL_STACK.md).
template <typename Prefix>
struct BasicRoute {
  std::string tenant;
  Prefix prefix;
  bool blackhole = false;
  std::vector<std::string> nodes;
  std::string segment;
  bool advertise = false;
  // Learned upstream by these uplinks (their edges are `nodes`): set by the
  // controller in the views it sends, never in a desired state
  // (docs/NORTH_SOUTH.md#learned-routes).
  std::vector<std::string> learned_by;
};
using Route = BasicRoute<Ipv4Prefix>;
using Route6 = BasicRoute<Ipv6Prefix>;

// ---- North-south (docs/NORTH_SOUTH.md) ----

// A tenant's way out of the overlay on the edge `node`: a link (`interface`,
// or the VLAN `vlan` on it), a point-to-point transit prefix with the edge's
// `address` and the upstream router's `peer` in it, and the eBGP session
// between them. One per tenant on an edge; several edges may each carry one
// for the same tenant (active/active, ECMP).
struct Uplink {
  // BGP's hold time when none is given (RFC 4271's suggestion, GoBGP's
  // default); the keepalive is then a third of the hold time.
  static constexpr uint32_t kDefaultHoldTime = 90;

  std::string name;  // unique in the fleet
  std::string node;
  std::string tenant;
  std::string interface;
  // Wider than their fields on the wire (12 and 16 bits), so that
  // validation, not parsing, reports a VLAN or a timer out of range.
  std::optional<uint32_t> vlan;  // absent: the plain link
  Ipv4Prefix transit;
  uint32_t address = 0;
  uint32_t peer = 0;
  uint32_t peer_as = 0;
  uint32_t local_as = 0;
  std::optional<uint32_t> hold_time;  // seconds
  std::optional<uint32_t> keepalive;  // seconds

  // The timers in force: as given, else the defaults above.
  uint32_t HoldTime() const { return hold_time.value_or(kDefaultHoldTime); }
  uint32_t Keepalive() const { return keepalive.value_or(HoldTime() / 3); }
};

// ---- Distributed firewall (docs/ARCHITECTURE.md §4) ----

// Ingress: traffic to the endpoints the policy applies to (the peer is the
// source). Egress: traffic from them (the peer is the destination).
enum class RuleDirection { kIngress, kEgress };
enum class RuleProtocol { kAny, kTcp, kUdp, kIcmp };
enum class RuleAction { kAllow, kDeny, kReject };

// Inclusive. Wider than 16 bits so that validation, not parsing, reports
// a port outside 1..65535 the way it reports every other rule.
struct PortRange {
  uint32_t first = 0;
  uint32_t last = 0;
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

// One rule. The peer is the union of `peer_cidrs`, `peer_cidrs6` and the
// addresses of the endpoints in `peer_groups` (groups of the policy's
// tenant); all empty: any peer. A rule whose peers are IPv6 prefixes only
// matches no IPv4 flow. `ports` only for TCP/UDP (empty: any port); `icmp_type` only
// for ICMP (absent: any type).
struct Rule {
  RuleDirection direction = RuleDirection::kIngress;
  std::vector<Ipv4Prefix> peer_cidrs;
  std::vector<Ipv6Prefix> peer_cidrs6;  // not yet realized (docs/design/DUAL_STACK.md)
  std::vector<std::string> peer_groups;
  RuleProtocol protocol = RuleProtocol::kAny;
  std::vector<PortRange> ports;
  std::optional<uint32_t> icmp_type;
  RuleAction action = RuleAction::kAllow;
  bool log = false;

  bool AnyPeer() const { return peer_cidrs.empty() && peer_cidrs6.empty() && peer_groups.empty(); }
};

// Rules applied to the endpoints of a tenant named directly or through
// their groups. The rules of all policies form one ordered list per tenant:
// policies by (priority, name), lower priority first, each policy's rules
// in their order; the first rule that matches a new flow decides, and the
// tenant's default_action decides when none does.
struct Policy {
  static constexpr uint32_t kDefaultPriority = 1000;

  std::string name;  // unique in the fleet
  std::string tenant;
  uint32_t priority = kDefaultPriority;
  std::vector<std::string> applied_to_groups;
  std::vector<std::string> applied_to_endpoints;
  std::vector<Rule> rules;
};

struct State {
  uint64_t version = 0;
  std::vector<Node> nodes;
  std::vector<Tenant> tenants;
  std::vector<Segment> segments;
  std::vector<Endpoint> endpoints;
  std::vector<Route> routes;
  std::vector<Route6> routes6;
  std::vector<Group> groups;
  std::vector<Policy> policies;
  std::vector<Uplink> uplinks;
  std::vector<PhysicalHost> physical_hosts;
};

}  // namespace weft

#endif  // WEFT_COMMON_MODEL_STATE_H_
