// The fixture itself: it lives in its own network namespace and the state it
// loads is what the tables below expect.
#include "tests/bpf/fixture.h"

#include <sys/stat.h>

namespace weft::testing {
namespace {

class FixtureTest : public BpfTest {};

TEST_F(FixtureTest, RunsInItsOwnNetworkNamespace) {
  struct stat self {
  }, init{};
  ASSERT_EQ(stat("/proc/self/ns/net", &self), 0);
  if (stat("/proc/1/ns/net", &init) == 0) {
    EXPECT_NE(self.st_ino, init.st_ino);
  }
  EXPECT_NE(IfIndex("ul0"), 0u);
  EXPECT_EQ(FormatMac(env().ul0_mac), FormatMac(kUl0Mac));
}

TEST_F(FixtureTest, BindsExactlyTheStatesLocalInterfaces) {
  const auto& li = env().tables.local_interfaces;
  for (const char* name : {"vm1", "vm2", "vm3", "vm4"}) {
    auto it = li.find(name);
    ASSERT_NE(it, li.end()) << name;
    EXPECT_EQ(it->second, IfIndex(name)) << name;
  }
  EXPECT_EQ(li.count("vm9"), 0u);
  EXPECT_EQ(li.size(), 4u);
}

}  // namespace
}  // namespace weft::testing
