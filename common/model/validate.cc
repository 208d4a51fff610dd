#include "common/model/validate.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/base/status.h"
#include "common/model/enum_names.h"
#include "common/model/net_format.h"
#include "weft/abi.h"

// The rules, checked in this order (the first broken one is reported):
//
// names     (checked with each object, first) every name an object
//           defines (node, tenant, segment, endpoint, group, policy) is
//           1..63 characters (a node's up to 253, a DNS name) of
//           [A-Za-z0-9._-], starting with a letter or digit. An interface
//           name follows the kernel's rules: 1..15 printable ASCII
//           characters, none of them '/', ':' or a space, not "." or "..".
//           (References to names need no such check: they must equal a
//           checked name.) So no name carries a NUL that the kernel would
//           cut at, a separator, or megabytes that could not be sent.
// capacity  nodes <= WEFT_MAX_VTEPS; segments <= WEFT_MAX_SEGMENTS;
//           endpoints + physical hosts <= WEFT_MAX_ENDPOINTS; static routes + segments (one
//           connected route each) <= WEFT_MAX_ROUTES, and so for each family.
// node      name unique; vtep non-zero and unique, IPv4 or IPv6 (then a
//           unicast address that is not link-local nor IPv4-mapped, and
//           unique in its last 32 bits), every node's of the same family;
//           role hypervisor or edge, and a foreign node is not an edge.
// tenant    name unique; id non-zero and unique.
// segment   name unique; tenant exists; VNI in
//           1..WEFT_VNI_MAX and unique in the fleet; subnet a valid prefix
//           of length 8..30; gateway inside the subnet and neither its
//           network nor broadcast address; gateway_mac unicast; subnet6
//           and gateway6 both or neither: subnet6 a /64 of routable unicast
//           space (not link-local, multicast, or the ::/8 block of the
//           unspecified, loopback and IPv4-mapped addresses), gateway6
//           inside it and not its subnet-router anycast address (interface
//           ID 0). vlan_bridge (docs/design/VLAN_BRIDGING.md): node a Weft
//           hypervisor; standby, if given, another one; trunk an interface
//           name; vlan in 1..4094; a VLAN of a trunk bridges one segment on
//           each of the two nodes. Then: segments of one tenant do not
//           overlap, by subnet or by subnet6 (across tenants they may).
// uplink    (docs/NORTH_SOUTH.md) name unique in the fleet; node exists and
//           is an edge; tenant exists; one uplink per tenant on an edge, and
//           a tenant's uplinks on at most WEFT_ECMP_MAX edges (its next hops
//           north-south); interface an interface name; vlan in 1..4094;
//           on one edge, a link carries one untagged uplink or tagged ones
//           only, each VLAN once; transit a valid prefix of length 29..30;
//           address and peer inside it, distinct, neither its network nor
//           broadcast address; transit overlaps no other transit of the
//           same edge (no VRF devices: an edge's transits share one routing
//           table), no segment of the tenant and holds no node's VTEP;
//           peer_as and local_as in 1..4294967294, neither AS_TRANS (23456)
//           nor 65535, and not equal (eBGP); hold_time 0 or 3..65535;
//           keepalive only with a hold time above 0, in 1..hold/3 (the hold
//           time defaulting to 90).
// endpoint  name unique; segment and node exist; ip inside the
//           segment's subnet, not its network, broadcast or gateway address,
//           unique in the tenant; ip6 only in a segment with a subnet6,
//           inside it, not its subnet-router anycast or gateway6 address,
//           unique in the tenant; mac unicast and unique in the segment;
//           interface absent on a foreign node, else present, an interface
//           name, unique on the node, no uplink's link and no bridge's
//           trunk on that node; at
//           most WEFT_MAX_LOCAL_IFACES interfaces per node.
// physical  (docs/design/VLAN_BRIDGING.md) name unique among physical hosts
// host      and endpoints; segment exists and has a vlan_bridge; ip, ip6 and
//           mac (optional: learned) as an endpoint's, unique across endpoints
//           and physical hosts; groups of the segment's tenant.
// route     tenant exists; prefix valid (IPv4, any length 0..32, or IPv6,
//           0..128); either blackhole (then no nodes, no segment) or
//           1..WEFT_ECMP_MAX existing, distinct nodes and a segment of the
//           same tenant, with a subnet6 for an IPv6 route; (tenant, prefix)
//           unique and not a subnet (subnet6) of one of the tenant's
//           segments (that is already a connected route). `advertise`
//           needs nothing more for IPv4 (a tenant without uplinks announces
//           nothing) and is refused for IPv6 (uplinks carry IPv4 only).
// group     name unique in its tenant (group names are scoped
//           to the tenant: two tenants may both have a "web"); tenant
//           exists. (Checked before endpoints, which name groups.)
// endpoint  groups: each a group of the endpoint's tenant, listed once.
// policy    name unique in the fleet; tenant exists;
//           applied_to names at least one group or endpoint, each once;
//           groups of the policy's tenant, endpoints of the same tenant.
//           Total rules of all policies <= WEFT_MAX_RULES (capacity).
// rule      (labelled `policy "p": rule i`, i from 0) direction, protocol
//           and action known; peer.cidrs valid prefixes of either family;
//           peer.groups
//           groups of the policy's tenant; ports only for tcp/udp, each
//           range in 1..65535 and not reversed; icmp_type only for icmp,
//           in 0..255, and not with IPv6 peer.cidrs (types are per family).

