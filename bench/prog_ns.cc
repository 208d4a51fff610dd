// weft_bench_prog: nanoseconds per packet of the Weft BPF programs, measured
// with BPF_PROG_TEST_RUN against an empty program (docs/ARCHITECTURE.md §7 "Benchmarks").
//
// It unshares a private network namespace (never the root one), creates the
// interfaces the programs look up (veth pairs: this kernel has no dummy
// driver), loads the real datapath objects (weft::Datapath::Load) and fills
// their maps from a small two-host state (weft::BuildNodeTables + Apply),
// exactly as the agent does.
//
// How it measures (weft::ProgTestRun, agent/datapath/prog_test_run.h).
// BPF_PROG_TEST_RUN with `repeat` does not restore the packet between runs:
// decapsulation would see its own (inner) output on the second run,
// encapsulation would stack headers, routing would decrement the TTL to
// zero. So every program, the empty ones included, runs with
// repeat=1 in a loop of N syscalls, and the figure is the kernel-reported
// `duration` of each call (ktime around the program inside the kernel: the
// program plus the test-run harness's fixed cost, not the syscall or the
// packet copy). The empty XDP/TC programs measured the same way give that
// fixed cost; "net" columns subtract it. For the programs that leave the
// packet alone (empty, pass-through) it also reports repeat=N amortised
// figures, which show how much of a single run is harness. Every measured
// case is checked first: expected verdict and exactly one expected reason
// counter, so a benchmark never silently times a drop path.
//
// Note: a redirect verdict is returned, not performed: test-run does not
// call the redirect, so "decap+deliver" is the program's work up to and
// including bpf_redirect(), not the veth transmit after it.
//
// Firewall (--suite firewall): the cost of classifying a NEW flow against
// N rules (10, 100, 1,000, 10,000 by default) and of an ESTABLISHED flow's
// packet, on the VM program (vm1 -> r1 on hv2, encapsulated; the egress
// policy of vm1 judges it). The rules are compiled by the agent's real
// compiler (weft::BuildPolicyTables from a weft::State with N rules) and
// installed with Datapath::ApplyPolicy, exactly as the agent does. N - 1
// rules do not match the flow (wrong port, peer, direction or protocol; a
// mix of allow and deny); the last one, bit N - 1, allows it: the worst
// case for a first-match scan. New flow: a TCP SYN; its conntrack entry is
// deleted (bpf_map_delete_elem, outside the timed duration) before every
// call, so every call is a conntrack miss that classifies and creates the
// entry, with the same packet and the table at the same size. Established:
// a TCP ACK of another flow, whose entry (picked up by the check call)
// is hit on every call. Each case is checked first: verdict, reason and
// the conntrack entry's rule_index == N - 1.
//
// IPv6 underlay (--suite underlay6): the base suite, then decapsulation at
// both hooks and encapsulation on a second datapath loaded with the same
// state on IPv6 VTEPs (docs/DATAPATH.md "IPv6 underlay").
//
//   sudo build/weft_bench_prog [--iterations N] [--cpu C] [--json]
//                              [--suite base|firewall|underlay6|all]
//                              [--fw-rules 10,100,1000,10000]
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/datapath/datapath.h"
#include "agent/datapath/maps/counters.h"
#include "agent/datapath/prog_test_run.h"
#include "common/model/state.h"
#include "common/model/validate.h"
#include "common/packet/builder.h"
#include "common/plan/conntrack_key.h"
#include "common/plan/policy_tables.h"
#include "common/plan/tables.h"
#include "weft/abi.h"

namespace weft::bench {
namespace {

using packet::Bytes;
using packet::Ip;
using packet::Mac;

// Hook return codes (linux/pkt_cls.h, linux/bpf.h).
constexpr uint32_t kTcOk = 0;
constexpr uint32_t kTcRedirect = 7;
constexpr uint32_t kXdpPass = 2;
constexpr uint32_t kXdpRedirect = 4;

constexpr Mac kUl0Mac = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x01};
constexpr Mac kHv2Mac = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x02};
constexpr Mac kGwMac = {0x02, 0xfe, 0x00, 0x00, 0x00, 0x01};
constexpr Mac kVm1Mac = {0x02, 0x01, 0x00, 0x00, 0x01, 0x0a};  // 10.0.1.10 hv1 vm1
constexpr Mac kVm2Mac = {0x02, 0x01, 0x00, 0x00, 0x02, 0x14};  // 10.0.2.20 hv1 vm2
constexpr Mac kR1Mac = {0x02, 0x01, 0x00, 0x00, 0x01, 0x0b};   // 10.0.1.11 hv2
constexpr Mac kR2Mac = {0x02, 0x01, 0x00, 0x00, 0x02, 0x16};   // 10.0.2.22 hv2

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "weft_bench_prog: %s\n", msg.c_str());
  std::exit(1);
}

void Sh(const std::string& cmd) {
  std::string full = cmd + " 2>&1";
  FILE* f = popen(full.c_str(), "r");
  if (f == nullptr) Die(cmd + ": popen failed");
  std::string out;
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  if (pclose(f) != 0) Die("`" + cmd + "` failed: " + out);
}

Ipv4Prefix Prefix(const char* addr, uint8_t len) { return Ipv4Prefix{Ip(addr), len}; }

