// A weft.v1.State from any bytes (what a controller's update or an
// ApplyState carries), converted (StateFromProto) and validated. Oracle: a
// conversion error is InvalidArgument and bounded; a converted state
// survives the wire unchanged (state_round_trip.h).
#include <cstddef>
#include <cstdint>

#include "common/wire/convert.h"
#include "tests/fuzz/state_round_trip.h"
#include "weft/v1/state.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  weft::v1::State proto;
  if (!proto.ParseFromArray(data, static_cast<int>(size))) return 0;
  const absl::StatusOr<weft::State> state = weft::StateFromProto(proto);
  if (!state.ok()) {
    weft::fuzz::CheckReaderError(state.status());
    return 0;
  }
  weft::fuzz::CheckWireRoundTrip(*state);
  return 0;
}
