// The descriptor limit of a long-running Weft process. The soft limit
// (often 1,024) is what a flood of connections or many VM interfaces runs
// into first; the hard limit is what the administrator allows.
#ifndef WEFT_COMMON_SERVING_FILE_LIMIT_H_
#define WEFT_COMMON_SERVING_FILE_LIMIT_H_

#include "absl/status/statusor.h"

namespace weft {

// Raises RLIMIT_NOFILE's soft limit to its hard limit; the new soft limit.
absl::StatusOr<long> RaiseOpenFileLimit();

}  // namespace weft

#endif  // WEFT_COMMON_SERVING_FILE_LIMIT_H_
