#include "agent/bgp/external_api.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/serving/loopback.h"

namespace weft::bgp {

absl::Status CheckExternalApi(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon != std::string::npos && absl::SimpleAtoi(address.substr(colon + 1), &port) &&
      port > 0 && port <= 65535 && IsLoopback(address)) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--gobgpd_api must be a loopback host:port such as 127.0.0.1:50051 (gobgpd's API is "
      "plaintext and unauthenticated), not \"",
      address, "\""));
}

}  // namespace weft::bgp
