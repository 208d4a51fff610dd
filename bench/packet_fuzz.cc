// weft_bench_packet_fuzz: every Weft BPF program fed mutated frames through
// BPF_PROG_TEST_RUN (agent/datapath/prog_test_run.h), each outcome judged by
// an oracle that knows the maps (bench/packet_fuzz_oracle.h): no frame may
// reach another tenant, another segment unless routed, or an answer about
// another segment, in IPv4 or IPv6; and each frame run must be counted
// under exactly one reason (weft_stats read before and after every frame).
//
// The maps are the BPF tests' fixture (tests/bpf/fixture.h: two tenants
// with overlapping subnets, four segments, local and remote endpoints, a
// foreign VTEP, routes of both families; IPv6 on blue-a and red-a, whose
// VMs share addresses), the edge's uplinks (tests/bpf/uplink_maps.h: one
// per tenant, with upstream routes) plus a policy installed here (a reject
// and a deny rule in blue, a default-deny red). Frames are mutants of valid seeds
// (bench/packet_fuzz_seeds.h) drawn from a seeded PRNG: the seed is
// printed, and the same seed and frame count give the same frames.
//
// Any violation prints the program, the ingress interface, the frame in
// hex, what was wrong and the seed, and the exit status is 1. Without root:
// exit 77 (ctest's skip), or 1 when CI is set.
//
//   sudo build/weft_bench_packet_fuzz [--frames N (run by each program)] [--seed S]
//                                     [--programs vm,underlay-tc,underlay-xdp,uplink]
//                                     [--markdown FILE]
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/datapath/maps/counters.h"
#include "agent/datapath/prog_test_run.h"
#include "bench/packet_fuzz_mutate.h"
#include "bench/packet_fuzz_oracle.h"
#include "bench/packet_fuzz_report.h"
#include "bench/packet_fuzz_seeds.h"
#include "bench/packet_fuzz_world.h"
#include "tests/bpf/firewall_maps.h"
#include "tests/bpf/fixture.h"
#include "tests/bpf/uplink_maps.h"

namespace weft::fuzz {
namespace {

constexpr int kMaxViolationsShown = 10;

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "weft_bench_packet_fuzz: %s\n", msg.c_str());
  std::exit(1);
}

struct Options {
  uint64_t frames = 1000000;  // run by each program (refused ones on top)
  uint64_t seed = 0;
  bool seed_given = false;
  std::vector<std::string> programs = {"vm", "underlay-tc", "underlay-xdp", "uplink"};
  std::string markdown;  // file whose packet-fuzz block is rewritten
};

Options ParseOptions(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--frames") {
      o.frames = std::strtoull(value().c_str(), nullptr, 10);
    } else if (a == "--seed") {
      o.seed = std::strtoull(value().c_str(), nullptr, 10);
      o.seed_given = true;
    } else if (a == "--programs") {
      o.programs = absl::StrSplit(value(), ',');
    } else if (a == "--markdown") {
      o.markdown = value();
    } else {
      Die("unknown argument " + a +
          " (--frames N --seed S --programs vm,underlay-tc,underlay-xdp,uplink --markdown FILE)");
    }
  }
  if (!o.seed_given) o.seed = static_cast<uint64_t>(std::time(nullptr));
  return o;
}

