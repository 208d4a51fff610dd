#include "common/store/store_options.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

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

}  // namespace weft
