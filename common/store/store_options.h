// How EtcdStateStore reaches etcd and lays its keys out.
#ifndef WEFT_COMMON_STORE_STORE_OPTIONS_H_
#define WEFT_COMMON_STORE_STORE_OPTIONS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
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

// Client TLS to etcd is the CA, the certificate and the key together; without
// them the connection is plaintext, allowed to loopback members only (etcd
// holds the whole fleet's state). Errors name the endpoint; `flags` names the
// caller's TLS flags ("--store_ca/--store_cert/--store_key").
absl::Status CheckStoreTransport(const EtcdStoreOptions& options, absl::string_view flags);

}  // namespace weft

#endif  // WEFT_COMMON_STORE_STORE_OPTIONS_H_