// The policy the oracle's frames meet (seeds use TCP 23 and UDP 5001), for
// both families where the endpoint has both: blue allows by default,
// rejects vm1's telnet and telnet into vm2, denies UDP 5001 into vm4; red
// denies by default and allows ICMP (and so ICMPv6) and HTTPS of vm3.
testing::PolicySpec FuzzPolicy() {
  using testing::kVm1Ip;
  using testing::kVm1Ip6;
  using testing::kVm2Ip;
  using testing::kVm3Ip;
  using testing::kVm3Ip6;
  using testing::kVm4Ip;
  using testing::kVm4Ip6;
  testing::PolicySpec p;
  p.tenant_default = {{1, WEFT_ACTION_ALLOW}, {2, WEFT_ACTION_DENY}};
  p.rules = {
      {.tenant = 1,
       .applied = {kVm1Ip},
       .applied6 = {kVm1Ip6},
       .protocol = 6,
       .port = 23,
       .action = WEFT_ACTION_REJECT},
      {.tenant = 1,
       .direction = WEFT_DIR_INGRESS,
       .applied = {kVm4Ip},
       .applied6 = {kVm4Ip6},
       .protocol = 17,
       .port = 5001,
       .action = WEFT_ACTION_DENY},
      {.tenant = 1,
       .direction = WEFT_DIR_INGRESS,
       .applied = {kVm2Ip},
       .protocol = 6,
       .port = 23,
       .action = WEFT_ACTION_REJECT},
      // Protocol 1 without a type admits ICMPv6 too (docs/FIREWALL.md).
      {.tenant = 2, .applied = {kVm3Ip}, .applied6 = {kVm3Ip6}, .protocol = 1},
      {.tenant = 2,
       .direction = WEFT_DIR_INGRESS,
       .applied = {kVm3Ip},
       .applied6 = {kVm3Ip6},
       .protocol = 1},
      {.tenant = 2, .applied = {kVm3Ip}, .applied6 = {kVm3Ip6}, .protocol = 6, .port = 443},
      {.tenant = 2,
       .applied = {kVm3Ip},
       .applied6 = {kVm3Ip6},
       .protocol = 6,
       .port = 23,
       .action = WEFT_ACTION_REJECT},
  };
  return p;
}

std::string Hex(const Bytes& b) {
  std::string s;
  char buf[4];
  for (uint8_t c : b) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    s += buf;
  }
  return s;
}

using Packets = std::array<uint64_t, WEFT_REASON_COUNT>;

// Packets counted per reason, summed over CPUs, in one BPF_MAP_LOOKUP_BATCH
// (ReadCounters, agent/datapath/maps/, makes one lookup per reason: 32
// syscalls a frame would be most of the fuzzer's time). Main checks both
// readers agree before and after the run.
class PacketReader {
 public:
  explicit PacketReader(const Datapath& dp)
      : fd_(dp.MapFd(Map::kStats)),
        cpus_(libbpf_num_possible_cpus()),
        values_(static_cast<size_t>(cpus_ > 0 ? cpus_ : 1) * WEFT_REASON_COUNT) {
    if (cpus_ <= 0) Die("libbpf_num_possible_cpus failed");
  }

  Packets Read() {
    uint32_t keys[WEFT_REASON_COUNT];
    uint32_t out_batch = 0;
    uint32_t count = WEFT_REASON_COUNT;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    if (bpf_map_lookup_batch(fd_, nullptr, &out_batch, keys, values_.data(), &count, &opts) != 0 &&
        errno != ENOENT)
      Die(absl::StrCat("reading weft_stats: ", std::strerror(errno)));
    if (count != WEFT_REASON_COUNT) Die(absl::StrCat("weft_stats: read ", count, " entries"));
    Packets p{};
    for (uint32_t i = 0; i < count; ++i)
      for (int cpu = 0; cpu < cpus_; ++cpu) p[keys[i]] += values_[i * cpus_ + cpu].packets;
    return p;
  }

 private:
  int fd_;
  int cpus_;
  std::vector<weft_counter> values_;  // [entry][cpu]
};

uint64_t Total(const Packets& p) {
  uint64_t n = 0;
  for (uint64_t v : p) n += v;
  return n;
}

// Dies unless the batch reader and ReadCounters see the same counts.
void CheckReadersAgree(const Datapath& dp, PacketReader& reader) {
  absl::StatusOr<Counters> c = ReadCounters(dp);
  if (!c.ok()) Die("ReadCounters: " + c.status().ToString());
  const Packets p = reader.Read();
  for (int r = 0; r < WEFT_REASON_COUNT; ++r)
    if ((*c)[r].packets != p[r])
      Die(absl::StrCat("weft_stats readers disagree on ", std::string(ReasonLabel(r))));
}

struct Target {
  std::string name;
  Program program;
  Hook hook;
  int prog_fd;
  std::vector<Seed> seeds;
};