// One tenant, two segments, this node hv1 with vm1 and vm2, two VMs on hv2.
State BenchState() {
  State s;
  s.version = 1;
  s.nodes = {{.name = "hv1", .vtep = Ip("198.18.0.1"), .foreign = false},
             {.name = "hv2", .vtep = Ip("198.18.0.2"), .foreign = false}};
  s.tenants = {{.name = "blue", .id = 1, .default_action = FirewallAction::kAllow}};
  s.segments = {
      {.name = "blue-a",
       .tenant = "blue",
       .vni = 1001,
       .subnet = Prefix("10.0.1.0", 24),
       .gateway = Ip("10.0.1.1"),
       .gateway_mac = kGwMac,
       .subnet6 = Ipv6Prefix{packet::Ip6("2001:db8:1::"), 64},
       .gateway6 = packet::Ip6("2001:db8:1::1")},
      {.name = "blue-b",
       .tenant = "blue",
       .vni = 1002,
       .subnet = Prefix("10.0.2.0", 24),
       .gateway = Ip("10.0.2.1"),
       .gateway_mac = kGwMac,
       .subnet6 = Ipv6Prefix{packet::Ip6("2001:db8:2::"), 64},
       .gateway6 = packet::Ip6("2001:db8:2::1")},
  };
  auto ep = [](const char* name, const char* seg, const char* ip, const Mac& mac, const char* node,
               const char* ifname, const char* ip6 = nullptr) {
    return Endpoint{.name = name,
                    .segment = seg,
                    .ip = Ip(ip),
                    .mac = mac,
                    .node = node,
                    .interface = ifname,
                    .ip6 = ip6 ? std::optional(packet::Ip6(ip6)) : std::nullopt};
  };
  s.endpoints = {ep("vm1", "blue-a", "10.0.1.10", kVm1Mac, "hv1", "vm1", "2001:db8:1::10"),
                 ep("vm2", "blue-b", "10.0.2.20", kVm2Mac, "hv1", "vm2", "2001:db8:2::20"),
                 ep("r1", "blue-a", "10.0.1.11", kR1Mac, "hv2", "tap-a", "2001:db8:1::11"),
                 ep("r2", "blue-b", "10.0.2.22", kR2Mac, "hv2", "tap-b", "2001:db8:2::22")};
  return s;
}

int LoadRaw(bpf_prog_type type, int32_t ret) {
  // r0 = ret; exit
  bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[0].imm = ret;
  insns[1].code = BPF_JMP | BPF_EXIT;
  int fd = bpf_prog_load(type, type == BPF_PROG_TYPE_XDP ? "bench_empty_xdp" : "bench_empty_tc",
                         "GPL", insns, 2, nullptr);
  if (fd < 0) Die("bpf_prog_load(empty): " + std::string(std::strerror(-fd)));
  return fd;
}

struct Case {
  std::string name;
  std::string hook;  // "xdp" or "tc"
  int prog_fd;
  std::string ifname;  // where the packet arrives
  Bytes packet;
  uint32_t want_ret;
  int want_reason;                         // -1: none expected (empty programs)
  bool idempotent;                         // leaves the packet alone: repeat=N is honest too
  std::function<void()> before = nullptr;  // runs before every call, untimed
};

struct Result {
  std::string name, hook;
  size_t bytes = 0;
  double p50 = 0, p10 = 0, p90 = 0, mean = 0;
  double amortised = -1;  // repeat=N ns/run, when idempotent
  std::string reason;
};

class Runner {
 public:
  explicit Runner(Datapath* dp) : dp_(dp) {}

  // One call; returns the kernel duration (ns), sets *ret.
  uint32_t Once(const Case& c, uint32_t ifindex, uint32_t repeat, uint32_t* ret) {
    absl::StatusOr<ProgTestRunOutput> run =
        ProgTestRun({.prog_fd = c.prog_fd,
                     .hook = c.hook == "xdp" ? Hook::kXdp : Hook::kTc,
                     .ingress_ifindex = ifindex,
                     .frame = c.packet,
                     .repeat = repeat});
    if (!run.ok()) Die(c.name + ": " + run.status().ToString());
    *ret = run->retval;
    return run->duration_ns;
  }

  Result Measure(const Case& c, int iterations) {
    const uint32_t ifindex = if_nametoindex(c.ifname.c_str());
    if (ifindex == 0) Die("no interface " + c.ifname);
    Result r{.name = c.name, .hook = c.hook, .bytes = c.packet.size()};

    // Check the path first: verdict and the one reason counted.
    auto before = ReadCounters(*dp_);
    uint32_t ret = 0;
    if (c.before) c.before();
    Once(c, ifindex, 1, &ret);
    auto after = ReadCounters(*dp_);
    if (!before.ok() || !after.ok()) Die("ReadCounters failed");
    int counted = -1, total = 0;
    for (int i = 0; i < WEFT_REASON_COUNT; ++i) {
      uint64_t d = (*after)[i].packets - (*before)[i].packets;
      total += static_cast<int>(d);
      if (d) counted = i;
    }
    if (ret != c.want_ret)
      Die(c.name + ": verdict " + std::to_string(ret) + ", want " + std::to_string(c.want_ret) +
          " (counted " + std::string(ReasonLabel(counted)) + ")");
    if (c.want_reason >= 0 && (total != 1 || counted != c.want_reason))
      Die(c.name + ": counted " + std::string(ReasonLabel(counted)) + " x" + std::to_string(total) +
          ", want " + std::string(ReasonLabel(c.want_reason)));
    r.reason = c.want_reason >= 0 ? std::string(ReasonLabel(c.want_reason)) : "-";

    for (int i = 0; i < iterations / 10 + 100; ++i) {  // warm up
      if (c.before) c.before();
      Once(c, ifindex, 1, &ret);
    }
    std::vector<uint32_t> d(iterations);
    double sum = 0;
    for (int i = 0; i < iterations; ++i) {
      if (c.before) c.before();
      d[i] = Once(c, ifindex, 1, &ret);
      sum += d[i];
    }
    std::sort(d.begin(), d.end());
    auto q = [&](double p) {
      return static_cast<double>(d[static_cast<size_t>(p * (d.size() - 1))]);
    };
    r.p10 = q(0.10);
    r.p50 = q(0.50);
    r.p90 = q(0.90);
    r.mean = sum / iterations;
    if (c.idempotent) {
      // The kernel reports the mean per run over `repeat`; take the median of 21 calls.
      std::vector<uint32_t> a;
      for (int i = 0; i < 21; ++i) a.push_back(Once(c, ifindex, 10000, &ret));
      std::sort(a.begin(), a.end());
      r.amortised = a[a.size() / 2];
    }
    return r;
  }

