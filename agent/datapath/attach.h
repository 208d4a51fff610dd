// Attaching Weft's programs to interfaces: TC (clsact ingress, one filter of
// Weft's own at a fixed handle/priority, replaced atomically) and XDP.
#ifndef WEFT_AGENT_DATAPATH_ATTACH_H_
#define WEFT_AGENT_DATAPATH_ATTACH_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft {

enum class Hook { kTc, kXdp };

// Idempotent: replaces whatever Weft had attached there.
absl::Status AttachIngress(Hook hook, int ifindex, int prog_fd);
absl::Status DetachIngress(Hook hook, int ifindex);
// The id of the program Weft has attached there, 0 if none.
absl::StatusOr<uint32_t> AttachedProgramId(Hook hook, int ifindex);
// The id behind a program fd.
absl::StatusOr<uint32_t> ProgramId(int prog_fd);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_ATTACH_H_
