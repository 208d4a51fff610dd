#include "common/store/fleet_writer.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "weft/v1/store.pb.h"

namespace weft {

void FleetWriter::SetRealized(const RealizedNode& node) {
  absl::MutexLock lock(&mu_);
  realized_.insert_or_assign(node.node, node);
}

void FleetWriter::SetConnected(const std::string& node, bool connected) {
  absl::MutexLock lock(&mu_);
  if (connected) {
    connected_.insert(node);
  } else {
    connected_.erase(node);
  }
  connected_changes_.insert_or_assign(node, connected);
}

absl::StatusOr<int64_t> FleetWriter::Lease() {
  absl::MutexLock lock(&lease_mu_);
  if (lease_ != 0) return lease_;
  ASSIGN_OR_RETURN(lease_, client_.LeaseGrant(options_.lease_ttl));
  renewed_ = absl::Now();
  return lease_;
}

absl::Status FleetWriter::Renew(bool* regranted) {
  absl::MutexLock lock(&lease_mu_);
  *regranted = false;
  if (lease_ == 0 || absl::Now() - renewed_ < options_.lease_ttl / 3) return absl::OkStatus();
  absl::StatusOr<absl::Duration> left = client_.LeaseKeepAlive(lease_);
  if (left.ok()) {
    renewed_ = absl::Now();
    return absl::OkStatus();
  }
  if (left.status().code() != absl::StatusCode::kNotFound) return left.status();
  WEFT_LOG_WARN("store: lease %d expired; granting a new one", lease_);
  ASSIGN_OR_RETURN(lease_, client_.LeaseGrant(options_.lease_ttl));
  renewed_ = absl::Now();
  *regranted = true;
  absl::MutexLock queue(&mu_);
  for (const std::string& node : connected_) connected_changes_.insert_or_assign(node, true);
  return absl::OkStatus();
}

absl::Status FleetWriter::Tick(bool* regranted) {
  RETURN_IF_ERROR(Renew(regranted));
  return Flush();
}

absl::Status FleetWriter::Flush() {
  std::map<std::string, RealizedNode> realized;
  std::map<std::string, bool> connected;
  {
    absl::MutexLock lock(&mu_);
    realized.swap(realized_);
    connected.swap(connected_changes_);
  }
  if (realized.empty() && connected.empty()) return absl::OkStatus();
  int64_t lease = 0;
  if (!connected.empty()) {
    absl::StatusOr<int64_t> granted = Lease();
    if (granted.ok()) lease = *granted;
  }
  std::vector<etcdserverpb::RequestOp> ops;
  for (const auto& [name, node] : realized) {
    v1::RealizedRecord record;
    record.set_acked_version(node.acked_version);
    record.set_acked_digest(node.acked_digest);
    record.set_nacked_version(node.nacked_version);
    record.set_nack_error(node.nack_error);
    for (const std::string& c : node.capabilities) record.add_capabilities(c);
    record.set_updated_unix_ms(absl::ToUnixMillis(absl::Now()));
    auto* put = ops.emplace_back().mutable_request_put();
    put->set_key(keys_.Realized(name));
    put->set_value(record.SerializeAsString());
  }
  for (const auto& [node, held] : connected) {
    if (held && lease == 0) continue;  // re-queued below
    if (held) {
      auto* put = ops.emplace_back().mutable_request_put();
      put->set_key(keys_.Connected(node, options_.replica));
      put->set_value(options_.replica);
      put->set_lease(lease);
    } else {
      ops.emplace_back().mutable_request_delete_range()->set_key(
          keys_.Connected(node, options_.replica));
    }
  }
  absl::Status status;
  size_t done = 0;
  while (done < ops.size() && status.ok()) {
    etcdserverpb::TxnRequest txn;
    for (; done < ops.size() && static_cast<size_t>(txn.success_size()) < options_.max_txn_ops;
         ++done) {
      *txn.add_success() = ops[done];
    }
    status = client_.Txn(txn).status();
  }
  if (status.ok() && (lease != 0 || connected.empty())) return absl::OkStatus();
  // Again next time, unless newer news came meanwhile (a transaction that
  // went through is only written twice).
  absl::MutexLock lock(&mu_);
  for (auto& [name, node] : realized) realized_.try_emplace(name, std::move(node));
  for (const auto& [node, held] : connected) connected_changes_.try_emplace(node, held);
  return status.ok() ? absl::UnavailableError("store: no lease for the connected rows") : status;
}

void FleetWriter::Revoke() {
  absl::MutexLock lock(&lease_mu_);
  if (lease_ == 0) return;
  if (absl::Status status = client_.LeaseRevoke(lease_); !status.ok()) {
    WEFT_LOG_WARN("store: revoking lease %d: %s (it expires by itself)", lease_, status.message());
  }
  lease_ = 0;
}

absl::StatusOr<std::vector<RealizedNode>> FleetWriter::Read(etcd::Client& client,
                                                            const StoreKeys& keys) {
  const std::string realized_prefix = keys.Fleet() + "realized/";
  const std::string connected_prefix = keys.Fleet() + "connected/";
  ASSIGN_OR_RETURN(etcd::RangeResult range,
                   client.Range(keys.Fleet(), etcd::PrefixEnd(keys.Fleet())));
  std::map<std::string, RealizedNode> nodes;
  for (const mvccpb::KeyValue& kv : range.kvs) {
    absl::string_view key = kv.key();
    if (absl::ConsumePrefix(&key, realized_prefix)) {
      std::string name = UnescapeKeyPart(key);
      v1::RealizedRecord record;
      if (!record.ParseFromString(kv.value())) {
        return absl::DataLossError(absl::StrCat("store key ", kv.key(), ": not a RealizedRecord"));
      }
      RealizedNode& node = nodes[name];
      node.node = name;
      node.acked_version = record.acked_version();
      node.acked_digest = record.acked_digest();
      node.nacked_version = record.nacked_version();
      node.nack_error = record.nack_error();
      node.capabilities.assign(record.capabilities().begin(), record.capabilities().end());
    } else if (absl::ConsumePrefix(&key, connected_prefix)) {
      std::vector<absl::string_view> parts = absl::StrSplit(key, '/');
      if (parts.size() != 2) continue;
      std::string name = UnescapeKeyPart(parts[0]);
      RealizedNode& node = nodes[name];
      node.node = name;
      node.replicas.push_back(UnescapeKeyPart(parts[1]));
    }
  }
  std::vector<RealizedNode> result;
  for (auto& [name, node] : nodes) result.push_back(std::move(node));
  return result;
}

}  // namespace weft
