// The packet fuzzer's figures: per program, frames run (and refused by the
// kernel), frames/s, IPv6 packets forwarded, violations and the
// distribution over reasons; printed, and written as the `packet-fuzz`
// block of docs/BENCHMARKS.md.
#ifndef WEFT_BENCH_PACKET_FUZZ_REPORT_H_
#define WEFT_BENCH_PACKET_FUZZ_REPORT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "weft/abi.h"

namespace weft::fuzz {

struct ProgramResult {
  std::string name;
  size_t seeds = 0;
  uint64_t run = 0;      // frames the program ran on
  uint64_t refused = 0;  // frames the kernel refused before the program
  uint64_t counted = 0;  // packets counted over all reasons (== run when sound)
  uint64_t violations = 0;
  // TC: frames whose trace run reached another reason than the real run
  // (not a violation: the trace's redirect target is then not used).
  uint64_t trace_disagreed = 0;
  uint64_t forwarded6 = 0;  // IPv6 packets delivered, encapsulated or decapsulated
  double seconds = 0;
  std::array<uint64_t, WEFT_REASON_COUNT> by_reason{};
};

struct Report {
  uint64_t seed = 0;
  uint64_t frames = 0;  // per program
  std::vector<ProgramResult> programs;
};

void PrintProgram(const ProgramResult& r);

// Replaces the text between <!-- bench:begin packet-fuzz --> and
// <!-- bench:end packet-fuzz --> in `path` (appends the block if absent).
absl::Status WriteMarkdownBlock(const std::string& path, const Report& report, int argc,
                                char** argv);

}  // namespace weft::fuzz

#endif  // WEFT_BENCH_PACKET_FUZZ_REPORT_H_
