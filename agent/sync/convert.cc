#include "agent/sync/convert.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/datapath/policy_tables.h"
#include "agent/datapath/tables.h"
#include "agent/model/net_format.h"
#include "agent/model/validate.h"

namespace weft {
namespace {

absl::string_view View(const std::string& s) { return absl::string_view(s); }

// Converts the fields of one object; the first error sticks (as the YAML
// reader's ObjectReader does) so the converters read straight through.
class Fields {
 public:
  explicit Fields(std::string label) : label_(std::move(label)) {}

  const std::string& label() const { return label_; }
  absl::Status status() const { return error_; }

  void Required(absl::string_view field, const std::string& value,
                std::string* out) {
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

  template <typename T, typename List>
  void ParsedList(absl::string_view field, const List& texts,
                  absl::StatusOr<T> (*parse)(absl::string_view),
                  std::vector<T>* out) {
    for (const std::string& text : texts) {
      if (!error_.ok()) return;
      absl::StatusOr<T> value = parse(View(text));
      if (!value.ok()) return Fail(field, value.status().message());
      out->push_back(*std::move(value));
    }
  }

  template <typename List>
  void Names(absl::string_view field, const List& names,
             std::vector<std::string>* out) {
    for (const std::string& name : names) {
      if (!error_.ok()) return;
      if (name.empty()) return Fail(field, "must be a list of non-empty names");
      out->push_back(name);
    }
  }

  void Fail(absl::string_view field, absl::string_view what) {
    if (error_.ok()) error_ = FieldError(label_, field, what);
  }

 private:
  std::string label_;
  absl::Status error_;
};

absl::Status ConvertRule(const v1::Rule& in, const std::string& label,
                         Rule* out) {
  Fields f(label);
  switch (in.direction()) {
    case v1::RULE_DIRECTION_INGRESS:
      out->direction = RuleDirection::kIngress;
      break;
    case v1::RULE_DIRECTION_EGRESS:
      out->direction = RuleDirection::kEgress;
      break;
    case v1::RULE_DIRECTION_UNSPECIFIED:
      f.Fail("direction", "is required");
      break;
    default:
      f.Fail("direction", absl::StrCat(static_cast<int>(in.direction()),
                                       " is not ingress or egress"));
  }
  f.ParsedList("peer.cidrs", in.peer().cidrs(), &ParseIpv4Prefix,
               &out->peer_cidrs);
  f.Names("peer.groups", in.peer().groups(), &out->peer_groups);
  switch (in.protocol()) {
    case v1::RULE_PROTOCOL_ANY:
      out->protocol = RuleProtocol::kAny;
      break;
    case v1::RULE_PROTOCOL_TCP:
      out->protocol = RuleProtocol::kTcp;
      break;
    case v1::RULE_PROTOCOL_UDP:
      out->protocol = RuleProtocol::kUdp;
      break;
    case v1::RULE_PROTOCOL_ICMP:
      out->protocol = RuleProtocol::kIcmp;
      break;
    default:
      f.Fail("protocol", absl::StrCat(static_cast<int>(in.protocol()),
                                      " is not any, tcp, udp or icmp"));
  }
  for (const v1::PortRange& range : in.ports()) {
    out->ports.push_back(PortRange{
        .first = range.first(),
        .last = range.last() == 0 ? range.first() : range.last()});
  }
  if (in.has_icmp_type()) out->icmp_type = in.icmp_type();
  switch (in.action()) {
    case v1::RULE_ACTION_ALLOW:
      out->action = RuleAction::kAllow;
      break;
    case v1::RULE_ACTION_DENY:
      out->action = RuleAction::kDeny;
      break;
    case v1::RULE_ACTION_REJECT:
      out->action = RuleAction::kReject;
      break;
    case v1::RULE_ACTION_UNSPECIFIED:
      f.Fail("action", "is required");
      break;
    default:
      f.Fail("action", absl::StrCat(static_cast<int>(in.action()),
                                    " is not allow, deny or reject"));
  }
  out->log = in.log();
  return f.status();
}

}  // namespace

absl::StatusOr<State> StateFromProto(const v1::State& proto) {
  State state;
  state.version = proto.version();
  for (int i = 0; i < proto.nodes_size(); ++i) {
    const v1::Node& in = proto.nodes(i);
    Fields f(ObjectLabel("node", in.name(), i));
    Node node;
    f.Required("name", in.name(), &node.name);
    f.Parsed("vtep", in.vtep(), &ParseIpv4, &node.vtep);
    node.foreign = in.foreign();
    if (!f.status().ok()) return f.status();
    state.nodes.push_back(std::move(node));
  }
  for (int i = 0; i < proto.tenants_size(); ++i) {
    const v1::Tenant& in = proto.tenants(i);
    Fields f(ObjectLabel("tenant", in.name(), i));
    Tenant tenant;
    f.Required("name", in.name(), &tenant.name);
    tenant.id = in.id();
    switch (in.default_action()) {
      case v1::FIREWALL_ACTION_UNSPECIFIED:
      case v1::FIREWALL_ACTION_ALLOW:
        tenant.default_action = FirewallAction::kAllow;
        break;
      case v1::FIREWALL_ACTION_DENY:
        tenant.default_action = FirewallAction::kDeny;
        break;
      default:
        f.Fail("default_action",
               absl::StrCat(static_cast<int>(in.default_action()),
                            " is not allow or deny"));
    }
    if (!f.status().ok()) return f.status();
    state.tenants.push_back(std::move(tenant));
  }
  for (int i = 0; i < proto.segments_size(); ++i) {
    const v1::Segment& in = proto.segments(i);
    Fields f(ObjectLabel("segment", in.name(), i));
    Segment seg;
    f.Required("name", in.name(), &seg.name);
    f.Required("tenant", in.tenant(), &seg.tenant);
    seg.vni = in.vni();
    f.Parsed("subnet", in.subnet(), &ParseIpv4Prefix, &seg.subnet);
    f.Parsed("gateway", in.gateway(), &ParseIpv4, &seg.gateway);
    f.Parsed("gateway_mac", in.gateway_mac(), &ParseMac, &seg.gateway_mac);
    if (!f.status().ok()) return f.status();
    state.segments.push_back(std::move(seg));
  }
  for (int i = 0; i < proto.endpoints_size(); ++i) {
    const v1::Endpoint& in = proto.endpoints(i);
    Fields f(ObjectLabel("endpoint", in.name(), i));
    Endpoint ep;
    f.Required("name", in.name(), &ep.name);
    f.Required("segment", in.segment(), &ep.segment);
    f.Parsed("ip", in.ip(), &ParseIpv4, &ep.ip);
    f.Parsed("mac", in.mac(), &ParseMac, &ep.mac);
    f.Required("node", in.node(), &ep.node);
    ep.interface = in.interface();
    f.Names("groups", in.groups(), &ep.groups);
    if (!f.status().ok()) return f.status();
    state.endpoints.push_back(std::move(ep));
  }
  for (int i = 0; i < proto.routes_size(); ++i) {
    const v1::Route& in = proto.routes(i);
    // As in the YAML path: a route has no name, so it is known by index.
    Fields f(ObjectLabel("route", "", i));
    Route route;
    f.Required("tenant", in.tenant(), &route.tenant);
    f.Parsed("prefix", in.prefix(), &ParseIpv4Prefix, &route.prefix);
    route.blackhole = in.blackhole();
    f.Names("nodes", in.nodes(), &route.nodes);
    route.segment = in.segment();
    if (!f.status().ok()) return f.status();
    state.routes.push_back(std::move(route));
  }
  for (int i = 0; i < proto.groups_size(); ++i) {
    const v1::Group& in = proto.groups(i);
    Fields f(ObjectLabel("group", in.name(), i));
    Group group;
    f.Required("name", in.name(), &group.name);
    f.Required("tenant", in.tenant(), &group.tenant);
    if (!f.status().ok()) return f.status();
    state.groups.push_back(std::move(group));
  }
  for (int i = 0; i < proto.policies_size(); ++i) {
    const v1::Policy& in = proto.policies(i);
    Fields f(ObjectLabel("policy", in.name(), i));
    Policy policy;
    f.Required("name", in.name(), &policy.name);
    f.Required("tenant", in.tenant(), &policy.tenant);
    if (in.has_priority()) policy.priority = in.priority();
    if (!in.has_applied_to()) f.Fail("applied_to", "is required");
    f.Names("applied_to.groups", in.applied_to().groups(),
            &policy.applied_to_groups);
    f.Names("applied_to.endpoints", in.applied_to().endpoints(),
            &policy.applied_to_endpoints);
    if (!f.status().ok()) return f.status();
    for (int j = 0; j < in.rules_size(); ++j) {
      Rule rule;
      if (absl::Status s = ConvertRule(
              in.rules(j), absl::StrCat(f.label(), ": rule ", j), &rule);
          !s.ok()) {
        return s;
      }
      policy.rules.push_back(std::move(rule));
    }
    state.policies.push_back(std::move(policy));
  }
  return state;
}

v1::State ToProto(const State& state) {
  v1::State out;
  out.set_version(state.version);
  for (const Node& node : state.nodes) {
    v1::Node* p = out.add_nodes();
    p->set_name(node.name);
    p->set_vtep(FormatIpv4(node.vtep));
    p->set_foreign(node.foreign);
  }
  for (const Tenant& tenant : state.tenants) {
    v1::Tenant* p = out.add_tenants();
    p->set_name(tenant.name);
    p->set_id(tenant.id);
    p->set_default_action(tenant.default_action == FirewallAction::kDeny
                              ? v1::FIREWALL_ACTION_DENY
                              : v1::FIREWALL_ACTION_ALLOW);
  }
  for (const Segment& seg : state.segments) {
    v1::Segment* p = out.add_segments();
    p->set_name(seg.name);
    p->set_tenant(seg.tenant);
    p->set_vni(seg.vni);
    p->set_subnet(FormatIpv4Prefix(seg.subnet));
    p->set_gateway(FormatIpv4(seg.gateway));
    p->set_gateway_mac(FormatMac(seg.gateway_mac));
  }
  for (const Endpoint& ep : state.endpoints) {
    v1::Endpoint* p = out.add_endpoints();
    p->set_name(ep.name);
    p->set_segment(ep.segment);
    p->set_ip(FormatIpv4(ep.ip));
    p->set_mac(FormatMac(ep.mac));
    p->set_node(ep.node);
    p->set_interface(ep.interface);
    for (const std::string& g : ep.groups) p->add_groups(g);
  }
  for (const Route& route : state.routes) {
    v1::Route* p = out.add_routes();
    p->set_tenant(route.tenant);
    p->set_prefix(FormatIpv4Prefix(route.prefix));
    p->set_blackhole(route.blackhole);
    for (const std::string& n : route.nodes) p->add_nodes(n);
    p->set_segment(route.segment);
  }
  for (const Group& group : state.groups) {
    v1::Group* p = out.add_groups();
    p->set_name(group.name);
    p->set_tenant(group.tenant);
  }
  for (const Policy& policy : state.policies) {
    v1::Policy* p = out.add_policies();
    p->set_name(policy.name);
    p->set_tenant(policy.tenant);
    p->set_priority(policy.priority);
    v1::AppliedTo* applied = p->mutable_applied_to();
    for (const std::string& g : policy.applied_to_groups) applied->add_groups(g);
    for (const std::string& e : policy.applied_to_endpoints) {
      applied->add_endpoints(e);
    }
    for (const Rule& rule : policy.rules) {
      v1::Rule* r = p->add_rules();
      r->set_direction(rule.direction == RuleDirection::kEgress
                           ? v1::RULE_DIRECTION_EGRESS
                           : v1::RULE_DIRECTION_INGRESS);
      for (const Ipv4Prefix& c : rule.peer_cidrs) {
        r->mutable_peer()->add_cidrs(FormatIpv4Prefix(c));
      }
      for (const std::string& g : rule.peer_groups) {
        r->mutable_peer()->add_groups(g);
      }
      switch (rule.protocol) {
        case RuleProtocol::kAny:
          r->set_protocol(v1::RULE_PROTOCOL_ANY);
          break;
        case RuleProtocol::kTcp:
          r->set_protocol(v1::RULE_PROTOCOL_TCP);
          break;
        case RuleProtocol::kUdp:
          r->set_protocol(v1::RULE_PROTOCOL_UDP);
          break;
        case RuleProtocol::kIcmp:
          r->set_protocol(v1::RULE_PROTOCOL_ICMP);
          break;
      }
      for (const PortRange& range : rule.ports) {
        v1::PortRange* pr = r->add_ports();
        pr->set_first(range.first);
        pr->set_last(range.last);
      }
      if (rule.icmp_type) r->set_icmp_type(*rule.icmp_type);
      switch (rule.action) {
        case RuleAction::kAllow:
          r->set_action(v1::RULE_ACTION_ALLOW);
          break;
        case RuleAction::kDeny:
          r->set_action(v1::RULE_ACTION_DENY);
          break;
        case RuleAction::kReject:
          r->set_action(v1::RULE_ACTION_REJECT);
          break;
      }
      r->set_log(rule.log);
    }
  }
  return out;
}

absl::Status ValidateForNode(const State& state, const std::string& node) {
  if (absl::Status s = ValidateState(state); !s.ok()) return s;
  NodeSettings probe{.node = node};
  absl::StatusOr<NodeTables> tables =
      BuildNodeTables(state, probe, [](const std::string&) { return 0u; });
  if (!tables.ok()) return tables.status();
  // The firewall's tables for this node (the slot does not matter).
  return BuildPolicyTables(state, node, 0).status();
}

}  // namespace weft
