#include "tests/bpf/vm_table.h"

namespace weft::testing {

std::ostream& operator<<(std::ostream& os, const VmCase& c) { return os << c.name; }

std::string VmCaseName(const ::testing::TestParamInfo<VmCase>& info) { return info.param.name; }

void VmTableTest::RunCase() {
  const VmCase& c = GetParam();
  const Bytes in = c.packet();
  RunResult r = RunTc(dp().VmProgramFd(), c.ifname, in);
  if (TcRefusedShortIpv4(r, in)) GTEST_SKIP() << kShortIpv4Skip;
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(TcRetName(r.retval), TcRetName(c.retval));
  ExpectReasonIn(r, c.reasons);
  if (r.retval == c.retval) ExpectOutput(c.check, in, r, env());
  PrintFramesOnFailure(in, r);
}

}  // namespace weft::testing
