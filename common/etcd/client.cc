#include "common/etcd/client.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace weft::etcd {
namespace {

constexpr int64_t kFirstPageLimit = 2000;
// How long a write waits for a connection to a member before it moves on
// (as gRPC gives up a connection attempt: channel.cc).
constexpr absl::Duration kConnectWait = absl::Seconds(3);

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace

std::string PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

absl::Status FromGrpc(const grpc::Status& status, const char* what, const Endpoints& endpoints) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(
      static_cast<absl::StatusCode>(status.error_code()),
      absl::StrCat("etcd ", what, " at ", endpoints.Describe(), ": ", status.error_message()));
}

absl::StatusOr<std::unique_ptr<Client>> Client::Create(const EtcdConfig& config) {
  auto endpoints = Endpoints::Create(config);
  if (!endpoints.ok()) return endpoints.status();
  return std::unique_ptr<Client>(new Client(*std::move(endpoints), config.call_timeout));
}

template <typename Call>
absl::Status Client::Unary(const char* what, bool retry_unreachable, Call call) {
  grpc::Status status;
  for (size_t i = 0; i < endpoints_->size(); ++i) {
    size_t member = 0;
    std::shared_ptr<grpc::Channel> channel = endpoints_->Current(&member);
    // A call that must not be sent twice goes out only on a connection that
    // is up: over one that never came up it was never sent, so it is tried
    // on the next member, as a read is.
    if (!retry_unreachable && !channel->WaitForConnected(absl::ToChronoTime(
                                  absl::Now() + std::min(deadline_, kConnectWait)))) {
      status = grpc::Status(
          grpc::StatusCode::UNAVAILABLE,
          absl::StrCat("no connection to ", endpoints_->Address(member), " (nothing sent)"));
      endpoints_->Failover(member);
      continue;
    }
    grpc::ClientContext context;
    SetDeadline(context, deadline_);
    status = call(channel, context);
    if (!IsUnreachable(status)) break;
    endpoints_->Failover(member);
    if (!retry_unreachable) break;  // sent: whether it took effect is unknown
  }
  return FromGrpc(status, what, *endpoints_);
}

absl::StatusOr<RangeResult> Client::Range(const std::string& key, const std::string& range_end,
                                          const RangeOptions& options) {
  RangeResult result;
  result.revision = options.revision;
  std::string next = key;
  int64_t limit = kFirstPageLimit;
  while (true) {
    etcdserverpb::RangeRequest request;
    request.set_key(next);
    request.set_range_end(range_end);
    request.set_revision(result.revision);  // pages after the first: the first's revision
    request.set_serializable(options.serializable);
    request.set_keys_only(options.keys_only);
    request.set_limit(limit);
    etcdserverpb::RangeResponse response;
    absl::Status status = Unary("range", true, [&](auto& channel, grpc::ClientContext& context) {
      return etcdserverpb::KV::NewStub(channel)->Range(&context, request, &response);
    });
    if (status.code() == absl::StatusCode::kResourceExhausted && limit > 1) {
      limit /= 2;  // values larger than expected: smaller pages
      continue;
    }
    if (!status.ok()) return status;
    if (result.revision == 0) result.revision = response.header().revision();
    for (mvccpb::KeyValue& kv : *response.mutable_kvs()) result.kvs.push_back(std::move(kv));
    if (!response.more() || response.kvs().empty()) break;
    next = result.kvs.back().key() + std::string(1, '\0');
  }
  return result;
}

absl::StatusOr<etcdserverpb::TxnResponse> Client::Txn(const etcdserverpb::TxnRequest& request) {
  etcdserverpb::TxnResponse response;
  absl::Status status = Unary("txn", false, [&](auto& channel, grpc::ClientContext& context) {
    return etcdserverpb::KV::NewStub(channel)->Txn(&context, request, &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<int64_t> Client::LeaseGrant(absl::Duration ttl) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(std::max<int64_t>(1, absl::ToInt64Seconds(ttl)));
  etcdserverpb::LeaseGrantResponse response;
  absl::Status status =
      Unary("lease grant", true, [&](auto& channel, grpc::ClientContext& context) {
        return etcdserverpb::Lease::NewStub(channel)->LeaseGrant(&context, request, &response);
      });
  if (!status.ok()) return status;
  if (!response.error().empty()) {
    return absl::UnavailableError(absl::StrCat("etcd lease grant: ", response.error()));
  }
  return response.id();
}

absl::Status Client::LeaseRevoke(int64_t lease) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease);
  etcdserverpb::LeaseRevokeResponse response;
  return Unary("lease revoke", true, [&](auto& channel, grpc::ClientContext& context) {
    return etcdserverpb::Lease::NewStub(channel)->LeaseRevoke(&context, request, &response);
  });
}

absl::Status Client::KeepAliveStream(int64_t lease,
                                     etcdserverpb::LeaseKeepAliveResponse* response) {
  absl::MutexLock lock(&keepalive_mu_);
  // A stream opened earlier may have died with its member meanwhile (a
  // restart): then once more on a fresh one.
  for (int attempt = 0;; ++attempt) {
    size_t member = 0;
    std::shared_ptr<grpc::Channel> channel = endpoints_->Current(&member);
    bool fresh = keepalive_stream_ == nullptr || keepalive_member_ != member;
    if (fresh) {
      if (keepalive_stream_ != nullptr) keepalive_context_->TryCancel();
      keepalive_stream_.reset();
      keepalive_context_ = std::make_unique<grpc::ClientContext>();
      keepalive_member_ = member;
      keepalive_stream_ =
          etcdserverpb::Lease::NewStub(channel)->LeaseKeepAlive(keepalive_context_.get());
    }
    if (KeepAliveRoundTrip(lease, response)) return absl::OkStatus();
    // Finish waits for the server's status, which a member that went away
    // never sends.
    keepalive_context_->TryCancel();
    grpc::Status status = keepalive_stream_->Finish();
    keepalive_stream_.reset();
    if (!fresh && attempt == 0) continue;
    if (status.ok()) status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "keepalive stream ended");
    if (IsUnreachable(status) || status.error_code() == grpc::StatusCode::CANCELLED) {
      endpoints_->Failover(member);
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, status.error_message());
    }
    return FromGrpc(status, "lease keepalive", *endpoints_);
  }
}

bool Client::KeepAliveRoundTrip(int64_t lease, etcdserverpb::LeaseKeepAliveResponse* response) {
  // A stream has no per-message deadline: a member that does not answer
  // within ours is given up on (the stream cancelled, so Read returns).
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease);
  bool done = false;
  grpc::ClientContext* context = keepalive_context_.get();
  absl::Mutex wait_mu;
  std::thread watchdog([&] {
    absl::MutexLock wait(&wait_mu);
    if (!wait_mu.AwaitWithTimeout(absl::Condition(&done), deadline_)) context->TryCancel();
  });
  bool ok = keepalive_stream_->Write(request) && keepalive_stream_->Read(response);
  {
    absl::MutexLock wait(&wait_mu);
    done = true;
  }
  watchdog.join();
  return ok;
}

absl::StatusOr<absl::Duration> Client::LeaseKeepAlive(int64_t lease) {
  etcdserverpb::LeaseKeepAliveResponse response;
  absl::Status status = KeepAliveStream(lease, &response);
  if (!status.ok()) return status;
  if (response.ttl() <= 0) {
    return absl::NotFoundError(absl::StrCat("etcd lease ", lease, " expired"));
  }
  return absl::Seconds(response.ttl());
}

}  // namespace weft::etcd
