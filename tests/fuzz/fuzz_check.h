// The oracle of a fuzz target: a broken invariant aborts, with what broke,
// so libFuzzer keeps the input as a crash.
#ifndef WEFT_TESTS_FUZZ_FUZZ_CHECK_H_
#define WEFT_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#define WEFT_FUZZ_CHECK(condition, what)                                                    \
  do {                                                                                      \
    if (!(condition)) {                                                                     \
      std::fprintf(stderr, "%s:%d: %s does not hold: %s\n", __FILE__, __LINE__, #condition, \
                   std::string(what).c_str());                                              \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)

#endif  // WEFT_TESTS_FUZZ_FUZZ_CHECK_H_
