// How EtcdStateStore reaches etcd and lays its keys out.
#ifndef WEFT_COMMON_STORE_STORE_OPTIONS_H_
#define WEFT_COMMON_STORE_STORE_OPTIONS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace weft {

struct EtcdStoreOptions {
  std::vector<std::string> endpoints;  // host:port
  std::string ca;                      // client TLS (PEM files); empty: plaintext
  std::string cert;
  std::string key;
  std::string prefix = "/weft/v1/";
  std::string replica;  // this replica's name (fleet/connected/<node>/<replica>)
  absl::Duration lease_ttl = absl::Seconds(5);
  // etcd's own limits per request: --max-txn-ops (128) and
  // --max-request-bytes (1.5 MiB). A write over either is staged.
  size_t max_txn_ops = 128;
  size_t max_txn_bytes = 1 << 20;
};

// "etcd://host:port[,host:port...]" -> options with those endpoints (the
// rest defaults).
absl::StatusOr<EtcdStoreOptions> ParseStoreUrl(absl::string_view url);

}  // namespace weft

#endif  // WEFT_COMMON_STORE_STORE_OPTIONS_H_
