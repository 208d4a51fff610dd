#include "common/wire/convert.h"

#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/status.h"
#include "common/model/enum_names.h"
#include "common/model/net_format.h"
#include "common/model/validate.h"

namespace weft {
namespace {

absl::string_view View(const std::string& s) { return absl::string_view(s); }

// A model enum value beside its wire value: one table converts both ways.
template <typename Wire, typename Model>
struct EnumPair {
  Wire wire;
  Model model;
};

// FIREWALL_ACTION_UNSPECIFIED reads as allow (the YAML default); it is
// listed after ALLOW so that allow is written as ALLOW.
constexpr EnumPair<v1::FirewallAction, FirewallAction> kWireFirewallActions[] = {
    {v1::FIREWALL_ACTION_ALLOW, FirewallAction::kAllow},
    {v1::FIREWALL_ACTION_DENY, FirewallAction::kDeny},
    {v1::FIREWALL_ACTION_UNSPECIFIED, FirewallAction::kAllow}};
// NODE_ROLE_UNSPECIFIED reads as hypervisor (the YAML default), as above.
constexpr EnumPair<v1::NodeRole, NodeRole> kWireNodeRoles[] = {
    {v1::NODE_ROLE_HYPERVISOR, NodeRole::kHypervisor},
    {v1::NODE_ROLE_EDGE, NodeRole::kEdge},
    {v1::NODE_ROLE_UNSPECIFIED, NodeRole::kHypervisor}};
constexpr EnumPair<v1::RuleDirection, RuleDirection> kWireRuleDirections[] = {
    {v1::RULE_DIRECTION_INGRESS, RuleDirection::kIngress},
    {v1::RULE_DIRECTION_EGRESS, RuleDirection::kEgress}};
constexpr EnumPair<v1::RuleProtocol, RuleProtocol> kWireRuleProtocols[] = {
    {v1::RULE_PROTOCOL_ANY, RuleProtocol::kAny},
    {v1::RULE_PROTOCOL_TCP, RuleProtocol::kTcp},
    {v1::RULE_PROTOCOL_UDP, RuleProtocol::kUdp},
    {v1::RULE_PROTOCOL_ICMP, RuleProtocol::kIcmp}};
constexpr EnumPair<v1::RuleAction, RuleAction> kWireRuleActions[] = {
    {v1::RULE_ACTION_ALLOW, RuleAction::kAllow},
    {v1::RULE_ACTION_DENY, RuleAction::kDeny},
    {v1::RULE_ACTION_REJECT, RuleAction::kReject}};

// The wire value of `model`; 0 (UNSPECIFIED, or the proto's default) for a
// value outside the enum.
template <typename Wire, typename Model, size_t N>
Wire EnumToWire(const EnumPair<Wire, Model> (&table)[N], Model model) {
  for (const auto& [wire, value] : table) {
    if (value == model) return wire;
  }
  return Wire{};
}

// Names an object in errors. Written out only for an error: a state of
// 100,000 endpoints has no use for 100,000 formatted names.
struct Label {
  absl::string_view kind;
  absl::string_view name;  // may be empty: the object is known by index
  int index = 0;
  const Label* within = nullptr;  // a rule's policy

  std::string Text() const {
    if (within != nullptr) return absl::StrCat(within->Text(), ": ", kind, " ", index);
    return ObjectLabel(kind, name, static_cast<size_t>(index));
  }
};

// Converts the fields of one object; the first error sticks (as the YAML
// reader's ObjectReader does) so the converters read straight through.
// Every error is FieldError's `<object>: field "<field>": <what>`.
class Fields {
 public:
  explicit Fields(Label label) : label_(label) {}

  const Label& label() const { return label_; }
  absl::Status status() const { return error_; }

  void Required(absl::string_view field, const std::string& value, std::string* out) {
    if (!error_.ok()) return;
    if (value.empty()) return Fail(field, "is required");
    *out = value;
  }

  template <typename T>
  void Parsed(absl::string_view field, const std::string& text,
              absl::StatusOr<T> (*parse)(absl::string_view), T* out) {
    if (!error_.ok()) return;
    if (text.empty()) return Fail(field, "is required");
    absl::StatusOr<T> value = parse(View(text));
    if (!value.ok()) return Fail(field, value.status().message());
    *out = *std::move(value);
  }

