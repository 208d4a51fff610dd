// Text forms of the addresses in the model: dotted-quad IPv4, IPv6, CIDR
// prefixes and colon-separated MACs. Parsing is strict (no leading zeros, no
// shorthand) so a state file means one thing only. Text arguments are
// absl::string_view because Debian's Abseil has its own type, distinct from
// std::string_view, and the text goes straight into absl::StrCat.
#ifndef WEFT_COMMON_MODEL_NET_FORMAT_H_
#define WEFT_COMMON_MODEL_NET_FORMAT_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/model/state.h"

namespace weft {

// "10.0.1.10" -> 0x0a00010a (host order).
absl::StatusOr<uint32_t> ParseIpv4(absl::string_view text);
std::string FormatIpv4(uint32_t ip);

// "2001:db8::1", in any of the forms inet_pton(3) reads (no zone); formats
// as RFC 5952 (inet_ntop).
absl::StatusOr<Ipv6Address> ParseIpv6(absl::string_view text);
std::string FormatIpv6(const Ipv6Address& ip);

// An IPv4 or an IPv6 address, told apart by the text ("10.0.0.1",
// "2001:db8::1").
absl::StatusOr<UnderlayAddress> ParseUnderlayAddress(absl::string_view text);
std::string FormatUnderlayAddress(const UnderlayAddress& address);

// "10.0.1.0/24". Rejects a length over 32 and set host bits.
absl::StatusOr<Ipv4Prefix> ParseIpv4Prefix(absl::string_view text);
std::string FormatIpv4Prefix(const Ipv4Prefix& prefix);
// OK when `prefix` is one ParseIpv4Prefix could have returned.
absl::Status CheckIpv4Prefix(const Ipv4Prefix& prefix);

// "2001:db8:1::/64". Rejects a length over 128 and set host bits.
absl::StatusOr<Ipv6Prefix> ParseIpv6Prefix(absl::string_view text);
std::string FormatIpv6Prefix(const Ipv6Prefix& prefix);

// OK when `prefix` is one ParseIpv6Prefix could have returned.
absl::Status CheckIpv6Prefix(const Ipv6Prefix& prefix);

// A prefix of either family, told apart by the text ("10.0.0.0/8",
// "2001:db8::/32"), for the fields that take both.
using IpPrefix = std::variant<Ipv4Prefix, Ipv6Prefix>;
absl::StatusOr<IpPrefix> ParseIpPrefix(absl::string_view text);
std::string FormatIpPrefix(const IpPrefix& prefix);
// Appends each of `prefixes` to the list of its family.
void SplitByFamily(const std::vector<IpPrefix>& prefixes, std::vector<Ipv4Prefix>* v4,
                   std::vector<Ipv6Prefix>* v6);

// "02:00:00:00:01:10", either case; formats lower case.
absl::StatusOr<MacAddress> ParseMac(absl::string_view text);
std::string FormatMac(const MacAddress& mac);
// Neither multicast/broadcast (I/G bit) nor all-zero: usable as a source.
bool IsUnicastMac(const MacAddress& mac);

}  // namespace weft

#endif  // WEFT_COMMON_MODEL_NET_FORMAT_H_
