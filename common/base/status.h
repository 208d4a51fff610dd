// The status idioms every part of Weft uses: propagate an error with
// RETURN_IF_ERROR / ASSIGN_OR_RETURN, and say where it happened with
// WithContext (one way to prefix a message, the code kept).
#ifndef WEFT_COMMON_BASE_STATUS_H_
#define WEFT_COMMON_BASE_STATUS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace weft {

// "<context>: <message>", same code; OK stays OK.
inline absl::Status WithContext(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  // Debian's Abseil has its own string_view, not std::string_view.
  return absl::Status(status.code(), absl::StrCat(absl::string_view(context.data(), context.size()),
                                                  ": ", status.message()));
}

namespace status_internal {
inline const absl::Status& AsStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& AsStatus(const absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace status_internal

}  // namespace weft

#define WEFT_STATUS_CONCAT_INNER_(a, b) a##b
#define WEFT_STATUS_CONCAT_(a, b) WEFT_STATUS_CONCAT_INNER_(a, b)

// Returns the status of `expr` (a Status or a StatusOr) when it is an error.
#define RETURN_IF_ERROR(expr)                                                      \
  do {                                                                             \
    if (const absl::Status weft_status_ = ::weft::status_internal::AsStatus(expr); \
        !weft_status_.ok())                                                        \
      return weft_status_;                                                         \
  } while (0)

// `lhs` = the value of the StatusOr `expr`, or returns its error. `lhs` may
// declare a variable (`ASSIGN_OR_RETURN(auto x, F());`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  WEFT_ASSIGN_OR_RETURN_IMPL_(WEFT_STATUS_CONCAT_(weft_statusor_, __LINE__), lhs, expr)
#define WEFT_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)   \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

#endif  // WEFT_COMMON_BASE_STATUS_H_
