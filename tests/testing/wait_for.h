#ifndef WEFT_TESTS_TESTING_WAIT_FOR_H_
#define WEFT_TESTS_TESTING_WAIT_FOR_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace weft::testing {

// Polls a condition that another thread or process makes true (tests do not
// sleep a fixed time instead); true once it holds, false at the deadline.
inline bool WaitFor(const std::function<bool()>& condition,
                    absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return condition();
}

}  // namespace weft::testing

#endif  // WEFT_TESTS_TESTING_WAIT_FOR_H_
