#include "common/model/whole_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "common/base/status.h"

namespace weft {
namespace {

// A file being written is looked at this often, this many times, before it
// is left for the caller's next try.
constexpr int kAttempts = 5;

absl::Status ErrnoError(const std::string& path, absl::string_view call) {
  const std::string what = absl::StrCat(path, ": ", call, ": ", std::strerror(errno));
  return errno == ENOENT ? absl::NotFoundError(what) : absl::FailedPreconditionError(what);
}

absl::StatusOr<FileLook> Look(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) return ErrnoError(path, "fstat");
  // A FIFO or a device has no size to check a read against, and a
  // directory reads as nothing.
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, ": is not a regular file"));
  }
  return LookOf(st);
}

// From the start of `fd` until its end or `limit` bytes.
absl::StatusOr<std::string> ReadUpTo(int fd, size_t limit, const std::string& path) {
  std::string text(limit, '\0');
  size_t got = 0;
  while (got < limit) {
    const ssize_t n = pread(fd, text.data() + got, limit - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(path, "read");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

}  // namespace

FileLook LookOf(const struct stat& st) {
  return {.device = st.st_dev,
          .inode = st.st_ino,
          .size = st.st_size,
          .modified = absl::TimeFromTimespec(st.st_mtim),
          .changed = absl::TimeFromTimespec(st.st_ctim)};
}

absl::Status CheckReadWhole(const FileLook& before, const FileLook& after, size_t bytes_read,
                            absl::Time now) {
  if (before.device != after.device || before.inode != after.inode || before.size != after.size ||
      before.modified != after.modified || before.changed != after.changed) {
    return absl::UnavailableError(absl::StrCat("changed while it was read (", before.size,
                                               " bytes before, ", after.size,
                                               " after); it is read again once it stands still"));
  }
  // A write sets the mtime to the time of the write; one far in the future
  // was set by hand, not by a write going on.
  if (absl::AbsDuration(now - after.modified) < kFileSettleTime) {
    return absl::UnavailableError(absl::StrCat("written ",
                                               absl::FormatDuration(now - after.modified),
                                               " ago, it may still be being "
                                               "written; it is read once it has been still for ",
                                               absl::FormatDuration(kFileSettleTime)));
  }
  if (bytes_read != static_cast<size_t>(after.size)) {
    return absl::DataLossError(
        absl::StrCat("read ", bytes_read, " bytes of a file of ", after.size, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO would wait for a writer.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return ErrnoError(path, "open");
  absl::Cleanup close_fd = [fd] { close(fd); };
  absl::Status not_still;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (attempt > 0) absl::SleepFor(kFileSettleTime);
    ASSIGN_OR_RETURN(const FileLook before, Look(fd, path));
    if (static_cast<size_t>(before.size) > max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": ", before.size, " bytes; a file larger than ", max_bytes, " bytes is not read"));
    }
    // One byte more than its size, to notice that it grew.
    ASSIGN_OR_RETURN(std::string text, ReadUpTo(fd, before.size + 1, path));
    ASSIGN_OR_RETURN(const FileLook after, Look(fd, path));
    not_still = CheckReadWhole(before, after, text.size(), absl::Now());
    if (not_still.ok()) return text;
    if (!absl::IsUnavailable(not_still)) break;
  }
  return WithContext(not_still, path);
}

}  // namespace weft