 private:
  Datapath* dp_;
};

Bytes SmallUdp(const Mac& dmac, const Mac& smac, const char* sip, const char* dip) {
  return packet::UdpFrame(dmac, smac, Ip(sip), Ip(dip), 40000, 5001, 16);
}

// Neighbor Discovery from vm1 (bpf/lib/nd.h), as a VM sends it: a
// solicitation for its gateway from its address, a router solicitation from
// its link-local address; each with vm1's MAC as source link-layer option.
Bytes SolicitGateway() {
  return packet::NeighborSolicitationFrame(kVm1Mac, packet::Ip6("2001:db8:1::10"),
                                           packet::Ip6("2001:db8:1::1"),
                                           packet::NdLinkLayerOption(1, kVm1Mac));
}
Bytes SolicitRouter() {
  return packet::RouterSolicitationFrame(kVm1Mac, packet::LinkLocalOf(kVm1Mac),
                                         packet::NdLinkLayerOption(1, kVm1Mac));
}

// A full-size TCP segment: IPv4 total length `ip_len`, by default 1450, the
// VM MTU of the lab runs (1430 on an IPv6 underlay).
Bytes BigTcp(const Mac& dmac, const Mac& smac, const char* sip, const char* dip,
             size_t ip_len = 1450) {
  packet::Ipv4Spec ip;
  ip.src = Ip(sip);
  ip.dst = Ip(dip);
  ip.proto = packet::kProtoTcp;
  ip.df = true;
  Bytes payload(ip_len - 40, 0x5a);
  return packet::Ipv4Frame(dmac, smac, ip,
                           packet::Tcp(43210, 5201, packet::kTcpAck | packet::kTcpPsh, 1000, 2000,
                                       payload, ip.src, ip.dst));
}

// The same packets of an IPv6 tenant: 78 B of UDP, TCP of `ip_len` bytes.
Bytes SmallUdp6(const Mac& dmac, const Mac& smac, const char* sip, const char* dip) {
  packet::Ipv6Spec ip;
  ip.src = packet::Ip6(sip);
  ip.dst = packet::Ip6(dip);
  return packet::Eth(dmac, smac, packet::kEthIpv6,
                     packet::Ipv6(ip, packet::Udp(40000, 5001, Bytes(16, 0), ip.src, ip.dst)));
}
Bytes BigTcp6(const Mac& dmac, const Mac& smac, const char* sip, const char* dip,
              size_t ip_len = 1450) {
  packet::Ipv6Spec ip;
  ip.src = packet::Ip6(sip);
  ip.dst = packet::Ip6(dip);
  ip.next_header = packet::kProtoTcp;
  Bytes payload(ip_len - 60, 0x5a);
  return packet::Eth(dmac, smac, packet::kEthIpv6,
                     packet::Ipv6(ip, packet::Tcp(43210, 5201, packet::kTcpAck | packet::kTcpPsh,
                                                  1000, 2000, payload, ip.src, ip.dst)));
}

Bytes FromHv2(uint32_t vni, const Bytes& inner) {
  packet::VxlanSpec s;
  s.outer_dst = kUl0Mac;
  s.outer_src = kHv2Mac;
  s.outer_src_ip = Ip("198.18.0.2");
  s.outer_dst_ip = Ip("198.18.0.1");
  s.vni = vni;
  return packet::VxlanFrame(s, inner);
}

// 2001:db8:1::<the IPv4 VTEP's 32 bits>: its twin on an IPv6 underlay.
Ipv6Address Vtep6Of(uint32_t v4) {
  Ipv6Address a = {0x20, 0x01, 0x0d, 0xb8, 0, 1};
  for (int i = 0; i < 4; ++i) a[12 + i] = static_cast<uint8_t>(v4 >> (24 - 8 * i));
  return a;
}

Bytes FromHv2Over6(uint32_t vni, const Bytes& inner) {
  packet::Vxlan6Spec s;
  s.outer_dst = kUl0Mac;
  s.outer_src = kHv2Mac;
  s.outer_src_ip = Vtep6Of(Ip("198.18.0.2"));
  s.outer_dst_ip = Vtep6Of(Ip("198.18.0.1"));
  s.vni = vni;
  return packet::Vxlan6Frame(s, inner);
}

// ---- firewall: N rules compiled by the agent's compiler ----------------------

