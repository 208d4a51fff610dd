// A small etcd v3 client over etcd's own gRPC API (rpc.proto, generated at
// build time): ranges (paginated), transactions and leases, each unary call
// with a deadline, moving to the next member when one does not answer.
// Watches are in watch.h.
#ifndef WEFT_COMMON_ETCD_CLIENT_H_
#define WEFT_COMMON_ETCD_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/etcd/channel.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"

namespace weft::etcd {

// The end of the range of every key starting with `prefix` (etcd's
// "prefix + 1" convention).
std::string PrefixEnd(const std::string& prefix);

struct RangeResult {
  int64_t revision = 0;  // the store revision the range was read at
  std::vector<mvccpb::KeyValue> kvs;
};

struct RangeOptions {
  int64_t revision = 0;  // 0: the latest
  // Serializable: the member's own copy, maybe behind; else linearizable
  // (through the leader).
  bool serializable = false;
  bool keys_only = false;
};

class Client {
 public:
  static absl::StatusOr<std::unique_ptr<Client>> Create(const EtcdConfig& config);

  // Every key in [key, range_end) at one revision, in pages that each stay
  // under the gRPC receive limit (a page refused as too large is asked
  // again half as long).
  absl::StatusOr<RangeResult> Range(const std::string& key, const std::string& range_end,
                                    const RangeOptions& options = {});
  // One transaction. A member that does not answer is not retried (the
  // transaction may have happened): Unavailable.
  absl::StatusOr<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& request);

  // A lease of `ttl` (whole seconds, at least 1); its id.
  absl::StatusOr<int64_t> LeaseGrant(absl::Duration ttl);
  // Renews the lease over the keepalive stream (opened on first use and
  // again after it breaks); the TTL left. NotFound when the lease expired.
  absl::StatusOr<absl::Duration> LeaseKeepAlive(int64_t lease);
  absl::Status LeaseRevoke(int64_t lease);

  Endpoints& endpoints() { return *endpoints_; }
  absl::Duration deadline() const { return deadline_; }

 private:
  Client(std::unique_ptr<Endpoints> endpoints, absl::Duration deadline)
      : endpoints_(std::move(endpoints)), deadline_(deadline) {}
  // Calls `call` with a stub and a context carrying the deadline, on the
  // current member, then the others while they do not answer (when
  // `retry_unreachable`). Otherwise (a write) only members it can connect
  // to are tried, and once sent the call is not repeated.
  template <typename Call>
  absl::Status Unary(const char* what, bool retry_unreachable, Call call);
  absl::Status KeepAliveStream(int64_t lease, etcdserverpb::LeaseKeepAliveResponse* response);
  bool KeepAliveRoundTrip(int64_t lease, etcdserverpb::LeaseKeepAliveResponse* response)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(keepalive_mu_);

  std::unique_ptr<Endpoints> endpoints_;
  const absl::Duration deadline_;

  absl::Mutex keepalive_mu_;
  std::unique_ptr<grpc::ClientContext> keepalive_context_ ABSL_GUARDED_BY(keepalive_mu_);
  std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::LeaseKeepAliveRequest,
                                           etcdserverpb::LeaseKeepAliveResponse>>
      keepalive_stream_ ABSL_GUARDED_BY(keepalive_mu_);
  size_t keepalive_member_ ABSL_GUARDED_BY(keepalive_mu_) = 0;
};

// grpc -> absl, naming the call and the members.
absl::Status FromGrpc(const grpc::Status& status, const char* what, const Endpoints& endpoints);

}  // namespace weft::etcd

#endif  // WEFT_COMMON_ETCD_CLIENT_H_
