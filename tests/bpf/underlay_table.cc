#include "tests/bpf/underlay_table.h"

#include <algorithm>
#include <cstdio>

namespace weft::testing {
namespace {

uint32_t XdpCode(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return kXdpPass;
    case Verdict::kDrop:
      return kXdpDrop;
    case Verdict::kRedirect:
      return kXdpRedirect;
    case Verdict::kTx:
      return kXdpTx;
  }
  return 0;
}

uint32_t TcCode(Verdict v) {
  switch (v) {
    case Verdict::kPass:
      return kTcOk;
    case Verdict::kDrop:
      return kTcShot;
    case Verdict::kRedirect:
    case Verdict::kTx:
      return kTcRedirect;
  }
  return 0;
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const UnderlayParam& p) {
  return os << p.c.name << (p.xdp ? "/xdp" : "/tc");
}

std::vector<UnderlayParam> OnBothHooks(const std::vector<UnderlayCase>& cases) {
  std::vector<UnderlayParam> out;
  for (const auto& c : cases) {
    out.push_back({c, true});
    out.push_back({c, false});
  }
  return out;
}

std::string UnderlayParamName(const ::testing::TestParamInfo<UnderlayParam>& info) {
  return info.param.c.name + (info.param.xdp ? "_Xdp" : "_Tc");
}

void UnderlayTableTest::RunCase() {
  const UnderlayCase& c = GetParam().c;
  const bool xdp = GetParam().xdp;
  const Bytes in = c.packet();
  RunResult r = xdp ? RunXdp(dp().UnderlayXdpProgramFd(), kUnderlay, in)
                    : RunTc(dp().UnderlayTcProgramFd(), kUnderlay, in);
  if (!xdp && TcRefusedShortIpv4(r, in)) GTEST_SKIP() << kShortIpv4Skip;
  ASSERT_TRUE(r.status.ok()) << r.status;
  const uint32_t want = xdp ? XdpCode(c.verdict) : TcCode(c.verdict);
  if (xdp)
    EXPECT_EQ(XdpRetName(r.retval), XdpRetName(want));
  else
    EXPECT_EQ(TcRetName(r.retval), TcRetName(want));
  ExpectReasonIn(r, c.reasons);
  if (r.retval == want) ExpectOutput(c.check, in, r, env());
  PrintFramesOnFailure(in, r);
}

}  // namespace weft::testing
