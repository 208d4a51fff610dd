// Reads a file that another program may be writing, and only once it is
// whole: the state file, which the controller's watcher polls while an
// operator's editor or a script may be rewriting it in place. A read that
// fails, falls short, or overlaps a write is an error, never a shorter text
// (a state file read as empty would be an empty fleet).
#ifndef WEFT_COMMON_MODEL_WHOLE_FILE_H_
#define WEFT_COMMON_MODEL_WHOLE_FILE_H_

#include <sys/stat.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace weft {

// A file that was written less than this long ago may still be being
// written: it is read once it has been still for this long.
inline constexpr absl::Duration kFileSettleTime = absl::Milliseconds(200);

// What fstat(2) says of a file: enough to tell that it changed.
struct FileLook {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  absl::Time modified;  // mtime
  absl::Time changed;   // ctime
};

FileLook LookOf(const struct stat& st);

// Whether `bytes_read`, read between the looks `before` and `after` of the
// same open file, are all of it and were read while it stood still
// (`now`: when `before` was taken or later). Unavailable, worth reading
// again soon, when it was written within kFileSettleTime before `now` or
// changed during the read; DataLoss when it did not change but the read
// does not match its size.
absl::Status CheckReadWhole(const FileLook& before, const FileLook& after, size_t bytes_read,
                            absl::Time now);

// The whole text of the regular file at `path`, at most `max_bytes` of it.
// A file written just now is waited for (for a second at most) until it
// has been still for kFileSettleTime. Errors start with `path: `: NotFound,
// FailedPrecondition (cannot open or read it, not a regular file: a
// directory, a FIFO, a device), InvalidArgument (larger than `max_bytes`)
// and those of CheckReadWhole.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path, size_t max_bytes);

}  // namespace weft

#endif  // WEFT_COMMON_MODEL_WHOLE_FILE_H_
