// The desired state as a YAML file (schema: the fields of state.h, by the
// same names; see tests/unit/common/state_yaml_test.cc for a full example).
// Unknown and repeated fields are errors, so a typo cannot silently drop a
// setting.
#ifndef WEFT_COMMON_MODEL_STATE_YAML_H_
#define WEFT_COMMON_MODEL_STATE_YAML_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/model/state.h"

namespace weft {

// The largest state read: 5 times a 100,000-endpoint fleet's (13 MiB).
inline constexpr size_t kMaxStateBytes = size_t{64} << 20;

// Parses only: the result may still break the rules of ValidateState.
// Errors are InvalidArgument, prefixed with `source_name`, e.g.
// `lab.yaml: segment "blue-web": field "subnet": "10.0.1.0/33" is not an
// IPv4 prefix`. An empty document is an empty state. A text over
// kMaxStateBytes is refused, and so are the bounds of YamlDoc::Parse
// (nesting depth, what aliases repeat).
absl::StatusOr<State> ParseStateYaml(std::string_view text, std::string_view source_name);

// Reads (ReadWholeFile: a regular file, whole, once it stands still, at
// most kMaxStateBytes), parses and validates (ValidateState) the file at
// `path`; every error is prefixed with `path`. Unavailable when the file
// was changing and is worth reading again soon.
absl::StatusOr<State> LoadStateFile(const std::string& path);

}  // namespace weft

#endif  // WEFT_COMMON_MODEL_STATE_YAML_H_