constexpr uint16_t kFwNewSport = 40001;  // the new flow: SYN, entry deleted before each call
constexpr uint16_t kFwEstSport = 40002;  // the established flow: ACK, entry kept
constexpr uint16_t kFwDport = 5201;

// Ports of the rules that do not match (never 5201).
constexpr uint16_t kOtherPorts[] = {22,   25,   53,   80,   110,  123,  143,   389,
                                    443,  465,  587,  636,  993,  995,  1433,  1521,
                                    2049, 2379, 3000, 3306, 3389, 5432, 5672,  6379,
                                    6443, 8080, 8443, 9090, 9092, 9200, 11211, 27017};

// BenchState() plus one policy of `rules` rules applied to hv1's two VMs,
// tenant default deny. Rule i < rules - 1 never matches TCP vm1 -> r1:5201
// (egress): by port (peer 10/8), by peer (a /28 of 172.16/12 or
// 192.168/16), by direction (ingress) or by protocol (UDP); every fifth is
// a deny. The last rule allows egress TCP 5201 to 10/8.
State FirewallState(int rules) {
  State s = BenchState();
  s.tenants[0].default_action = FirewallAction::kDeny;
  Policy p;
  p.name = "bench-fw";
  p.tenant = "blue";
  p.applied_to_endpoints = {"vm1", "vm2"};
  for (int i = 0; i + 1 < rules; ++i) {
    Rule r;
    const uint32_t port = kOtherPorts[(i / 4) % std::size(kOtherPorts)];
    const Ipv4Prefix p28{(Ip("172.16.0.0") + 16u * static_cast<uint32_t>(i)) & 0xfffffff0u, 28};
    switch (i % 4) {
      case 0:  // right peer, wrong port
        r.direction = RuleDirection::kEgress;
        r.peer_cidrs = {Prefix("10.0.0.0", 8)};
        r.protocol = RuleProtocol::kTcp;
        r.ports = {{port, port}};
        break;
      case 1:  // right port, wrong peer
        r.direction = RuleDirection::kEgress;
        r.peer_cidrs = {p28};
        r.protocol = RuleProtocol::kTcp;
        r.ports = {{kFwDport, kFwDport}};
        break;
      case 2:  // ingress
        r.direction = RuleDirection::kIngress;
        r.peer_cidrs = {p28};
        r.protocol = RuleProtocol::kTcp;
        r.ports = {{port, port}, {kFwDport, kFwDport}};
        break;
      default:  // UDP
        r.direction = RuleDirection::kEgress;
        r.peer_cidrs = {{(Ip("192.168.0.0") + 16u * static_cast<uint32_t>(i % 4096)), 28}};
        r.protocol = RuleProtocol::kUdp;
        r.ports = {{port, port}};
        break;
    }
    r.action = i % 5 == 0 ? RuleAction::kDeny : RuleAction::kAllow;
    p.rules.push_back(std::move(r));
  }
  Rule last;
  last.direction = RuleDirection::kEgress;
  last.peer_cidrs = {Prefix("10.0.0.0", 8)};
  last.protocol = RuleProtocol::kTcp;
  last.ports = {{kFwDport, kFwDport}};
  last.action = RuleAction::kAllow;
  p.rules.push_back(std::move(last));
  s.policies = {std::move(p)};
  return s;
}

Bytes TcpSegment(const Mac& dmac, const Mac& smac, const char* sip, const char* dip, uint16_t sport,
                 uint16_t dport, uint8_t flags) {
  packet::Ipv4Spec ip;
  ip.src = Ip(sip);
  ip.dst = Ip(dip);
  ip.proto = packet::kProtoTcp;
  ip.df = true;
  const uint32_t ack = flags & packet::kTcpAck ? 2000 : 0;
  const Bytes payload(flags & packet::kTcpSyn ? 0 : 64, 0x5a);
  return packet::Ipv4Frame(dmac, smac, ip,
                           packet::Tcp(sport, dport, flags, 1000, ack, payload, ip.src, ip.dst));
}

struct FwResult {
  int rules = 0;
  size_t entries = 0;   // map entries of the compiled rule set (one slot)
  double build_ms = 0;  // BuildPolicyTables, the slot written
  double apply_ms = 0;  // ApplyPolicy: build + write inactive slot + flip + clear old
  Result new_flow, established;
};

double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

