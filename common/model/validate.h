// Whole-state checks: everything the datapath tables rely on (unique keys,
// references that resolve, addresses that fit their subnets, map
// capacities) is refused here, before any table is built.
#ifndef WEFT_COMMON_MODEL_VALIDATE_H_
#define WEFT_COMMON_MODEL_VALIDATE_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/model/state.h"

namespace weft {

// Names an object in error messages: `segment "blue-web"`, or, while it has
// no name, `segment #2` (its index in its list, from 0).
std::string ObjectLabel(absl::string_view kind, absl::string_view name, size_t index);

// A route's name in messages: "<tenant> <prefix>", e.g. "blue 10.9.0.0/16".
std::string RouteName(const Route& route);
std::string RouteName(const Route6& route);

// InvalidArgument `<object>: field "<field>": <what>`. The one error shape
// of parsing and validation, so every message says what to fix and where.
absl::Status FieldError(absl::string_view object, absl::string_view field, absl::string_view what);

// What a message quotes of a string from outside: escaped (a NUL or a
// newline shows as \x00, \n) and cut after 64 bytes, never the megabytes a
// broken input may hold.
std::string QuoteBounded(absl::string_view s);

// A node's name by the rules of ValidateState (1..253 of [A-Za-z0-9._-],
// starting with a letter or digit), for names that arrive outside a state:
// a Hello, a certificate. InvalidArgument `<object>: field "<field>": ...`.
absl::Status CheckNodeName(absl::string_view object, absl::string_view field,
                           absl::string_view name);

// OK, or InvalidArgument for the first rule broken (in the order: capacity,
// nodes, tenants, segments, uplinks, groups, endpoints, routes, policies). See the
// rules in validate.cc. A rule of a policy is named `policy "p": rule i`
// (i from 0), e.g. `policy "web-in": rule 2: field "ports": range 90-80 is
// reversed`.
absl::Status ValidateState(const State& state);

}  // namespace weft

#endif  // WEFT_COMMON_MODEL_VALIDATE_H_
