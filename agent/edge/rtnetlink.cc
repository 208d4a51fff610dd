#include "agent/edge/rtnetlink.h"

#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/if_vlan.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/datapath/bpf_error.h"
#include "common/base/status.h"
#include "common/model/net_format.h"

namespace weft::edge {
namespace {

// One request: a netlink header, the family's header, then attributes.
class Request {
 public:
  template <typename Header>
  Request(uint16_t type, uint16_t flags, const Header& header) {
    Append(nullptr, NLMSG_HDRLEN);
    Append(&header, sizeof header);
    nlmsghdr& hdr = Hdr();
    hdr.nlmsg_type = type;
    hdr.nlmsg_flags = NLM_F_REQUEST | flags;
  }

  void Attr(uint16_t type, const void* data, size_t len) {
    rtattr attr = {.rta_len = static_cast<unsigned short>(RTA_LENGTH(len)), .rta_type = type};
    Append(&attr, sizeof attr);
    Append(data, len);
  }
  template <typename T>
  void Attr(uint16_t type, const T& value) {
    Attr(type, &value, sizeof value);
  }
  void Attr(uint16_t type, const std::string& text) { Attr(type, text.c_str(), text.size() + 1); }

  // Nested attributes: Begin returns where the nest starts, End closes it.
  size_t Begin(uint16_t type) {
    const size_t at = buf_.size();
    Attr(type, nullptr, 0);
    return at;
  }
  void End(size_t at) {
    rtattr attr;
    std::memcpy(&attr, buf_.data() + at, sizeof attr);
    attr.rta_len = static_cast<unsigned short>(buf_.size() - at);
    std::memcpy(buf_.data() + at, &attr, sizeof attr);
  }

  std::vector<char>& Finish() {
    Hdr().nlmsg_len = static_cast<uint32_t>(buf_.size());
    return buf_;
  }

