// The table runner of the VM program's tests (TC on the host side of a VM's
// interface): each case is a packet a VM sends, the verdict, the reason
// counted and what must come out.
#ifndef WEFT_TESTS_BPF_VM_TABLE_H_
#define WEFT_TESTS_BPF_VM_TABLE_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/bpf/checks.h"
#include "tests/bpf/fixture.h"

namespace weft::testing {

struct VmCase {
  std::string name;
  std::string ifname;  // where the VM's packet arrives
  std::function<Bytes()> packet;
  uint32_t retval;
  std::vector<int> reasons;  // the reason counted must be one of these
  Check check;               // on the output, when set
};

std::ostream& operator<<(std::ostream& os, const VmCase& c);

std::string VmCaseName(const ::testing::TestParamInfo<VmCase>& info);

class VmTableTest : public BpfTest, public ::testing::WithParamInterface<VmCase> {
 protected:
  // Runs the parameter's case through the VM program and checks verdict,
  // reason and output; prints both frames on failure.
  void RunCase();
};

}  // namespace weft::testing

#endif  // WEFT_TESTS_BPF_VM_TABLE_H_
