#include "agent/sync/client.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <functional>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/capabilities.h"
#include "common/base/log.h"
#include "common/plan/node_check.h"
#include "common/serving/grpc_status.h"
#include "common/wire/convert.h"
#include "common/wire/keepalive.h"
#include "common/wire/nack.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"

namespace weft {
namespace {

// FNV-1a: the same in every process and release, unlike std::hash.
uint64_t StableHash(absl::string_view text) {
  uint64_t hash = 14695981039346656037u;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211u;
  }
  return hash;
}

// Whether `channel` is ready by `deadline`; false as soon as one
// connection attempt (of every address its name resolves to) has failed,
// or `stopping` says so (asked every 100 ms).
bool ConnectsBy(grpc::Channel& channel, absl::Time deadline,
                const std::function<bool()>& stopping) {
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  bool attempted = false;  // a failure seen at first may be an older attempt's
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_SHUTDOWN || (state == GRPC_CHANNEL_TRANSIENT_FAILURE && attempted)) {
      return false;
    }
    const absl::Time now = absl::Now();
    if (now >= deadline || stopping()) return false;
    if (channel.WaitForStateChange(
            state, absl::ToChronoTime(std::min(deadline, now + absl::Milliseconds(100))))) {
      attempted = true;
    }
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return true;
}

}  // namespace

ControllerRotation::ControllerRotation(const std::string& node, size_t count)
    : count_(count), current_(count > 0 ? StableHash(node) % count : 0) {}

bool ControllerRotation::Next(bool served) {
  tried_ = served ? 1 : tried_ + 1;
  current_ = (current_ + 1) % count_;
  return tried_ % count_ == 0;
}

absl::Duration Backoff::Next() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const absl::Duration d = next_;
  next_ = std::min(next_ * 2, max_);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return d * jitter(rng);
}

std::vector<std::string> InterfaceAddresses(const std::string& name) {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || name != a->ifa_name) continue;
    char text[INET6_ADDRSTRLEN];
    if (a->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
      if (inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text))) out.emplace_back(text);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr)) continue;  // no VTEP is link-local
      if (inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text))) out.emplace_back(text);
    }
  }
  freeifaddrs(list);
  return out;
}

v1::AgentMessage UpdateHandler::Handle(Update update) {
  v1::AgentMessage reply;
  auto nack = [&](absl::string_view error) {
    v1::Nack* n = reply.mutable_nack();
    n->set_version(update.version);
    n->set_nonce(update.nonce);
    n->set_error(std::string(error.substr(0, kMaxNackErrorBytes)));
    WEFT_LOG_ERROR("refused state version %d (nonce %s): %s; keeping version %d", update.version,
                   update.nonce, error, applied_version_.load());
    return reply;
  };
  // One version names one state: a controller sends a view only when it
  // changed, under a new version, so a version not above the last one
  // applied on this stream is either going backwards or a second state
  // under a number already taken, and realization would report it as the
  // first.
  if (stream_version_ && update.version < *stream_version_) {
    return nack(absl::StrCat("version ", update.version, " is older than version ",
                             *stream_version_, ", already applied on this stream"));
  }
  if (stream_version_ && update.version == *stream_version_) {
    return nack(absl::StrCat("version ", update.version,
                             " was already applied on this stream: one version is one state"));
  }
  absl::StatusOr<State>& state = update.state;
  if (!state.ok()) return nack(state.status().message());
  state->version = update.version;
  if (absl::Status s = ValidateForNode(*state, node_); !s.ok()) {
    return nack(s.message());
  }
  if (absl::Status s = apply_(*std::move(state)); !s.ok()) return nack(s.message());
  stream_version_ = update.version;
  applied_version_ = update.version;
  applied_digest_ = std::move(update.digest);
  v1::Ack* ack = reply.mutable_ack();
  ack->set_version(update.version);
  ack->set_nonce(update.nonce);
  return reply;
}

SyncClient::SyncClient(SyncClientOptions options, ApplyStateFn apply)
    : options_(std::move(options)),
      handler_(options_.node, std::move(apply), options_.applied_version) {
  grpc::ChannelArguments args;
  // gRPC's own reconnect backoff (1 s up to 120 s by default) would outlast
  // ours: keep it within the same bounds. (Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS:
  // despite its name it is the connect timeout, and 100 ms cuts TLS
  // handshakes short on a busy host.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              absl::ToInt64Milliseconds(options_.backoff_initial));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, absl::ToInt64Milliseconds(options_.backoff_max));
  // Notice a controller that vanished without closing the connection, on
  // an idle stream too: gRPC stops pinging after two pings without data
  // (the agent sends none between updates) unless told not to.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kSyncKeepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kSyncKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  if (!options_.tls_server_name.empty()) {
    args.SetSslTargetNameOverride(options_.tls_server_name);
  }
  for (const std::string& address : options_.controllers) {
    ControllerChannel& c = controllers_.emplace_back();
    c.address = address;
    c.channel = grpc::CreateCustomChannel(address, options_.credentials, args);
    c.stub = v1::Sync::NewStub(c.channel);
  }
  current_ = ControllerRotation(options_.node, controllers_.size()).current();
}