// Runs `frame` as weftctl trace does (TC only): no counter moves, no
// conntrack entry changes, and weft_trace records the reason and the
// redirect target. Sets out.traced when the run happened.
void Trace(const Datapath& dp, const Target& t, uint32_t ifindex, const Bytes& frame,
           Outcome& out) {
  const int fd = dp.MapFd(Map::kTrace);
  const uint32_t zero = 0;
  weft_trace_result record{};
  record.rule_index = WEFT_RULE_NONE;
  if (bpf_map_update_elem(fd, &zero, &record, BPF_ANY) != 0)
    Die(absl::StrCat("resetting weft_trace: ", std::strerror(errno)));
  absl::StatusOr<ProgTestRunOutput> run = ProgTestRun({.prog_fd = t.prog_fd,
                                                       .hook = Hook::kTc,
                                                       .ingress_ifindex = ifindex,
                                                       .mark = WEFT_TRACE_MARK,
                                                       .frame = frame});
  if (!run.ok()) return;  // refused: the real run will be too
  if (bpf_map_lookup_elem(fd, &zero, &record) != 0)
    Die(absl::StrCat("reading weft_trace: ", std::strerror(errno)));
  out.traced = (record.flags & WEFT_TRACE_F_RAN) != 0;
  out.trace_reason = record.reason;
  out.trace_egress_ifindex = record.egress_ifindex;
}

