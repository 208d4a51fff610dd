// The weft.v1 protos <-> the model (common/model/state.h). Addresses travel as
// text, parsed by net_format.h exactly as the YAML state file is, so an error
// names object and field the same way: `segment "blue-web": field "subnet":
// "10.0.1.0/33" is not an IPv4 prefix`.
#ifndef WEFT_COMMON_WIRE_CONVERT_H_
#define WEFT_COMMON_WIRE_CONVERT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/model/state.h"
#include "weft/v1/state.pb.h"

namespace weft {

// Parses only (like ParseStateYaml): the result may still break the rules of
// ValidateState. Errors are InvalidArgument `<object>: field "<field>": ...`.
// Converts the parts of one state (an update's, common/wire/chunk.h) one at
// a time, their lists concatenated in order, so that each part's protobuf
// can go as soon as it is converted. The version is the first part's. The
// first error sticks; later parts are skipped.
class StateConverter {
 public:
  void Add(const v1::State& part);
  absl::StatusOr<State> Finish() &&;

 private:
  absl::Status AppendPart(const v1::State& part);

  bool first_ = true;
  State state_;
  absl::Status error_;
};

// A state in one message, through a StateConverter.
absl::StatusOr<State> StateFromProto(const v1::State& proto);

// The inverse; StateFromProto(ToProto(s)) == s for every parsed state.
v1::State ToProto(const State& state);

}  // namespace weft

#endif  // WEFT_COMMON_WIRE_CONVERT_H_