namespace weft {
namespace {

// Below /8 one broadcast domain would span more than a class A: a mistake
// rather than a design. A /30 is the smallest subnet with room for the
// gateway and one endpoint beside the network and broadcast addresses.
constexpr int kMinSubnetLength = 8;
constexpr int kMaxSubnetLength = 30;
// IFNAMSIZ - 1: the kernel refuses longer interface names.
constexpr size_t kMaxInterfaceName = 15;
// A DNS label; a node's name may be a host's full DNS name.
constexpr size_t kMaxName = 63;
constexpr size_t kMaxNodeName = 253;
// A transit is point-to-point: a /30 holds the edge and the upstream router,
// a /29 leaves room for a second router or a shared address upstream.
constexpr int kMinTransitLength = 29;
constexpr int kMaxTransitLength = 30;
// 802.1Q: 0 means untagged and 4095 is reserved.
constexpr uint32_t kMaxVlan = 4094;
// AS numbers no BGP speaker takes as its own: 0 and 4294967295 (RFC 7607,
// RFC 7300), AS_TRANS, the stand-in for a 4-byte AS number towards an old
// speaker (RFC 6793), and 65535 (RFC 7300).
constexpr uint32_t kMaxAs = 4294967294;
constexpr uint32_t kAsTrans = 23456;
constexpr uint32_t kAsReserved = 65535;
// RFC 4271: a hold time is 0 (no keepalives at all) or 3..65535 seconds.
constexpr uint32_t kMinHoldTime = 3;
constexpr uint32_t kMaxHoldTime = 65535;

bool IsAsciiAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }

// The documented set of a name (see the rules above), or why it is not.
absl::Status CheckName(absl::string_view label, absl::string_view field, absl::string_view name,
                       size_t max_length) {
  if (name.empty()) return FieldError(label, field, "is empty");
  if (name.size() > max_length) {
    return FieldError(label, field,
                      absl::StrCat("is ", name.size(), " characters long, over ", max_length));
  }
  if (!IsAsciiAlnum(name[0])) {
    return FieldError(label, field,
                      absl::StrCat(QuoteBounded(name), " does not start with a letter or a digit"));
  }
  for (char c : name) {
    if (!IsAsciiAlnum(c) && c != '.' && c != '_' && c != '-') {
      return FieldError(
          label, field,
          absl::StrCat(QuoteBounded(name), " has the character ", QuoteBounded({&c, 1}),
                       ": a name is letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

// The kernel's rules for a non-empty interface name (dev_valid_name), and
// printable ASCII besides, so that it reads the same in every tool and log.
absl::Status CheckInterfaceName(const std::string& label, absl::string_view name,
                                absl::string_view field = "interface") {
  if (name.size() > kMaxInterfaceName) {
    return FieldError(
        label, field,
        absl::StrCat(QuoteBounded(name), " is longer than ", kMaxInterfaceName, " characters"));
  }
  if (name == "." || name == "..") {
    return FieldError(label, field, absl::StrCat(QuoteBounded(name), " is not an interface name"));
  }
  for (char c : name) {
    if (c <= ' ' || c > '~' || c == '/' || c == ':') {
      return FieldError(
          label, field,
          absl::StrCat(QuoteBounded(name), " has the character ", QuoteBounded({&c, 1}),
                       ": an interface name is printable ASCII without spaces, "
                       "'/' or ':'"));
    }
  }
  return absl::OkStatus();
}

// A prefix as a key of the sets of (tenant, prefix) below.
uint64_t PrefixKey(const Ipv4Prefix& p) { return uint64_t{p.addr} << 8 | p.length; }
std::pair<Ipv6Address, uint8_t> PrefixKey(const Ipv6Prefix& p) { return {p.addr, p.length}; }

absl::Status CheckPrefix(const Ipv4Prefix& p) { return CheckIpv4Prefix(p); }
absl::Status CheckPrefix(const Ipv6Prefix& p) { return CheckIpv6Prefix(p); }

// Two objects of one list whose prefixes overlap, by their indexes in it.
struct Overlap {
  size_t earlier;
  size_t later;
};

// Two of `indices` whose prefixes (`prefix_of(index)`) overlap, or nullopt.
// Prefixes are nested or disjoint, so after sorting by address (shorter
// first on ties) any overlap shows between neighbours: O(n log n) even for
// a tenant with thousands of segments.
template <typename PrefixOf>
std::optional<Overlap> FindOverlap(std::vector<size_t> indices, const PrefixOf& prefix_of) {
  std::sort(indices.begin(), indices.end(), [&](size_t a, size_t b) {
    return std::pair(prefix_of(a).addr, prefix_of(a).length) <
           std::pair(prefix_of(b).addr, prefix_of(b).length);
  });
  for (size_t k = 1; k < indices.size(); ++k) {
    if (prefix_of(indices[k - 1]).Overlaps(prefix_of(indices[k]))) {
      return Overlap{std::min(indices[k - 1], indices[k]), std::max(indices[k - 1], indices[k])};
    }
  }
  return std::nullopt;
}

// Why `a` is no unicast address an underlay or a tenant's network routes
// (IPv4-mapped, unspecified, loopback, multicast, link-local), or null.
const char* Ipv6NotRoutable(const Ipv6Address& a) {
  const bool zero_to_10 = std::all_of(a.begin(), a.begin() + 10, [](uint8_t b) { return b == 0; });
  if (zero_to_10 && a[10] == 0xff && a[11] == 0xff) return "IPv4-mapped";
  if (zero_to_10 && std::all_of(a.begin() + 10, a.end() - 1, [](uint8_t b) { return b == 0; })) {
    if (a[15] == 0) return "unspecified";
    if (a[15] == 1) return "loopback";
  }
  if (a[0] == 0xff) return "multicast";
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return "link-local";
  return nullptr;
}

absl::Status CheckAsNumber(const std::string& label, absl::string_view field, uint32_t as) {
  if (as == 0 || as > kMaxAs) {
    return FieldError(label, field, absl::StrCat("AS ", as, " is outside 1..", kMaxAs));
  }
  if (as == kAsTrans) {
    return FieldError(label, field,
                      absl::StrCat("AS ", as,
                                   " is AS_TRANS (RFC 6793), a stand-in no speaker takes as its "
                                   "own"));
  }
  if (as == kAsReserved) {
    return FieldError(label, field, absl::StrCat("AS ", as, " is reserved (RFC 7300)"));
  }
  return absl::OkStatus();
}

// Checks the name of the index-th object of `kind` and indexes it.
template <typename T>
absl::Status AddNamed(absl::string_view kind, const T& object, size_t index,
                      absl::flat_hash_map<absl::string_view, const T*>& by_name,
                      size_t max_length = kMaxName) {
  const std::string label = ObjectLabel(kind, object.name, index);
  RETURN_IF_ERROR(CheckName(label, "name", object.name, max_length));
  if (!by_name.emplace(object.name, &object).second) {
    return FieldError(label, "name", absl::StrCat("another ", kind, " has this name"));
  }
  return absl::OkStatus();
}

// `value` is one of `names`, a table of enum_names.h.
template <typename E, size_t N>
absl::Status CheckEnum(const std::string& label, absl::string_view field,
                       const std::pair<const char*, E> (&names)[N], E value) {
  if (IsNamed(names, value)) return absl::OkStatus();
  return FieldError(label, field, absl::StrCat("is not ", ChoiceList(names)));
}

class Validator {
 public:
  explicit Validator(const State& state) : state_(state) {}

  absl::Status Run() {
    for (absl::Status (Validator::*check)() :
         {&Validator::CheckCapacity, &Validator::CheckNodes, &Validator::CheckTenants,
          &Validator::CheckSegments, &Validator::CheckSegmentOverlaps, &Validator::CheckUplinks,
          &Validator::CheckGroups, &Validator::CheckEndpoints, &Validator::CheckPhysicalHosts,
          &Validator::CheckRoutes, &Validator::CheckPolicies}) {
      RETURN_IF_ERROR((this->*check)());
    }
    return absl::OkStatus();
  }

 private:
  absl::Status CheckCapacity();
  size_t Ipv6Segments() const;  // segments with a subnet6: IPv6 connected routes
  absl::Status CheckNodes();
  absl::Status CheckVtep(const std::string& label, const Node& node);
  absl::Status CheckTenants();
  absl::Status CheckSegments();
  absl::Status CheckSegmentOverlaps();
  // subnet6 and gateway6 of a segment.
  absl::Status CheckSegmentIpv6(const Segment& seg, const std::string& label) const;
  // Its VLAN bridge; records the trunks it takes.
  absl::Status CheckVlanBridge(const Segment& seg, const std::string& label);
  absl::Status CheckUplinks();
  // The fields of one uplink, and what they refer to.
  absl::Status CheckUplink(const Uplink& uplink, const std::string& label) const;
  absl::Status CheckUplinkTransit(const Uplink& uplink, const std::string& label) const;
  absl::Status CheckUplinkBgp(const Uplink& uplink, const std::string& label) const;
  // Records the uplink's link (interface and VLAN) on its edge, refusing one
  // that another uplink there already takes.
  absl::Status AddUplinkLink(const Uplink& uplink, const std::string& label);
  absl::Status CheckEndpoints();
  // The address, MAC and interface of an endpoint whose segment and node exist.
  // What an endpoint or a physical host takes of its segment: its
  // addresses and its MAC (none: learned), each its own in the tenant (the
  // segment for a MAC). `owner` names it in messages: `endpoint "web-1"`.
  struct Attachment {
    std::string owner;
    uint32_t ip;
    const std::optional<Ipv6Address>& ip6;
    std::optional<MacAddress> mac;
  };
  absl::Status CheckAddresses(const Attachment& a, const Segment& seg, const std::string& label);
  absl::Status CheckIp(const Attachment& a, const Segment& seg, const std::string& label);
  absl::Status CheckIp6(const Attachment& a, const Segment& seg, const std::string& label);
  absl::Status CheckMac(const Attachment& a, const Segment& seg, const std::string& label);
  // After endpoints: names, addresses and MACs are unique across both.
  absl::Status CheckPhysicalHosts();
  absl::Status CheckEndpointInterface(const Endpoint& ep, const Node& node,
                                      const std::string& label);
  absl::Status CheckRoutes();
  // One family's routes, against that family's connected routes.
  template <typename Prefix, typename Subnets>
  absl::Status CheckRouteList(const std::vector<BasicRoute<Prefix>>& routes,
                              const Subnets& subnets) const;
  template <typename Prefix>
  absl::Status CheckRoute(const BasicRoute<Prefix>& route, const std::string& label) const;
  absl::Status CheckGroups();
  // `names` (field `field` of `label`) are groups of `tenant`, each once.
  absl::Status CheckGroupRefs(const std::string& label, absl::string_view field,
                              absl::string_view tenant,
                              const std::vector<std::string>& names) const;
  absl::Status CheckPolicies();
  absl::Status CheckPolicy(const Policy& policy, const std::string& label);
  absl::Status CheckRule(const Policy& policy, const Rule& rule, const std::string& label) const;

  // The uplinks on one link of an edge: one untagged, or tagged ones only.
  struct LinkUse {
    const Uplink* first = nullptr;
    bool untagged = false;
    absl::flat_hash_map<uint32_t, const Uplink*> vlans;
  };

  const State& state_;
  absl::flat_hash_map<absl::string_view, const Node*> nodes_;
  // By UnderlayAddress::Ref; ordered: a transit is a range (IPv4 fleets).
  std::map<uint32_t, const Node*> vteps_;
  const Node* first_vtep_ = nullptr;  // its family is the fleet's
  absl::flat_hash_map<absl::string_view, const Tenant*> tenants_;
  absl::flat_hash_map<absl::string_view, const Segment*> segments_;
  // tenant -> indexes into state_.segments
  absl::flat_hash_map<absl::string_view, std::vector<size_t>> tenant_segments_;
  // (edge, interface)
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, LinkUse> links_;
  // (node, trunk) -> VLAN -> the segment bridged there, on the active
  // node and on the standby.
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>,
                      absl::flat_hash_map<uint32_t, const Segment*>>
      trunks_;
  // (tenant, PrefixKey(subnet)): the tenant's connected routes.
  absl::flat_hash_map<std::pair<absl::string_view, uint64_t>, const Segment*> subnets_;
  // (tenant, PrefixKey(subnet6))
  absl::flat_hash_map<std::pair<absl::string_view, std::pair<Ipv6Address, uint8_t>>, const Segment*>
      subnets6_;
  // (tenant, name)
  absl::flat_hash_set<std::pair<absl::string_view, absl::string_view>> groups_;
  absl::flat_hash_map<absl::string_view, const Endpoint*> endpoints_;
  // (tenant, ip), (tenant, ip6) -> Attachment::owner
  absl::flat_hash_map<std::pair<absl::string_view, uint32_t>, std::string> ip_owners_;
  absl::flat_hash_map<std::pair<absl::string_view, Ipv6Address>, std::string> ip6_owners_;
  // (segment, mac) -> Attachment::owner
  absl::flat_hash_map<std::pair<absl::string_view, MacAddress>, std::string> mac_owners_;
  // (node, interface)
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, const Endpoint*> interfaces_;
  absl::flat_hash_map<absl::string_view, size_t> interfaces_per_node_;
};

size_t Validator::Ipv6Segments() const {
  return std::count_if(state_.segments.begin(), state_.segments.end(),
                       [](const Segment& s) { return s.subnet6.has_value(); });
}

absl::Status Validator::CheckCapacity() {
  struct Count {
    absl::string_view field;
    size_t count;
    size_t max;
    absl::string_view noun;
  };
  const Count counts[] = {
      {"nodes", state_.nodes.size(), WEFT_MAX_VTEPS, "nodes"},
      {"segments", state_.segments.size(), WEFT_MAX_SEGMENTS, "segments"},
      {"endpoints", state_.endpoints.size() + state_.physical_hosts.size(), WEFT_MAX_ENDPOINTS,
       "endpoints (counting physical hosts)"},
      {"routes", state_.routes.size() + state_.segments.size(), WEFT_MAX_ROUTES,
       "routes (counting one connected route per segment)"},
      {"routes", state_.routes6.size() + Ipv6Segments(), WEFT_MAX_ROUTES,
       "IPv6 routes (counting one connected route per segment with a subnet6)"},
  };
  size_t rules = 0;
  for (const Policy& policy : state_.policies) rules += policy.rules.size();
  if (rules > WEFT_MAX_RULES) {
    return FieldError("state", "policies",
                      absl::StrCat("too many rules for the configured "
                                   "capacity ",
                                   WEFT_MAX_RULES, " (", rules, " rules in all policies)"));
  }
  for (const Count& c : counts) {
    if (c.count > c.max) {
      return FieldError(
          "state", c.field,
          absl::StrCat(c.count, " ", c.noun, " exceed the datapath's capacity of ", c.max));
    }
  }
  return absl::OkStatus();
}

// A VTEP must be an address the underlay routes to this node, of the
// fleet's one family (a node of the other could reach no one), and unique
// by the name the datapath's maps give it (UnderlayAddress::Ref).
absl::Status Validator::CheckVtep(const std::string& label, const Node& node) {
  const UnderlayAddress& vtep = node.vtep;
  const std::string text = FormatUnderlayAddress(vtep);
  if (!vtep.is_v6() && vtep.v4 == 0) return FieldError(label, "vtep", "must not be 0.0.0.0");
  if (const char* kind = vtep.is_v6() ? Ipv6NotRoutable(*vtep.v6) : nullptr; kind != nullptr) {
    if (absl::string_view(kind) == "IPv4-mapped") {
      return FieldError(label, "vtep",
                        absl::StrCat(text, " is IPv4-mapped: write the IPv4 address"));
    }
    return FieldError(
        label, "vtep",
        absl::StrCat(text, " is not a unicast address the underlay can route (", kind, ")"));
  }
  if (first_vtep_ != nullptr && first_vtep_->vtep.is_v6() != vtep.is_v6()) {
    return FieldError(label, "vtep",
                      absl::StrCat(text, " is ", vtep.is_v6() ? "IPv6" : "IPv4", " but node ",
                                   QuoteBounded(first_vtep_->name), "'s VTEP ",
                                   FormatUnderlayAddress(first_vtep_->vtep),
                                   " is not: a fleet's VTEPs are all "
                                   "IPv4 or all IPv6"));
  }
  if (first_vtep_ == nullptr) first_vtep_ = &node;
  if (auto [it, added] = vteps_.emplace(vtep.Ref(), &node); !added) {
    if (it->second->vtep == vtep) {
      return FieldError(
          label, "vtep",
          absl::StrCat(text, " is already the VTEP of node ", QuoteBounded(it->second->name)));
    }
    return FieldError(
        label, "vtep",
        absl::StrCat(text, " ends in the same 32 bits as node ", QuoteBounded(it->second->name),
                     "'s VTEP ", FormatUnderlayAddress(it->second->vtep),
                     ": the datapath names an IPv6 VTEP by its last 32 bits"));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckNodes() {
  for (size_t i = 0; i < state_.nodes.size(); ++i) {
    const Node& node = state_.nodes[i];
    RETURN_IF_ERROR(AddNamed("node", node, i, nodes_, kMaxNodeName));
    const std::string label = ObjectLabel("node", node.name, i);
    RETURN_IF_ERROR(CheckVtep(label, node));
    RETURN_IF_ERROR(CheckEnum(label, "role", kNodeRoleNames, node.role));
    if (node.foreign && node.role == NodeRole::kEdge) {
      return FieldError(label, "role",
                        "a foreign node runs no Weft agent, so it cannot be an edge");
    }
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckTenants() {
  absl::flat_hash_map<uint32_t, const Tenant*> ids;
  for (size_t i = 0; i < state_.tenants.size(); ++i) {
    const Tenant& tenant = state_.tenants[i];
    RETURN_IF_ERROR(AddNamed("tenant", tenant, i, tenants_));
    const std::string label = ObjectLabel("tenant", tenant.name, i);
    if (tenant.id == 0) return FieldError(label, "id", "must not be 0");
    if (auto [it, added] = ids.emplace(tenant.id, &tenant); !added) {
      return FieldError(label, "id",
                        absl::StrCat("id ", tenant.id, " is already tenant ",
                                     QuoteBounded(it->second->name), "'s"));
    }
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckSegments() {
  absl::flat_hash_map<uint32_t, const Segment*> vnis;
  for (size_t i = 0; i < state_.segments.size(); ++i) {
    const Segment& seg = state_.segments[i];
    RETURN_IF_ERROR(AddNamed("segment", seg, i, segments_));
    const std::string label = ObjectLabel("segment", seg.name, i);
    if (!tenants_.contains(seg.tenant)) {
      return FieldError(label, "tenant", absl::StrCat("no tenant ", QuoteBounded(seg.tenant)));
    }
    if (seg.vni == 0 || seg.vni > WEFT_VNI_MAX) {
      return FieldError(label, "vni",
                        absl::StrCat("VNI ", seg.vni, " is outside 1..", WEFT_VNI_MAX));
    }
    if (auto [it, added] = vnis.emplace(seg.vni, &seg); !added) {
      return FieldError(label, "vni",
                        absl::StrCat("VNI ", seg.vni, " is already segment ",
                                     QuoteBounded(it->second->name), "'s"));
    }
    if (absl::Status s = CheckIpv4Prefix(seg.subnet); !s.ok()) {
      return FieldError(label, "subnet", s.message());
    }
    if (seg.subnet.length < kMinSubnetLength || seg.subnet.length > kMaxSubnetLength) {
      return FieldError(label, "subnet",
                        absl::StrCat("length /", seg.subnet.length, " is outside /",
                                     kMinSubnetLength, "../", kMaxSubnetLength));
    }
    const std::string gateway = FormatIpv4(seg.gateway);
    if (!seg.subnet.Contains(seg.gateway)) {
      return FieldError(
          label, "gateway",
          absl::StrCat(gateway, " is outside the subnet ", FormatIpv4Prefix(seg.subnet)));
    }
    if (seg.gateway == seg.subnet.addr || seg.gateway == seg.subnet.Broadcast()) {
      return FieldError(label, "gateway",
                        absl::StrCat(gateway,
                                     " is the subnet's network or broadcast "
                                     "address"));
    }
    if (!IsUnicastMac(seg.gateway_mac)) {
      return FieldError(label, "gateway_mac",
                        absl::StrCat(FormatMac(seg.gateway_mac), " is not a unicast MAC address"));
    }
    RETURN_IF_ERROR(CheckSegmentIpv6(seg, label));
    RETURN_IF_ERROR(CheckVlanBridge(seg, label));
    subnets_.emplace(std::pair(absl::string_view(seg.tenant), PrefixKey(seg.subnet)), &seg);
    if (seg.subnet6) {
      subnets6_.emplace(std::pair(absl::string_view(seg.tenant), PrefixKey(*seg.subnet6)), &seg);
    }
    tenant_segments_[seg.tenant].push_back(i);
  }
  return absl::OkStatus();
}

// A /64: SLAAC and neighbor discovery assume 64-bit interface IDs (RFC 4291 §2.5.1).
constexpr uint8_t kSubnet6Length = 64;

absl::Status Validator::CheckSegmentIpv6(const Segment& seg, const std::string& label) const {
  if (!seg.subnet6 && !seg.gateway6) return absl::OkStatus();
  if (!seg.subnet6) return FieldError(label, "subnet6", "is required with gateway6");
  if (!seg.gateway6) return FieldError(label, "gateway6", "is required with subnet6");
  const std::string subnet = FormatIpv6Prefix(*seg.subnet6);
  if (seg.subnet6->length != kSubnet6Length) {
    return FieldError(label, "subnet6",
                      absl::StrCat(subnet,
                                   " is not a /64 (SLAAC and neighbor discovery assume "
                                   "64-bit interface IDs)"));
  }
  if (const char* kind = Ipv6NotRoutable(seg.subnet6->addr); kind != nullptr) {
    return FieldError(label, "subnet6",
                      absl::StrCat(subnet, " is ", kind, " space, not a routable unicast subnet"));
  }
  if (seg.subnet6->addr[0] == 0) {
    return FieldError(label, "subnet6",
                      absl::StrCat(subnet,
                                   " is in ::/8, reserved for the unspecified, "
                                   "loopback and IPv4-mapped addresses"));
  }
  const std::string gateway = FormatIpv6(*seg.gateway6);
  if (!seg.subnet6->Contains(*seg.gateway6)) {
    return FieldError(label, "gateway6", absl::StrCat(gateway, " is outside the subnet6 ", subnet));
  }
  if (*seg.gateway6 == seg.subnet6->addr) {
    return FieldError(label, "gateway6",
                      absl::StrCat(gateway, " is the subnet's subnet-router anycast address"));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckVlanBridge(const Segment& seg, const std::string& label) {
  if (!seg.vlan_bridge) return absl::OkStatus();
  const VlanBridge& b = *seg.vlan_bridge;
  // A bridge node runs the trunk program: a Weft hypervisor.
  auto check_node = [&](absl::string_view field, const std::string& name) -> absl::Status {
    auto it = nodes_.find(name);
    if (it == nodes_.end()) {
      return FieldError(label, field, absl::StrCat("no node ", QuoteBounded(name)));
    }
    if (it->second->foreign || it->second->role != NodeRole::kHypervisor) {
      return FieldError(label, field,
                        absl::StrCat("node ", QuoteBounded(name),
                                     " is not a Weft hypervisor, so it cannot bridge a VLAN"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(check_node("vlan_bridge.node", b.node));
  if (!b.standby.empty()) {
    RETURN_IF_ERROR(check_node("vlan_bridge.standby", b.standby));
    if (b.standby == b.node) {
      return FieldError(label, "vlan_bridge.standby", "is the active node itself");
    }
  }
  RETURN_IF_ERROR(CheckInterfaceName(label, b.trunk, "vlan_bridge.trunk"));
  if (b.vlan < 1 || b.vlan > kMaxVlan) {
    return FieldError(label, "vlan_bridge.vlan",
                      absl::StrCat("VLAN ", b.vlan, " is outside 1..", kMaxVlan));
  }
  for (const std::string* node : {&b.node, &b.standby}) {
    if (node->empty()) continue;
    auto& vlans = trunks_[std::pair(absl::string_view(*node), absl::string_view(b.trunk))];
    if (auto [it, added] = vlans.emplace(b.vlan, &seg); !added) {
      return FieldError(label, "vlan_bridge.vlan",
                        absl::StrCat("VLAN ", b.vlan, " of ", QuoteBounded(b.trunk), " on node ",
                                     QuoteBounded(*node), " already bridges segment ",
                                     QuoteBounded(it->second->name)));
    }
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckSegmentOverlaps() {
  // Blame the one written later: the earlier one was there first.
  auto refuse = [&](const Tenant& tenant, const Overlap& overlap, absl::string_view field,
                    const std::string& later, const std::string& earlier) {
    const Segment& seg = state_.segments[overlap.later];
    return FieldError(ObjectLabel("segment", seg.name, overlap.later), field,
                      absl::StrCat(later, " overlaps segment ",
                                   QuoteBounded(state_.segments[overlap.earlier].name), "'s ",
                                   earlier, " in tenant ", QuoteBounded(tenant.name)));
  };
  auto subnet = [&](size_t i) -> const Ipv4Prefix& { return state_.segments[i].subnet; };
  auto subnet6 = [&](size_t i) -> const Ipv6Prefix& { return *state_.segments[i].subnet6; };
  for (const Tenant& tenant : state_.tenants) {
    auto indices = tenant_segments_.find(tenant.name);
    if (indices == tenant_segments_.end()) continue;
    if (const std::optional<Overlap> o = FindOverlap(indices->second, subnet)) {
      return refuse(tenant, *o, "subnet", FormatIpv4Prefix(subnet(o->later)),
                    FormatIpv4Prefix(subnet(o->earlier)));
    }
    std::vector<size_t> with6;
    for (size_t i : indices->second) {
      if (state_.segments[i].subnet6) with6.push_back(i);
    }
    if (const std::optional<Overlap> o = FindOverlap(std::move(with6), subnet6)) {
      return refuse(tenant, *o, "subnet6", FormatIpv6Prefix(subnet6(o->later)),
                    FormatIpv6Prefix(subnet6(o->earlier)));
    }
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckUplinks() {
  absl::flat_hash_map<absl::string_view, const Uplink*> names;
  // (edge, tenant)
  absl::flat_hash_map<std::pair<absl::string_view, absl::string_view>, const Uplink*> edge_tenants;
  absl::flat_hash_map<absl::string_view, size_t> edges_per_tenant;
  absl::flat_hash_map<absl::string_view, std::vector<size_t>> by_edge;  // indexes
  for (size_t i = 0; i < state_.uplinks.size(); ++i) {
    const Uplink& uplink = state_.uplinks[i];
    RETURN_IF_ERROR(AddNamed("uplink", uplink, i, names));
    const std::string label = ObjectLabel("uplink", uplink.name, i);
    RETURN_IF_ERROR(CheckUplink(uplink, label));
    if (auto [it, added] = edge_tenants.emplace(
            std::pair(absl::string_view(uplink.node), absl::string_view(uplink.tenant)), &uplink);
        !added) {
      return FieldError(
          label, "tenant",
          absl::StrCat("edge ", QuoteBounded(uplink.node), " already has uplink ",
                       QuoteBounded(it->second->name), " for tenant ", QuoteBounded(uplink.tenant),
                       ": one uplink per tenant on an edge"));
    }
    if (++edges_per_tenant[uplink.tenant] > WEFT_ECMP_MAX) {
      return FieldError(
          label, "tenant",
          absl::StrCat("tenant ", QuoteBounded(uplink.tenant), " has uplinks on more than ",
                       WEFT_ECMP_MAX, " edges, the datapath's ECMP limit"));
    }
    RETURN_IF_ERROR(AddUplinkLink(uplink, label));
    by_edge[uplink.node].push_back(i);
  }
  auto transit = [&](size_t i) -> const Ipv4Prefix& { return state_.uplinks[i].transit; };
  for (const Node& node : state_.nodes) {
    auto indices = by_edge.find(node.name);
    if (indices == by_edge.end()) continue;
    const std::optional<Overlap> overlap = FindOverlap(indices->second, transit);
    if (!overlap) continue;
    const Uplink& uplink = state_.uplinks[overlap->later];
    return FieldError(
        ObjectLabel("uplink", uplink.name, overlap->later), "transit",
        absl::StrCat(FormatIpv4Prefix(uplink.transit), " overlaps uplink ",
                     QuoteBounded(state_.uplinks[overlap->earlier].name), "'s ",
                     FormatIpv4Prefix(transit(overlap->earlier)), " on edge ",
                     QuoteBounded(node.name),
                     ": this kernel has no VRF devices, so the transits of one edge share its "
                     "routing table and must not overlap"));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckUplink(const Uplink& uplink, const std::string& label) const {
  auto node = nodes_.find(uplink.node);
  if (node == nodes_.end()) {
    return FieldError(label, "node", absl::StrCat("no node ", QuoteBounded(uplink.node)));
  }
  if (node->second->role != NodeRole::kEdge) {
    return FieldError(label, "node",
                      absl::StrCat("node ", QuoteBounded(uplink.node),
                                   " is not an edge: only a node with role: edge carries uplinks"));
  }
  if (!tenants_.contains(uplink.tenant)) {
    return FieldError(label, "tenant", absl::StrCat("no tenant ", QuoteBounded(uplink.tenant)));
  }
  if (uplink.interface.empty()) return FieldError(label, "interface", "is required");
  RETURN_IF_ERROR(CheckInterfaceName(label, uplink.interface));
  if (uplink.vlan && (*uplink.vlan < 1 || *uplink.vlan > kMaxVlan)) {
    return FieldError(label, "vlan",
                      absl::StrCat("VLAN ", *uplink.vlan, " is outside 1..", kMaxVlan));
  }
  RETURN_IF_ERROR(CheckUplinkTransit(uplink, label));
  return CheckUplinkBgp(uplink, label);
}

absl::Status Validator::CheckUplinkTransit(const Uplink& uplink, const std::string& label) const {
  const Ipv4Prefix& transit = uplink.transit;
  const std::string text = FormatIpv4Prefix(transit);
  if (absl::Status s = CheckIpv4Prefix(transit); !s.ok()) {
    return FieldError(label, "transit", s.message());
  }
  if (transit.length < kMinTransitLength || transit.length > kMaxTransitLength) {
    return FieldError(label, "transit",
                      absl::StrCat("length /", transit.length, " is outside /", kMinTransitLength,
                                   "../", kMaxTransitLength, ": a transit is point-to-point"));
  }
  for (const auto& [field, ip] :
       {std::pair("address", uplink.address), std::pair("peer", uplink.peer)}) {
    if (!transit.Contains(ip)) {
      return FieldError(label, field,
                        absl::StrCat(FormatIpv4(ip), " is outside the transit ", text));
    }
    if (ip == transit.addr || ip == transit.Broadcast()) {
      return FieldError(
          label, field,
          absl::StrCat(FormatIpv4(ip), " is the transit's network or broadcast address"));
    }
  }
  if (uplink.peer == uplink.address) {
    return FieldError(label, "peer",
                      absl::StrCat(FormatIpv4(uplink.peer), " is the edge's own address"));
  }
  // The edge routes the tenant's traffic in the tenant's table, where the
  // transit is connected: a segment there would hide the peer.
  if (auto indices = tenant_segments_.find(uplink.tenant); indices != tenant_segments_.end()) {
    for (const size_t i : indices->second) {
      const Segment& seg = state_.segments[i];
      if (!seg.subnet.Overlaps(transit)) continue;
      return FieldError(
          label, "transit",
          absl::StrCat(text, " overlaps segment ", QuoteBounded(seg.name), "'s subnet ",
                       FormatIpv4Prefix(seg.subnet), " in tenant ", QuoteBounded(uplink.tenant)));
    }
  }
  // Without VRF devices the transit is also a route of the edge's own
  // table, which carries the overlay to every VTEP.
  if (auto vtep = vteps_.lower_bound(transit.addr);
      vtep != vteps_.end() && !vtep->second->vtep.is_v6() && vtep->first <= transit.Broadcast()) {
    return FieldError(label, "transit",
                      absl::StrCat(text, " holds node ", QuoteBounded(vtep->second->name),
                                   "'s VTEP ", FormatIpv4(vtep->first),
                                   ": the edge would send that node's overlay traffic out of the "
                                   "uplink (no VRF devices here)"));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckUplinkBgp(const Uplink& uplink, const std::string& label) const {
  RETURN_IF_ERROR(CheckAsNumber(label, "peer_as", uplink.peer_as));
  RETURN_IF_ERROR(CheckAsNumber(label, "local_as", uplink.local_as));
  if (uplink.local_as == uplink.peer_as) {
    return FieldError(label, "local_as",
                      absl::StrCat("AS ", uplink.local_as,
                                   " is the peer's too: an uplink speaks eBGP to its upstream"));
  }
  const uint32_t hold = uplink.HoldTime();
  if (hold != 0 && (hold < kMinHoldTime || hold > kMaxHoldTime)) {
    return FieldError(label, "hold_time",
                      absl::StrCat("hold time ", hold, " is neither 0 (no keepalives) nor in ",
                                   kMinHoldTime, "..", kMaxHoldTime, " seconds"));
  }
  if (!uplink.keepalive) return absl::OkStatus();
  if (hold == 0) {
    return FieldError(label, "keepalive",
                      "a hold time of 0 sends no keepalives: leave keepalive out");
  }
  // RFC 4271: a third of the hold time, so that one lost keepalive does not
  // drop the session.
  if (*uplink.keepalive < 1 || *uplink.keepalive > hold / 3) {
    return FieldError(label, "keepalive",
                      absl::StrCat("keepalive ", *uplink.keepalive, " is outside 1..", hold / 3,
                                   " seconds (at most a third of the hold time ", hold, ")"));
  }
  return absl::OkStatus();
}

absl::Status Validator::AddUplinkLink(const Uplink& uplink, const std::string& label) {
  LinkUse& use =
      links_[std::pair(absl::string_view(uplink.node), absl::string_view(uplink.interface))];
  if (use.first != nullptr && (!uplink.vlan || use.untagged)) {
    return FieldError(
        label, "interface",
        absl::StrCat(QuoteBounded(uplink.interface), " on edge ", QuoteBounded(uplink.node),
                     " is already uplink ", QuoteBounded(use.first->name),
                     "'s: a link carries one untagged uplink, or tagged ones only"));
  }
  if (uplink.vlan) {
    if (auto [it, added] = use.vlans.emplace(*uplink.vlan, &uplink); !added) {
      return FieldError(label, "vlan",
                        absl::StrCat("VLAN ", *uplink.vlan, " of ", QuoteBounded(uplink.interface),
                                     " on edge ", QuoteBounded(uplink.node), " is already uplink ",
                                     QuoteBounded(it->second->name), "'s"));
    }
  }
  if (use.first == nullptr) {
    use.first = &uplink;
    use.untagged = !uplink.vlan;
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckEndpoints() {
  for (size_t i = 0; i < state_.endpoints.size(); ++i) {
    const Endpoint& ep = state_.endpoints[i];
    RETURN_IF_ERROR(AddNamed("endpoint", ep, i, endpoints_));
    const std::string label = ObjectLabel("endpoint", ep.name, i);
    auto seg_it = segments_.find(ep.segment);
    if (seg_it == segments_.end()) {
      return FieldError(label, "segment", absl::StrCat("no segment ", QuoteBounded(ep.segment)));
    }
    const Segment& seg = *seg_it->second;
    auto node_it = nodes_.find(ep.node);
    if (node_it == nodes_.end()) {
      return FieldError(label, "node", absl::StrCat("no node ", QuoteBounded(ep.node)));
    }
    RETURN_IF_ERROR(CheckAddresses(
        {absl::StrCat("endpoint ", QuoteBounded(ep.name)), ep.ip, ep.ip6, ep.mac}, seg, label));
    RETURN_IF_ERROR(CheckGroupRefs(label, "groups", seg.tenant, ep.groups));
    RETURN_IF_ERROR(CheckEndpointInterface(ep, *node_it->second, label));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckPhysicalHosts() {
  absl::flat_hash_map<absl::string_view, const PhysicalHost*> names;
  for (size_t i = 0; i < state_.physical_hosts.size(); ++i) {
    const PhysicalHost& host = state_.physical_hosts[i];
    RETURN_IF_ERROR(AddNamed("physical host", host, i, names));
    const std::string label = ObjectLabel("physical host", host.name, i);
    if (endpoints_.contains(host.name)) {
      return FieldError(label, "name", "an endpoint has this name");
    }
    auto seg_it = segments_.find(host.segment);
    if (seg_it == segments_.end()) {
      return FieldError(label, "segment", absl::StrCat("no segment ", QuoteBounded(host.segment)));
    }
    const Segment& seg = *seg_it->second;
    if (!seg.vlan_bridge) {
      return FieldError(
          label, "segment",
          absl::StrCat("segment ", QuoteBounded(seg.name),
                       " has no vlan_bridge: a physical host is reached through one"));
    }
    RETURN_IF_ERROR(CheckAddresses(
        {absl::StrCat("physical host ", QuoteBounded(host.name)), host.ip, host.ip6, host.mac}, seg,
        label));
    RETURN_IF_ERROR(CheckGroupRefs(label, "groups", seg.tenant, host.groups));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckAddresses(const Attachment& a, const Segment& seg,
                                       const std::string& label) {
  RETURN_IF_ERROR(CheckIp(a, seg, label));
  RETURN_IF_ERROR(CheckIp6(a, seg, label));
  return CheckMac(a, seg, label);
}

absl::Status Validator::CheckIp(const Attachment& a, const Segment& seg, const std::string& label) {
  const std::string ip = FormatIpv4(a.ip);
  if (!seg.subnet.Contains(a.ip)) {
    return FieldError(label, "ip",
                      absl::StrCat(ip, " is outside segment ", QuoteBounded(seg.name), "'s subnet ",
                                   FormatIpv4Prefix(seg.subnet)));
  }
  if (a.ip == seg.subnet.addr || a.ip == seg.subnet.Broadcast()) {
    return FieldError(label, "ip",
                      absl::StrCat(ip, " is the subnet's network or broadcast address"));
  }
  if (a.ip == seg.gateway) {
    return FieldError(label, "ip", absl::StrCat(ip, " is the segment's gateway address"));
  }
  if (auto [it, added] =
          ip_owners_.emplace(std::pair(absl::string_view(seg.tenant), a.ip), a.owner);
      !added) {
    return FieldError(
        label, "ip",
        absl::StrCat(ip, " is already ", it->second, "'s in tenant ", QuoteBounded(seg.tenant)));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckIp6(const Attachment& a, const Segment& seg,
                                 const std::string& label) {
  if (!a.ip6) return absl::OkStatus();
  const std::string ip = FormatIpv6(*a.ip6);
  if (!seg.subnet6) {
    return FieldError(label, "ip6",
                      absl::StrCat(ip, ": segment ", QuoteBounded(seg.name), " has no subnet6"));
  }
  if (!seg.subnet6->Contains(*a.ip6)) {
    return FieldError(label, "ip6",
                      absl::StrCat(ip, " is outside segment ", QuoteBounded(seg.name),
                                   "'s subnet6 ", FormatIpv6Prefix(*seg.subnet6)));
  }
  if (*a.ip6 == seg.subnet6->addr) {
    return FieldError(label, "ip6",
                      absl::StrCat(ip, " is the subnet's subnet-router anycast address"));
  }
  if (*a.ip6 == *seg.gateway6) {
    return FieldError(label, "ip6", absl::StrCat(ip, " is the segment's gateway6 address"));
  }
  if (auto [it, added] =
          ip6_owners_.emplace(std::pair(absl::string_view(seg.tenant), *a.ip6), a.owner);
      !added) {
    return FieldError(
        label, "ip6",
        absl::StrCat(ip, " is already ", it->second, "'s in tenant ", QuoteBounded(seg.tenant)));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckMac(const Attachment& a, const Segment& seg,
                                 const std::string& label) {
  if (!a.mac) return absl::OkStatus();
  const std::string mac = FormatMac(*a.mac);
  if (!IsUnicastMac(*a.mac)) {
    return FieldError(label, "mac", absl::StrCat(mac, " is not a unicast MAC address"));
  }
  if (auto [it, added] =
          mac_owners_.emplace(std::pair(absl::string_view(seg.name), *a.mac), a.owner);
      !added) {
    return FieldError(
        label, "mac",
        absl::StrCat(mac, " is already ", it->second, "'s in segment ", QuoteBounded(seg.name)));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckEndpointInterface(const Endpoint& ep, const Node& node,
                                               const std::string& label) {
  if (node.foreign) {
    if (!ep.interface.empty()) {
      return FieldError(label, "interface",
                        absl::StrCat("node ", QuoteBounded(node.name),
                                     " is foreign (runs no Weft agent), so "
                                     "its endpoints take no interface"));
    }
    return absl::OkStatus();
  }
  if (ep.interface.empty()) {
    return FieldError(label, "interface",
                      absl::StrCat("is required on Weft node ", QuoteBounded(node.name)));
  }
  RETURN_IF_ERROR(CheckInterfaceName(label, ep.interface));
  if (auto link =
          links_.find(std::pair(absl::string_view(node.name), absl::string_view(ep.interface)));
      link != links_.end()) {
    return FieldError(label, "interface",
                      absl::StrCat(QuoteBounded(ep.interface), " on node ", QuoteBounded(node.name),
                                   " is uplink ", QuoteBounded(link->second.first->name),
                                   "'s link: an endpoint may not take an interface the agent "
                                   "relies on"));
  }
  if (trunks_.contains(std::pair(absl::string_view(node.name), absl::string_view(ep.interface)))) {
    return FieldError(label, "interface",
                      absl::StrCat(QuoteBounded(ep.interface), " on node ", QuoteBounded(node.name),
                                   " is a VLAN bridge's trunk: an endpoint may not take an "
                                   "interface the agent relies on"));
  }
  if (auto [it, added] = interfaces_.emplace(
          std::pair(absl::string_view(node.name), absl::string_view(ep.interface)), &ep);
      !added) {
    return FieldError(label, "interface",
                      absl::StrCat(QuoteBounded(ep.interface), " on node ", QuoteBounded(node.name),
                                   " is already endpoint ", QuoteBounded(it->second->name), "'s"));
  }
  if (++interfaces_per_node_[node.name] > WEFT_MAX_LOCAL_IFACES) {
    return FieldError(label, "node",
                      absl::StrCat("node ", QuoteBounded(node.name), " has more than ",
                                   WEFT_MAX_LOCAL_IFACES, " interfaces, the datapath's capacity"));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckRoutes() {
  RETURN_IF_ERROR(CheckRouteList(state_.routes, subnets_));
  return CheckRouteList(state_.routes6, subnets6_);
}

template <typename Prefix, typename Subnets>
absl::Status Validator::CheckRouteList(const std::vector<BasicRoute<Prefix>>& routes,
                                       const Subnets& subnets) const {
  absl::flat_hash_set<typename Subnets::key_type> seen;
  for (size_t i = 0; i < routes.size(); ++i) {
    const BasicRoute<Prefix>& route = routes[i];
    const std::string label = ObjectLabel("route", RouteName(route), i);
    RETURN_IF_ERROR(CheckRoute(route, label));
    const std::pair key(absl::string_view(route.tenant), PrefixKey(route.prefix));
    if (!seen.insert(key).second) {
      return FieldError(label, "prefix", "another route has the same tenant and prefix");
    }
    if (auto it = subnets.find(key); it != subnets.end()) {
      return FieldError(label, "prefix",
                        absl::StrCat("is segment ", QuoteBounded(it->second->name), "'s ",
                                     std::is_same_v<Prefix, Ipv6Prefix> ? "subnet6" : "subnet",
                                     ", already a connected route"));
    }
  }
  return absl::OkStatus();
}

template <typename Prefix>
absl::Status Validator::CheckRoute(const BasicRoute<Prefix>& route,
                                   const std::string& label) const {
  constexpr bool kIpv6 = std::is_same_v<Prefix, Ipv6Prefix>;
  if (!tenants_.contains(route.tenant)) {
    return FieldError(label, "tenant", absl::StrCat("no tenant ", QuoteBounded(route.tenant)));
  }
  if (absl::Status s = CheckPrefix(route.prefix); !s.ok()) {
    return FieldError(label, "prefix", s.message());
  }
  if (kIpv6 && route.advertise) {
    return FieldError(label, "advertise",
                      "IPv6 prefixes are not announced upstream yet (uplinks carry IPv4 only)");
  }
  if (route.blackhole) {
    if (!route.nodes.empty()) {
      return FieldError(label, "nodes", "a blackhole route has no next hops");
    }
    if (!route.segment.empty()) {
      return FieldError(label, "segment", "a blackhole route has no segment");
    }
    return absl::OkStatus();
  }
  if (route.nodes.empty()) {
    return FieldError(label, "nodes",
                      "ECMP group empty: list next-hop nodes, or set "
                      "blackhole: true");
  }
  if (route.nodes.size() > WEFT_ECMP_MAX) {
    return FieldError(
        label, "nodes",
        absl::StrCat(route.nodes.size(), " next hops exceed the ECMP limit of ", WEFT_ECMP_MAX));
  }
  absl::flat_hash_set<absl::string_view> hops;
  for (const std::string& node : route.nodes) {
    if (!nodes_.contains(node)) {
      return FieldError(label, "nodes", absl::StrCat("no node ", QuoteBounded(node)));
    }
    if (!hops.insert(node).second) {
      return FieldError(label, "nodes",
                        absl::StrCat("node ", QuoteBounded(node), " is listed twice"));
    }
  }
  if (route.segment.empty()) {
    return FieldError(label, "segment", "is required for a route to nodes");
  }
  auto seg_it = segments_.find(route.segment);
  if (seg_it == segments_.end()) {
    return FieldError(label, "segment", absl::StrCat("no segment ", QuoteBounded(route.segment)));
  }
  const Segment& seg = *seg_it->second;
  if (seg.tenant != route.tenant) {
    return FieldError(label, "segment",
                      absl::StrCat("segment ", QuoteBounded(route.segment), " belongs to tenant ",
                                   QuoteBounded(seg.tenant), ", not ", QuoteBounded(route.tenant)));
  }
  if (kIpv6 && !seg.subnet6) {
    return FieldError(label, "segment",
                      absl::StrCat("segment ", QuoteBounded(route.segment),
                                   " has no subnet6: an IPv6 route's next hops are reached on an "
                                   "IPv6 segment"));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckGroups() {
  for (size_t i = 0; i < state_.groups.size(); ++i) {
    const Group& group = state_.groups[i];
    const std::string label = ObjectLabel("group", group.name, i);
    RETURN_IF_ERROR(CheckName(label, "name", group.name, kMaxName));
    if (!tenants_.contains(group.tenant)) {
      return FieldError(label, "tenant", absl::StrCat("no tenant ", QuoteBounded(group.tenant)));
    }
    if (!groups_.emplace(group.tenant, group.name).second) {
      return FieldError(
          label, "name",
          absl::StrCat("tenant ", QuoteBounded(group.tenant), " already has a group of this name"));
    }
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckGroupRefs(const std::string& label, absl::string_view field,
                                       absl::string_view tenant,
                                       const std::vector<std::string>& names) const {
  absl::flat_hash_set<absl::string_view> seen;
  for (const std::string& name : names) {
    if (!groups_.contains(std::pair(tenant, absl::string_view(name)))) {
      return FieldError(
          label, field,
          absl::StrCat("no group ", QuoteBounded(name), " in tenant ", QuoteBounded(tenant)));
    }
    if (!seen.insert(name).second) {
      return FieldError(label, field,
                        absl::StrCat("group ", QuoteBounded(name), " is listed twice"));
    }
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckPolicies() {
  absl::flat_hash_map<absl::string_view, const Policy*> names;
  for (size_t i = 0; i < state_.policies.size(); ++i) {
    const Policy& policy = state_.policies[i];
    RETURN_IF_ERROR(AddNamed("policy", policy, i, names));
    RETURN_IF_ERROR(CheckPolicy(policy, ObjectLabel("policy", policy.name, i)));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckPolicy(const Policy& policy, const std::string& label) {
  if (!tenants_.contains(policy.tenant)) {
    return FieldError(label, "tenant", absl::StrCat("no tenant ", QuoteBounded(policy.tenant)));
  }
  if (policy.applied_to_groups.empty() && policy.applied_to_endpoints.empty()) {
    return FieldError(label, "applied_to",
                      "names no group and no endpoint: a policy must apply "
                      "to something");
  }
  RETURN_IF_ERROR(
      CheckGroupRefs(label, "applied_to.groups", policy.tenant, policy.applied_to_groups));
  absl::flat_hash_set<absl::string_view> seen;
  for (const std::string& name : policy.applied_to_endpoints) {
    auto it = endpoints_.find(name);
    if (it == endpoints_.end()) {
      return FieldError(label, "applied_to.endpoints",
                        absl::StrCat("no endpoint ", QuoteBounded(name)));
    }
    const std::string& tenant = segments_.at(it->second->segment)->tenant;
    if (tenant != policy.tenant) {
      return FieldError(label, "applied_to.endpoints",
                        absl::StrCat("endpoint ", QuoteBounded(name), " belongs to tenant ",
                                     QuoteBounded(tenant), ", not ", QuoteBounded(policy.tenant)));
    }
    if (!seen.insert(name).second) {
      return FieldError(label, "applied_to.endpoints",
                        absl::StrCat("endpoint ", QuoteBounded(name), " is listed twice"));
    }
  }
  for (size_t j = 0; j < policy.rules.size(); ++j) {
    RETURN_IF_ERROR(CheckRule(policy, policy.rules[j], absl::StrCat(label, ": rule ", j)));
  }
  return absl::OkStatus();
}

absl::Status Validator::CheckRule(const Policy& policy, const Rule& rule,
                                  const std::string& label) const {
  // The enums come from YAML as names, but from other sources (a proto, a
  // cast) as numbers: refuse any value outside the enum.
  RETURN_IF_ERROR(CheckEnum(label, "direction", kRuleDirectionNames, rule.direction));
  for (const Ipv4Prefix& cidr : rule.peer_cidrs) {
    if (absl::Status s = CheckIpv4Prefix(cidr); !s.ok()) {
      return FieldError(label, "peer.cidrs", s.message());
    }
  }
  for (const Ipv6Prefix& cidr : rule.peer_cidrs6) {
    if (absl::Status s = CheckIpv6Prefix(cidr); !s.ok()) {
      return FieldError(label, "peer.cidrs", s.message());
    }
  }
  RETURN_IF_ERROR(CheckGroupRefs(label, "peer.groups", policy.tenant, rule.peer_groups));
  RETURN_IF_ERROR(CheckEnum(label, "protocol", kRuleProtocolNames, rule.protocol));
  const bool has_ports = rule.protocol == RuleProtocol::kTcp || rule.protocol == RuleProtocol::kUdp;
  if (!rule.ports.empty() && !has_ports) {
    return FieldError(label, "ports",
                      "only for protocol tcp or udp (match any port by "
                      "leaving ports out)");
  }
  for (const PortRange& range : rule.ports) {
    for (uint32_t port : {range.first, range.last}) {
      if (port < 1 || port > 65535) {
        return FieldError(label, "ports", absl::StrCat("port ", port, " is outside 1..65535"));
      }
    }
    if (range.first > range.last) {
      return FieldError(label, "ports",
                        absl::StrCat("range ", range.first, "-", range.last, " is reversed"));
    }
  }
  if (rule.icmp_type.has_value()) {
    if (rule.protocol != RuleProtocol::kIcmp) {
      return FieldError(label, "icmp_type", "only for protocol icmp");
    }
    if (*rule.icmp_type > 255) {
      return FieldError(label, "icmp_type",
                        absl::StrCat("ICMP type ", *rule.icmp_type, " is outside 0..255"));
    }
    // Types are numbered per family (an echo request is 8, in ICMPv6 128):
    // a rule with a type judges IPv4 flows only, so an IPv6 peer is a mistake.
    if (!rule.peer_cidrs6.empty()) {
      return FieldError(label, "icmp_type",
                        absl::StrCat("is an IPv4 ICMP type, and peer.cidrs has the IPv6 prefix ",
                                     FormatIpv6Prefix(rule.peer_cidrs6.front())));
    }
  }
  RETURN_IF_ERROR(CheckEnum(label, "action", kRuleActionNames, rule.action));
  return absl::OkStatus();
}

}  // namespace

std::string QuoteBounded(absl::string_view s) {
  constexpr size_t kMaxQuoted = 64;
  const bool cut = s.size() > kMaxQuoted;
  return absl::StrCat("\"", absl::CHexEscape(s.substr(0, kMaxQuoted)), cut ? "\"..." : "\"");
}

absl::Status CheckNodeName(absl::string_view object, absl::string_view field,
                           absl::string_view name) {
  return CheckName(object, field, name, kMaxNodeName);
}

std::string ObjectLabel(absl::string_view kind, absl::string_view name, size_t index) {
  if (name.empty()) return absl::StrCat(kind, " #", index);
  return absl::StrCat(kind, " ", QuoteBounded(name));
}

std::string RouteName(const Route& route) {
  return absl::StrCat(route.tenant, " ", FormatIpv4Prefix(route.prefix));
}

std::string RouteName(const Route6& route) {
  return absl::StrCat(route.tenant, " ", FormatIpv6Prefix(route.prefix));
}

absl::Status FieldError(absl::string_view object, absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(object, ": field ", QuoteBounded(field), ": ", what));
}

absl::Status ValidateState(const State& state) { return Validator(state).Run(); }

}  // namespace weft