  // An optional value: empty text is absent.
  template <typename T>
  void Parsed(absl::string_view field, const std::string& text,
              absl::StatusOr<T> (*parse)(absl::string_view), std::optional<T>* out) {
    if (!error_.ok() || text.empty()) return;
    absl::StatusOr<T> value = parse(View(text));
    if (!value.ok()) return Fail(field, value.status().message());
    *out = *std::move(value);
  }

  template <typename T, typename List>
  void ParsedList(absl::string_view field, const List& texts,
                  absl::StatusOr<T> (*parse)(absl::string_view), std::vector<T>* out) {
    for (const std::string& text : texts) {
      if (!error_.ok()) return;
      absl::StatusOr<T> value = parse(View(text));
      if (!value.ok()) return Fail(field, value.status().message());
      out->push_back(*std::move(value));
    }
  }

  template <typename List>
  void Names(absl::string_view field, const List& names, std::vector<std::string>* out) {
    for (const std::string& name : names) {
      if (!error_.ok()) return;
      if (name.empty()) return Fail(field, "must be a list of non-empty names");
      out->push_back(name);
    }
  }

  // `wire` by `table`; a 0 outside the table (UNSPECIFIED) is missing, any
  // other value outside it is refused naming the choices of `names`.
  template <typename Wire, typename Model, size_t N, size_t M>
  void Enum(absl::string_view field, Wire wire, const EnumPair<Wire, Model> (&table)[N],
            const std::pair<const char*, Model> (&names)[M], Model* out) {
    for (const auto& [known, value] : table) {
      if (known == wire) {
        *out = value;
        return;
      }
    }
    if (wire == Wire{}) return Fail(field, "is required");
    Fail(field, absl::StrCat(static_cast<int>(wire), " is not ", ChoiceList(names)));
  }

  void Fail(absl::string_view field, absl::string_view what) {
    if (error_.ok()) error_ = FieldError(label_.Text(), field, what);
  }

