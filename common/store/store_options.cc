#include "common/store/store_options.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/serving/loopback.h"

namespace weft {

absl::StatusOr<EtcdStoreOptions> ParseStoreUrl(absl::string_view url) {
  constexpr absl::string_view kScheme = "etcd://";
  if (!absl::StartsWith(url, kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat("store ", url, ": not etcd://host:port[,host:port...]"));
  }
  EtcdStoreOptions options;
  for (absl::string_view endpoint : absl::StrSplit(url.substr(kScheme.size()), ',')) {
    size_t colon = endpoint.rfind(':');
    uint32_t port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(endpoint.substr(colon + 1), &port) || port == 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("store ", url, ": \"", endpoint, "\" is not host:port"));
    }
    options.endpoints.emplace_back(endpoint);
  }
  return options;
}

absl::Status CheckStoreTransport(const EtcdStoreOptions& options, absl::string_view flags) {
  const int tls_files = !options.ca.empty() + !options.cert.empty() + !options.key.empty();
  if (tls_files == 3) return absl::OkStatus();
  if (tls_files != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(flags, " go together (client TLS to etcd)"));
  }
  for (const std::string& endpoint : options.endpoints) {
    if (!IsLoopback(endpoint)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "etcd without ", flags, " is plaintext: ", endpoint,
          " is not a loopback address (etcd holds the whole fleet's state)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace weft