SyncClient::~SyncClient() { Stop(); }

void SyncClient::Start() {
  thread_ = std::thread([this] { Run(); });
}

void SyncClient::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

bool SyncClient::SleepUnlessStopping(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return !stopping_;
}

void SyncClient::Run() {
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  ControllerRotation rotation(options_.node, controllers_.size());
  for (;;) {
    const bool served = RunStream();
    if (served) backoff.Reset();
    const std::string& left = controller();
    const bool round_failed = rotation.Next(served);
    const absl::Duration wait = round_failed ? backoff.Next() : absl::ZeroDuration();
    {
      absl::MutexLock lock(&mu_);
      const std::string in =
          round_failed ? absl::StrCat(" in ", absl::ToInt64Milliseconds(wait), " ms") : "";
      const std::string next =
          stopping_ ? "stopping"
          : controllers_.size() == 1
              ? absl::StrCat("reconnecting", in)
              : absl::StrCat("trying ", controllers_[rotation.current()].address, in);
      WEFT_LOG_WARN("controller %s: stream ended: %s; keeping state version %d; %s", left,
                    last_stream_end_.ToString(), handler_.applied_version(), next);
      if (stopping_) return;
    }
    current_ = rotation.current();
    if (!SleepUnlessStopping(wait)) return;
  }
}

// Drops a stream that leaves an update half received: calls `on_stall`
// (from its own thread, once) when an update is in progress and no message
// came for `timeout`. Stops with its destructor.
class SyncClient::StallWatchdog {
 public:
  StallWatchdog(absl::Duration timeout, std::function<void(absl::Duration idle)> on_stall)
      : timeout_(timeout), on_stall_(std::move(on_stall)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~StallWatchdog() {
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
    }
    thread_.join();
  }

  void MessageReceived() { last_message_ns_ = absl::GetCurrentTimeNanos(); }
  void SetUpdateInProgress(bool in_progress) { in_progress_ = in_progress; }

 private:
  void Run() {
    absl::MutexLock lock(&mu_);
    while (!done_) {
      mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Milliseconds(200));
      if (done_) break;
      const absl::Duration idle =
          absl::Nanoseconds(absl::GetCurrentTimeNanos() - last_message_ns_.load());
      if (in_progress_ && idle > timeout_) {
        on_stall_(idle);
        break;
      }
    }
  }

  const absl::Duration timeout_;
  const std::function<void(absl::Duration idle)> on_stall_;
  std::atomic<bool> in_progress_{false};
  std::atomic<int64_t> last_message_ns_{absl::GetCurrentTimeNanos()};
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

bool SyncClient::SetLiveContext(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  context_ = context;
  return true;
}

v1::AgentMessage SyncClient::Hello() const {
  v1::AgentMessage hello;
  v1::Hello* h = hello.mutable_hello();
  h->set_node(options_.node);
  for (const std::string& vtep : options_.vteps) h->add_vteps(vtep);
  for (const std::string& c : AgentCapabilities()) h->add_capabilities(c);
  h->set_applied_version(handler_.applied_version());
  h->set_applied_digest(handler_.applied_digest());
  return hello;
}

bool SyncClient::RunStream() {
  const ControllerChannel& controller = controllers_[current_];
  // With other controllers to try, one not connected to within
  // connect_timeout is left for the next (the wait drives the connection,
  // as wait_for_ready below does).
  if (controllers_.size() > 1 &&
      !ConnectsBy(*controller.channel, absl::Now() + options_.connect_timeout, [this] {
        absl::MutexLock lock(&mu_);
        return stopping_;
      })) {
    StreamEnded(absl::UnavailableError(absl::StrCat(
        "no connection (", absl::FormatDuration(options_.connect_timeout), " at most)")));
    return false;
  }
  grpc::ClientContext context;
  if (!SetLiveContext(&context)) return false;
  ++streams_;
  // Wait for the channel to connect instead of failing at once while it is
  // in TRANSIENT_FAILURE: this thread then drives the connection (TCP, TLS
  // handshake) instead of gRPC's 5 s backup poller, and gRPC's reconnect
  // backoff (100 ms .. backoff_max, jittered) paces the attempts. Stop()
  // still cancels the wait. (A channel of several that broke since it
  // connected fails the stream at once instead: the next one is tried.)
  context.set_wait_for_ready(controllers_.size() == 1);
  std::unique_ptr<Stream> stream = controller.stub->Stream(&context);
  const v1::AgentMessage hello = Hello();
  handler_.NewStream();

  bool received = false;
  {
    StallWatchdog watchdog(options_.stall_timeout, [&](absl::Duration idle) {
      WEFT_LOG_WARN(
          "controller %s: update half received and nothing for %s; "
          "dropping the stream",
          controller.address, absl::FormatDuration(idle));
      context.TryCancel();
    });
    if (stream->Write(hello)) {
      {
        absl::MutexLock lock(&write_mu_);
        writable_ = stream.get();
        learned_report_ = 0;
        SendLearnedLocked();
      }
      received = ServeUpdates(*stream, context, watchdog);
      absl::MutexLock lock(&write_mu_);
      writable_ = nullptr;
    }
  }
  // Finish() gives the controller's status (its refusal: code and message)
  // only if the call was not cancelled here, so only the agent's own
  // reasons to leave cancel (a bad chunk, a stall, Stop()). Every other way
  // out means the call is over: a failed read, or a failed write, after
  // which what the controller sent before its status is read away, so that
  // Finish() returns at once.
  for (v1::ControllerMessage rest; stream->Read(&rest);) {
  }
  const grpc::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
  }
  connected_ = false;
  StreamEnded(FromGrpcStatus(status));
  return received;
}

