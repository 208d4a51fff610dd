// The agent's end of the sync stream (docs/ARCHITECTURE.md §5, docs/CONTROL_PLANE.md).
// A SyncClient keeps one stream to a controller open from its own thread,
// moving to the next of its controllers when the stream ends, with
// jittered exponential backoff once a whole round of them failed; every
// complete update is
// validated as a whole, handed to the apply callback, and answered with an
// Ack, or with a Nack naming object and field, having applied nothing.
#ifndef WEFT_AGENT_SYNC_CLIENT_H_
#define WEFT_AGENT_SYNC_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/model/state.h"
#include "common/wire/chunk.h"
#include "common/wire/learned_chunk.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "weft/v1/sync.grpc.pb.h"

namespace weft {

// Applies a state that passed validation for this node (the agent's
// reconcile, under its lock), and may keep it: it is moved in, not copied
// (at 100,000 endpoints a copy is ~20 MiB more at the apply's peak). An
// error is sent back as the Nack's error.
using ApplyStateFn = std::function<absl::Status(State)>;

// What the client does with one complete update, apart from the network:
// convert, validate for `node`, refuse a version older than one already
// applied on the same stream, apply, and say Ack or Nack.
class UpdateHandler {
 public:
  UpdateHandler(std::string node, ApplyStateFn apply, uint64_t applied_version)
      : node_(std::move(node)), apply_(std::move(apply)), applied_version_(applied_version) {}

  // A new stream: versions may start over (a restarted controller).
  void NewStream() { stream_version_.reset(); }
  // Takes the update: its state is moved on into the apply.
  v1::AgentMessage Handle(Update update);
  uint64_t applied_version() const { return applied_version_; }
  // The digest of the update last applied by this process (empty before
  // one): what a Hello resumes with. From the thread that calls Handle.
  const std::string& applied_digest() const { return applied_digest_; }

 private:
  std::string node_;
  ApplyStateFn apply_;
  std::atomic<uint64_t> applied_version_;
  std::string applied_digest_;
  std::optional<uint64_t> stream_version_;  // applied on this stream
};

// The order in which an agent tries its controllers: first the one its
// node's name picks (a stable hash of it, modulo the count: a fleet spreads
// over the list), then each next one, round and round.
class ControllerRotation {
 public:
  ControllerRotation(const std::string& node, size_t count);
  size_t current() const { return current_; }
  // Moves to the next controller once a stream to the current one ended;
  // `served`: the controller had accepted it. True when every controller
  // of a round failed since the last that served: back off before the next.
  bool Next(bool served);

 private:
  size_t count_;
  size_t current_;
  size_t tried_ = 0;  // streams since the last served one, that one included
};

struct SyncClientOptions {
  // host:port each (a DNS name may resolve to several addresses, which
  // gRPC tries in turn); at least one.
  std::vector<std::string> controllers;
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Overrides the name the controller's certificate is checked against.
  std::string tls_server_name;
  std::string node;
  std::vector<std::string> vteps;
  uint64_t applied_version = 0;
  // A stream that leaves an update half received for this long is dropped.
  absl::Duration stall_timeout = absl::Seconds(10);
  absl::Duration backoff_initial = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(5);
  // With more than one controller, the most a connection may take before
  // the next controller is tried. (With one, the agent waits for it.)
  absl::Duration connect_timeout = absl::Seconds(3);
};

class SyncClient {
 public:
  SyncClient(SyncClientOptions options, ApplyStateFn apply);
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  void Start();
  // Cancels the stream and joins the thread.
  void Stop();

  // Reports `snapshot` as the node's learned routes (an edge's; docs/CONTROL_PLANE.md
  // "Learned routes"): at once on the live stream, and again at the start of
  // every new stream, until the next call. From any thread.
  void SetLearned(LearnedSnapshot snapshot) ABSL_LOCKS_EXCLUDED(write_mu_);

  uint64_t applied_version() const { return handler_.applied_version(); }
  bool connected() const { return connected_; }
  // The controller the client is on (or trying), host:port.
  const std::string& controller() const { return controllers_[current_].address; }
  // Since Start(), for metrics: updates acked and nacked, and streams opened
  // after the first.
  uint64_t acks() const { return acks_; }
  uint64_t nacks() const { return nacks_; }
  uint64_t reconnects() const {
    const uint64_t n = streams_;
    return n > 0 ? n - 1 : 0;
  }
  // How the last stream ended: the controller's status (its refusal, code
  // and message), or CANCELLED when the agent left it; OK before any ended.
  absl::Status last_stream_end() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using Stream = grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>;
  class StallWatchdog;
  struct ControllerChannel {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<v1::Sync::Stub> stub;
  };

  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // One stream to the current controller, until it ends (or, with several
  // controllers, until it cannot connect); true when the controller
  // accepted it.
  bool RunStream() ABSL_LOCKS_EXCLUDED(mu_);
  // Makes `context` the one Stop() cancels; false when stopping.
  bool SetLiveContext(grpc::ClientContext* context) ABSL_LOCKS_EXCLUDED(mu_);
  v1::AgentMessage Hello() const;
  // Reads the controller's messages, answering every complete update, until
  // the stream ends or is dropped; true when the controller accepted the
  // stream (sent anything, or said it resumed).
  bool ServeUpdates(Stream& stream, grpc::ClientContext& context, StallWatchdog& watchdog);
  // The stream is accepted: says so once.
  void Connected(absl::string_view how);
  // The handler's Ack or Nack for `update`, counted.
  v1::AgentMessage Answer(Update update);
  // Keeps how a stream ended (or why none could be opened).
  void StreamEnded(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);
  // Writes `message` on the live stream; false when there is none or it broke.
  bool Write(const v1::AgentMessage& message) ABSL_LOCKS_EXCLUDED(write_mu_);
  // Sends learned_ as a new report on writable_, if both are set.
  void SendLearnedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Sleeps, or returns false at once when stopping.
  bool SleepUnlessStopping(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);

  SyncClientOptions options_;
  UpdateHandler handler_;
  std::vector<ControllerChannel> controllers_;  // one channel each, as options_.controllers
  std::atomic<size_t> current_{0};              // index into controllers_
  std::thread thread_;
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> acks_{0}, nacks_{0}, streams_{0};

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status last_stream_end_ ABSL_GUARDED_BY(mu_);
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;  // the live stream's

  // Writes on a stream come from its thread (Hello, answers) and from
  // SetLearned's caller: one at a time.
  absl::Mutex write_mu_;
  Stream* writable_ ABSL_GUARDED_BY(write_mu_) = nullptr;  // after its Hello
  std::optional<LearnedSnapshot> learned_ ABSL_GUARDED_BY(write_mu_);
  uint64_t learned_report_ ABSL_GUARDED_BY(write_mu_) = 0;  // on the live stream
};

// The IPv4 and IPv6 addresses of interface `name`, link-local ones aside
// (the VTEPs a Hello announces).
std::vector<std::string> InterfaceAddresses(const std::string& name);

// Jittered exponential backoff: initial, doubling up to max, each delay
// drawn uniformly from [d/2, d].
class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max)
      : initial_(initial), max_(max), next_(initial) {}
  absl::Duration Next();
  void Reset() { next_ = initial_; }

 private:
  absl::Duration initial_, max_, next_;
};

}  // namespace weft

#endif  // WEFT_AGENT_SYNC_CLIENT_H_
