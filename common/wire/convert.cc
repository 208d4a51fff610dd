#include "common/wire/convert.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/model/net_format.h"
#include "common/model/validate.h"

namespace weft {
namespace {

absl::string_view View(const std::string& s) { return absl::string_view(s); }

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
class Fields {
 public:
  explicit Fields(Label label) : label_(label) {}

  const Label& label() const { return label_; }
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
    if (error_.ok()) error_ = FieldError(label_.Text(), field, what);
  }

 private:
  Label label_;
  absl::Status error_;
};

absl::Status ConvertRule(const v1::Rule& in, const Label& label, Rule* out) {
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

// Calls fn(entry, index) on every entry of `list` in `part`, in order,
// indexes counting on from `first`. Stops at an error.
template <typename Entry, typename Fn>
absl::Status EachEntry(
    const v1::State& part,
    const google::protobuf::RepeatedPtrField<Entry>& (v1::State::*list)() const,
    size_t first, Fn fn) {
  int index = static_cast<int>(first);
  for (const Entry& entry : (part.*list)()) {
    if (absl::Status s = fn(entry, index++); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status StateConverter::AppendPart(const v1::State& part) {
  absl::Status status = EachEntry(part, &v1::State::nodes, state_.nodes.size(), [&](const v1::Node& in, int i) {
    Fields f(Label{.kind = "node", .name = in.name(), .index = i});
    Node node;
    f.Required("name", in.name(), &node.name);
    f.Parsed("vtep", in.vtep(), &ParseIpv4, &node.vtep);
    node.foreign = in.foreign();
    if (!f.status().ok()) return f.status();
    state_.nodes.push_back(std::move(node));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  status = EachEntry(part, &v1::State::tenants, state_.tenants.size(), [&](const v1::Tenant& in, int i) {
    Fields f(Label{.kind = "tenant", .name = in.name(), .index = i});
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
    state_.tenants.push_back(std::move(tenant));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  status = EachEntry(part, &v1::State::segments, state_.segments.size(), [&](const v1::Segment& in, int i) {
    Fields f(Label{.kind = "segment", .name = in.name(), .index = i});
    Segment seg;
    f.Required("name", in.name(), &seg.name);
    f.Required("tenant", in.tenant(), &seg.tenant);
    seg.vni = in.vni();
    f.Parsed("subnet", in.subnet(), &ParseIpv4Prefix, &seg.subnet);
    f.Parsed("gateway", in.gateway(), &ParseIpv4, &seg.gateway);
    f.Parsed("gateway_mac", in.gateway_mac(), &ParseMac, &seg.gateway_mac);
    if (!f.status().ok()) return f.status();
    state_.segments.push_back(std::move(seg));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  status = EachEntry(part, &v1::State::endpoints, state_.endpoints.size(), [&](const v1::Endpoint& in, int i) {
    Fields f(Label{.kind = "endpoint", .name = in.name(), .index = i});
    Endpoint ep;
    f.Required("name", in.name(), &ep.name);
    f.Required("segment", in.segment(), &ep.segment);
    f.Parsed("ip", in.ip(), &ParseIpv4, &ep.ip);
    f.Parsed("mac", in.mac(), &ParseMac, &ep.mac);
    f.Required("node", in.node(), &ep.node);
    ep.interface = in.interface();
    f.Names("groups", in.groups(), &ep.groups);
    if (!f.status().ok()) return f.status();
    state_.endpoints.push_back(std::move(ep));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  status = EachEntry(part, &v1::State::routes, state_.routes.size(), [&](const v1::Route& in, int i) {
    // As in the YAML path: a route has no name, so it is known by index.
    Fields f(Label{.kind = "route", .index = i});
    Route route;
    f.Required("tenant", in.tenant(), &route.tenant);
    f.Parsed("prefix", in.prefix(), &ParseIpv4Prefix, &route.prefix);
    route.blackhole = in.blackhole();
    f.Names("nodes", in.nodes(), &route.nodes);
    route.segment = in.segment();
    if (!f.status().ok()) return f.status();
    state_.routes.push_back(std::move(route));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  status = EachEntry(part, &v1::State::groups, state_.groups.size(), [&](const v1::Group& in, int i) {
    Fields f(Label{.kind = "group", .name = in.name(), .index = i});
    Group group;
    f.Required("name", in.name(), &group.name);
    f.Required("tenant", in.tenant(), &group.tenant);
    if (!f.status().ok()) return f.status();
    state_.groups.push_back(std::move(group));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  status = EachEntry(part, &v1::State::policies, state_.policies.size(), [&](const v1::Policy& in, int i) {
    Fields f(Label{.kind = "policy", .name = in.name(), .index = i});
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
              in.rules(j), Label{.kind = "rule", .index = j, .within = &f.label()}, &rule);
          !s.ok()) {
        return s;
      }
      policy.rules.push_back(std::move(rule));
    }
    state_.policies.push_back(std::move(policy));
    return absl::OkStatus();
  });
  return status;
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

}  // namespace weft
