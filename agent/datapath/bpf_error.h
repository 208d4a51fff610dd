// libbpf reports failures as -errno (or NULL + errno); this turns them into
// an absl::Status that says what Weft was doing and maps the errno to the
// canonical code an operator can act on.
#ifndef WEFT_AGENT_DATAPATH_BPF_ERROR_H_
#define WEFT_AGENT_DATAPATH_BPF_ERROR_H_

#include <string_view>

#include "absl/status/status.h"

namespace weft {

// `err` may be negative (libbpf) or positive (errno).
absl::Status BpfError(int err, std::string_view what);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_BPF_ERROR_H_