// Runs mutants of `t.seeds` through the program until `o.frames` of them
// ran; returns its figures.
ProgramResult Fuzz(const Target& t, const Options& o, const Datapath& dp, const Oracle& oracle,
                   Mutator& mutator) {
  ProgramResult r{.name = t.name, .seeds = t.seeds.size()};
  PacketReader reader(dp);
  CheckReadersAgree(dp, reader);
  Packets before = reader.Read();
  std::mt19937_64 pick(o.seed ^ 0x5eed);
  const auto start = std::chrono::steady_clock::now();
  // Until `frames` frames ran: those the kernel refuses come on top (at most
  // as many again). A trace run that counted shows as 2 packets counted.
  for (uint64_t i = 0; r.run < o.frames; ++i) {
    if (i >= 2 * o.frames) Die(absl::StrCat(t.name, ": the kernel refused most frames"));
    const Seed& seed = t.seeds[pick() % t.seeds.size()];
    const Bytes frame = mutator.Mutate(seed);
    Outcome out;
    if (t.hook == Hook::kTc) Trace(dp, t, seed.ifindex, frame, out);
    absl::StatusOr<ProgTestRunOutput> run = ProgTestRun(
        {.prog_fd = t.prog_fd, .hook = t.hook, .ingress_ifindex = seed.ifindex, .frame = frame});
    if (run.ok()) {
      out.retval = run->retval;
      out.out = std::move(run->frame);
    } else if (absl::IsInvalidArgument(run.status())) {
      out.refused = true;  // too short for its ethertype's header: never ran
    } else {
      Die(absl::StrCat(t.name, ": BPF_PROG_TEST_RUN: ", run.status().ToString()));
    }
    const Packets after = reader.Read();
    out.counted = Total(after) - Total(before);
    for (int reason = 0; reason < WEFT_REASON_COUNT; ++reason)
      if (after[reason] != before[reason]) out.reason = reason;
    before = after;

    if (out.refused) {
      ++r.refused;
    } else {
      ++r.run;
      if (out.counted == 1 && out.reason >= 0) ++r.by_reason[out.reason];
      if (out.traced && static_cast<int>(out.trace_reason) != out.reason) ++r.trace_disagreed;
      if (ForwardedIpv6(out)) ++r.forwarded6;
    }
    r.counted += out.counted;
    if (std::string v = oracle.Judge(t.program, seed.ifindex, frame, out); !v.empty()) {
      if (++r.violations <= kMaxViolationsShown)
        std::fprintf(stderr,
                     "VIOLATION %s frame %llu (seed %llu, from seed frame \"%s\", ifindex %u): %s\n"
                     "  verdict %u, reason %s\n  in:  %s\n  out: %s\n",
                     t.name.c_str(), static_cast<unsigned long long>(i),
                     static_cast<unsigned long long>(o.seed), seed.name.c_str(), seed.ifindex,
                     v.c_str(), out.retval, std::string(ReasonLabel(out.reason)).c_str(),
                     Hex(frame).c_str(), Hex(out.out).c_str());
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CheckReadersAgree(dp, reader);
  return r;
}

int Main(int argc, char** argv) {
  const Options o = ParseOptions(argc, argv);
  if (geteuid() != 0) {
    if (std::getenv("CI") != nullptr)
      Die("needs root (BPF_PROG_TEST_RUN, a network namespace); CI is set");
    std::printf("not root, skipping: the packet fuzzer needs BPF_PROG_TEST_RUN (root)\n");
    return 77;
  }
  std::printf("packet fuzz: seed %llu, %llu frames run by each program\n",
              static_cast<unsigned long long>(o.seed), static_cast<unsigned long long>(o.frames));
  absl::StatusOr<testing::Env*> env = testing::SharedEnv();
  if (!env.ok()) Die(env.status().ToString());
  const Datapath& dp = *(*env)->datapath;
  testing::FirewallMaps fw(dp);
  for (const std::string& err : {fw.Reset(), fw.WriteSlot(0, FuzzPolicy()), fw.SetCtl(0, 1)})
    if (!err.empty()) Die("installing the policy: " + err);

  if (std::string err = testing::BindUplinks(dp); !err.empty()) Die("binding the uplinks: " + err);

  World world = BuildWorld((*env)->state, "hv1", [](const std::string& ifname) {
    return if_nametoindex(ifname.c_str());
  });
  size_t uplink_count = 0;
  const testing::FixtureUplink* uplinks = testing::FixtureUplinks(&uplink_count);
  for (size_t i = 0; i < uplink_count; ++i)
    world.uplinks.push_back(WorldUplink{.ifindex = if_nametoindex(uplinks[i].ifname),
                                        .tenant_id = uplinks[i].tenant_id,
                                        .address = uplinks[i].address,
                                        .mac = uplinks[i].mac});
  std::vector<uint32_t> vnis;
  for (const auto& [vni, seg] : world.segments) vnis.push_back(vni);
  const Oracle oracle(world);
  Mutator mutator(InterestingIps(world), InterestingIps6(world), InterestingMacs(world), vnis,
                  o.seed);
  const std::vector<Seed> vm_seeds = VmSeeds(world, if_nametoindex("vm9"));
  const std::vector<Seed> underlay_seeds =
      UnderlaySeeds(world, (*env)->ul0_ifindex, (*env)->ul0_mac);
  const std::map<std::string, Target> targets = {
      {"vm", {"vm (TC)", Program::kVm, Hook::kTc, dp.VmProgramFd(), vm_seeds}},
      {"underlay-tc",
       {"underlay (TC)", Program::kUnderlayTc, Hook::kTc, dp.UnderlayTcProgramFd(),
        underlay_seeds}},
      {"underlay-xdp",
       {"underlay (XDP)", Program::kUnderlayXdp, Hook::kXdp, dp.UnderlayXdpProgramFd(),
        underlay_seeds}},
      {"uplink",
       {"uplink (TC)", Program::kUplink, Hook::kTc, dp.UplinkProgramFd(),
        UplinkSeeds(world, (*env)->ul0_ifindex)}},
  };

  Report report{.seed = o.seed, .frames = o.frames};
  for (const std::string& name : o.programs) {
    auto it = targets.find(name);
    if (it == targets.end()) Die("unknown program " + name);
    report.programs.push_back(Fuzz(it->second, o, dp, oracle, mutator));
    PrintProgram(report.programs.back());
  }
  uint64_t violations = 0;
  for (const auto& p : report.programs) violations += p.violations;
  if (!o.markdown.empty()) {
    if (absl::Status s = WriteMarkdownBlock(o.markdown, report, argc, argv); !s.ok())
      Die(s.ToString());
  }
  std::printf("%llu violations (seed %llu)\n", static_cast<unsigned long long>(violations),
              static_cast<unsigned long long>(o.seed));
  return violations == 0 ? 0 : 1;
}

}  // namespace
}  // namespace weft::fuzz

int main(int argc, char** argv) { return weft::fuzz::Main(argc, argv); }