FwResult MeasureFirewall(Datapath& dp, Runner& runner, int rules, int iterations) {
  FwResult out;
  out.rules = rules;
  const State state = FirewallState(rules);
  if (absl::Status s = ValidateState(state); !s.ok())
    Die("ValidateState(firewall): " + s.ToString());
  double build_ms = 0;
  size_t entries = 0;
  const auto t0 = std::chrono::steady_clock::now();
  absl::Status applied = dp.ApplyPolicy([&](uint32_t slot) {
    const auto b0 = std::chrono::steady_clock::now();
    auto t = BuildPolicyTables(state, "hv1", slot);
    build_ms = Ms(std::chrono::steady_clock::now() - b0);  // the last build: the slot written
    if (t.ok()) {
      entries = 0;
      for (const MapTable& m : *t) entries += m.entries.size();
    }
    return t;
  });
  out.apply_ms = Ms(std::chrono::steady_clock::now() - t0);
  if (!applied.ok()) Die("ApplyPolicy(" + std::to_string(rules) + " rules): " + applied.ToString());
  out.build_ms = build_ms;
  out.entries = entries;

  const int ct_fd = dp.MapFd(Map::kCt), pending_fd = dp.MapFd(Map::kCtPending);
  if (ct_fd < 0 || pending_fd < 0) Die("no weft_ct or weft_ct_pending map");
  const uint32_t vm1 = Ip("10.0.1.10"), r1 = Ip("10.0.1.11");
  const weft_ct_key new_key = ConntrackKey(1, 6, vm1, kFwNewSport, r1, kFwDport);
  const weft_ct_key est_key = ConntrackKey(1, 6, vm1, kFwEstSport, r1, kFwDport);
  for (const int fd : {ct_fd, pending_fd}) {
    bpf_map_delete_elem(fd, &new_key);
    bpf_map_delete_elem(fd, &est_key);
  }

  const int vm = dp.VmProgramFd();
  const std::string tag = std::to_string(rules) + " rules";
  Case fresh{
      "new flow (TCP SYN, conntrack miss), " + tag,
      "tc",
      vm,
      "vm1",
      TcpSegment(kR1Mac, kVm1Mac, "10.0.1.10", "10.0.1.11", kFwNewSport, kFwDport, packet::kTcpSyn),
      kTcRedirect,
      WEFT_ENCAP,
      false};
  fresh.before = [pending_fd, new_key] { bpf_map_delete_elem(pending_fd, &new_key); };
  Case est{"established flow (TCP ACK, conntrack hit), " + tag,
           "tc",
           vm,
           "vm1",
           TcpSegment(kR1Mac, kVm1Mac, "10.0.1.10", "10.0.1.11", kFwEstSport, kFwDport,
                      packet::kTcpAck | packet::kTcpPsh),
           kTcRedirect,
           WEFT_ENCAP,
           false};
  // The picked-up ACK's entry waits in weft_ct_pending for a reply to
  // confirm it; an established flow's is in weft_ct: move it as the reply would.
  est.before = [ct_fd, pending_fd, est_key] {
    weft_ct_entry e{};
    if (bpf_map_lookup_elem(pending_fd, &est_key, &e) != 0) return;
    bpf_map_update_elem(ct_fd, &est_key, &e, BPF_ANY);
    bpf_map_delete_elem(pending_fd, &est_key);
  };

  auto check_rule = [&](const weft_ct_key& key, const char* what) {
    weft_ct_entry e{};
    if (bpf_map_lookup_elem(ct_fd, &key, &e) != 0 && bpf_map_lookup_elem(pending_fd, &key, &e) != 0)
      Die(std::string(what) + ": no conntrack entry after the call (key mismatch?)");
    if (e.rule_index != static_cast<uint32_t>(rules - 1))
      Die(std::string(what) + ", " + tag + ": decided by rule " + std::to_string(e.rule_index) +
          ", want the last, " + std::to_string(rules - 1));
  };
  out.new_flow = runner.Measure(fresh, iterations);
  check_rule(new_key, "new flow");
  // The first call (Measure's check) picks the ACK up through the policy;
  // every later call is a hit.
  out.established = runner.Measure(est, iterations);
  check_rule(est_key, "established flow");
  weft_ct_entry e{};
  bpf_map_lookup_elem(ct_fd, &est_key, &e);
  if (e.state != WEFT_CT_ESTABLISHED)
    Die("established flow: entry state " + std::to_string(e.state));
  return out;
}

std::vector<int> ParseInts(const std::string& text) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const int v = std::atoi(text.substr(pos, comma - pos).c_str());
    if (v < 1 || v > WEFT_MAX_RULES)
      Die("--fw-rules: each count must be 1.." + std::to_string(WEFT_MAX_RULES));
    out.push_back(v);
    pos = comma + 1;
  }
  return out;
}

struct Options {
  int iterations = 20000;
  int cpu = 0;
  bool json = false;
  bool base_suite = true;        // the datapath cases
  bool fw_suite = false;         // new and established flows at fw_rules rules
  bool underlay6_suite = false;  // the datapath cases of an IPv6 underlay
  std::vector<int> fw_rules = {10, 100, 1000, 10000};
};

std::optional<Options> ParseOptions(int argc, char** argv) {
  Options o;
  std::string suite = "base";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iterations" && i + 1 < argc)
      o.iterations = std::atoi(argv[++i]);
    else if (a == "--cpu" && i + 1 < argc)
      o.cpu = std::atoi(argv[++i]);
    else if (a == "--json")
      o.json = true;
    else if (a == "--suite" && i + 1 < argc)
      suite = argv[++i];
    else if (a == "--fw-rules" && i + 1 < argc)
      o.fw_rules = ParseInts(argv[++i]);
    else {
      std::fprintf(stderr,
                   "usage: %s [--iterations N] [--cpu C] [--json] "
                   "[--suite base|firewall|underlay6|all] "
                   "[--fw-rules 10,100,1000,10000]\n",
                   argv[0]);
      return std::nullopt;
    }
  }
  if (suite != "base" && suite != "firewall" && suite != "underlay6" && suite != "all")
    Die("--suite: base, firewall, underlay6 or all");
  // underlay6 runs the base cases too: its rows beside IPv4's, in one run.
  o.base_suite = suite != "firewall";
  o.fw_suite = suite == "firewall" || suite == "all";
  o.underlay6_suite = suite == "underlay6" || suite == "all";
  if (o.iterations < 100) Die("--iterations must be >= 100");
  return o;
}

