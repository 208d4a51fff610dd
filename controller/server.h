// weft-controller as a program: flags, the state-file watcher, the two
// listeners (Sync, Admin), each with grpc.health.v1, and signal handling.
#ifndef WEFT_CONTROLLER_SERVER_H_
#define WEFT_CONTROLLER_SERVER_H_

#include <string>

#include "absl/status/status.h"
#include "controller/controller.h"

namespace weft {

// Looks at `path` (mtime, size, inode) when asked to (on inotify's wake-up
// and every --poll_ms); on a change reloads it with LoadStateFile. A file that does not load or
// validate is refused (the error names file, object and field) and the last good state stays;
// one still being written is read at the next look.
class StateFileWatcher {
 public:
  StateFileWatcher(std::string path, Controller* controller)
      : path_(std::move(path)), controller_(controller) {}
  // Loads the file once; an error here is fatal for the caller.
  absl::Status LoadInitial();
  // Reloads when the file changed since the last look; true when it did.
  bool Poll();

 private:
  std::string path_;
  Controller* controller_;
  std::string stamp_;  // mtime, size, inode of the last look
};

// Parses the command line and serves until SIGTERM/SIGINT. Exit status.
int RunController(int argc, char** argv);

}  // namespace weft

#endif  // WEFT_CONTROLLER_SERVER_H_
