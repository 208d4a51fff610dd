// Which etcd member the client talks to: a list of members, one channel to
// the current one, and the move to the next when it stops answering (every
// member forwards writes to the leader, so any will do). Optional client TLS.
#ifndef WEFT_COMMON_ETCD_CHANNEL_H_
#define WEFT_COMMON_ETCD_CHANNEL_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace weft::etcd {

struct EtcdConfig {
  std::vector<std::string> endpoints;  // host:port, tried in order
  // Client TLS: PEM files; all empty: plaintext.
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Every unary call's deadline (streams: each keepalive round trip).
  absl::Duration call_timeout = absl::Seconds(5);
};

// The largest response the client takes; ranges are paginated under it.
inline constexpr int kMaxReceiveBytes = 16 << 20;

// True for the codes that say "this member did not answer" (as opposed to
// an answer that refuses).
bool IsUnreachable(const grpc::Status& status);

class Endpoints {
 public:
  static absl::StatusOr<std::unique_ptr<Endpoints>> Create(const EtcdConfig& config);

  // The channel to the current member, and its index (for Failover).
  std::shared_ptr<grpc::Channel> Current(size_t* index);
  // The member at `index` failed: the next one becomes current (unless
  // another caller moved already).
  void Failover(size_t index);
  size_t size() const { return addresses_.size(); }
  const std::string& Address(size_t index) const { return addresses_[index]; }
  // "h:p,h:p", for error messages.
  const std::string& Describe() const { return description_; }

 private:
  Endpoints(std::vector<std::string> addresses,
            std::shared_ptr<grpc::ChannelCredentials> credentials);
  std::shared_ptr<grpc::Channel> Open(const std::string& address) const;

  const std::vector<std::string> addresses_;
  const std::string description_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  absl::Mutex mu_;
  size_t current_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mu_);
};

}  // namespace weft::etcd

#endif  // WEFT_COMMON_ETCD_CHANNEL_H_
