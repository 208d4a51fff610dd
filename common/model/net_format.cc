#include "common/model/net_format.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/base/status.h"

namespace weft {
namespace {

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), absl::ascii_isdigit);
}

// A decimal number without sign or leading zeros (inet_aton would read
// "010" as octal 8; refusing it avoids the ambiguity).
bool ParseDecimal(absl::string_view s, uint32_t max, uint32_t* out) {
  if (!AllDigits(s) || s.size() > 3 || (s.size() > 1 && s[0] == '0')) {
    return false;
  }
  return absl::SimpleAtoi(s, out) && *out <= max;
}

}  // namespace

absl::StatusOr<uint32_t> ParseIpv4(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  uint32_t ip = 0;
  bool ok = parts.size() == 4;
  for (size_t i = 0; ok && i < parts.size(); ++i) {
    uint32_t octet = 0;
    ok = ParseDecimal(parts[i], 255, &octet);
    ip = ip << 8 | octet;
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IPv4 address"));
  }
  return ip;
}

std::string FormatIpv4(uint32_t ip) {
  return absl::StrFormat("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

absl::StatusOr<Ipv6Address> ParseIpv6(absl::string_view text) {
  Ipv6Address ip{};
  // inet_pton wants a C string; an embedded NUL must not cut the text short.
  const std::string terminated(text);
  if (terminated.size() != strlen(terminated.c_str()) ||
      inet_pton(AF_INET6, terminated.c_str(), ip.data()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IPv6 address"));
  }
  return ip;
}

std::string FormatIpv6(const Ipv6Address& ip) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, ip.data(), text, sizeof(text));
  return text;
}

absl::StatusOr<UnderlayAddress> ParseUnderlayAddress(absl::string_view text) {
  if (absl::StrContains(text, ':')) {
    absl::StatusOr<Ipv6Address> v6 = ParseIpv6(text);
    if (!v6.ok()) return v6.status();
    UnderlayAddress address;
    address.v6 = *v6;
    return address;
  }
  absl::StatusOr<uint32_t> v4 = ParseIpv4(text);
  if (!v4.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is neither an IPv4 nor an IPv6 address"));
  }
  return UnderlayAddress(*v4);
}

std::string FormatUnderlayAddress(const UnderlayAddress& address) {
  return address.v6 ? FormatIpv6(*address.v6) : FormatIpv4(address.v4);
}

absl::StatusOr<Ipv4Prefix> ParseIpv4Prefix(absl::string_view text) {
  const size_t slash = text.find('/');
  const absl::StatusOr<uint32_t> addr = ParseIpv4(text.substr(0, slash));
  uint32_t length = 0;
  if (slash == absl::string_view::npos || !addr.ok() ||
      !ParseDecimal(text.substr(slash + 1), 32, &length)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IPv4 prefix"));
  }
  Ipv4Prefix prefix{*addr, static_cast<uint8_t>(length)};
  RETURN_IF_ERROR(CheckIpv4Prefix(prefix));
  return prefix;
}

std::string FormatIpv4Prefix(const Ipv4Prefix& prefix) {
  return absl::StrCat(FormatIpv4(prefix.addr), "/", prefix.length);
}

absl::Status CheckIpv4Prefix(const Ipv4Prefix& prefix) {
  if (prefix.length > 32) {
    return absl::InvalidArgumentError(absl::StrCat("prefix length ", prefix.length, " is over 32"));
  }
  if ((prefix.addr & ~prefix.Mask()) != 0) {
    Ipv4Prefix network{prefix.addr & prefix.Mask(), prefix.length};
    return absl::InvalidArgumentError(absl::StrCat(FormatIpv4Prefix(prefix),
                                                   " has host bits set (the network is ",
                                                   FormatIpv4Prefix(network), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Ipv6Prefix> ParseIpv6Prefix(absl::string_view text) {
  const size_t slash = text.find('/');
  uint32_t length = 0;
  const absl::StatusOr<Ipv6Address> addr = slash == absl::string_view::npos
                                               ? absl::InvalidArgumentError("no length")
                                               : ParseIpv6(text.substr(0, slash));
  if (!addr.ok() || !ParseDecimal(text.substr(slash + 1), 128, &length)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not an IPv6 prefix"));
  }
  const Ipv6Prefix prefix{*addr, static_cast<uint8_t>(length)};
  RETURN_IF_ERROR(CheckIpv6Prefix(prefix));
  return prefix;
}

absl::Status CheckIpv6Prefix(const Ipv6Prefix& prefix) {
  if (prefix.length > 128) {
    return absl::InvalidArgumentError(
        absl::StrCat("prefix length ", prefix.length, " is over 128"));
  }
  const Ipv6Prefix network{prefix.Masked(prefix.addr), prefix.length};
  if (network != prefix) {
    return absl::InvalidArgumentError(absl::StrCat(FormatIpv6Prefix(prefix),
                                                   " has host bits set (the network is ",
                                                   FormatIpv6Prefix(network), ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<IpPrefix> ParseIpPrefix(absl::string_view text) {
  if (absl::StrContains(text, ':')) return ParseIpv6Prefix(text);
  return ParseIpv4Prefix(text);
}

std::string FormatIpPrefix(const IpPrefix& prefix) {
  if (const Ipv4Prefix* p4 = std::get_if<Ipv4Prefix>(&prefix)) return FormatIpv4Prefix(*p4);
  return FormatIpv6Prefix(std::get<Ipv6Prefix>(prefix));
}

void SplitByFamily(const std::vector<IpPrefix>& prefixes, std::vector<Ipv4Prefix>* v4,
                   std::vector<Ipv6Prefix>* v6) {
  for (const IpPrefix& p : prefixes) {
    if (const Ipv4Prefix* p4 = std::get_if<Ipv4Prefix>(&p)) {
      v4->push_back(*p4);
    } else {
      v6->push_back(std::get<Ipv6Prefix>(p));
    }
  }
}

std::string FormatIpv6Prefix(const Ipv6Prefix& prefix) {
  return absl::StrCat(FormatIpv6(prefix.addr), "/", prefix.length);
}

absl::StatusOr<MacAddress> ParseMac(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  MacAddress mac{};
  bool ok = parts.size() == mac.size();
  for (size_t i = 0; ok && i < mac.size(); ++i) {
    const absl::string_view p = parts[i];
    ok = p.size() == 2 && absl::ascii_isxdigit(p[0]) && absl::ascii_isxdigit(p[1]);
    uint32_t byte = 0;
    ok = ok && absl::SimpleHexAtoi(p, &byte);
    mac[i] = static_cast<uint8_t>(byte);
  }
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a MAC address"));
  }
  return mac;
}

std::string FormatMac(const MacAddress& mac) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                         mac[5]);
}

bool IsUnicastMac(const MacAddress& mac) {
  const bool group = (mac[0] & 0x01) != 0;
  const bool zero = mac == MacAddress{};
  return !group && !zero;
}

}  // namespace weft
