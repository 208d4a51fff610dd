// The table runner the underlay programs' tests share (IPv4 and IPv6
// underlay): each case runs through the XDP program and the TC one on ul0,
// which must agree on the reason and, hook for hook, on verdict and output.
#ifndef WEFT_TESTS_BPF_UNDERLAY_TABLE_H_
#define WEFT_TESTS_BPF_UNDERLAY_TABLE_H_

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/bpf/checks.h"
#include "tests/bpf/fixture.h"

namespace weft::testing {

// A verdict in either hook's terms (kTx: XDP_TX at XDP, a redirect at TC).
enum class Verdict { kPass, kDrop, kRedirect, kTx };

struct UnderlayCase {
  std::string name;
  std::function<Bytes()> packet;
  Verdict verdict;
  std::vector<int> reasons;  // the reason counted must be one of these
  Check check;               // of the output, when the verdict is right; may be null
};

struct UnderlayParam {
  UnderlayCase c;
  bool xdp;
};

std::ostream& operator<<(std::ostream& os, const UnderlayParam& p);

// Each case once per hook.
std::vector<UnderlayParam> OnBothHooks(const std::vector<UnderlayCase>& cases);
// "Name_Xdp" / "Name_Tc".
std::string UnderlayParamName(const ::testing::TestParamInfo<UnderlayParam>& info);

class UnderlayTableTest : public BpfTest, public ::testing::WithParamInterface<UnderlayParam> {
 protected:
  // Runs the parameter's case through its hook and checks verdict, reason
  // and output; prints both frames on failure.
  void RunCase();
};

}  // namespace weft::testing

#endif  // WEFT_TESTS_BPF_UNDERLAY_TABLE_H_
