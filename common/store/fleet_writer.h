// A replica's lease and the fleet's realization: what nodes acknowledged
// (fleet/realized/<node>, no lease) and which replica holds whose stream
// (fleet/connected/<node>/<replica>, under the lease), queued by the
// replica's streams and written in batches by the store's thread. A lost
// lease (expired while etcd was away) is granted again and the connected
// rows are put again under it.
#ifndef WEFT_COMMON_STORE_FLEET_WRITER_H_
#define WEFT_COMMON_STORE_FLEET_WRITER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/etcd/client.h"
#include "common/store/state_store.h"
#include "common/store/store_keys.h"
#include "common/store/store_options.h"

namespace weft {

class FleetWriter {
 public:
  FleetWriter(etcd::Client& client, const StoreKeys& keys, const EtcdStoreOptions& options)
      : client_(client), keys_(keys), options_(options) {}

  void SetRealized(const RealizedNode& node);
  void SetConnected(const std::string& node, bool connected);

  // The lease, granted on first use (again by Tick after it was lost).
  absl::StatusOr<int64_t> Lease();
  // The store thread's turn (every ~100 ms): renews the lease when a third
  // of its TTL passed, then writes what is queued (at most max_txn_ops a
  // transaction). An error: etcd did not answer (the queue is kept).
  // `regranted`: the lost lease was replaced (whatever else was under it is
  // to be put again).
  absl::Status Tick(bool* regranted);
  // Gives the lease back (its keys vanish now rather than after the TTL).
  void Revoke();

  static absl::StatusOr<std::vector<RealizedNode>> Read(etcd::Client& client,
                                                        const StoreKeys& keys);

 private:
  absl::Status Renew(bool* regranted);
  absl::Status Flush();

  etcd::Client& client_;
  const StoreKeys& keys_;
  const EtcdStoreOptions& options_;

  absl::Mutex lease_mu_;
  int64_t lease_ ABSL_GUARDED_BY(lease_mu_) = 0;  // 0: none yet
  absl::Time renewed_ ABSL_GUARDED_BY(lease_mu_);

  absl::Mutex mu_;
  std::map<std::string, RealizedNode> realized_ ABSL_GUARDED_BY(mu_);   // queued
  std::map<std::string, bool> connected_changes_ ABSL_GUARDED_BY(mu_);  // queued
  std::set<std::string> connected_ ABSL_GUARDED_BY(mu_);                // held now
};

}  // namespace weft

#endif  // WEFT_COMMON_STORE_FLEET_WRITER_H_
