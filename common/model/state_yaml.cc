#include "common/model/state_yaml.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "common/base/status.h"
#include "common/model/enum_names.h"
#include "common/model/net_format.h"
#include "common/model/validate.h"
#include "common/model/whole_file.h"
#include "common/model/yaml_doc.h"

namespace weft {
namespace {

enum class Presence { kOptional, kRequired };
using enum Presence;

// Reads one YAML mapping (an object of the state) field by field, straight
// into the model. The first error sticks: later reads do nothing and
// Finish() returns it. Every field asked for is a known field; Finish()
// refuses any other, and reports that first, since a misspelt field usually
// explains a missing one.
class ObjectReader {
 public:
  using NodeId = YamlDoc::NodeId;

  // The top-level mapping.
  ObjectReader(const YamlDoc& doc, NodeId node, std::string label)
      : doc_(doc), node_(node), label_(std::move(label)) {
    if (!IsMap()) {
      error_ = absl::InvalidArgumentError(absl::StrCat(label_, ": is not a mapping"));
    }
  }
  // The index-th object of a list, named by its index until Name() is read.
  ObjectReader(const YamlDoc& doc, NodeId node, absl::string_view kind, size_t index)
      : ObjectReader(doc, node, ObjectLabel(kind, "", index)) {
    kind_ = kind;
  }
  // A mapping nested in the field `field` of the object `label`: its
  // fields are named "<field>.<name>" in messages.
  ObjectReader(const YamlDoc& doc, NodeId node, std::string label, absl::string_view field)
      : doc_(doc), node_(node), label_(std::move(label)), field_prefix_(absl::StrCat(field, ".")) {
    if (!IsMap()) {
      error_ = FieldError(label_, field, "must be a mapping");
    }
  }

  // The required "name"; names the object in later messages.
  void Name(std::string* out) {
    String("name", kRequired, out);
    // The index no longer shows once the name is non-empty.
    if (error_.ok()) label_ = ObjectLabel(kind_, *out, 0);
  }

  void String(absl::string_view field, Presence presence, std::string* out) {
    if (std::optional<std::string> text = Scalar(field, presence)) {
      if (text->empty() && presence == kRequired) {
        return Fail(field, "must not be empty");
      }
      *out = std::move(*text);
    }
  }

  // A decimal integer in 0..max of Int, in canonical form (no sign, no
  // leading zeros, no hex).
  template <typename Int>
  void Uint(absl::string_view field, Presence presence, Int* out) {
    std::optional<std::string> text = Scalar(field, presence);
    if (text) ToUint(field, *text, out);
  }

  // Optional: `out` stays nullopt when the field is absent.
  void OptionalUint(absl::string_view field, std::optional<uint32_t>* out) {
    std::optional<std::string> text = Scalar(field, kOptional);
    if (!text) return;
    uint32_t value = 0;
    ToUint(field, *text, &value);
    if (error_.ok()) *out = value;
  }

  void Bool(absl::string_view field, bool* out) {
    std::optional<std::string> text = Scalar(field, kOptional);
    if (!text) return;
    if (*text != "true" && *text != "false") {
      return Fail(field, absl::StrCat(QuoteBounded(*text), " is not true or false"));
    }
    *out = *text == "true";
  }

  // One of `names` (a table of enum_names.h).
  template <typename E, size_t N>
  void Enum(absl::string_view field, Presence presence, const std::pair<const char*, E> (&names)[N],
            E* out) {
    std::optional<std::string> text = Scalar(field, presence);
    if (!text) return;
    for (const auto& [name, value] : names) {
      if (*text == name) {
        *out = value;
        return;
      }
    }
    Fail(field, absl::StrCat(QuoteBounded(*text), " is not ", ChoiceList(names)));
  }

