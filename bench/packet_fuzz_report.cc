#include "bench/packet_fuzz_report.h"

#include <sys/utsname.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "agent/datapath/maps/counters.h"

namespace weft::fuzz {
namespace {

constexpr char kBegin[] = "<!-- bench:begin packet-fuzz -->";
constexpr char kEnd[] = "<!-- bench:end packet-fuzz -->";

double Rate(const ProgramResult& r) {
  return r.seconds > 0 ? static_cast<double>(r.run + r.refused) / r.seconds : 0;
}

std::string Command(int argc, char** argv) {
  std::string cmd = "sudo build/weft_bench_packet_fuzz";
  for (int i = 1; i < argc; ++i) absl::StrAppend(&cmd, " ", argv[i]);
  return cmd;
}

std::string Block(const Report& report, int argc, char** argv) {
  utsname u{};
  uname(&u);
  char when[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::string s = absl::StrFormat(
      "Run %s on `%s`, kernel %s: %d frames run by each program, PRNG seed %d.\n\n"
      "Command: `%s`\n\n",
      when, u.nodename, u.release, report.frames, report.seed, Command(argc, argv));
  absl::StrAppend(&s,
                  "| program | seeds | frames run | refused by the kernel | counted | frames/s | "
                  "trace reason differs | IPv6 forwarded | violations |\n"
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const auto& r : report.programs)
    absl::StrAppendFormat(&s, "| %s | %d | %d | %d | %d | %.0f | %d | %d | %d |\n", r.name, r.seeds,
                          r.run, r.refused, r.counted, Rate(r), r.trace_disagreed, r.forwarded6,
                          r.violations);
  absl::StrAppend(&s, "\nFrames by the one reason each was counted under:\n\n| reason |");
  for (const auto& r : report.programs) absl::StrAppend(&s, " ", r.name, " |");
  absl::StrAppend(&s, "\n| --- |");
  for (size_t i = 0; i < report.programs.size(); ++i) absl::StrAppend(&s, " ---: |");
  absl::StrAppend(&s, "\n");
  for (int reason = 0; reason < WEFT_REASON_COUNT; ++reason) {
    uint64_t any = 0;
    for (const auto& r : report.programs) any += r.by_reason[reason];
    if (any == 0) continue;
    absl::StrAppend(&s, "| ", std::string(ReasonLabel(reason)), " |");
    for (const auto& r : report.programs)
      absl::StrAppendFormat(&s, " %d (%.2f%%) |", r.by_reason[reason],
                            r.run ? 100.0 * r.by_reason[reason] / r.run : 0.0);
    absl::StrAppend(&s, "\n");
  }
  return s;
}

}  // namespace

void PrintProgram(const ProgramResult& r) {
  std::printf(
      "%s: %llu seeds, %llu frames run, %llu refused by the kernel, %llu counted, "
      "%.0f frames/s, %llu trace reasons differ, %llu IPv6 forwarded, %llu violations\n",
      r.name.c_str(), static_cast<unsigned long long>(r.seeds),
      static_cast<unsigned long long>(r.run), static_cast<unsigned long long>(r.refused),
      static_cast<unsigned long long>(r.counted), Rate(r),
      static_cast<unsigned long long>(r.trace_disagreed),
      static_cast<unsigned long long>(r.forwarded6), static_cast<unsigned long long>(r.violations));
  for (int reason = 0; reason < WEFT_REASON_COUNT; ++reason)
    if (r.by_reason[reason])
      std::printf("  %-22s %10llu  %6.2f%%\n", std::string(ReasonLabel(reason)).c_str(),
                  static_cast<unsigned long long>(r.by_reason[reason]),
                  100.0 * r.by_reason[reason] / r.run);
}

absl::Status WriteMarkdownBlock(const std::string& path, const Report& report, int argc,
                                char** argv) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("reading ", path));
  std::stringstream buf;
  buf << in.rdbuf();
  std::string doc = buf.str();
  const std::string block = absl::StrCat(kBegin, "\n", Block(report, argc, argv), kEnd);
  const size_t begin = doc.find(kBegin);
  const size_t end = doc.find(kEnd);
  if (begin != std::string::npos && end != std::string::npos && end > begin) {
    doc.replace(begin, end + sizeof kEnd - 1 - begin, block);
  } else {
    absl::StrAppend(&doc, doc.empty() || doc.back() == '\n' ? "" : "\n", "\n", block, "\n");
  }
  std::ofstream out(path, std::ios::trunc);
  out << doc;
  if (!out) return absl::InternalError(absl::StrCat("writing ", path));
  return absl::OkStatus();
}

}  // namespace weft::fuzz
