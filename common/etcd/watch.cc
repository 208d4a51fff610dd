#include "common/etcd/watch.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace weft::etcd {

Watch::Watch(Client& client, std::string key, std::string range_end, int64_t start_revision,
             WatchCallbacks callbacks)
    : client_(client),
      key_(std::move(key)),
      range_end_(std::move(range_end)),
      callbacks_(std::move(callbacks)),
      next_revision_(start_revision) {
  thread_ = std::thread([this] { Run(); });
}

Watch::~Watch() { Stop(); }

void Watch::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
  }
  if (thread_.joinable()) thread_.join();
}

void Watch::Run() {
  bool healthy = true;
  absl::Duration backoff = absl::Milliseconds(100);
  while (true) {
    bool was_healthy = healthy;
    absl::Status why = Stream(&healthy);
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (why.code() == absl::StatusCode::kOutOfRange) {
      if (callbacks_.on_end) callbacks_.on_end(why);
      return;
    }
    if (healthy || was_healthy) {  // it had come back, or this is the first break
      healthy = false;
      backoff = absl::Milliseconds(100);
      if (callbacks_.on_health) callbacks_.on_health(why);
    }
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping), backoff)) return;
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
}

absl::Status Watch::Stream(bool* healthy) {
  size_t member = 0;
  std::shared_ptr<grpc::Channel> channel = client_.endpoints().Current(&member);
  auto stub = etcdserverpb::Watch::NewStub(channel);
  grpc::ClientContext context;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
    context_ = &context;
  }
  auto clear_context = [this] {
    absl::MutexLock lock(&mu_);
    context_ = nullptr;
  };
  // etcd refuses a watch when no leader is elected (a member cut off from
  // the others would otherwise serve a stale stream forever).
  context.AddMetadata("hasleader", "true");
  auto stream = stub->Watch(&context);
  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  create->set_key(key_);
  create->set_range_end(range_end_);
  create->set_start_revision(next_revision_);
  absl::Status result;
  etcdserverpb::WatchResponse response;
  if (!stream->Write(request)) {
    result = absl::UnavailableError("watch stream could not be opened");
  }
  std::vector<mvccpb::Event> events;
  while (result.ok() && stream->Read(&response)) {
    if (response.compact_revision() > 0) {
      result = absl::OutOfRangeError(absl::StrCat("etcd watch: revision ", next_revision_,
                                                  " was compacted (oldest kept ",
                                                  response.compact_revision(), ")"));
      break;
    }
    if (response.canceled()) {
      result =
          absl::UnavailableError(absl::StrCat("etcd watch cancelled: ", response.cancel_reason()));
      break;
    }
    if (response.created() && !*healthy) {
      *healthy = true;
      if (callbacks_.on_health) callbacks_.on_health(absl::OkStatus());
    }
    *healthy = true;
    // A response holds whole revisions, in order.
    for (int i = 0; i < response.events_size();) {
      int64_t revision = response.events(i).kv().mod_revision();
      events.clear();
      for (; i < response.events_size() && response.events(i).kv().mod_revision() == revision;
           ++i) {
        events.push_back(std::move(*response.mutable_events(i)));
      }
      callbacks_.on_revision(revision, events);
      next_revision_ = revision + 1;
    }
  }
  // Ended here (compacted, cancelled by etcd): the server may still be
  // sending. Otherwise the stream is over and Finish has its status, which a
  // cancel now would turn into CANCELLED, hiding why.
  if (!result.ok()) context.TryCancel();
  grpc::Status status = stream->Finish();
  clear_context();
  if (result.code() == absl::StatusCode::kOutOfRange) return result;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::CancelledError("stopping");
  }
  // Whatever broke it (a member that died, or refused the stream, or has no
  // leader), the next attempt goes to the next member: one that answers
  // again is reached when the others do not.
  client_.endpoints().Failover(member);
  if (!result.ok()) return result;
  return FromGrpc(
      status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "watch stream ended") : status,
      "watch", client_.endpoints());
}

}  // namespace weft::etcd