  // A list of values in a text form of net_format.h (or any parser of the
  // same shape).
  template <typename T>
  void ParsedList(absl::string_view field, absl::StatusOr<T> (*parse)(absl::string_view),
                  std::vector<T>* out) {
    std::optional<NodeId> list = Sequence(field);
    if (!list) return;
    for (const NodeId item : doc_.items(*list)) {
      if (doc_.kind(item) != YamlDoc::Kind::kScalar) {
        return Fail(field, "must be a list of single values");
      }
      absl::StatusOr<T> value = parse(doc_.scalar(item));
      if (!value.ok()) return Fail(field, value.status().message());
      out->push_back(*std::move(value));
    }
  }

  // A nested mapping, read by `read` (fields named "<field>.<name>").
  template <typename T>
  void Object(absl::string_view field, Presence presence, void (*read)(ObjectReader&, T&), T* out) {
    if (std::optional<NodeId> value = Value(field, presence)) Nested(field, *value, read, *out);
  }

  // An optional nested mapping, read by `read` when present.
  template <typename T>
  void Object(absl::string_view field, void (*read)(ObjectReader&, T&), std::optional<T>* out) {
    if (std::optional<NodeId> value = Value(field, kOptional)) {
      Nested(field, *value, read, out->emplace());
    }
  }

  // A list of unnamed objects that belong to this one, each labelled
  // "<this object>: <noun> <index>", e.g. `policy "web-in": rule 2`.
  template <typename T>
  void OwnedList(absl::string_view field, absl::string_view noun, void (*read)(ObjectReader&, T&),
                 std::vector<T>* out) {
    EachItem(field, read, out, [&](NodeId item, size_t index) {
      return ObjectReader(doc_, item, absl::StrCat(label_, ": ", noun, " ", index));
    });
  }

  // A required value in one of the text forms of net_format.h.
  template <typename T>
  void Parsed(absl::string_view field, absl::StatusOr<T> (*parse)(absl::string_view), T* out) {
    std::optional<std::string> text = Scalar(field, kRequired);
    if (!text) return;
    absl::StatusOr<T> value = parse(*text);
    if (!value.ok()) return Fail(field, value.status().message());
    *out = *std::move(value);
  }

  // An optional value in one of the text forms of net_format.h.
  template <typename T>
  void Parsed(absl::string_view field, absl::StatusOr<T> (*parse)(absl::string_view),
              std::optional<T>* out) {
    std::optional<std::string> text = Scalar(field, kOptional);
    if (!text) return;
    absl::StatusOr<T> value = parse(*text);
    if (!value.ok()) return Fail(field, value.status().message());
    *out = *std::move(value);
  }

  void StringList(absl::string_view field, std::vector<std::string>* out) {
    std::optional<NodeId> list = Sequence(field);
    if (!list) return;
    for (const NodeId item : doc_.items(*list)) {
      if (doc_.kind(item) != YamlDoc::Kind::kScalar || doc_.scalar(item).empty()) {
        return Fail(field, "must be a list of non-empty names");
      }
      out->emplace_back(doc_.scalar(item));
    }
  }

  // A list of objects of `kind`, each read by `read`.
  template <typename T>
  void List(absl::string_view field, absl::string_view kind, void (*read)(ObjectReader&, T&),
            std::vector<T>* out) {
    EachItem(field, read, out,
             [&](NodeId item, size_t index) { return ObjectReader(doc_, item, kind, index); });
  }

  // Reads every item of the list `field` with a reader `make_reader`
  // labels, appending to `out`; stops at the first error.
  template <typename T, typename MakeReader>
  void EachItem(absl::string_view field, void (*read)(ObjectReader&, T&), std::vector<T>* out,
                const MakeReader& make_reader) {
    std::optional<NodeId> list = Sequence(field);
    if (!list) return;
    size_t index = 0;
    for (const NodeId item : doc_.items(*list)) {
      ObjectReader reader = make_reader(item, index++);
      T object;
      read(reader, object);
      error_ = reader.Finish();
      if (!error_.ok()) return;
      out->push_back(std::move(object));
    }
  }

