// The fixture of the firewall tests (firewall_test.cc for IPv4,
// firewall6_test.cc for IPv6): the firewall maps emptied before and after
// each test (so the other tables keep running under "no policy: allow"), a
// policy written and flipped to, and one packet run through the VM program
// or the underlay program with the one reason it must count.
#ifndef WEFT_TESTS_BPF_FIREWALL_FIXTURE_H_
#define WEFT_TESTS_BPF_FIREWALL_FIXTURE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/bpf/firewall_maps.h"
#include "tests/bpf/fixture.h"

namespace weft::testing {

// Both tenants denying by default, and `rules`.
inline PolicySpec DefaultDeny(std::vector<RuleSpec> rules) {
  PolicySpec p;
  p.tenant_default = {{kBlueTenant, WEFT_ACTION_DENY}, {kRedTenant, WEFT_ACTION_DENY}};
  p.rules = std::move(rules);
  return p;
}

class FirewallFixture : public BpfTest {
 protected:
  void SetUp() override {
    BpfTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    fw_ = std::make_unique<FirewallMaps>(dp());
    ASSERT_EQ(fw_->Reset(), "");
  }
  void TearDown() override {
    if (fw_) {
      EXPECT_EQ(fw_->Reset(), "") << "leaving the firewall maps empty";
    }
  }

  // Writes `p` into `slot` and makes it the active one at `generation`.
  void Policy(const PolicySpec& p, uint32_t slot = 0, uint32_t generation = 1) {
    ASSERT_EQ(fw_->WriteSlot(slot, p), "");
    ASSERT_EQ(fw_->SetCtl(slot, generation), "");
  }

  // Runs `in` through the VM program on `ifname` and expects `reason` (and
  // nothing else) to be counted.
  RunResult Vm(const char* ifname, const Bytes& in, int reason, const std::string& what) {
    RunResult r = RunTc(dp().VmProgramFd(), ifname, in);
    EXPECT_TRUE(r.status.ok()) << what << ": " << r.status;
    EXPECT_EQ(r.Reason(), reason) << what << ": counted " << r.CountedString() << ", want "
                                  << ReasonName(reason);
    return r;
  }
  // The same through the underlay program, at TC or XDP.
  RunResult Ul(const Bytes& in, int reason, const std::string& what, bool xdp = false) {
    RunResult r = xdp ? RunXdp(dp().UnderlayXdpProgramFd(), kUnderlay, in)
                      : RunTc(dp().UnderlayTcProgramFd(), kUnderlay, in);
    EXPECT_TRUE(r.status.ok()) << what << ": " << r.status;
    EXPECT_EQ(r.Reason(), reason) << what << (xdp ? " (xdp)" : " (tc)") << ": counted "
                                  << r.CountedString() << ", want " << ReasonName(reason);
    return r;
  }

  std::unique_ptr<FirewallMaps> fw_;
};

}  // namespace weft::testing

#endif  // WEFT_TESTS_BPF_FIREWALL_FIXTURE_H_
