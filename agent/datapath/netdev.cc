#include "agent/datapath/netdev.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/datapath/bpf_error.h"

namespace weft {

uint32_t InterfaceIndex(const std::string& name) { return if_nametoindex(name.c_str()); }

absl::StatusOr<uint16_t> InterfaceMtu(const std::string& name) {
  if (name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(absl::StrCat("interface name too long: ", name));
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return BpfError(errno, "opening a socket for SIOCGIFMTU");
  ifreq req = {};
  std::memcpy(req.ifr_name, name.c_str(), name.size());
  int rc = ioctl(fd, SIOCGIFMTU, &req);
  int err = errno;
  close(fd);
  if (rc != 0) return BpfError(err, absl::StrCat("reading the MTU of ", name));
  return static_cast<uint16_t>(req.ifr_mtu);
}

}  // namespace weft
