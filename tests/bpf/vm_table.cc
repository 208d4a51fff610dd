#include "tests/bpf/vm_table.h"

#include <algorithm>
#include <cstdio>

namespace weft::testing {

std::ostream& operator<<(std::ostream& os, const VmCase& c) { return os << c.name; }

std::string VmCaseName(const ::testing::TestParamInfo<VmCase>& info) { return info.param.name; }

void VmTableTest::RunCase() {
  const VmCase& c = GetParam();
  const Bytes in = c.packet();
  RunResult r = RunTc(dp().VmProgramFd(), c.ifname, in);
  if (absl::IsInvalidArgument(r.status) && in.size() < 34 && in.size() >= 14 && in[12] == 0x08 &&
      in[13] == 0)
    GTEST_SKIP() << "this kernel's BPF_PROG_TEST_RUN refuses TC input of an IPv4 "
                    "ethertype shorter than 14 + 20 bytes (EINVAL): not testable at TC";
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(TcRetName(r.retval), TcRetName(c.retval));
  const int reason = r.Reason();
  std::vector<std::string> want;
  for (int w : c.reasons) want.push_back(ReasonName(w));
  EXPECT_TRUE(std::find(c.reasons.begin(), c.reasons.end(), reason) != c.reasons.end())
      << "counted: " << r.CountedString() << "; want " << ::testing::PrintToString(want);
  if (c.check && r.retval == c.retval) {
    Parsed p = Parse(r.out);
    c.check(Seen{in, r.out, p, env()});
  }
  if (HasFailure())
    std::printf("input:\n%s\noutput (%zu bytes):\n%s\n", HexDump(in).c_str(), r.out.size(),
                HexDump(r.out).c_str());
}

}  // namespace weft::testing