  absl::Status Finish() const {
    if (!IsMap()) return error_;
    const absl::Span<const YamlDoc::Entry> entries = doc_.entries(node_);
    for (size_t i = 0; i < entries.size(); ++i) {
      const absl::string_view key = Key(entries[i]);
      if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        return FieldError(
            label_, absl::StrCat(field_prefix_, key),
            absl::StrCat("unknown field; known fields: ", absl::StrJoin(known_, ", ")));
      }
      // Every key so far is a distinct known field, so this scan is as
      // short as the object's schema.
      for (size_t j = 0; j < i; ++j) {
        if (Key(entries[j]) == key) {
          return FieldError(label_, absl::StrCat(field_prefix_, key), "given more than once");
        }
      }
    }
    return error_;
  }

 private:
  template <typename Int>
  void ToUint(absl::string_view field, const std::string& text, Int* out) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(text, &value) || absl::StrCat(value) != text ||
        value > std::numeric_limits<Int>::max()) {
      return Fail(field, absl::StrCat(QuoteBounded(text), " is not an integer in 0..",
                                      std::numeric_limits<Int>::max()));
    }
    *out = static_cast<Int>(value);
  }

  bool IsMap() const { return doc_.kind(node_) == YamlDoc::Kind::kMapping; }

  template <typename T>
  void Nested(absl::string_view field, NodeId value, void (*read)(ObjectReader&, T&), T& out) {
    ObjectReader reader(doc_, value, label_, absl::StrCat(field_prefix_, field));
    read(reader, out);
    error_ = reader.Finish();
  }

  // A key that is not a scalar (a null, list or mapping) reads as "",
  // which names no field.
  absl::string_view Key(const YamlDoc::Entry& entry) const { return doc_.scalar(entry.key); }

  void Fail(absl::string_view field, absl::string_view what) {
    error_ = FieldError(label_, absl::StrCat(field_prefix_, field), what);
  }

  // The value of `field`, or nullopt when absent (an explicit null counts
  // as absent) or when an earlier read failed.
  std::optional<NodeId> Value(absl::string_view field, Presence presence) {
    known_.push_back(field);
    if (!error_.ok()) return std::nullopt;
    const std::optional<NodeId> value = doc_.Find(node_, field);
    if (!value || doc_.kind(*value) == YamlDoc::Kind::kNull) {
      if (presence == kRequired) Fail(field, "is required");
      return std::nullopt;
    }
    return value;
  }

  // The optional list `field`.
  std::optional<NodeId> Sequence(absl::string_view field) {
    std::optional<NodeId> list = Value(field, kOptional);
    if (list && doc_.kind(*list) != YamlDoc::Kind::kSequence) {
      Fail(field, "must be a list");
      return std::nullopt;
    }
    return list;
  }

  std::optional<std::string> Scalar(absl::string_view field, Presence presence) {
    std::optional<NodeId> value = Value(field, presence);
    if (!value) return std::nullopt;
    if (doc_.kind(*value) != YamlDoc::Kind::kScalar) {
      Fail(field, "must be a single value, not a list or mapping");
      return std::nullopt;
    }
    return std::string(doc_.scalar(*value));
  }

  const YamlDoc& doc_;
  const NodeId node_;
  std::string label_;
  absl::string_view kind_;
  std::string field_prefix_;  // "peer." in a nested mapping
  // Every field asked for; string literals of the Read* functions, so
  // views are safe.
  std::vector<absl::string_view> known_;
  absl::Status error_;
};

void ReadNode(ObjectReader& r, Node& node) {
  r.Name(&node.name);
  r.Parsed("vtep", &ParseUnderlayAddress, &node.vtep);
  r.Bool("foreign", &node.foreign);
  r.Enum("role", kOptional, kNodeRoleNames, &node.role);
}

void ReadTenant(ObjectReader& r, Tenant& tenant) {
  r.Name(&tenant.name);
  r.Uint("id", kRequired, &tenant.id);
  r.Enum("default_action", kOptional, kFirewallActionNames, &tenant.default_action);
}

void ReadVlanBridge(ObjectReader& r, VlanBridge& bridge) {
  r.String("node", kRequired, &bridge.node);
  r.String("standby", kOptional, &bridge.standby);
  r.String("trunk", kRequired, &bridge.trunk);
  r.Uint("vlan", kRequired, &bridge.vlan);
}

