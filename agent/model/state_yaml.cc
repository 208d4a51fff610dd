#include "agent/model/state_yaml.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/model/net_format.h"
#include "agent/model/validate.h"
#include "yaml-cpp/yaml.h"

namespace weft {
namespace {

enum class Presence { kOptional, kRequired };
using enum Presence;

absl::Status WithSource(absl::string_view source, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(source, ": ", status.message()));
}

// Reads one YAML mapping (an object of the state) field by field, straight
// into the model. The first error sticks: later reads do nothing and
// Finish() returns it. Every field asked for is a known field; Finish()
// refuses any other, and reports that first, since a misspelt field usually
// explains a missing one.
class ObjectReader {
 public:
  // The top-level mapping.
  ObjectReader(const YAML::Node& node, std::string label)
      : node_(node), label_(std::move(label)) {
    if (!node_.IsMap()) {
      error_ = absl::InvalidArgumentError(
          absl::StrCat(label_, ": is not a mapping"));
    }
  }
  // The index-th object of a list, named by its index until Name() is read.
  ObjectReader(const YAML::Node& node, absl::string_view kind, size_t index)
      : ObjectReader(node, ObjectLabel(kind, "", index)) {
    kind_ = kind;
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
    if (!text) return;
    uint64_t value = 0;
    if (!absl::SimpleAtoi(*text, &value) || absl::StrCat(value) != *text ||
        value > std::numeric_limits<Int>::max()) {
      return Fail(field,
                  absl::StrCat("\"", *text, "\" is not an integer in 0..",
                               std::numeric_limits<Int>::max()));
    }
    *out = static_cast<Int>(value);
  }

  void Bool(absl::string_view field, bool* out) {
    std::optional<std::string> text = Scalar(field, kOptional);
    if (!text) return;
    if (*text != "true" && *text != "false") {
      return Fail(field, absl::StrCat("\"", *text, "\" is not true or false"));
    }
    *out = *text == "true";
  }

  void Action(absl::string_view field, FirewallAction* out) {
    std::optional<std::string> text = Scalar(field, kOptional);
    if (!text) return;
    if (*text != "allow" && *text != "deny") {
      return Fail(field, absl::StrCat("\"", *text, "\" is not allow or deny"));
    }
    *out = *text == "allow" ? FirewallAction::kAllow : FirewallAction::kDeny;
  }

  // A required value in one of the text forms of net_format.h.
  template <typename T>
  void Parsed(absl::string_view field,
              absl::StatusOr<T> (*parse)(absl::string_view), T* out) {
    std::optional<std::string> text = Scalar(field, kRequired);
    if (!text) return;
    absl::StatusOr<T> value = parse(*text);
    if (!value.ok()) return Fail(field, value.status().message());
    *out = *std::move(value);
  }

  void StringList(absl::string_view field, std::vector<std::string>* out) {
    std::optional<YAML::Node> list = Value(field, kOptional);
    if (!list) return;
    if (!list->IsSequence()) return Fail(field, "must be a list");
    for (const YAML::Node& item : *list) {
      if (!item.IsScalar() || item.Scalar().empty()) {
        return Fail(field, "must be a list of non-empty names");
      }
      out->push_back(item.Scalar());
    }
  }

  // A list of objects of `kind`, each read by `read`.
  template <typename T>
  void List(absl::string_view field, absl::string_view kind,
            void (*read)(ObjectReader&, T&), std::vector<T>* out) {
    std::optional<YAML::Node> list = Value(field, kOptional);
    if (!list) return;
    if (!list->IsSequence()) return Fail(field, "must be a list");
    size_t index = 0;
    for (const YAML::Node& item : *list) {
      ObjectReader reader(item, kind, index++);
      T object;
      read(reader, object);
      error_ = reader.Finish();
      if (!error_.ok()) return;
      out->push_back(std::move(object));
    }
  }

  absl::Status Finish() const {
    if (!node_.IsMap()) return error_;
    absl::flat_hash_set<std::string> seen;
    for (const auto& entry : node_) {
      const std::string key = entry.first.Scalar();
      if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        return FieldError(label_, key,
                          absl::StrCat("unknown field; known fields: ",
                                       absl::StrJoin(known_, ", ")));
      }
      if (!seen.insert(key).second) {
        return FieldError(label_, key, "given more than once");
      }
    }
    return error_;
  }

