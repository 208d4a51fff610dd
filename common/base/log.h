// Minimal leveled logging to stderr (Debian 12's Abseil predates absl/log).
// One line per event, with a UTC timestamp, so journald and kubectl logs
// read well.
#ifndef WEFT_COMMON_BASE_LOG_H_
#define WEFT_COMMON_BASE_LOG_H_

#include <cstdio>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace weft {

template <typename... Args>
void Log(const char* level, const absl::FormatSpec<Args...>& format, const Args&... args) {
  std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), " ",
                   level, " ", absl::StrFormat(format, args...), "\n");
  std::fputs(line.c_str(), stderr);
}

#define WEFT_LOG_INFO(...) ::weft::Log("INFO", __VA_ARGS__)
#define WEFT_LOG_WARN(...) ::weft::Log("WARN", __VA_ARGS__)
#define WEFT_LOG_ERROR(...) ::weft::Log("ERROR", __VA_ARGS__)

}  // namespace weft

#endif  // WEFT_COMMON_BASE_LOG_H_
