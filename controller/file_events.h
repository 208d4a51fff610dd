// Wakes the state-file watcher as soon as something happens in the file's
// directory (inotify), instead of after its next poll. The directory, not
// the file, is watched: an atomic replacement (rename over it) and a
// Kubernetes ConfigMap update (a symlink swapped beside it) change the
// directory's entries, not the file that was watched.
#ifndef WEFT_CONTROLLER_FILE_EVENTS_H_
#define WEFT_CONTROLLER_FILE_EVENTS_H_

#include <string>

#include "absl/status/statusor.h"

namespace weft {

class FileEvents {
 public:
  // Watches the directory holding `path`.
  static absl::StatusOr<FileEvents> Watch(const std::string& path);
  FileEvents(FileEvents&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileEvents& operator=(FileEvents&&) = delete;
  ~FileEvents();

  // Readable when events are pending (for poll(2)).
  int fd() const { return fd_; }
  // Reads the pending events; what they were does not matter, only that
  // the file may have changed.
  void Drain();

 private:
  explicit FileEvents(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace weft

#endif  // WEFT_CONTROLLER_FILE_EVENTS_H_
