// Values the unit tests write as literals: the bytes of a BPF map key or
// value as the agent's tables hold them, IPv4 addresses in host order and
// IPv6 ones.
// One definition for every test file (the unit tests are a unity build, in
// which two file-local copies of a helper collide).
#ifndef WEFT_TESTS_TESTING_LITERALS_H_
#define WEFT_TESTS_TESTING_LITERALS_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "common/model/net_format.h"

namespace weft::testing {

inline std::string Bytes(std::initializer_list<uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// The object representation of a map key or value struct.
template <typename T>
std::string Raw(const T& value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof(T));
}

inline uint32_t Ip(const char* text) { return *ParseIpv4(text); }
inline Ipv6Address Ip6(const char* text) { return *ParseIpv6(text); }

}  // namespace weft::testing

#endif  // WEFT_TESTS_TESTING_LITERALS_H_
