// What every parsed state must survive, whichever reader parsed it (the
// YAML file, a proto): the wire. Converted to weft.v1.State and back it is
// the same state (convert.h: StateFromProto(ToProto(s)) == s), and
// ValidateState says the same of both, to the letter.
#ifndef WEFT_TESTS_FUZZ_STATE_ROUND_TRIP_H_
#define WEFT_TESTS_FUZZ_STATE_ROUND_TRIP_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/model/state.h"
#include "common/model/validate.h"
#include "common/wire/convert.h"
#include "tests/fuzz/fuzz_check.h"

namespace weft::fuzz {

// The errors of a reader: InvalidArgument, and bounded however big the input
// (validate.h: QuoteBounded), so a log line stays a line.
inline void CheckReaderError(const absl::Status& status) {
  WEFT_FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, status.ToString());
  WEFT_FUZZ_CHECK(
      status.message().size() <= 1024,
      absl::StrCat(status.message().size(), " bytes: ", status.message().substr(0, 512)));
}

inline void CheckWireRoundTrip(const State& state) {
  const v1::State proto = ToProto(state);
  const absl::StatusOr<State> back = StateFromProto(proto);
  WEFT_FUZZ_CHECK(back.ok(), back.status().ToString());
  const std::string sent = proto.SerializeAsString();
  WEFT_FUZZ_CHECK(ToProto(*back).SerializeAsString() == sent,
                  absl::StrCat("the state changed on the wire: ", proto.ShortDebugString()));
  const absl::Status valid = ValidateState(state);
  WEFT_FUZZ_CHECK(valid == ValidateState(*back), valid.ToString());
  if (!valid.ok()) CheckReaderError(valid);
}

}  // namespace weft::fuzz

#endif  // WEFT_TESTS_FUZZ_STATE_ROUND_TRIP_H_
