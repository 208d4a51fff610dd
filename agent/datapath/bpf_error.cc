#include "agent/datapath/bpf_error.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace weft {

absl::Status BpfError(int err, std::string_view what) {
  int e = std::abs(err);
  std::string message = absl::StrCat(std::string(what), ": ", std::strerror(e));
  switch (e) {
    case EPERM:
      return absl::PermissionDeniedError(
          absl::StrCat(message, " (needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN or root)"));
    case EACCES:
      // What the verifier answers for a program it refuses, as well as a
      // missing capability; libbpf has printed the verifier's log above.
      return absl::PermissionDeniedError(
          absl::StrCat(message,
                       " (the verifier refused a program, see its log above; or a capability is"
                       " missing)"));
    case ENOENT:
    case ENODEV:
      return absl::NotFoundError(message);
    case E2BIG:
    case ENOSPC:
      return absl::ResourceExhaustedError(message);
    case EINVAL:
      return absl::InvalidArgumentError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace weft