// A private network namespace with the underlay and two VM interfaces, on one CPU.
void EnterBenchNamespace(int cpu) {
  if (geteuid() != 0) Die("needs root (BPF_PROG_TEST_RUN, a private network namespace)");
  if (unshare(CLONE_NEWNET) != 0)
    Die(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
      Die(std::string("sched_setaffinity: ") + std::strerror(errno));
  }
  Sh("ip link set lo up");
  Sh("ip link add ul0 address 02:00:c6:12:00:01 mtu 1500 type veth peer name ul0p");
  Sh("ip link set ul0p up && ip link set ul0 up && ip addr add 198.18.0.1/24 dev ul0");
  Sh("ip neigh replace 198.18.0.2 lladdr 02:00:c6:12:00:02 dev ul0 nud permanent");
  Sh("ip addr add 2001:db8:1::c612:1/64 dev ul0 nodad");
  Sh("ip neigh replace 2001:db8:1::c612:2 lladdr 02:00:c6:12:00:02 dev ul0 nud permanent");
  for (const char* n : {"vm1", "vm2"}) {
    Sh(std::string("ip link add ") + n + " mtu 1450 type veth peer name " + n + "p");
    Sh(std::string("ip link set ") + n + "p up && ip link set " + n + " up");
  }
}

// BenchState on an IPv6 underlay: each VTEP's IPv6 twin (the same last 32 bits).
State BenchState6() {
  State s = BenchState();
  for (Node& node : s.nodes) {
    node.vtep.v6 = Vtep6Of(node.vtep.v4);
  }
  return s;
}

// The datapath loaded with `state`'s tables for hv1.
std::unique_ptr<Datapath> LoadBenchDatapath(const State& state) {
  if (absl::Status s = ValidateState(state); !s.ok()) Die("ValidateState: " + s.ToString());
  NodeSettings settings;
  settings.node = "hv1";
  settings.underlay_ifindex = if_nametoindex("ul0");
  settings.underlay_mtu = 1500;
  auto tables = BuildNodeTables(
      state, settings, [](const std::string& name) { return if_nametoindex(name.c_str()); });
  if (!tables.ok()) Die("BuildNodeTables: " + tables.status().ToString());
  auto dp = Datapath::Load("");
  if (!dp.ok()) Die("Datapath::Load: " + dp.status().ToString());
  if (absl::Status s = (*dp)->Apply(*tables); !s.ok()) Die("Apply: " + s.ToString());
  return *std::move(dp);
}

