// Whether an address is on loopback, where plaintext reaches only this
// host's own processes: the controller's listeners with --insecure and its
// etcd members without client TLS (controller and weftctl).
#ifndef WEFT_COMMON_SERVING_LOOPBACK_H_
#define WEFT_COMMON_SERVING_LOOPBACK_H_

#include "absl/strings/string_view.h"

namespace weft {

// `address` is host:port, [v6]:port or localhost:port.
bool IsLoopback(absl::string_view address);

}  // namespace weft

#endif  // WEFT_COMMON_SERVING_LOOPBACK_H_
