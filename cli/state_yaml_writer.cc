#include "cli/state_yaml_writer.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/model/enum_names.h"
#include "common/model/net_format.h"

namespace weft::cli {
namespace {

// A double-quoted YAML scalar: `"`, `\` and every control character
// escaped, so no name can end the scalar, the line or the document.
std::string Quoted(absl::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, c));
    } else if (byte < 0x20 || byte == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", byte);
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

template <typename E, size_t N>
std::string Name(const std::pair<const char*, E> (&names)[N], E value) {
  for (const auto& [name, v] : names) {
    if (v == value) return name;
  }
  return "";  // not reached: every value of the model's enums is named
}

// Writes the objects of one list of the state: "- " before an object's
// first field, its indentation before the others.
class Writer {
 public:
  explicit Writer(std::string* out) : out_(*out) {}

  // Starts the top-level list `field` when `count` is not 0.
  bool List(absl::string_view field, size_t count) {
    if (count == 0) return false;
    absl::StrAppend(&out_, field, ":\n");
    return true;
  }
  // A new item of the list at `indent` (the dash's column).
  void Item(int indent) {
    indent_ = indent + 2;
    pending_dash_ = true;
  }
  void Field(absl::string_view field, absl::string_view value) {
    absl::StrAppend(&out_, Prefix(), field, ": ", value, "\n");
  }
  // A field whose value (a list) follows on the next lines.
  void Key(absl::string_view field) { absl::StrAppend(&out_, Prefix(), field, ":\n"); }
  void Text(absl::string_view field, absl::string_view value) { Field(field, Quoted(value)); }
  void TextIfAny(absl::string_view field, absl::string_view value) {
    if (!value.empty()) Text(field, value);
  }
  void Number(absl::string_view field, uint64_t value) { Field(field, absl::StrCat(value)); }
  void True(absl::string_view field, bool value) {
    if (value) Field(field, "true");
  }
  void Texts(absl::string_view field, const std::vector<std::string>& values) {
    if (values.empty()) return;
    std::string list = "[";
    for (size_t i = 0; i < values.size(); ++i) {
      absl::StrAppend(&list, i ? ", " : "", Quoted(values[i]));
    }
    Field(field, list + "]");
  }
  // A nested mapping: its fields one level deeper.
  void Open(absl::string_view field) {
    Key(field);
    indent_ += 2;
  }
  void Close() { indent_ -= 2; }

 private:
  std::string Prefix() {
    if (!pending_dash_) return std::string(indent_, ' ');
    pending_dash_ = false;
    return std::string(indent_ - 2, ' ') + "- ";
  }

  std::string& out_;
  int indent_ = 0;
  bool pending_dash_ = false;
};

std::string PortText(const PortRange& r) {
  return r.first == r.last ? absl::StrCat(r.first) : absl::StrCat(r.first, "-", r.last);
}

template <typename Prefix>
void WriteRoute(Writer& w, const BasicRoute<Prefix>& r) {
  w.Item(2);
  w.Text("tenant", r.tenant);
  w.Text("prefix", FormatIpPrefix(r.prefix));
  w.True("blackhole", r.blackhole);
  w.Texts("nodes", r.nodes);
  w.TextIfAny("segment", r.segment);
  w.True("advertise", r.advertise);
}

void WriteRule(Writer& w, const Rule& rule) {
  w.Item(4);
  w.Field("direction", Name(kRuleDirectionNames, rule.direction));
  if (!rule.AnyPeer()) {
    w.Open("peer");
    std::vector<std::string> cidrs;
    for (const Ipv4Prefix& p : rule.peer_cidrs) cidrs.push_back(FormatIpv4Prefix(p));
    for (const Ipv6Prefix& p : rule.peer_cidrs6) cidrs.push_back(FormatIpv6Prefix(p));
    w.Texts("cidrs", cidrs);
    w.Texts("groups", rule.peer_groups);
    w.Close();
  }
  if (rule.protocol != RuleProtocol::kAny) {
    w.Field("protocol", Name(kRuleProtocolNames, rule.protocol));
  }
  std::vector<std::string> ports;
  for (const PortRange& r : rule.ports) ports.push_back(PortText(r));
  w.Texts("ports", ports);
  if (rule.icmp_type) w.Number("icmp_type", *rule.icmp_type);
  w.Field("action", Name(kRuleActionNames, rule.action));
  w.True("log", rule.log);
}

}  // namespace