 private:
  nlmsghdr& Hdr() { return *reinterpret_cast<nlmsghdr*>(buf_.data()); }
  // Each piece padded to netlink's 4-byte alignment, zeroed.
  void Append(const void* data, size_t len) {
    const size_t at = buf_.size();
    buf_.resize(at + NLMSG_ALIGN(len), 0);
    if (data != nullptr) std::memcpy(buf_.data() + at, data, len);
  }
  std::vector<char> buf_;
};

class Socket {
 public:
  Socket() : fd_(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Sends `request` and returns the kernel's one answer: a message of the
  // family (a GET), or an error message (the ack; error 0 is success).
  absl::StatusOr<std::vector<char>> Exchange(Request& request, const std::string& what) {
    if (fd_ < 0) return BpfError(errno, absl::StrCat(what, ": opening a netlink socket"));
    std::vector<char>& out = request.Finish();
    if (send(fd_, out.data(), out.size(), 0) < 0) {
      return BpfError(errno, absl::StrCat(what, ": sending"));
    }
    std::vector<char> in(65536);
    const ssize_t n = recv(fd_, in.data(), in.size(), 0);
    if (n < 0) return BpfError(errno, absl::StrCat(what, ": receiving"));
    if (static_cast<size_t>(n) < NLMSG_HDRLEN) {
      return absl::InternalError(absl::StrCat(what, ": short netlink answer"));
    }
    in.resize(n);
    return in;
  }

 private:
  int fd_;
};

const nlmsghdr* Header(const std::vector<char>& answer) {
  return reinterpret_cast<const nlmsghdr*>(answer.data());
}

// 0, or the errno the kernel answered.
int AnswerErrno(const std::vector<char>& answer) {
  const nlmsghdr* hdr = Header(answer);
  if (hdr->nlmsg_type != NLMSG_ERROR || hdr->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) return 0;
  return -reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(hdr))->error;
}

// Sends a request that changes something: 0 or the errno the kernel answered.
absl::StatusOr<int> Send(Request request, const std::string& what) {
  Socket socket;
  ASSIGN_OR_RETURN(std::vector<char> answer, socket.Exchange(request, what));
  return AnswerErrno(answer);
}

// Send, with errnos in `fine` taken as success.
absl::Status Change(Request request, const std::string& what,
                    std::initializer_list<int> fine = {}) {
  ASSIGN_OR_RETURN(const int err, Send(std::move(request), what));
  if (err == 0) return absl::OkStatus();
  for (int ok : fine) {
    if (err == ok) return absl::OkStatus();
  }
  return BpfError(err, what);
}

// The attributes of a nest (or of a message's tail) into `out` by type.
void ParseAttrs(const rtattr* attr, int len, const rtattr* out[], int max) {
  for (; RTA_OK(attr, len); attr = RTA_NEXT(attr, len)) {
    const int type = attr->rta_type & NLA_TYPE_MASK;
    if (type <= max) out[type] = attr;
  }
}

LinkFacts ParseLink(const nlmsghdr* hdr) {
  const auto* info = reinterpret_cast<const ifinfomsg*>(NLMSG_DATA(hdr));
  LinkFacts facts{.ifindex = static_cast<uint32_t>(info->ifi_index),
                  .up = (info->ifi_flags & IFF_UP) != 0};
  const rtattr* attrs[IFLA_MAX + 1] = {};
  ParseAttrs(IFLA_RTA(info), static_cast<int>(IFLA_PAYLOAD(hdr)), attrs, IFLA_MAX);
  if (const rtattr* mac = attrs[IFLA_ADDRESS]; mac && RTA_PAYLOAD(mac) == facts.mac.size()) {
    std::memcpy(facts.mac.data(), RTA_DATA(mac), facts.mac.size());
  }
  const rtattr* linkinfo[IFLA_INFO_MAX + 1] = {};
  if (attrs[IFLA_LINKINFO]) {
    ParseAttrs(static_cast<const rtattr*>(RTA_DATA(attrs[IFLA_LINKINFO])),
               static_cast<int>(RTA_PAYLOAD(attrs[IFLA_LINKINFO])), linkinfo, IFLA_INFO_MAX);
  }
  const rtattr* kind = linkinfo[IFLA_INFO_KIND];
  if (kind &&
      std::strncmp(static_cast<const char*>(RTA_DATA(kind)), "vlan", RTA_PAYLOAD(kind)) == 0) {
    const rtattr* vlan[IFLA_VLAN_MAX + 1] = {};
    if (linkinfo[IFLA_INFO_DATA]) {
      ParseAttrs(static_cast<const rtattr*>(RTA_DATA(linkinfo[IFLA_INFO_DATA])),
                 static_cast<int>(RTA_PAYLOAD(linkinfo[IFLA_INFO_DATA])), vlan, IFLA_VLAN_MAX);
    }
    if (vlan[IFLA_VLAN_ID] && attrs[IFLA_LINK]) {
      std::memcpy(&facts.vlan_id, RTA_DATA(vlan[IFLA_VLAN_ID]), sizeof facts.vlan_id);
      std::memcpy(&facts.vlan_parent, RTA_DATA(attrs[IFLA_LINK]), sizeof facts.vlan_parent);
    }
  }
  return facts;
}

absl::StatusOr<std::optional<LinkFacts>> GetLink(Request request, const std::string& what) {
  Socket socket;
  ASSIGN_OR_RETURN(std::vector<char> answer, socket.Exchange(request, what));
  if (const int err = AnswerErrno(answer); err == ENODEV) {
    return std::nullopt;
  } else if (err != 0) {
    return BpfError(err, what);
  }
  const nlmsghdr* hdr = Header(answer);
  if (hdr->nlmsg_type != RTM_NEWLINK || hdr->nlmsg_len > answer.size() ||
      hdr->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) {
    return absl::InternalError(absl::StrCat(what, ": unexpected netlink answer"));
  }
  return ParseLink(hdr);
}

ifinfomsg LinkHeader(uint32_t ifindex) {
  ifinfomsg info = {};
  info.ifi_family = AF_UNSPEC;
  info.ifi_index = static_cast<int>(ifindex);
  return info;
}

Request AddressRequest(uint16_t type, uint16_t flags, uint32_t ifindex, uint32_t address,
                       uint8_t length) {
  ifaddrmsg header = {};
  header.ifa_family = AF_INET;
  header.ifa_prefixlen = length;
  header.ifa_index = ifindex;
  Request request(type, flags, header);
  const uint32_t address_be = htonl(address);
  request.Attr(IFA_LOCAL, address_be);
  request.Attr(IFA_ADDRESS, address_be);
  return request;
}

std::string AddressText(uint32_t address, uint8_t length) {
  return absl::StrCat(FormatIpv4(address), "/", length);
}

}  // namespace

absl::StatusOr<std::optional<LinkFacts>> LinkNamed(const std::string& name) {
  if (name.size() >= IFNAMSIZ) return std::nullopt;  // no link has such a name
  Request request(RTM_GETLINK, 0, LinkHeader(0));
  request.Attr(IFLA_IFNAME, name);
  return GetLink(std::move(request), absl::StrCat("looking up link ", name));
}

absl::StatusOr<std::optional<LinkFacts>> LinkWithIndex(uint32_t ifindex) {
  return GetLink(Request(RTM_GETLINK, 0, LinkHeader(ifindex)),
                 absl::StrCat("looking up ifindex ", ifindex));
}

absl::Status CreateVlan(const std::string& name, uint32_t parent, uint16_t vlan_id) {
  Request request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, LinkHeader(0));
  request.Attr(IFLA_IFNAME, name);
  request.Attr(IFLA_LINK, parent);
  const size_t linkinfo = request.Begin(IFLA_LINKINFO);
  request.Attr(IFLA_INFO_KIND, std::string("vlan"));
  const size_t data = request.Begin(IFLA_INFO_DATA);
  request.Attr(IFLA_VLAN_ID, vlan_id);
  request.End(data);
  request.End(linkinfo);
  const std::string what =
      absl::StrCat("creating VLAN ", vlan_id, " device ", name, " on ifindex ", parent);
  ASSIGN_OR_RETURN(const int err, Send(std::move(request), what));
  if (err == EOPNOTSUPP) {  // the kernel's "Unknown device type"
    return BpfError(err,
                    absl::StrCat(what, ": this kernel has no 802.1Q VLANs (CONFIG_VLAN_8021Q)"));
  }
  return err == 0 ? absl::OkStatus() : BpfError(err, what);
}

absl::Status DeleteLink(uint32_t ifindex) {
  return Change(Request(RTM_DELLINK, NLM_F_ACK, LinkHeader(ifindex)),
                absl::StrCat("deleting ifindex ", ifindex), {ENODEV});
}

absl::Status SetLinkUp(uint32_t ifindex) {
  ifinfomsg info = LinkHeader(ifindex);
  info.ifi_flags = IFF_UP;
  info.ifi_change = IFF_UP;
  return Change(Request(RTM_NEWLINK, NLM_F_ACK, info),
                absl::StrCat("setting ifindex ", ifindex, " up"));
}

absl::Status AddAddress(uint32_t ifindex, uint32_t address, uint8_t length) {
  return Change(
      AddressRequest(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, ifindex, address, length),
      absl::StrCat("adding ", AddressText(address, length), " to ifindex ", ifindex), {EEXIST});
}

absl::Status DeleteAddress(uint32_t ifindex, uint32_t address, uint8_t length) {
  return Change(AddressRequest(RTM_DELADDR, NLM_F_ACK, ifindex, address, length),
                absl::StrCat("removing ", AddressText(address, length), " from ifindex ", ifindex),
                {EADDRNOTAVAIL, ENODEV});
}

}  // namespace weft::edge
