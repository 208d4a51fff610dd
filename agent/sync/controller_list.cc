#include "agent/sync/controller_list.h"

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace weft {
namespace {

// "host:port": a name or IPv4 address, or an IPv6 one in brackets, and a
// port 1..65535.
bool IsHostPort(absl::string_view entry) {
  const size_t colon = entry.rfind(':');
  if (colon == absl::string_view::npos) return false;
  const absl::string_view host = entry.substr(0, colon);
  int port = 0;
  if (!absl::SimpleAtoi(entry.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return false;
  }
  if (absl::StartsWith(host, "[")) return host.size() > 2 && absl::EndsWith(host, "]");
  return !host.empty() && absl::c_none_of(host, [](char c) {
    return absl::ascii_isspace(c) || c == ':' || c == '/' || c == '[' || c == ']';
  });
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseControllerList(const std::string& flag) {
  std::vector<std::string> out;
  if (flag.empty()) return out;
  int index = 0;
  for (absl::string_view entry : absl::StrSplit(flag, ',')) {
    ++index;
    const std::string named = absl::StrCat("--controller entry ", index, " \"", entry, "\"");
    if (entry.empty()) return absl::InvalidArgumentError(named + " is empty");
    if (!IsHostPort(entry)) {
      return absl::InvalidArgumentError(named + " is not HOST:PORT (port 1..65535)");
    }
    out.emplace_back(entry);
  }
  return out;
}

}  // namespace weft
