// The one driver of BPF_PROG_TEST_RUN, for the BPF tests (tests/bpf), the
// ns/packet benchmark (bench/prog_ns.cc) and `weftctl trace`
// (agent/api/trace.cc): run a program on a frame as if it had arrived on an
// interface, and return its verdict, the frame it left and the time it took.
// In the spirit of katran's lib/testing/framework/BpfTester.
//
// What the kernel does not do here: a redirect is returned, not performed
// (the frame never reaches the target device); and with `repeat` > 1 the
// packet is not restored between runs (docs/ARCHITECTURE.md §7): a program
// that moves the packet's head or rewrites it (encapsulation,
// decapsulation, routing's TTL) sees its own output on the next run, so only
// a program that leaves the packet alone may be timed with `repeat`.
#ifndef WEFT_AGENT_DATAPATH_PROG_TEST_RUN_H_
#define WEFT_AGENT_DATAPATH_PROG_TEST_RUN_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "agent/datapath/attach.h"

namespace weft {

struct ProgTestRunInput {
  int prog_fd = -1;
  Hook hook = Hook::kTc;         // the program's type: what context it gets
  uint32_t ingress_ifindex = 0;  // where the frame "arrived"
  uint32_t mark = 0;             // skb->mark; TC only
  absl::Span<const uint8_t> frame;
  uint32_t repeat = 1;  // see above: only for programs that leave the packet alone
};

struct ProgTestRunOutput {
  uint32_t retval = 0;         // the verdict: XDP_* or TC_ACT_*
  std::vector<uint8_t> frame;  // the packet after the (last) run
  // Kernel-measured mean per run: the program plus the test-run harness's
  // fixed cost, not the syscall or the copies of the packet.
  uint32_t duration_ns = 0;
};

// An error when the kernel refuses the run (bad fd or context; a TC input
// shorter than its ethertype's header is EINVAL, InvalidArgument here).
absl::StatusOr<ProgTestRunOutput> ProgTestRun(const ProgTestRunInput& input);

}  // namespace weft

#endif  // WEFT_AGENT_DATAPATH_PROG_TEST_RUN_H_