 private:
  void Fail(absl::string_view field, absl::string_view what) {
    error_ = FieldError(label_, field, what);
  }

  // The value of `field`, or nullopt when absent (an explicit null counts
  // as absent) or when an earlier read failed.
  std::optional<YAML::Node> Value(absl::string_view field, Presence presence) {
    known_.emplace_back(field);
    if (!error_.ok()) return std::nullopt;
    const YAML::Node value = node_[known_.back()];
    if (!value.IsDefined() || value.IsNull()) {
      if (presence == kRequired) Fail(field, "is required");
      return std::nullopt;
    }
    return value;
  }

  std::optional<std::string> Scalar(absl::string_view field,
                                    Presence presence) {
    std::optional<YAML::Node> value = Value(field, presence);
    if (!value) return std::nullopt;
    if (!value->IsScalar()) {
      Fail(field, "must be a single value, not a list or mapping");
      return std::nullopt;
    }
    return value->Scalar();
  }

  const YAML::Node node_;
  std::string label_;
  absl::string_view kind_;
  std::vector<std::string> known_;
  absl::Status error_;
};

void ReadNode(ObjectReader& r, Node& node) {
  r.Name(&node.name);
  r.Parsed("vtep", &ParseIpv4, &node.vtep);
  r.Bool("foreign", &node.foreign);
}

void ReadTenant(ObjectReader& r, Tenant& tenant) {
  r.Name(&tenant.name);
  r.Uint("id", kRequired, &tenant.id);
  r.Action("default_action", &tenant.default_action);
}

void ReadSegment(ObjectReader& r, Segment& segment) {
  r.Name(&segment.name);
  r.String("tenant", kRequired, &segment.tenant);
  r.Uint("vni", kRequired, &segment.vni);
  r.Parsed("subnet", &ParseIpv4Prefix, &segment.subnet);
  r.Parsed("gateway", &ParseIpv4, &segment.gateway);
  r.Parsed("gateway_mac", &ParseMac, &segment.gateway_mac);
}

void ReadEndpoint(ObjectReader& r, Endpoint& endpoint) {
  r.Name(&endpoint.name);
  r.String("segment", kRequired, &endpoint.segment);
  r.Parsed("ip", &ParseIpv4, &endpoint.ip);
  r.Parsed("mac", &ParseMac, &endpoint.mac);
  r.String("node", kRequired, &endpoint.node);
  r.String("interface", kOptional, &endpoint.interface);
}

void ReadRoute(ObjectReader& r, Route& route) {
  r.String("tenant", kRequired, &route.tenant);
  r.Parsed("prefix", &ParseIpv4Prefix, &route.prefix);
  r.Bool("blackhole", &route.blackhole);
  r.StringList("nodes", &route.nodes);
  r.String("segment", kOptional, &route.segment);
}

}  // namespace

absl::StatusOr<State> ParseStateYaml(std::string_view text,
                                     std::string_view source_name) {
  const absl::string_view source(source_name.data(), source_name.size());
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  State state;
  if (root.IsNull()) return state;
  ObjectReader r(root, "state");
  r.Uint("version", kOptional, &state.version);
  r.List("nodes", "node", &ReadNode, &state.nodes);
  r.List("tenants", "tenant", &ReadTenant, &state.tenants);
  r.List("segments", "segment", &ReadSegment, &state.segments);
  r.List("endpoints", "endpoint", &ReadEndpoint, &state.endpoints);
  r.List("routes", "route", &ReadRoute, &state.routes);
  if (absl::Status s = r.Finish(); !s.ok()) return WithSource(source, s);
  return state;
}

absl::StatusOr<State> LoadStateFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string what = absl::StrCat(path, ": ", std::strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(what)
                           : absl::FailedPreconditionError(what);
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<State> state = ParseStateYaml(text.str(), path);
  if (!state.ok()) return state.status();
  if (absl::Status s = ValidateState(*state); !s.ok())
    return WithSource(path, s);
  return state;
}

}  // namespace weft
