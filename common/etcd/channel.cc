#include "common/etcd/channel.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/log.h"

namespace weft::etcd {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("etcd ", what, " ", path, ": cannot read"));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

bool IsUnreachable(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

absl::StatusOr<std::unique_ptr<Endpoints>> Endpoints::Create(const EtcdConfig& config) {
  if (config.endpoints.empty()) return absl::InvalidArgumentError("no etcd endpoint given");
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (config.ca_file.empty() && config.cert_file.empty() && config.key_file.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    if (config.cert_file.empty() != config.key_file.empty()) {
      return absl::InvalidArgumentError("etcd client TLS: give both a certificate and its key");
    }
    grpc::SslCredentialsOptions options;
    if (!config.ca_file.empty()) {
      auto ca = ReadPem(config.ca_file, "CA");
      if (!ca.ok()) return ca.status();
      options.pem_root_certs = *std::move(ca);
    }
    if (!config.cert_file.empty()) {
      auto cert = ReadPem(config.cert_file, "certificate");
      if (!cert.ok()) return cert.status();
      auto key = ReadPem(config.key_file, "key");
      if (!key.ok()) return key.status();
      options.pem_cert_chain = *std::move(cert);
      options.pem_private_key = *std::move(key);
    }
    credentials = grpc::SslCredentials(options);
  }
  return std::unique_ptr<Endpoints>(new Endpoints(config.endpoints, std::move(credentials)));
}

Endpoints::Endpoints(std::vector<std::string> addresses,
                     std::shared_ptr<grpc::ChannelCredentials> credentials)
    : addresses_(std::move(addresses)),
      description_(absl::StrJoin(addresses_, ",")),
      credentials_(std::move(credentials)) {
  channel_ = Open(addresses_[0]);
}

std::shared_ptr<grpc::Channel> Endpoints::Open(const std::string& address) const {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  // A member that vanishes without closing the connection (host down,
  // partition) is noticed by pings. etcd refuses pings more often than
  // every 5 s (its --grpc-keepalive-min-time).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 5000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 3000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Reconnect soon after a member comes back (gRPC's default backs off to 120 s).
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  // A restarting etcd accepts connections before it serves them: a
  // connection attempt is given up after this (gRPC's default: 20 s).
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 3000);
  return grpc::CreateCustomChannel(address, credentials_, args);
}

std::shared_ptr<grpc::Channel> Endpoints::Current(size_t* index) {
  absl::MutexLock lock(&mu_);
  *index = current_;
  return channel_;
}

void Endpoints::Failover(size_t index) {
  absl::MutexLock lock(&mu_);
  if (index != current_ || addresses_.size() == 1) return;
  current_ = (current_ + 1) % addresses_.size();
  channel_ = Open(addresses_[current_]);
  WEFT_LOG_WARN("etcd: %s did not answer, moving to %s", addresses_[index], addresses_[current_]);
}

}  // namespace weft::etcd
