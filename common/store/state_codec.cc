#include "common/store/state_codec.h"

#include "absl/strings/str_cat.h"
#include "common/base/status.h"
#include "common/model/net_format.h"
#include "common/store/store_keys.h"
#include "common/wire/convert.h"
#include "weft/v1/state.pb.h"

namespace weft {
namespace {

template <typename T>
void Put(EncodedState& out, const std::string& key, const T& object, std::vector<T> State::*list) {
  State one;
  (one.*list).push_back(object);
  out[key] = ToProto(one).SerializeAsString();
}

std::string Key(absl::string_view kind, absl::string_view name) {
  return absl::StrCat(kind, "/", EscapeKeyPart(name));
}

std::string Key(absl::string_view kind, absl::string_view tenant, absl::string_view name) {
  return absl::StrCat(kind, "/", EscapeKeyPart(tenant), "/", EscapeKeyPart(name));
}

size_t CountObjects(const State& s) {
  return s.nodes.size() + s.tenants.size() + s.segments.size() + s.endpoints.size() +
         s.routes.size() + s.routes6.size() + s.groups.size() + s.policies.size() +
         s.uplinks.size() + s.physical_hosts.size();
}

template <typename T>
void AppendList(std::vector<T>& into, const std::vector<T>& from) {
  into.insert(into.end(), from.begin(), from.end());
}

}  // namespace

EncodedState EncodeState(const State& state) {
  EncodedState out;
  for (const Node& x : state.nodes) Put(out, Key("nodes", x.name), x, &State::nodes);
  for (const Tenant& x : state.tenants) Put(out, Key("tenants", x.name), x, &State::tenants);
  for (const Segment& x : state.segments) Put(out, Key("segments", x.name), x, &State::segments);
  for (const Endpoint& x : state.endpoints) {
    Put(out, Key("endpoints", x.name), x, &State::endpoints);
  }
  for (const Route& x : state.routes) {
    Put(out, Key("routes", x.tenant, FormatIpv4Prefix(x.prefix)), x, &State::routes);
  }
  for (const Route6& x : state.routes6) {
    Put(out, Key("routes", x.tenant, FormatIpv6Prefix(x.prefix)), x, &State::routes6);
  }
  for (const Group& x : state.groups) Put(out, Key("groups", x.tenant, x.name), x, &State::groups);
  for (const Policy& x : state.policies) Put(out, Key("policies", x.name), x, &State::policies);
  for (const Uplink& x : state.uplinks) Put(out, Key("uplinks", x.name), x, &State::uplinks);
  for (const PhysicalHost& x : state.physical_hosts) {
    Put(out, Key("physical_hosts", x.name), x, &State::physical_hosts);
  }
  return out;
}

absl::StatusOr<State> DecodeObject(const std::string& key, const std::string& value) {
  v1::State proto;
  if (!proto.ParseFromString(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("store key ", key, ": not a weft.v1.State (", value.size(), " bytes)"));
  }
  absl::StatusOr<State> object = StateFromProto(proto);
  if (!object.ok()) return WithContext(object.status(), absl::StrCat("store key ", key));
  if (size_t count = CountObjects(*object); count != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("store key ", key, ": holds ", count, " objects, not one"));
  }
  return object;
}

void AppendObject(State& state, const State& object) {
  AppendList(state.nodes, object.nodes);
  AppendList(state.tenants, object.tenants);
  AppendList(state.segments, object.segments);
  AppendList(state.endpoints, object.endpoints);
  AppendList(state.routes, object.routes);
  AppendList(state.routes6, object.routes6);
  AppendList(state.groups, object.groups);
  AppendList(state.policies, object.policies);
  AppendList(state.uplinks, object.uplinks);
  AppendList(state.physical_hosts, object.physical_hosts);
}

}  // namespace weft
