// Updates on the sync stream are split into chunks that each stay under
// gRPC's default 4 MiB message limit, and put back together by the agent.
// A chunk's part holds some of the state's list entries; the parts of one
// update, merged in order (protobuf MergeFrom concatenates repeated fields),
// are the whole state.
#ifndef WEFT_COMMON_WIRE_CHUNK_H_
#define WEFT_COMMON_WIRE_CHUNK_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/model/state.h"
#include "common/wire/convert.h"
#include "google/protobuf/message.h"
#include "weft/v1/state.pb.h"
#include "weft/v1/sync.pb.h"

namespace weft {

// gRPC's default maximum received message size is 4 MiB; leave room.
inline constexpr size_t kMaxChunkBytes = 4 * 1024 * 1024 - 64 * 1024;

// The most one state may be on the wire: an agent refuses a bigger update,
// the controller a bigger ApplyState (docs/CONTROL_PLANE.md "Limits"). A
// whole fleet at 100,000 endpoints is ~13 MiB and ~300,000 entries
// (docs/BENCHMARKS.md); a node's view is at most that. Entries are counted
// as well as bytes because they are what a state costs once parsed and
// converted: an empty entry is 2 bytes on the wire, a few hundred in memory.
struct StateLimits {
  size_t bytes = 64 << 20;
  // Every element of every list, nested lists (an endpoint's groups, a
  // rule's ports) included.
  size_t entries = 1 << 20;
  // Chunks of one update: one per part of a node's view (the node list, one
  // per tenant) and per cut of a part too big for a chunk.
  uint32_t chunks = 16384;
};

// Every element of every list in `message`, nested lists included.
size_t CountListEntries(const google::protobuf::Message& message);

// Adds up the parts of one state, refusing (ResourceExhausted, naming the
// limit) the part that takes it past `limits`, before it is converted.
class StateBudget {
 public:
  explicit StateBudget(const StateLimits& limits = StateLimits()) : limits_(limits) {}
  absl::Status Add(const v1::State& part);

 private:
  StateLimits limits_;
  size_t bytes_ = 0;
  size_t entries_ = 0;
};

// One chunk's part: a piece as it is (borrowed, never copied), or a cut of
// a piece too big for one chunk (owned).
class ChunkPart {
 public:
  explicit ChunkPart(const v1::State* piece) : piece_(piece) {}
  explicit ChunkPart(v1::State cut)
      : cut_(std::make_unique<v1::State>(std::move(cut))), piece_(cut_.get()) {}
  const v1::State& state() const { return *piece_; }

 private:
  std::unique_ptr<v1::State> cut_;
  const v1::State* piece_;
};

// The parts of one update made of `pieces`: each piece that fits a chunk
// (less room for the chunk's own fields) is a part as it is; a piece that
// does not is cut, entry by entry and in order, into parts that do. Merged
// in order, the parts are the merged pieces. ResourceExhausted when a single
// entry does not fit.
absl::StatusOr<std::vector<ChunkPart>> SplitState(absl::Span<const v1::State* const> pieces,
                                                  size_t max_bytes);

// Hands the chunks of one update to `write`, in order, each carrying the
// view's `digest` (NodeView::digest); a false from `write` stops it
// (Cancelled). ResourceExhausted, sending nothing, when the update would be
// more chunks than an agent takes (StateLimits::chunks). The messages point
// at the parts rather than holding copies: `write` must not keep them.
absl::Status WriteChunks(absl::Span<const v1::State* const> pieces, uint64_t version,
                         const std::string& nonce, const std::string& digest, size_t max_bytes,
                         const std::function<bool(const v1::ControllerMessage&)>& write);

// The chunks of WriteChunks without a digest, copied (tests, benches).
absl::StatusOr<std::vector<v1::StateChunk>> ChunkState(absl::Span<const v1::State* const> pieces,
                                                       uint64_t version, const std::string& nonce,
                                                       size_t max_bytes = kMaxChunkBytes);
inline absl::StatusOr<std::vector<v1::StateChunk>> ChunkState(const v1::State& state,
                                                              uint64_t version,
                                                              const std::string& nonce,
                                                              size_t max_bytes = kMaxChunkBytes) {
  return ChunkState({&state}, version, nonce, max_bytes);
}

// In the initial metadata of a stream at whose start the controller sends
// nothing, the agent having applied the node's current view already
// (Hello.applied_digest): the version the agent resumed at. It tells the
// agent the controller accepted the stream.
inline constexpr char kResumedMetadataKey[] = "weft-resumed-version";

// One update as received, converted chunk by chunk as they arrived (so
// each chunk's protobuf goes at once: at 100,000 endpoints they come to
// ~50 MiB). A conversion error is the update's, which is then refused
// (NACK), not the stream's.
struct Update {
  uint64_t version = 0;
  std::string nonce;
  std::string digest;  // the chunks' (StateChunk.digest); empty from a controller without
  absl::StatusOr<State> state;
};

// Reassembles chunks, in order, into updates. Refuses (InvalidArgument, and
// the assembler starts over) a count of 0 or above `limits.chunks`, an index
// out of order or out of range, and a chunk whose version, nonce, digest or
// count differs from the first chunk of its update: a stream that sends such
// garbage is dropped. An update that goes past `limits` in bytes or entries
// is converted no further (what it took is freed at once); its remaining
// chunks are checked and dropped, and it completes with the limit's error
// as its state (a NACK).
class ChunkAssembler {
 public:
  explicit ChunkAssembler(const StateLimits& limits = StateLimits())
      : limits_(limits), budget_(limits) {}
  // The complete update when `chunk` was its last; nullopt while more are due.
  absl::StatusOr<std::optional<Update>> Add(const v1::StateChunk& chunk);
  // An update is half received.
  bool in_progress() const { return next_ > 0; }
  void Reset();

 private:
  uint32_t next_ = 0;  // index expected next; 0: between updates
  uint32_t count_ = 0;
  uint64_t version_ = 0;
  std::string nonce_;
  std::string digest_;
  StateLimits limits_;
  StateBudget budget_;
  absl::Status over_limit_;  // the update's, once it went past limits_
  StateConverter converter_;
};

}  // namespace weft

#endif  // WEFT_COMMON_WIRE_CHUNK_H_