void SyncClient::Connected(absl::string_view how) {
  connected_ = true;
  WEFT_LOG_INFO("controller %s: connected as node %s%s", controller(), options_.node, how);
}

bool SyncClient::ServeUpdates(Stream& stream, grpc::ClientContext& context,
                              StallWatchdog& watchdog) {
  bool received = false;
  // A controller that resumes the agent at the state it applied says so in
  // its initial metadata, and sends nothing until the state changes.
  stream.WaitForInitialMetadata();
  const auto& metadata = context.GetServerInitialMetadata();
  if (auto resumed = metadata.find(kResumedMetadataKey); resumed != metadata.end()) {
    received = true;
    Connected(absl::StrCat(", resumed at version ",
                           absl::string_view(resumed->second.data(), resumed->second.size()),
                           ": nothing to resend"));
  }
  ChunkAssembler assembler;
  for (;;) {
    // A fresh message each time: a reused one keeps a whole chunk's
    // worth of cleared objects allocated between updates.
    v1::ControllerMessage message;
    if (!stream.Read(&message)) break;
    watchdog.MessageReceived();
    if (!received) {
      received = true;
      Connected("");
    }
    if (!message.has_chunk()) continue;  // a newer controller's message
    absl::StatusOr<std::optional<Update>> update = assembler.Add(message.chunk());
    message = v1::ControllerMessage();  // converted: its memory goes before the apply
    watchdog.SetUpdateInProgress(assembler.in_progress());
    if (!update.ok()) {
      WEFT_LOG_ERROR("controller %s: %s; dropping the stream", controller(),
                     update.status().message());
      context.TryCancel();
      break;
    }
    if (!update->has_value()) continue;
    if (!Write(Answer(*std::move(*update)))) break;
  }
  return received;
}

v1::AgentMessage SyncClient::Answer(Update update) {
  v1::AgentMessage reply = handler_.Handle(std::move(update));
  if (reply.has_nack()) ++nacks_;
  if (reply.has_ack()) {
    ++acks_;
    WEFT_LOG_INFO("applied state version %d (nonce %s)", reply.ack().version(),
                  reply.ack().nonce());
  }
  return reply;
}

void SyncClient::SetLearned(LearnedSnapshot snapshot) {
  absl::MutexLock lock(&write_mu_);
  learned_ = std::move(snapshot);
  SendLearnedLocked();
}

bool SyncClient::Write(const v1::AgentMessage& message) {
  absl::MutexLock lock(&write_mu_);
  return writable_ != nullptr && writable_->Write(message);
}

void SyncClient::SendLearnedLocked() {
  if (writable_ == nullptr || !learned_) return;
  size_t prefixes = 0;
  for (const auto& [uplink, list] : *learned_) prefixes += list.size();
  const uint64_t report = ++learned_report_;
  v1::AgentMessage message;
  for (v1::LearnedRoutesChunk& chunk : ChunkLearnedRoutes(*learned_, report)) {
    *message.mutable_learned() = std::move(chunk);
    // A broken stream ends its reads too: the stream's thread sees it.
    if (!writable_->Write(message)) return;
  }
  WEFT_LOG_INFO("controller %s: reported %d learned prefixes on %d uplinks (report %d)",
                controller(), prefixes, learned_->size(), report);
}

absl::Status SyncClient::last_stream_end() const {
  absl::MutexLock lock(&mu_);
  return last_stream_end_;
}

void SyncClient::StreamEnded(absl::Status status) {
  absl::MutexLock lock(&mu_);
  last_stream_end_ = std::move(status);
}

}  // namespace weft