void ReadSegment(ObjectReader& r, Segment& segment) {
  r.Name(&segment.name);
  r.String("tenant", kRequired, &segment.tenant);
  r.Uint("vni", kRequired, &segment.vni);
  r.Parsed("subnet", &ParseIpv4Prefix, &segment.subnet);
  r.Parsed("gateway", &ParseIpv4, &segment.gateway);
  r.Parsed("gateway_mac", &ParseMac, &segment.gateway_mac);
  r.Parsed("subnet6", &ParseIpv6Prefix, &segment.subnet6);
  r.Parsed("gateway6", &ParseIpv6, &segment.gateway6);
  r.Object("vlan_bridge", &ReadVlanBridge, &segment.vlan_bridge);
}

void ReadEndpoint(ObjectReader& r, Endpoint& endpoint) {
  r.Name(&endpoint.name);
  r.String("segment", kRequired, &endpoint.segment);
  r.Parsed("ip", &ParseIpv4, &endpoint.ip);
  r.Parsed("ip6", &ParseIpv6, &endpoint.ip6);
  r.Parsed("mac", &ParseMac, &endpoint.mac);
  r.String("node", kRequired, &endpoint.node);
  r.String("interface", kOptional, &endpoint.interface);
  r.StringList("groups", &endpoint.groups);
}

void ReadPhysicalHost(ObjectReader& r, PhysicalHost& host) {
  r.Name(&host.name);
  r.String("segment", kRequired, &host.segment);
  r.Parsed("ip", &ParseIpv4, &host.ip);
  r.Parsed("ip6", &ParseIpv6, &host.ip6);
  r.Parsed("mac", &ParseMac, &host.mac);
  r.StringList("groups", &host.groups);
}

void ReadGroup(ObjectReader& r, Group& group) {
  r.Name(&group.name);
  r.String("tenant", kRequired, &group.tenant);
}

// "80" or "8000-8080": decimal, canonical (as the integers of Uint).
absl::StatusOr<PortRange> ParsePortRange(absl::string_view text) {
  auto number = [](absl::string_view digits, uint32_t* out) {
    return absl::SimpleAtoi(digits, out) && absl::StrCat(*out) == digits;
  };
  PortRange range;
  const size_t dash = text.find('-');
  const bool ok = dash == absl::string_view::npos
                      ? number(text, &range.first) && (range.last = range.first, true)
                      : number(text.substr(0, dash), &range.first) &&
                            number(text.substr(dash + 1), &range.last);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(QuoteBounded(text), " is not a port or a port range (80, 8000-8080)"));
  }
  return range;
}

void ReadPeer(ObjectReader& r, Rule& rule) {
  std::vector<IpPrefix> cidrs;
  r.ParsedList("cidrs", &ParseIpPrefix, &cidrs);
  SplitByFamily(cidrs, &rule.peer_cidrs, &rule.peer_cidrs6);
  r.StringList("groups", &rule.peer_groups);
}

void ReadRule(ObjectReader& r, Rule& rule) {
  r.Enum("direction", kRequired, kRuleDirectionNames, &rule.direction);
  r.Object("peer", kOptional, &ReadPeer, &rule);
  r.Enum("protocol", kOptional, kRuleProtocolNames, &rule.protocol);
  r.ParsedList("ports", &ParsePortRange, &rule.ports);
  r.OptionalUint("icmp_type", &rule.icmp_type);
  r.Enum("action", kRequired, kRuleActionNames, &rule.action);
  r.Bool("log", &rule.log);
}

void ReadAppliedTo(ObjectReader& r, Policy& policy) {
  r.StringList("groups", &policy.applied_to_groups);
  r.StringList("endpoints", &policy.applied_to_endpoints);
}

void ReadPolicy(ObjectReader& r, Policy& policy) {
  r.Name(&policy.name);
  r.String("tenant", kRequired, &policy.tenant);
  r.Uint("priority", kOptional, &policy.priority);
  r.Object("applied_to", kRequired, &ReadAppliedTo, &policy);
  r.OwnedList("rules", "rule", &ReadRule, &policy.rules);
}

