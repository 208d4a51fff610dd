#include "tests/bpf/fixture.h"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/datapath/prog_test_run.h"
#include "common/model/validate.h"

namespace weft::testing {
namespace {

// Runs a shell command in this process's (new) network namespace. Returns ""
// on success, else the command and its output.
std::string Sh(const std::string& cmd) {
  std::string full = cmd + " 2>&1";
  FILE* f = popen(full.c_str(), "r");
  if (f == nullptr) return cmd + ": popen: " + std::strerror(errno);
  std::string out;
  char buf[256];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int status = pclose(f);
  if (status == 0) return "";
  return "`" + cmd + "` failed (status " + std::to_string(status) + "): " + out;
}

Ipv4Prefix Prefix(const char* addr, uint8_t len) { return Ipv4Prefix{Ip(addr), len}; }

// Sets up the namespace, interfaces and datapath once per process. Returns
// the error that stopped it, or "" (and sets *out).
std::string SetUpEnv(Env** out) {
  // Everything below lives in a fresh network namespace: nothing touches the
  // root namespace, and it all disappears with the process.
  if (unshare(CLONE_NEWNET) != 0)
    return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);

  std::vector<std::string> cmds = {
      "ip link set lo up",
      "ip link add ul0 address 02:00:c6:12:00:01 mtu 1500 type veth peer name ul0p",
      "ip link set ul0p up",
      "ip link set ul0 up",
      "ip addr add 198.18.0.1/24 dev ul0",
      "ip neigh replace 198.18.0.2 lladdr 02:00:c6:12:00:02 dev ul0 nud permanent",
      "ip neigh replace 198.18.0.3 lladdr 02:00:c6:12:00:03 dev ul0 nud permanent",
      // XDP asks the FIB for a forwarded packet's next hop, which needs this.
      "sysctl -qw net.ipv4.conf.ul0.forwarding=1",
      // An edge's uplinks (the uplink tests bind them).
      "ip link add up0 address 02:00:c0:00:02:01 mtu 1500 type veth peer name up0p",
      "ip link add up1 address 02:00:c0:00:02:05 mtu 1500 type veth peer name up1p",
      "ip link set up0p up",
      "ip link set up1p up",
      "ip link set up0 up",
      "ip link set up1 up",
      "ip addr add 192.0.2.1/30 dev up0",
      "ip addr add 192.0.2.5/30 dev up1",
      "ip neigh replace 192.0.2.2 lladdr 02:00:c0:00:02:02 dev up0 nud permanent",
      "ip neigh replace 192.0.2.6 lladdr 02:00:c0:00:02:06 dev up1 nud permanent",
      "sysctl -qw net.ipv4.conf.up0.forwarding=1",
      "sysctl -qw net.ipv4.conf.up1.forwarding=1",
  };
  for (int i : {1, 2, 3, 4, 9}) {
    const std::string n = "vm" + std::to_string(i);
    char mac[32];
    std::snprintf(mac, sizeof mac, "02:aa:00:00:00:%02x", i);
    cmds.push_back("ip link add " + n + " address " + mac + " type veth peer name " + n + "p");
    cmds.push_back("ip link set " + n + "p up");
    cmds.push_back("ip link set " + n + " up");
  }
  for (const auto& c : cmds)
    if (std::string err = Sh(c); !err.empty()) return err;

  auto env = std::make_unique<Env>();
  env->state = TestState();
  if (absl::Status s = ValidateState(env->state); !s.ok())
    return "ValidateState: " + std::string(s.message());

  env->ul0_ifindex = if_nametoindex("ul0");
  if (env->ul0_ifindex == 0) return "ul0 has no ifindex";
  NodeSettings settings;
  settings.node = "hv1";
  settings.underlay_ifindex = env->ul0_ifindex;
  settings.underlay_mtu = 1500;
  auto tables = BuildNodeTables(
      env->state, settings, [](const std::string& name) { return if_nametoindex(name.c_str()); });
  if (!tables.ok()) return "BuildNodeTables: " + tables.status().ToString();
  env->tables = *std::move(tables);

  auto dp = Datapath::Load("");
  if (!dp.ok()) return "Datapath::Load: " + dp.status().ToString();
  env->datapath = *std::move(dp);
  if (absl::Status s = env->datapath->Apply(env->tables); !s.ok())
    return "Datapath::Apply: " + s.ToString();

