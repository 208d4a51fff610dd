#include "controller/replica_store.h"

#include <unistd.h>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status.h"

ABSL_FLAG(std::string, store, "",
          "etcd://HOST:PORT[,HOST:PORT...]: run as a replica on etcd instead of --state "
          "(exactly one of the two)");
ABSL_FLAG(std::string, store_ca, "",
          "CA of etcd's members (PEM); without it, plaintext to "
          "loopback members only");
ABSL_FLAG(std::string, store_cert, "", "client certificate for etcd (PEM)");
ABSL_FLAG(std::string, store_key, "", "its private key (PEM)");
ABSL_FLAG(std::string, store_prefix, "/weft/v1/", "prefix of every key in etcd");
ABSL_FLAG(std::string, replica_name, "",
          "this replica's name in the store (unique); default HOSTNAME:PORT of --listen");
ABSL_FLAG(absl::Duration, store_lease_ttl, absl::Seconds(5),
          "this replica's etcd lease: a dead replica's streams and learned routes vanish "
          "within it");

namespace weft {
namespace {

std::string DefaultReplicaName(const std::string& listen) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  const size_t colon = listen.rfind(':');
  return absl::StrCat(host[0] != '\0' ? host : "localhost", ":",
                      colon == std::string::npos ? listen : listen.substr(colon + 1));
}

}  // namespace

std::string StoreUrlFromCommandLine() { return absl::GetFlag(FLAGS_store); }

absl::StatusOr<EtcdStoreOptions> StoreOptionsFromCommandLine(const std::string& listen) {
  ASSIGN_OR_RETURN(EtcdStoreOptions options, ParseStoreUrl(absl::GetFlag(FLAGS_store)));
  options.ca = absl::GetFlag(FLAGS_store_ca);
  options.cert = absl::GetFlag(FLAGS_store_cert);
  options.key = absl::GetFlag(FLAGS_store_key);
  RETURN_IF_ERROR(CheckStoreTransport(options, "--store_ca/--store_cert/--store_key"));
  options.prefix = absl::GetFlag(FLAGS_store_prefix);
  options.replica = absl::GetFlag(FLAGS_replica_name);
  if (options.replica.empty()) options.replica = DefaultReplicaName(listen);
  options.lease_ttl = absl::GetFlag(FLAGS_store_lease_ttl);
  if (options.lease_ttl < absl::Seconds(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--store_lease_ttl ", absl::FormatDuration(options.lease_ttl), " is under 1s"));
  }
  return options;
}

}  // namespace weft