 private:
  Label label_;
  absl::Status error_;
};

// ---- wire -> model, one function per kind of object ----

absl::Status FromWire(const v1::Node& in, int index, Node* out) {
  Fields f(Label{.kind = "node", .name = in.name(), .index = index});
  f.Required("name", in.name(), &out->name);
  f.Parsed("vtep", in.vtep(), &ParseUnderlayAddress, &out->vtep);
  out->foreign = in.foreign();
  f.Enum("role", in.role(), kWireNodeRoles, kNodeRoleNames, &out->role);
  return f.status();
}

absl::Status FromWire(const v1::Tenant& in, int index, Tenant* out) {
  Fields f(Label{.kind = "tenant", .name = in.name(), .index = index});
  f.Required("name", in.name(), &out->name);
  out->id = in.id();
  f.Enum("default_action", in.default_action(), kWireFirewallActions, kFirewallActionNames,
         &out->default_action);
  return f.status();
}

absl::Status FromWire(const v1::Segment& in, int index, Segment* out) {
  Fields f(Label{.kind = "segment", .name = in.name(), .index = index});
  f.Required("name", in.name(), &out->name);
  f.Required("tenant", in.tenant(), &out->tenant);
  out->vni = in.vni();
  f.Parsed("subnet", in.subnet(), &ParseIpv4Prefix, &out->subnet);
  f.Parsed("gateway", in.gateway(), &ParseIpv4, &out->gateway);
  f.Parsed("gateway_mac", in.gateway_mac(), &ParseMac, &out->gateway_mac);
  f.Parsed("subnet6", in.subnet6(), &ParseIpv6Prefix, &out->subnet6);
  f.Parsed("gateway6", in.gateway6(), &ParseIpv6, &out->gateway6);
  if (in.has_vlan_bridge()) {
    const v1::VlanBridge& b = in.vlan_bridge();
    VlanBridge& bridge = out->vlan_bridge.emplace();
    f.Required("vlan_bridge.node", b.node(), &bridge.node);
    bridge.standby = b.standby();
    f.Required("vlan_bridge.trunk", b.trunk(), &bridge.trunk);
    bridge.vlan = b.vlan();
  }
  return f.status();
}

absl::Status FromWire(const v1::Endpoint& in, int index, Endpoint* out) {
  Fields f(Label{.kind = "endpoint", .name = in.name(), .index = index});
  f.Required("name", in.name(), &out->name);
  f.Required("segment", in.segment(), &out->segment);
  f.Parsed("ip", in.ip(), &ParseIpv4, &out->ip);
  f.Parsed("ip6", in.ip6(), &ParseIpv6, &out->ip6);
  f.Parsed("mac", in.mac(), &ParseMac, &out->mac);
  f.Required("node", in.node(), &out->node);
  out->interface = in.interface();
  f.Names("groups", in.groups(), &out->groups);
  return f.status();
}

absl::Status FromWire(const v1::PhysicalHost& in, int index, PhysicalHost* out) {
  Fields f(Label{.kind = "physical host", .name = in.name(), .index = index});
  f.Required("name", in.name(), &out->name);
  f.Required("segment", in.segment(), &out->segment);
  f.Parsed("ip", in.ip(), &ParseIpv4, &out->ip);
  f.Parsed("ip6", in.ip6(), &ParseIpv6, &out->ip6);
  f.Parsed("mac", in.mac(), &ParseMac, &out->mac);
  f.Names("groups", in.groups(), &out->groups);
  return f.status();
}

// An IPv4 route (State.routes) or an IPv6 one (State.routes6).
template <typename Prefix>
absl::Status FromWire(const v1::Route& in, int index, BasicRoute<Prefix>* out) {
  constexpr bool kIpv6 = std::is_same_v<Prefix, Ipv6Prefix>;
  // As in the YAML path: a route has no name, so it is known by index.
  Fields f(Label{.kind = kIpv6 ? "IPv6 route" : "route", .index = index});
  f.Required("tenant", in.tenant(), &out->tenant);
  if constexpr (kIpv6) {
    f.Parsed("prefix", in.prefix(), &ParseIpv6Prefix, &out->prefix);
  } else {
    f.Parsed("prefix", in.prefix(), &ParseIpv4Prefix, &out->prefix);
  }
  out->blackhole = in.blackhole();
  f.Names("nodes", in.nodes(), &out->nodes);
  out->segment = in.segment();
  out->advertise = in.advertise();
  f.Names("learned_by", in.learned_by(), &out->learned_by);
  return f.status();
}

absl::Status FromWire(const v1::Group& in, int index, Group* out) {
  Fields f(Label{.kind = "group", .name = in.name(), .index = index});
  f.Required("name", in.name(), &out->name);
  f.Required("tenant", in.tenant(), &out->tenant);
  return f.status();
}

absl::Status FromWire(const v1::Uplink& in, int index, Uplink* out) {
  Fields f(Label{.kind = "uplink", .name = in.name(), .index = index});
  f.Required("name", in.name(), &out->name);
  f.Required("node", in.node(), &out->node);
  f.Required("tenant", in.tenant(), &out->tenant);
  f.Required("interface", in.interface(), &out->interface);
  if (in.has_vlan()) out->vlan = in.vlan();
  f.Parsed("transit", in.transit(), &ParseIpv4Prefix, &out->transit);
  f.Parsed("address", in.address(), &ParseIpv4, &out->address);
  f.Parsed("peer", in.peer(), &ParseIpv4, &out->peer);
  out->peer_as = in.peer_as();
  out->local_as = in.local_as();
  if (in.has_hold_time()) out->hold_time = in.hold_time();
  if (in.has_keepalive()) out->keepalive = in.keepalive();
  return f.status();
}

absl::Status RuleFromWire(const v1::Rule& in, const Label& label, Rule* out) {
  Fields f(label);
  f.Enum("direction", in.direction(), kWireRuleDirections, kRuleDirectionNames, &out->direction);
  std::vector<IpPrefix> cidrs;
  f.ParsedList("peer.cidrs", in.peer().cidrs(), &ParseIpPrefix, &cidrs);
  SplitByFamily(cidrs, &out->peer_cidrs, &out->peer_cidrs6);
  f.Names("peer.groups", in.peer().groups(), &out->peer_groups);
  f.Enum("protocol", in.protocol(), kWireRuleProtocols, kRuleProtocolNames, &out->protocol);
  for (const v1::PortRange& range : in.ports()) {
    out->ports.push_back(PortRange{.first = range.first(),
                                   .last = range.last() == 0 ? range.first() : range.last()});
  }
  if (in.has_icmp_type()) out->icmp_type = in.icmp_type();
  f.Enum("action", in.action(), kWireRuleActions, kRuleActionNames, &out->action);
  out->log = in.log();
  return f.status();
}

absl::Status FromWire(const v1::Policy& in, int index, Policy* out) {
  Fields f(Label{.kind = "policy", .name = in.name(), .index = index});
  f.Required("name", in.name(), &out->name);
  f.Required("tenant", in.tenant(), &out->tenant);
  if (in.has_priority()) out->priority = in.priority();
  if (!in.has_applied_to()) f.Fail("applied_to", "is required");
  f.Names("applied_to.groups", in.applied_to().groups(), &out->applied_to_groups);
  f.Names("applied_to.endpoints", in.applied_to().endpoints(), &out->applied_to_endpoints);
  RETURN_IF_ERROR(f.status());
  for (int j = 0; j < in.rules_size(); ++j) {
    Rule rule;
    RETURN_IF_ERROR(
        RuleFromWire(in.rules(j), Label{.kind = "rule", .index = j, .within = &f.label()}, &rule));
    out->rules.push_back(std::move(rule));
  }
  return absl::OkStatus();
}

// Converts every entry of `list` onto the end of `out`, in order; an entry
// is labelled by its index in `out`, so indexes count on from earlier
// parts. Stops at an error.
template <typename Entry, typename Object>
absl::Status AppendFromWire(const google::protobuf::RepeatedPtrField<Entry>& list,
                            std::vector<Object>* out) {
  for (const Entry& entry : list) {
    Object object;
    RETURN_IF_ERROR(FromWire(entry, static_cast<int>(out->size()), &object));
    out->push_back(std::move(object));
  }
  return absl::OkStatus();
}

// ---- model -> wire, one function per kind of object ----

void ToWire(const Node& node, v1::Node* p) {
  p->set_name(node.name);
  p->set_vtep(FormatUnderlayAddress(node.vtep));
  p->set_foreign(node.foreign);
  p->set_role(EnumToWire(kWireNodeRoles, node.role));
}

void ToWire(const Tenant& tenant, v1::Tenant* p) {
  p->set_name(tenant.name);
  p->set_id(tenant.id);
  p->set_default_action(EnumToWire(kWireFirewallActions, tenant.default_action));
}

void ToWire(const Segment& seg, v1::Segment* p) {
  p->set_name(seg.name);
  p->set_tenant(seg.tenant);
  p->set_vni(seg.vni);
  p->set_subnet(FormatIpv4Prefix(seg.subnet));
  p->set_gateway(FormatIpv4(seg.gateway));
  p->set_gateway_mac(FormatMac(seg.gateway_mac));
  if (seg.subnet6) p->set_subnet6(FormatIpv6Prefix(*seg.subnet6));
  if (seg.gateway6) p->set_gateway6(FormatIpv6(*seg.gateway6));
  if (seg.vlan_bridge) {
    v1::VlanBridge* b = p->mutable_vlan_bridge();
    b->set_node(seg.vlan_bridge->node);
    b->set_standby(seg.vlan_bridge->standby);
    b->set_trunk(seg.vlan_bridge->trunk);
    b->set_vlan(seg.vlan_bridge->vlan);
  }
}

void ToWire(const Endpoint& ep, v1::Endpoint* p) {
  p->set_name(ep.name);
  p->set_segment(ep.segment);
  p->set_ip(FormatIpv4(ep.ip));
  if (ep.ip6) p->set_ip6(FormatIpv6(*ep.ip6));
  p->set_mac(FormatMac(ep.mac));
  p->set_node(ep.node);
  p->set_interface(ep.interface);
  for (const std::string& g : ep.groups) p->add_groups(g);
}

void ToWire(const PhysicalHost& host, v1::PhysicalHost* p) {
  p->set_name(host.name);
  p->set_segment(host.segment);
  p->set_ip(FormatIpv4(host.ip));
  if (host.ip6) p->set_ip6(FormatIpv6(*host.ip6));
  if (host.mac) p->set_mac(FormatMac(*host.mac));
  for (const std::string& g : host.groups) p->add_groups(g);
}

template <typename Prefix>
void ToWire(const BasicRoute<Prefix>& route, v1::Route* p) {
  p->set_tenant(route.tenant);
  p->set_prefix(FormatIpPrefix(route.prefix));
  p->set_blackhole(route.blackhole);
  for (const std::string& n : route.nodes) p->add_nodes(n);
  p->set_segment(route.segment);
  p->set_advertise(route.advertise);
  for (const std::string& u : route.learned_by) p->add_learned_by(u);
}

void ToWire(const Group& group, v1::Group* p) {
  p->set_name(group.name);
  p->set_tenant(group.tenant);
}

void ToWire(const Rule& rule, v1::Rule* r) {
  r->set_direction(EnumToWire(kWireRuleDirections, rule.direction));
  for (const Ipv4Prefix& c : rule.peer_cidrs) {
    r->mutable_peer()->add_cidrs(FormatIpv4Prefix(c));
  }
  for (const Ipv6Prefix& c : rule.peer_cidrs6) {
    r->mutable_peer()->add_cidrs(FormatIpv6Prefix(c));
  }
  for (const std::string& g : rule.peer_groups) {
    r->mutable_peer()->add_groups(g);
  }
  r->set_protocol(EnumToWire(kWireRuleProtocols, rule.protocol));
  for (const PortRange& range : rule.ports) {
    v1::PortRange* pr = r->add_ports();
    pr->set_first(range.first);
    pr->set_last(range.last);
  }
  if (rule.icmp_type) r->set_icmp_type(*rule.icmp_type);
  r->set_action(EnumToWire(kWireRuleActions, rule.action));
  r->set_log(rule.log);
}

void ToWire(const Policy& policy, v1::Policy* p) {
  p->set_name(policy.name);
  p->set_tenant(policy.tenant);
  p->set_priority(policy.priority);
  v1::AppliedTo* applied = p->mutable_applied_to();
  for (const std::string& g : policy.applied_to_groups) applied->add_groups(g);
  for (const std::string& e : policy.applied_to_endpoints) {
    applied->add_endpoints(e);
  }
  for (const Rule& rule : policy.rules) ToWire(rule, p->add_rules());
}

void ToWire(const Uplink& uplink, v1::Uplink* p) {
  p->set_name(uplink.name);
  p->set_node(uplink.node);
  p->set_tenant(uplink.tenant);
  p->set_interface(uplink.interface);
  if (uplink.vlan) p->set_vlan(*uplink.vlan);
  p->set_transit(FormatIpv4Prefix(uplink.transit));
  p->set_address(FormatIpv4(uplink.address));
  p->set_peer(FormatIpv4(uplink.peer));
  p->set_peer_as(uplink.peer_as);
  p->set_local_as(uplink.local_as);
  if (uplink.hold_time) p->set_hold_time(*uplink.hold_time);
  if (uplink.keepalive) p->set_keepalive(*uplink.keepalive);
}

template <typename Object, typename Entry>
void AppendToWire(const std::vector<Object>& objects,
                  google::protobuf::RepeatedPtrField<Entry>* out) {
  for (const Object& object : objects) ToWire(object, out->Add());
}

}  // namespace

absl::Status StateConverter::AppendPart(const v1::State& part) {
  RETURN_IF_ERROR(AppendFromWire(part.nodes(), &state_.nodes));
  RETURN_IF_ERROR(AppendFromWire(part.tenants(), &state_.tenants));
  RETURN_IF_ERROR(AppendFromWire(part.segments(), &state_.segments));
  RETURN_IF_ERROR(AppendFromWire(part.endpoints(), &state_.endpoints));
  RETURN_IF_ERROR(AppendFromWire(part.routes(), &state_.routes));
  RETURN_IF_ERROR(AppendFromWire(part.routes6(), &state_.routes6));
  RETURN_IF_ERROR(AppendFromWire(part.groups(), &state_.groups));
  RETURN_IF_ERROR(AppendFromWire(part.policies(), &state_.policies));
  RETURN_IF_ERROR(AppendFromWire(part.uplinks(), &state_.uplinks));
  return AppendFromWire(part.physical_hosts(), &state_.physical_hosts);
}

void StateConverter::Add(const v1::State& part) {
  if (!error_.ok()) return;
  if (first_) state_.version = part.version();
  first_ = false;
  error_ = AppendPart(part);
}

absl::StatusOr<State> StateConverter::Finish() && {
  if (!error_.ok()) return error_;
  return std::move(state_);
}

absl::StatusOr<State> StateFromProto(const v1::State& proto) {
  StateConverter converter;
  converter.Add(proto);
  return std::move(converter).Finish();
}

v1::State ToProto(const State& state) {
  v1::State out;
  out.set_version(state.version);
  AppendToWire(state.nodes, out.mutable_nodes());
  AppendToWire(state.tenants, out.mutable_tenants());
  AppendToWire(state.segments, out.mutable_segments());
  AppendToWire(state.endpoints, out.mutable_endpoints());
  AppendToWire(state.routes, out.mutable_routes());
  AppendToWire(state.routes6, out.mutable_routes6());
  AppendToWire(state.groups, out.mutable_groups());
  AppendToWire(state.policies, out.mutable_policies());
  AppendToWire(state.uplinks, out.mutable_uplinks());
  AppendToWire(state.physical_hosts, out.mutable_physical_hosts());
  return out;
}

}  // namespace weft
