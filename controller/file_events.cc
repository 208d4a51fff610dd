#include "controller/file_events.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace weft {

absl::StatusOr<FileEvents> FileEvents::Watch(const std::string& path) {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat("inotify_init1: ", std::strerror(errno)));
  }
  FileEvents events(fd);
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  // Writes are seen once the writer closes the file, so a file being
  // written in place is not read half done.
  constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB |
                             IN_MOVE_SELF | IN_DELETE_SELF;
  if (inotify_add_watch(fd, dir.c_str(), kMask) < 0) {
    return absl::UnavailableError(
        absl::StrCat("inotify_add_watch ", dir, ": ", std::strerror(errno)));
  }
  return events;
}

FileEvents::~FileEvents() {
  if (fd_ >= 0) close(fd_);
}

void FileEvents::Drain() {
  alignas(inotify_event) char buf[4096];
  while (read(fd_, buf, sizeof(buf)) > 0) {
  }
}

}  // namespace weft