// A state file lists routes of both families in `routes`; the model keeps
// one list per family.
using AnyRoute = BasicRoute<IpPrefix>;

template <typename Prefix>
BasicRoute<Prefix> WithPrefix(const AnyRoute& any, const Prefix& prefix) {
  return {any.tenant, prefix, any.blackhole, any.nodes, any.segment, any.advertise, any.learned_by};
}

void SplitRoutes(const std::vector<AnyRoute>& routes, State& state) {
  for (const AnyRoute& any : routes) {
    if (const Ipv4Prefix* p4 = std::get_if<Ipv4Prefix>(&any.prefix)) {
      state.routes.push_back(WithPrefix(any, *p4));
    } else {
      state.routes6.push_back(WithPrefix(any, std::get<Ipv6Prefix>(any.prefix)));
    }
  }
}

void ReadRoute(ObjectReader& r, AnyRoute& route) {
  r.String("tenant", kRequired, &route.tenant);
  r.Parsed("prefix", &ParseIpPrefix, &route.prefix);
  r.Bool("blackhole", &route.blackhole);
  r.StringList("nodes", &route.nodes);
  r.String("segment", kOptional, &route.segment);
  r.Bool("advertise", &route.advertise);
}

void ReadUplink(ObjectReader& r, Uplink& uplink) {
  r.Name(&uplink.name);
  r.String("node", kRequired, &uplink.node);
  r.String("tenant", kRequired, &uplink.tenant);
  r.String("interface", kRequired, &uplink.interface);
  r.OptionalUint("vlan", &uplink.vlan);
  r.Parsed("transit", &ParseIpv4Prefix, &uplink.transit);
  r.Parsed("address", &ParseIpv4, &uplink.address);
  r.Parsed("peer", &ParseIpv4, &uplink.peer);
  r.Uint("peer_as", kRequired, &uplink.peer_as);
  r.Uint("local_as", kRequired, &uplink.local_as);
  r.OptionalUint("hold_time", &uplink.hold_time);
  r.OptionalUint("keepalive", &uplink.keepalive);
}

}  // namespace

absl::StatusOr<State> ParseStateYaml(std::string_view text, std::string_view source_name) {
  const absl::string_view source(source_name.data(), source_name.size());
  if (text.size() > kMaxStateBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": ", text.size(), " bytes; a state is at most ", kMaxStateBytes, " bytes"));
  }
  absl::StatusOr<YamlDoc> doc = YamlDoc::Parse(absl::string_view(text.data(), text.size()));
  if (!doc.ok()) {
    // No space after the colon: "<file>:<line>:<column>: ", as compilers.
    return absl::Status(doc.status().code(), absl::StrCat(source, ":", doc.status().message()));
  }
  State state;
  if (doc->kind(doc->root()) == YamlDoc::Kind::kNull) return state;
  ObjectReader r(*doc, doc->root(), "state");
  r.Uint("version", kOptional, &state.version);
  r.List("nodes", "node", &ReadNode, &state.nodes);
  r.List("tenants", "tenant", &ReadTenant, &state.tenants);
  r.List("segments", "segment", &ReadSegment, &state.segments);
  r.List("endpoints", "endpoint", &ReadEndpoint, &state.endpoints);
  std::vector<AnyRoute> routes;
  r.List("routes", "route", &ReadRoute, &routes);
  r.List("groups", "group", &ReadGroup, &state.groups);
  r.List("policies", "policy", &ReadPolicy, &state.policies);
  r.List("uplinks", "uplink", &ReadUplink, &state.uplinks);
  r.List("physical_hosts", "physical host", &ReadPhysicalHost, &state.physical_hosts);
  RETURN_IF_ERROR(WithContext(r.Finish(), source));
  SplitRoutes(routes, state);
  return state;
}

absl::StatusOr<State> LoadStateFile(const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(path, kMaxStateBytes));
  ASSIGN_OR_RETURN(State state, ParseStateYaml(text, path));
  RETURN_IF_ERROR(WithContext(ValidateState(state), path));
  return state;
}

}  // namespace weft
