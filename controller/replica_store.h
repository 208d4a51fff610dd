// weft-controller's store flags (--store etcd://..., docs/CONTROL_PLANE.md
// "Replicas on etcd: operating them") and the connection they describe.
#ifndef WEFT_CONTROLLER_REPLICA_STORE_H_
#define WEFT_CONTROLLER_REPLICA_STORE_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/store/store_options.h"

namespace weft {

// The health service name that says whether the store answers.
inline constexpr char kStoreHealthService[] = "weft.store";

// --store (empty: file mode).
std::string StoreUrlFromCommandLine();

// The store options of the command line: --store's members, client TLS,
// prefix, lease, this replica's name (--replica_name, else
// HOSTNAME:PORT of `listen`). InvalidArgument when plaintext would go to
// a member off loopback, or the TLS flags are given in part.
absl::StatusOr<EtcdStoreOptions> StoreOptionsFromCommandLine(const std::string& listen);

}  // namespace weft

#endif  // WEFT_CONTROLLER_REPLICA_STORE_H_
