// Chunk assembly (common/wire/chunk.h) from any sequence of chunks, under
// small StateLimits so the fuzzer reaches them. Each chunk: its header
// (version, nonce, index, count: mostly near the update under way, sometimes
// any value) and a part parsed from fuzz bytes. Oracle, against a model of
// the documented protocol kept alongside:
// - a chunk is refused (InvalidArgument, the assembler starts over) exactly
//   when the protocol says so;
// - an update completes exactly at its last chunk, with chunk 0's version
//   and nonce;
// - its state is ResourceExhausted exactly when its parts went past the
//   limits, else what StateFromProto makes of the parts merged (the version
//   chunk 0's part's), so a state accepted stays within the limits.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/wire/chunk.h"
#include "common/wire/convert.h"
#include "tests/fuzz/fuzz_check.h"

namespace weft {
namespace {

constexpr StateLimits kLimits = {.bytes = 512, .entries = 24, .chunks = 6};
constexpr int kMaxChunks = 64;  // per input, so one input runs in microseconds

// The update under way, as the protocol describes it.
struct Expected {
  uint32_t next = 0;
  uint32_t count = 0;
  uint64_t version = 0;
  std::string nonce;
  size_t bytes = 0;
  size_t entries = 0;
  v1::State merged;

  bool over_limits() const { return bytes > kLimits.bytes || entries > kLimits.entries; }
};

// Why the protocol refuses `c`, or "" when it takes it.
std::string Refusal(const Expected& e, const v1::StateChunk& c) {
  if (c.count() == 0) return "count is 0";
  if (c.index() >= c.count()) return "index is not below count";
  if (e.next == 0) {
    if (c.index() != 0) return "not chunk 0";
    if (c.count() > kLimits.chunks) return "count over the limit";
    return "";
  }
  if (c.index() != e.next) return "out of order";
  if (c.version() != e.version || c.nonce() != e.nonce) return "version or nonce differs";
  if (c.count() != e.count) return "count differs";
  return "";
}

// A number near `usual`, or now and then any.
uint32_t Near(FuzzedDataProvider& in, uint32_t usual) {
  if (in.ConsumeIntegralInRange<int>(0, 15) == 0) return in.ConsumeIntegral<uint32_t>();
  return usual + in.ConsumeIntegralInRange<uint32_t>(0, 2) - 1;
}

v1::StateChunk NextChunk(FuzzedDataProvider& in, const Expected& e) {
  v1::StateChunk c;
  c.set_version(in.ConsumeBool() ? e.version : in.ConsumeIntegralInRange<uint64_t>(0, 3));
  c.set_nonce(in.ConsumeBool() ? e.nonce : in.ConsumeRandomLengthString(4));
  c.set_index(Near(in, e.next));
  c.set_count(Near(in, e.next == 0 ? in.ConsumeIntegralInRange<uint32_t>(1, 4) : e.count));
  const std::string part = in.ConsumeRandomLengthString(2 * kLimits.bytes);
  if (!c.mutable_part()->ParseFromString(part)) c.clear_part();
  return c;
}

void CheckUpdate(const Expected& e, const Update& update) {
  WEFT_FUZZ_CHECK(update.version == e.version && update.nonce == e.nonce,
                  absl::StrCat("update ", update.version, " \"", update.nonce, "\""));
  if (e.over_limits()) {
    WEFT_FUZZ_CHECK(update.state.status().code() == absl::StatusCode::kResourceExhausted,
                    update.state.status().ToString());
    return;
  }
  const absl::StatusOr<State> whole = StateFromProto(e.merged);
  WEFT_FUZZ_CHECK(whole.ok() == update.state.ok(), absl::StrCat(whole.status().ToString(), " vs ",
                                                                update.state.status().ToString()));
  if (!whole.ok()) {
    WEFT_FUZZ_CHECK(update.state.status().code() == absl::StatusCode::kInvalidArgument,
                    update.state.status().ToString());
    return;
  }
  WEFT_FUZZ_CHECK(ToProto(*update.state).SerializeAsString() == ToProto(*whole).SerializeAsString(),
                  "chunk by chunk differs from whole");
  WEFT_FUZZ_CHECK(CountListEntries(ToProto(*update.state)) <= kLimits.entries, "entries");
}

}  // namespace
}  // namespace weft

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace weft;
  FuzzedDataProvider in(data, size);
  ChunkAssembler assembler(kLimits);
  Expected e;
  for (int i = 0; i < kMaxChunks && in.remaining_bytes() > 0; ++i) {
    const v1::StateChunk chunk = NextChunk(in, e);
    const std::string refusal = Refusal(e, chunk);
    const absl::StatusOr<std::optional<Update>> added = assembler.Add(chunk);
    if (!refusal.empty()) {
      WEFT_FUZZ_CHECK(!added.ok() && added.status().code() == absl::StatusCode::kInvalidArgument,
                      absl::StrCat("taken though ", refusal, ": ", chunk.ShortDebugString()));
      WEFT_FUZZ_CHECK(!assembler.in_progress(), "a refusal must start over");
      e = Expected();
      continue;
    }
    WEFT_FUZZ_CHECK(added.ok(), added.status().ToString());
    if (e.next == 0) {
      e.count = chunk.count();
      e.version = chunk.version();
      e.nonce = chunk.nonce();
      e.merged.set_version(chunk.part().version());
    }
    e.bytes += chunk.part().ByteSizeLong();
    e.entries += CountListEntries(chunk.part());
    const uint64_t version = e.merged.version();
    e.merged.MergeFrom(chunk.part());
    e.merged.set_version(version);  // the first part's
    if (++e.next < e.count) {
      WEFT_FUZZ_CHECK(!added->has_value() && assembler.in_progress(), "completed early");
      continue;
    }
    WEFT_FUZZ_CHECK(added->has_value() && !assembler.in_progress(), "not completed at the last");
    CheckUpdate(e, **added);
    e = Expected();
  }
  return 0;
}