  // Read back, so a test failing on MACs can tell a setup problem apart.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "ul0", IFNAMSIZ - 1);
  if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
    if (fd >= 0) close(fd);
    return std::string("SIOCGIFHWADDR ul0: ") + std::strerror(errno);
  }
  close(fd);
  std::memcpy(env->ul0_mac.data(), ifr.ifr_hwaddr.sa_data, 6);

  *out = env.release();  // lives until the process exits, with its namespace
  return "";
}

}  // namespace

absl::StatusOr<Env*> SharedEnv() {
  static std::once_flag once;
  static Env* env = nullptr;
  static std::string error;
  std::call_once(once, [] { error = SetUpEnv(&env); });
  if (!error.empty()) return absl::FailedPreconditionError("fixture setup failed: " + error);
  return env;
}

State TestState() {
  State s;
  s.version = 1;
  s.nodes = {
      {.name = "hv1", .vtep = Ip("198.18.0.1"), .foreign = false},
      {.name = "hv2", .vtep = Ip("198.18.0.2"), .foreign = false},
      {.name = "lx1", .vtep = Ip("198.18.0.3"), .foreign = true},
  };
  s.tenants = {
      {.name = "blue", .id = 1, .default_action = FirewallAction::kAllow},
      {.name = "red", .id = 2, .default_action = FirewallAction::kAllow},
  };
  s.segments = {
      {.name = "blue-a",
       .tenant = "blue",
       .vni = kVniBlueA,
       .subnet = Prefix("10.0.1.0", 24),
       .gateway = Ip("10.0.1.1"),
       .gateway_mac = kBlueGwMac,
       .subnet6 = Ipv6Prefix{Ip6("2001:db8:1::"), 64},
       .gateway6 = kGwA6},
      {.name = "blue-b",
       .tenant = "blue",
       .vni = kVniBlueB,
       .subnet = Prefix("10.0.2.0", 24),
       .gateway = Ip("10.0.2.1"),
       .gateway_mac = kBlueGwMac},
      {.name = "red-a",
       .tenant = "red",
       .vni = kVniRedA,
       .subnet = Prefix("10.0.1.0", 24),
       .gateway = Ip("10.0.1.1"),
       .gateway_mac = kRedGwMac,
       .subnet6 = Ipv6Prefix{Ip6("2001:db8:1::"), 64},
       .gateway6 = kGwA6},
      {.name = "red-b",
       .tenant = "red",
       .vni = kVniRedB,
       .subnet = Prefix("10.0.2.0", 24),
       .gateway = Ip("10.0.2.1"),
       .gateway_mac = kRedGwMac},
  };
  auto ep = [](const char* name, const char* seg, uint32_t ip, const Mac& mac, const char* node,
               const char* ifname, std::optional<Ipv6Address> ip6 = std::nullopt) {
    return Endpoint{.name = name,
                    .segment = seg,
                    .ip = ip,
                    .mac = mac,
                    .node = node,
                    .interface = ifname,
                    .ip6 = ip6};
  };
  s.endpoints = {
      ep("blue-vm1", "blue-a", kVm1Ip, kVm1Mac, "hv1", "vm1", kVm1Ip6),
      ep("blue-vm2", "blue-b", kVm2Ip, kVm2Mac, "hv1", "vm2"),
      ep("red-vm3", "red-a", kVm3Ip, kVm3Mac, "hv1", "vm3", kVm3Ip6),
      ep("blue-vm4", "blue-a", kVm4Ip, kVm4Mac, "hv1", "vm4", kVm4Ip6),
      ep("blue-hv2-a", "blue-a", kBlueHv2AIp, kBlueHv2AMac, "hv2", "tap-a", kBlueHv2AIp6),
      ep("blue-hv2-b", "blue-b", kBlueHv2BIp, kBlueHv2BMac, "hv2", "tap-b"),
      ep("red-hv2-b", "red-b", kRedHv2BIp, kRedHv2BMac, "hv2", "tap-c"),
      ep("blue-lx1", "blue-a", kBlueLx1Ip, kBlueLx1Mac, "lx1", ""),
  };
  s.routes = {
      {.tenant = "blue",
       .prefix = Prefix("10.9.0.0", 16),
       .blackhole = false,
       .nodes = {"hv2", "lx1"},
       .segment = "blue-a"},
      {.tenant = "blue",
       .prefix = Prefix("10.66.0.0", 16),
       .blackhole = true,
       .nodes = {},
       .segment = ""},
  };
  s.routes6 = {
      {.tenant = "blue",
       .prefix = Ipv6Prefix{Ip6("2001:db8:9::"), 48},
       .blackhole = false,
       .nodes = {"hv2", "lx1"},
       .segment = "blue-a"},
      {.tenant = "blue",
       .prefix = Ipv6Prefix{Ip6("2001:db8:66::"), 48},
       .blackhole = true,
       .nodes = {},
       .segment = ""},
  };
  return s;
}

