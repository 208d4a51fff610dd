// The address of an operator's listener (--health_listen, --metrics_listen):
// numeric, and local unless it says otherwise, because these listeners take
// connections without authentication.
#ifndef WEFT_COMMON_SERVING_LISTEN_ADDRESS_H_
#define WEFT_COMMON_SERVING_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace weft {

struct ListenAddress {
  std::string host;  // numeric: IPv4, or IPv6 without brackets
  int port = 0;
  bool ipv6 = false;

  // host:port, [host]:port for IPv6.
  std::string ToString() const;
};

// "host:port", "[v6]:port", "localhost:port", or ":port" meaning
// 127.0.0.1:port: every address only when asked for (0.0.0.0:port).
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address);

}  // namespace weft

#endif  // WEFT_COMMON_SERVING_LISTEN_ADDRESS_H_
