#include "common/plan/conntrack_key.h"

#include <arpa/inet.h>

#include <cstring>

#include "gtest/gtest.h"

namespace weft {
namespace {

bool SameKey(const weft_ct_key& a, const weft_ct_key& b) {
  return std::memcmp(&a, &b, sizeof(a)) == 0;
}

TEST(ConntrackKeyTest, BothDirectionsFindOneEntry) {
  const weft_ct_key there = ConntrackKey(1, 6, 0x0a00010a, 40000, 0x0a00020b, 5201);
  const weft_ct_key back = ConntrackKey(1, 6, 0x0a00020b, 5201, 0x0a00010a, 40000);
  EXPECT_TRUE(SameKey(there, back));
  EXPECT_EQ(there.addr_lo_be, htonl(0x0a00010a));  // the lower address first
  EXPECT_EQ(there.port_lo_be, htons(40000));
  EXPECT_EQ(there.addr_hi_be, htonl(0x0a00020b));
  EXPECT_EQ(there.port_hi_be, htons(5201));
}

TEST(ConntrackKeyTest, SameAddressOrdersByPortAndTenantsStayApart) {
  const weft_ct_key k = ConntrackKey(1, 17, 0x0a00010a, 9000, 0x0a00010a, 53);
  EXPECT_EQ(k.port_lo_be, htons(53));
  EXPECT_FALSE(SameKey(ConntrackKey(1, 6, 1, 2, 3, 4), ConntrackKey(2, 6, 1, 2, 3, 4)));
}

}  // namespace
}  // namespace weft
