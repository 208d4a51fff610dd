// An edge's learned-routes report on the sync stream (docs/CONTROL_PLANE.md
// "Learned routes"): a snapshot of what every uplink of the node has learned
// over BGP, cut into LearnedRoutesChunk messages that each stay under the
// controller's limit for a message from an agent, and put back together by
// the controller, which refuses a report past its bounds.
#ifndef WEFT_COMMON_WIRE_LEARNED_CHUNK_H_
#define WEFT_COMMON_WIRE_LEARNED_CHUNK_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/state.h"
#include "weft/v1/sync.pb.h"

namespace weft {

// Uplink name -> the prefixes its Established session learned, sorted by
// (address, length) and distinct (SortLearnedPrefixes). An uplink whose
// session is down is present with no prefixes.
using LearnedSnapshot = std::map<std::string, std::vector<Ipv4Prefix>>;

// Sorts by (address, length) and drops repeats.
void SortLearnedPrefixes(std::vector<Ipv4Prefix>& prefixes);

// A chunk's bytes at most: under the controller's 64 KiB per agent message
// (controller/server.h kMaxAgentMessageBytes), with room for the message's
// own fields.
inline constexpr size_t kMaxLearnedChunkBytes = 60 << 10;

// What the controller takes in one report, whatever the agents' own
// --max_learned_prefixes say.
struct LearnedLimits {
  size_t prefixes = 100000;  // every uplink of the report together
  uint32_t chunks = 1024;
};

// The chunks of report number `report` of `snapshot`: at least one (an empty
// snapshot is one chunk without uplinks); each at most `max_bytes` on the
// wire; an uplink too long for one chunk continues in the next.
std::vector<v1::LearnedRoutesChunk> ChunkLearnedRoutes(const LearnedSnapshot& snapshot,
                                                       uint64_t report,
                                                       size_t max_bytes = kMaxLearnedChunkBytes);

// Puts a stream's reports back together. Refuses (InvalidArgument or
// ResourceExhausted, naming report, uplink and prefix; the stream is then
// dropped) a count of 0 or above the limit, a chunk out of order or not of
// the report in progress, a report number not above the last one, an empty
// uplink name, a prefix that is not an IPv4 prefix with its host bits zero,
// and a report of more prefixes than `limits.prefixes`.
class LearnedRoutesAssembler {
 public:
  explicit LearnedRoutesAssembler(const LearnedLimits& limits = LearnedLimits())
      : limits_(limits) {}
  // The complete snapshot when `chunk` was its report's last; nullopt while
  // more are due.
  absl::StatusOr<std::optional<LearnedSnapshot>> Add(const v1::LearnedRoutesChunk& chunk);

 private:
  absl::Status Take(const v1::LearnedRoutesChunk& chunk);

  LearnedLimits limits_;
  uint32_t next_ = 0;  // index expected next; 0: between reports
  uint32_t count_ = 0;
  uint64_t report_ = 0;
  std::optional<uint64_t> last_report_;
  size_t prefixes_ = 0;
  LearnedSnapshot snapshot_;
};

}  // namespace weft

#endif  // WEFT_COMMON_WIRE_LEARNED_CHUNK_H_
