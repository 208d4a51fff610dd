#include "common/serving/listen_address.h"

#include <arpa/inet.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace weft {

std::string ListenAddress::ToString() const {
  return ipv6 ? absl::StrCat("[", host, "]:", port) : absl::StrCat(host, ":", port);
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address ", address, ": want host:port, e.g. 127.0.0.1:9465"));
  }
  absl::string_view host = address.substr(0, colon);
  const bool bracketed = absl::ConsumePrefix(&host, "[") && absl::ConsumeSuffix(&host, "]");
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  ListenAddress parsed{.host = std::string(host), .port = port};
  in6_addr v6;
  in_addr v4;
  if (bracketed && inet_pton(AF_INET6, parsed.host.c_str(), &v6) == 1) {
    parsed.ipv6 = true;
  } else if (bracketed || inet_pton(AF_INET, parsed.host.c_str(), &v4) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address ", address, ": the host must be an IPv4 address or [IPv6] address"));
  }
  return parsed;
}

}  // namespace weft
