// The YAML state reader (common/model: YamlDoc, ParseStateYaml) on any
// text, then ValidateState. Oracle: an error is InvalidArgument, bounded and
// names the file; a state read survives the wire unchanged
// (state_round_trip.h).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/strings/match.h"
#include "common/model/state_yaml.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/state_round_trip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<weft::State> state = weft::ParseStateYaml(text, "fuzz.yaml");
  if (!state.ok()) {
    weft::fuzz::CheckReaderError(state.status());
    WEFT_FUZZ_CHECK(absl::StartsWith(state.status().message(), "fuzz.yaml"),
                    state.status().ToString());
    return 0;
  }
  weft::fuzz::CheckWireRoundTrip(*state);
  return 0;
}
