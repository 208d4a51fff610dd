// The command-line flags weft-agent and weft-controller share: the TLS of
// the sync stream (each binary's own side of it) and the listeners every
// long-running Weft process offers to its operators.
#ifndef WEFT_COMMON_SERVING_FLAGS_H_
#define WEFT_COMMON_SERVING_FLAGS_H_

#include <string>

#include "common/wire/credentials.h"

namespace weft {

struct ServingFlags {
  TlsFlags tls;                // --tls_cert, --tls_key, --tls_ca, --insecure
  std::string metrics_listen;  // --metrics_listen; empty: no /metrics
  std::string health_listen;   // --health_listen; empty: no health listener
};

// The flags' values; call after absl::ParseCommandLine.
ServingFlags ServingFlagsFromCommandLine();

}  // namespace weft

#endif  // WEFT_COMMON_SERVING_FLAGS_H_