// The empty programs (the harness's own cost) first, then the datapath's cases.
std::vector<Case> BaseCases(const Datapath& dp) {
  const int empty_xdp = LoadRaw(BPF_PROG_TYPE_XDP, kXdpPass);
  const int empty_tc = LoadRaw(BPF_PROG_TYPE_SCHED_CLS, kTcOk);
  const int xdp = dp.UnderlayXdpProgramFd();
  const int ultc = dp.UnderlayTcProgramFd();
  const int vm = dp.VmProgramFd();

  const Bytes host_udp = SmallUdp(kUl0Mac, kHv2Mac, "198.18.0.2", "198.18.0.1");
  const Bytes dec_small = FromHv2(1001, SmallUdp(kVm1Mac, kR1Mac, "10.0.1.11", "10.0.1.10"));
  const Bytes dec_big = FromHv2(1001, BigTcp(kVm1Mac, kR1Mac, "10.0.1.11", "10.0.1.10"));
  const Bytes enc_small = SmallUdp(kR1Mac, kVm1Mac, "10.0.1.10", "10.0.1.11");
  const Bytes enc_big = BigTcp(kR1Mac, kVm1Mac, "10.0.1.10", "10.0.1.11");
  const Bytes encr_big = BigTcp(kGwMac, kVm1Mac, "10.0.1.10", "10.0.2.22");
  const Bytes route_small = SmallUdp(kGwMac, kVm1Mac, "10.0.1.10", "10.0.2.20");
  const Bytes route_big = BigTcp(kGwMac, kVm1Mac, "10.0.1.10", "10.0.2.20");
  const Bytes dec6_small =
      FromHv2(1001, SmallUdp6(kVm1Mac, kR1Mac, "2001:db8:1::11", "2001:db8:1::10"));
  const Bytes dec6_big =
      FromHv2(1001, BigTcp6(kVm1Mac, kR1Mac, "2001:db8:1::11", "2001:db8:1::10"));
  const Bytes enc6_small = SmallUdp6(kR1Mac, kVm1Mac, "2001:db8:1::10", "2001:db8:1::11");
  const Bytes enc6_big = BigTcp6(kR1Mac, kVm1Mac, "2001:db8:1::10", "2001:db8:1::11");
  const Bytes route6_small = SmallUdp6(kGwMac, kVm1Mac, "2001:db8:1::10", "2001:db8:2::20");
  const Bytes route6_big = BigTcp6(kGwMac, kVm1Mac, "2001:db8:1::10", "2001:db8:2::20");
  // One row per case reads better than one field per line.
  // clang-format off
  return {
      {"empty XDP program (XDP_PASS)", "xdp", empty_xdp, "ul0", dec_small, kXdpPass, -1, true},
      {"empty TC program (TC_ACT_OK)", "tc", empty_tc, "ul0", dec_small, kTcOk, -1, true},
      {"underlay: host's own UDP passes", "xdp", xdp, "ul0", host_udp, kXdpPass, WEFT_PASS_HOST,
       true},
      {"underlay: host's own UDP passes", "tc", ultc, "ul0", host_udp, kTcOk, WEFT_PASS_HOST, true},
      {"underlay: decap+deliver, 58 B inner UDP", "xdp", xdp, "ul0", dec_small, kXdpRedirect,
       WEFT_DECAP, false},
      {"underlay: decap+deliver, 1464 B inner TCP", "xdp", xdp, "ul0", dec_big, kXdpRedirect,
       WEFT_DECAP, false},
      {"underlay: decap+deliver, 58 B inner UDP", "tc", ultc, "ul0", dec_small, kTcRedirect,
       WEFT_DECAP, false},
      {"underlay: decap+deliver, 1464 B inner TCP", "tc", ultc, "ul0", dec_big, kTcRedirect,
       WEFT_DECAP, false},
      {"VM: encap (L2, same segment), 58 B UDP", "tc", vm, "vm1", enc_small, kTcRedirect,
       WEFT_ENCAP, false},
      {"VM: encap (L2, same segment), 1464 B TCP", "tc", vm, "vm1", enc_big, kTcRedirect,
       WEFT_ENCAP, false},
      {"VM: encap (routed), 1464 B TCP", "tc", vm, "vm1", encr_big, kTcRedirect, WEFT_ENCAP, false},
      {"VM: same-host route, 58 B UDP", "tc", vm, "vm1", route_small, kTcRedirect,
       WEFT_DELIVER_LOCAL, false},
      {"VM: same-host route, 1464 B TCP", "tc", vm, "vm1", route_big, kTcRedirect,
       WEFT_DELIVER_LOCAL, false},
      {"VM: ND solicitation for the gateway", "tc", vm, "vm1", SolicitGateway(), kTcRedirect,
       WEFT_ND_REPLY, false},
      {"VM: router solicitation", "tc", vm, "vm1", SolicitRouter(), kTcRedirect, WEFT_ND_REPLY,
       false},
      {"underlay: decap+deliver, 78 B inner IPv6 UDP", "xdp", xdp, "ul0", dec6_small,
       kXdpRedirect, WEFT_DECAP, false},
      {"underlay: decap+deliver, 1464 B inner IPv6 TCP", "xdp", xdp, "ul0", dec6_big,
       kXdpRedirect, WEFT_DECAP, false},
      {"underlay: decap+deliver, 78 B inner IPv6 UDP", "tc", ultc, "ul0", dec6_small,
       kTcRedirect, WEFT_DECAP, false},
      {"underlay: decap+deliver, 1464 B inner IPv6 TCP", "tc", ultc, "ul0", dec6_big,
       kTcRedirect, WEFT_DECAP, false},
      {"VM: IPv6 encap (L2, same segment), 78 B UDP", "tc", vm, "vm1", enc6_small, kTcRedirect,
       WEFT_ENCAP, false},
      {"VM: IPv6 encap (L2, same segment), 1464 B TCP", "tc", vm, "vm1", enc6_big, kTcRedirect,
       WEFT_ENCAP, false},
      {"VM: IPv6 same-host route, 78 B UDP", "tc", vm, "vm1", route6_small, kTcRedirect,
       WEFT_DELIVER_LOCAL, false},
      {"VM: IPv6 same-host route, 1464 B TCP", "tc", vm, "vm1", route6_big, kTcRedirect,
       WEFT_DELIVER_LOCAL, false},
  };
  // clang-format on
}

// The base suite's decapsulation and encapsulation on an IPv6 underlay
// (`dp` loaded with BenchState6), inner TCP segments at the MTU it leaves.
std::vector<Case> Underlay6Cases(const Datapath& dp) {
  const int xdp = dp.UnderlayXdpProgramFd();
  const int ultc = dp.UnderlayTcProgramFd();
  const int vm = dp.VmProgramFd();
  const Bytes dec_small = FromHv2Over6(1001, SmallUdp(kVm1Mac, kR1Mac, "10.0.1.11", "10.0.1.10"));
  const Bytes dec_big =
      FromHv2Over6(1001, BigTcp(kVm1Mac, kR1Mac, "10.0.1.11", "10.0.1.10", 1430));
  const Bytes enc_small = SmallUdp(kR1Mac, kVm1Mac, "10.0.1.10", "10.0.1.11");
  const Bytes enc_big = BigTcp(kR1Mac, kVm1Mac, "10.0.1.10", "10.0.1.11", 1430);
  // One row per case reads better than one field per line.
  // clang-format off
  return {
      {"IPv6 underlay: decap+deliver, 58 B inner UDP", "xdp", xdp, "ul0", dec_small,
       kXdpRedirect, WEFT_DECAP, false},
      {"IPv6 underlay: decap+deliver, 1444 B inner TCP", "xdp", xdp, "ul0", dec_big,
       kXdpRedirect, WEFT_DECAP, false},
      {"IPv6 underlay: decap+deliver, 58 B inner UDP", "tc", ultc, "ul0", dec_small,
       kTcRedirect, WEFT_DECAP, false},
      {"IPv6 underlay: decap+deliver, 1444 B inner TCP", "tc", ultc, "ul0", dec_big,
       kTcRedirect, WEFT_DECAP, false},
      {"IPv6 underlay, VM: encap (L2), 58 B UDP", "tc", vm, "vm1", enc_small, kTcRedirect,
       WEFT_ENCAP, false},
      {"IPv6 underlay, VM: encap (L2), 1444 B TCP", "tc", vm, "vm1", enc_big, kTcRedirect,
       WEFT_ENCAP, false},
  };
  // clang-format on
}