Bytes FromHv2(uint32_t vni, const Bytes& inner) {
  VxlanSpec s;
  s.outer_dst = kUl0Mac;
  s.outer_src = kHv2Mac;
  s.outer_src_ip = kHv2Vtep;
  s.outer_dst_ip = kHv1Vtep;
  s.vni = vni;
  return VxlanFrame(s, inner);
}

int RunResult::Reason() const {
  int found = -1;
  uint64_t total = 0;
  for (int r = 0; r < WEFT_REASON_COUNT; ++r) {
    total += counted[r];
    if (counted[r]) found = r;
  }
  return total == 1 ? found : -1;
}

std::string RunResult::CountedString() const {
  std::string s;
  for (int r = 0; r < WEFT_REASON_COUNT; ++r)
    if (counted[r]) {
      if (!s.empty()) s += " ";
      s += std::string(ReasonLabel(r)) + "=" + std::to_string(counted[r]);
    }
  return s.empty() ? "(nothing counted)" : s;
}

std::string ReasonName(int reason) {
  static const char* const kNames[] = {
#define WEFT_REASON_NAME_(name, label) "WEFT_" #name " (" label ")",
      WEFT_REASONS(WEFT_REASON_NAME_)
#undef WEFT_REASON_NAME_
  };
  if (reason < 0 || reason >= WEFT_REASON_COUNT) return "none";
  return kNames[reason];
}

void BpfTest::SetUp() {
  if (geteuid() != 0) {
    if (std::getenv("CI") != nullptr)
      GTEST_FAIL() << "BPF tests need root (BPF_PROG_TEST_RUN, a network namespace); CI is set";
    std::printf("note: not root, skipping: BPF_PROG_TEST_RUN tests need root\n");
    GTEST_SKIP() << "not root: BPF_PROG_TEST_RUN tests need root (CAP_BPF, CAP_NET_ADMIN)";
  }
  absl::StatusOr<Env*> env = SharedEnv();
  ASSERT_TRUE(env.ok()) << env.status();
  env_ = *env;
}

uint32_t BpfTest::IfIndex(std::string_view ifname) {
  return if_nametoindex(std::string(ifname).c_str());
}

Mac BpfTest::IfMac(std::string_view ifname) {
  Mac m{};
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return m;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, std::string(ifname).c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) std::memcpy(m.data(), ifr.ifr_hwaddr.sa_data, 6);
  close(fd);
  return m;
}

RunResult BpfTest::RunTc(int prog_fd, std::string_view ifname, const Bytes& packet) const {
  return Run(prog_fd, Hook::kTc, ifname, packet);
}

RunResult BpfTest::RunXdp(int prog_fd, std::string_view ifname, const Bytes& packet) const {
  return Run(prog_fd, Hook::kXdp, ifname, packet);
}

RunResult BpfTest::Run(int prog_fd, Hook hook, std::string_view ifname, const Bytes& packet) const {
  RunResult r;
  const uint32_t ifindex = IfIndex(ifname);
  if (ifindex == 0) {
    r.status = absl::NotFoundError(absl::StrCat("no interface ", std::string(ifname)));
    ADD_FAILURE() << r.status;
    return r;
  }
  auto before = ReadCounters(dp());
  if (!before.ok()) {
    ADD_FAILURE() << "ReadCounters: " << before.status();
    r.status = before.status();
    return r;
  }

  absl::StatusOr<ProgTestRunOutput> run =
      ProgTestRun({.prog_fd = prog_fd, .hook = hook, .ingress_ifindex = ifindex, .frame = packet});
  r.status = run.status();
  if (run.ok()) {
    r.retval = run->retval;
    r.out = std::move(run->frame);
  }

  auto after = ReadCounters(dp());
  if (!after.ok()) {
    ADD_FAILURE() << "ReadCounters: " << after.status();
    return r;
  }
  for (int i = 0; i < WEFT_REASON_COUNT; ++i)
    r.counted[i] = (*after)[i].packets - (*before)[i].packets;
  return r;
}

}  // namespace weft::testing