std::string StateToYaml(const State& s, const std::string& header) {
  std::string out;
  if (!header.empty()) {
    for (absl::string_view line : absl::StrSplit(header, '\n')) {
      absl::StrAppend(&out, "# ", line, "\n");
    }
  }
  Writer w(&out);
  if (w.List("nodes", s.nodes.size())) {
    for (const Node& n : s.nodes) {
      w.Item(2);
      w.Text("name", n.name);
      w.Text("vtep", FormatUnderlayAddress(n.vtep));
      w.True("foreign", n.foreign);
      if (n.role != NodeRole::kHypervisor) w.Field("role", Name(kNodeRoleNames, n.role));
    }
  }
  if (w.List("tenants", s.tenants.size())) {
    for (const Tenant& t : s.tenants) {
      w.Item(2);
      w.Text("name", t.name);
      w.Number("id", t.id);
      if (t.default_action != FirewallAction::kAllow) {
        w.Field("default_action", Name(kFirewallActionNames, t.default_action));
      }
    }
  }
  if (w.List("segments", s.segments.size())) {
    for (const Segment& g : s.segments) {
      w.Item(2);
      w.Text("name", g.name);
      w.Text("tenant", g.tenant);
      w.Number("vni", g.vni);
      w.Text("subnet", FormatIpv4Prefix(g.subnet));
      w.Text("gateway", FormatIpv4(g.gateway));
      w.Text("gateway_mac", FormatMac(g.gateway_mac));
      if (g.subnet6) w.Text("subnet6", FormatIpv6Prefix(*g.subnet6));
      if (g.gateway6) w.Text("gateway6", FormatIpv6(*g.gateway6));
      if (const std::optional<VlanBridge>& b = g.vlan_bridge) {
        w.Open("vlan_bridge");
        w.Text("node", b->node);
        w.TextIfAny("standby", b->standby);
        w.Text("trunk", b->trunk);
        w.Number("vlan", b->vlan);
        w.Close();
      }
    }
  }
  if (w.List("endpoints", s.endpoints.size())) {
    for (const Endpoint& e : s.endpoints) {
      w.Item(2);
      w.Text("name", e.name);
      w.Text("segment", e.segment);
      w.Text("ip", FormatIpv4(e.ip));
      if (e.ip6) w.Text("ip6", FormatIpv6(*e.ip6));
      w.Text("mac", FormatMac(e.mac));
      w.Text("node", e.node);
      w.TextIfAny("interface", e.interface);
      w.Texts("groups", e.groups);
    }
  }
  if (w.List("physical_hosts", s.physical_hosts.size())) {
    for (const PhysicalHost& h : s.physical_hosts) {
      w.Item(2);
      w.Text("name", h.name);
      w.Text("segment", h.segment);
      w.Text("ip", FormatIpv4(h.ip));
      if (h.ip6) w.Text("ip6", FormatIpv6(*h.ip6));
      if (h.mac) w.Text("mac", FormatMac(*h.mac));
      w.Texts("groups", h.groups);
    }
  }
  // One list of both families, as a state file has it.
  if (w.List("routes", s.routes.size() + s.routes6.size())) {
    for (const Route& r : s.routes) WriteRoute(w, r);
    for (const Route6& r : s.routes6) WriteRoute(w, r);
  }
  if (w.List("groups", s.groups.size())) {
    for (const Group& g : s.groups) {
      w.Item(2);
      w.Text("name", g.name);
      w.Text("tenant", g.tenant);
    }
  }
  if (w.List("policies", s.policies.size())) {
    for (const Policy& p : s.policies) {
      w.Item(2);
      w.Text("name", p.name);
      w.Text("tenant", p.tenant);
      if (p.priority != Policy::kDefaultPriority) w.Number("priority", p.priority);
      if (p.applied_to_groups.empty() && p.applied_to_endpoints.empty()) {
        w.Field("applied_to", "{}");  // required, even empty
      } else {
        w.Open("applied_to");
        w.Texts("groups", p.applied_to_groups);
        w.Texts("endpoints", p.applied_to_endpoints);
        w.Close();
      }
      if (!p.rules.empty()) {
        w.Key("rules");
        for (const Rule& rule : p.rules) WriteRule(w, rule);
      }
    }
  }
  if (w.List("uplinks", s.uplinks.size())) {
    for (const Uplink& u : s.uplinks) {
      w.Item(2);
      w.Text("name", u.name);
      w.Text("node", u.node);
      w.Text("tenant", u.tenant);
      w.Text("interface", u.interface);
      if (u.vlan) w.Number("vlan", *u.vlan);
      w.Text("transit", FormatIpv4Prefix(u.transit));
      w.Text("address", FormatIpv4(u.address));
      w.Text("peer", FormatIpv4(u.peer));
      w.Number("peer_as", u.peer_as);
      w.Number("local_as", u.local_as);
      if (u.hold_time) w.Number("hold_time", *u.hold_time);
      if (u.keepalive) w.Number("keepalive", *u.keepalive);
    }
  }
  return out;
}

}  // namespace weft::cli