void PrintJsonResult(const Result& r, double base) {
  std::printf(
      "{\"name\": \"%s\", \"hook\": \"%s\", \"bytes\": %zu, \"reason\": \"%s\", "
      "\"p10\": %.0f, \"p50\": %.0f, \"p90\": %.0f, \"mean\": %.1f, "
      "\"net_p50\": %.0f, \"amortised\": %.1f}",
      r.name.c_str(), r.hook.c_str(), r.bytes, r.reason.c_str(), r.p10, r.p50, r.p90, r.mean,
      r.p50 - base, r.amortised);
}

// `results` net of the empty programs' p50 (base_xdp / base_tc).
void PrintJson(const Options& o, const std::vector<Result>& results,
               const std::vector<FwResult>& fw, double base_xdp, double base_tc) {
  std::printf("{\"iterations\": %d, \"cpu\": %d, \"empty_tc_p50\": %.0f, \"results\": [\n",
              o.iterations, o.cpu, base_tc);
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    std::printf("  ");
    PrintJsonResult(r, r.hook == "xdp" ? base_xdp : base_tc);
    std::printf("%s\n", i + 1 < results.size() ? "," : "");
  }
  std::printf("], \"firewall\": [\n");
  for (size_t i = 0; i < fw.size(); ++i) {
    const FwResult& f = fw[i];
    std::printf(
        "  {\"rules\": %d, \"entries\": %zu, \"build_ms\": %.1f, \"apply_ms\": %.1f, "
        "\"new\": ",
        f.rules, f.entries, f.build_ms, f.apply_ms);
    PrintJsonResult(f.new_flow, base_tc);
    std::printf(", \"established\": ");
    PrintJsonResult(f.established, base_tc);
    std::printf("}%s\n", i + 1 < fw.size() ? "," : "");
  }
  std::printf("]}\n");
}

void PrintText(const Options& o, const std::vector<Result>& results,
               const std::vector<FwResult>& fw, double base_xdp, double base_tc) {
  std::printf(
      "BPF_PROG_TEST_RUN, repeat=1 x %d calls, CPU %d; ns per packet "
      "(kernel-reported duration)\n",
      o.iterations, o.cpu);
  std::printf("%-44s %-4s %6s %6s %6s %6s %8s %10s\n", "program / packet", "hook", "bytes", "p10",
              "p50", "p90", "net p50", "repeat=N");
  for (const Result& r : results) {
    const double base = r.hook == "xdp" ? base_xdp : base_tc;
    std::printf(
        "%-44s %-4s %6zu %6.0f %6.0f %6.0f %8.0f %10s\n", r.name.c_str(), r.hook.c_str(), r.bytes,
        r.p10, r.p50, r.p90, r.p50 - base,
        r.amortised >= 0 ? std::to_string(static_cast<int>(r.amortised + 0.5)).c_str() : "-");
  }
  if (fw.empty()) return;
  std::printf(
      "\nfirewall, VM program, vm1 -> r1 TCP 5201, egress policy of vm1; the last "
      "rule decides; ns per packet (empty TC p50 %.0f)\n",
      base_tc);
  std::printf("%7s %8s %9s %9s | %-28s | %-28s\n", "rules", "entries", "build ms", "apply ms",
              "new flow p10/p50/p90 (net)", "established p10/p50/p90 (net)");
  for (const FwResult& f : fw) {
    std::printf("%7d %8zu %9.1f %9.1f | %5.0f %5.0f %5.0f (%5.0f) | %5.0f %5.0f %5.0f (%5.0f)\n",
                f.rules, f.entries, f.build_ms, f.apply_ms, f.new_flow.p10, f.new_flow.p50,
                f.new_flow.p90, f.new_flow.p50 - base_tc, f.established.p10, f.established.p50,
                f.established.p90, f.established.p50 - base_tc);
  }
}

int Main(int argc, char** argv) {
  const std::optional<Options> o = ParseOptions(argc, argv);
  if (!o) return 2;
  EnterBenchNamespace(o->cpu);
  const std::unique_ptr<Datapath> dp = LoadBenchDatapath(BenchState());
  std::vector<Case> cases = BaseCases(*dp);
  if (!o->base_suite) cases.resize(2);  // the empty programs: the harness's cost
  Runner runner(dp.get());
  std::vector<Result> results;
  for (const Case& c : cases) results.push_back(runner.Measure(c, o->iterations));
  if (o->underlay6_suite) {
    const std::unique_ptr<Datapath> dp6 = LoadBenchDatapath(BenchState6());
    Runner runner6(dp6.get());  // its own maps, its own counters
    for (const Case& c : Underlay6Cases(*dp6)) results.push_back(runner6.Measure(c, o->iterations));
  }
  const double base_xdp = results[0].p50, base_tc = results[1].p50;
  std::vector<FwResult> fw;
  if (o->fw_suite) {
    for (int n : o->fw_rules) fw.push_back(MeasureFirewall(*dp, runner, n, o->iterations));
  }
  if (!o->base_suite && !o->underlay6_suite) results.clear();
  if (o->json) {
    PrintJson(*o, results, fw, base_xdp, base_tc);
  } else {
    PrintText(*o, results, fw, base_xdp, base_tc);
  }
  return 0;
}

}  // namespace
}  // namespace weft::bench

int main(int argc, char** argv) { return weft::bench::Main(argc, argv); }
