// weft-controller as a program: flags, the state-file watcher or the store
// (controller/replica.h), the two listeners (Sync, Admin), each with
// grpc.health.v1, and signal handling.
#ifndef WEFT_CONTROLLER_SERVER_H_
#define WEFT_CONTROLLER_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/wire/chunk.h"
#include "controller/controller.h"
#include "controller/service.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"

namespace weft {

// The largest message an agent sends on Sync: a Hello (its node name, its
// underlay's addresses, capabilities), an Ack, or a Nack (whose error the
// controller keeps at most 4 KiB of). gRPC parses a message whole, up to
// the server's receive limit (4 MiB by default), before the service sees
// it; that limit is per server, not per method, and Sync is alone on its
// server: 64 KiB bounds what a stream's peer makes the controller parse.
inline constexpr int kMaxAgentMessageBytes = 64 << 10;

// ApplyState carries a whole fleet's state (13 MiB at 100,000 endpoints),
// up to the limit of a state and a little for the request around it. Its
// entries are counted on the wire before it is parsed (AdminService).
inline constexpr int kMaxAdminMessageBytes = StateLimits().bytes + (64 << 10);

struct GrpcListener {
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // the bound port (useful with port 0)
};

// The Sync and Admin listeners (each its own server, with its limit).
absl::StatusOr<GrpcListener> ListenSync(const std::string& address,
                                        const std::shared_ptr<grpc::ServerCredentials>& creds,
                                        SyncService* sync);
absl::StatusOr<GrpcListener> ListenAdmin(const std::string& address,
                                         const std::shared_ptr<grpc::ServerCredentials>& creds,
                                         AdminService* admin);

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
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  Controller* controller_;
  std::string stamp_;  // mtime, size, inode of the last look
};

// Parses the command line and serves until SIGTERM/SIGINT. Exit status.
int RunController(int argc, char** argv);

}  // namespace weft

#endif  // WEFT_CONTROLLER_SERVER_H_
