// The BPF_PROG_TEST_RUN fixture: a private network namespace with the
// interfaces the programs look up, a two-tenant state loaded into the real
// datapath, and helpers that run one packet through a program and report the
// verdict, the output bytes and which reason counters moved.
//
// Everything root-only happens lazily, in the first test's SetUp, never at
// static initialisation: gtest_discover_tests runs this binary with
// --gtest_list_tests at build time, unprivileged.
//
// The kernel here has no dummy interfaces (CONFIG_DUMMY unset), so every
// interface is the near end of a veth pair whose far end is "<name>p".
#ifndef WEFT_TESTS_BPF_FIXTURE_H_
#define WEFT_TESTS_BPF_FIXTURE_H_

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "agent/datapath/attach.h"
#include "agent/datapath/datapath.h"
#include "agent/datapath/maps/counters.h"
#include "common/model/net_format.h"
#include "common/model/state.h"
#include "common/packet/builder.h"
#include "common/packet/parser.h"
#include "common/plan/tables.h"
#include "weft/abi.h"

namespace weft::testing {

// The tables are written in packets: builders, parser and constants.
using namespace ::weft::packet;  // NOLINT(build/namespaces)

// --- the test topology ---------------------------------------------------------
// Underlay: this node hv1 on ul0 (198.18.0.1/24); hv2 198.18.0.2 (Weft);
// lx1 198.18.0.3 (foreign, a plain Linux vxlan peer).
inline constexpr Mac kUl0Mac = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x01};
inline constexpr Mac kHv2Mac = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x02};
inline constexpr Mac kLx1Mac = {0x02, 0x00, 0xc6, 0x12, 0x00, 0x03};
inline const uint32_t kHv1Vtep = Ip("198.18.0.1");
inline const uint32_t kHv2Vtep = Ip("198.18.0.2");
inline const uint32_t kLx1Vtep = Ip("198.18.0.3");
inline const uint32_t kUnknownVtep = Ip("198.18.0.99");

inline constexpr uint32_t kBlueTenant = 1;  // tenant ids
inline constexpr uint32_t kRedTenant = 2;

inline constexpr Mac kBlueGwMac = {0x02, 0xfe, 0x00, 0x00, 0x00, 0x01};
inline constexpr Mac kRedGwMac = {0x02, 0xfe, 0x00, 0x00, 0x00, 0x02};
// Segments: blue-a 10.0.1.0/24 VNI 1001, blue-b 10.0.2.0/24 VNI 1002,
// red-a 10.0.1.0/24 VNI 2001, red-b 10.0.2.0/24 VNI 2002; gateways .1.
inline constexpr uint32_t kVniBlueA = 1001;
inline constexpr uint32_t kVniBlueB = 1002;
inline constexpr uint32_t kVniRedA = 2001;
inline constexpr uint32_t kVniRedB = 2002;
inline const uint32_t kGwA = Ip("10.0.1.1");
inline const uint32_t kGwB = Ip("10.0.2.1");

// Endpoints. Local ones are bound to host-side interfaces vm1..vm4.
inline constexpr Mac kVm1Mac = {0x02, 0x01, 0x00, 0x00, 0x01, 0x0a};       // blue 10.0.1.10 vm1
inline constexpr Mac kVm2Mac = {0x02, 0x01, 0x00, 0x00, 0x02, 0x14};       // blue 10.0.2.20 vm2
inline constexpr Mac kVm3Mac = {0x02, 0x02, 0x00, 0x00, 0x01, 0x0a};       // red 10.0.1.10 vm3
inline constexpr Mac kVm4Mac = {0x02, 0x01, 0x00, 0x00, 0x01, 0x0c};       // blue 10.0.1.12 vm4
inline constexpr Mac kBlueHv2AMac = {0x02, 0x01, 0x00, 0x00, 0x01, 0x0b};  // blue 10.0.1.11 hv2
inline constexpr Mac kBlueHv2BMac = {0x02, 0x01, 0x00, 0x00, 0x02, 0x16};  // blue 10.0.2.22 hv2
inline constexpr Mac kRedHv2BMac = {0x02, 0x02, 0x00, 0x00, 0x02, 0x15};   // red 10.0.2.21 hv2
inline constexpr Mac kBlueLx1Mac = {0x02, 0x01, 0x00, 0x00, 0x01, 0x1e};   // blue 10.0.1.30 lx1
inline const uint32_t kVm1Ip = Ip("10.0.1.10");
inline const uint32_t kVm2Ip = Ip("10.0.2.20");
inline const uint32_t kVm3Ip = Ip("10.0.1.10");
inline const uint32_t kVm4Ip = Ip("10.0.1.12");
inline const uint32_t kBlueHv2AIp = Ip("10.0.1.11");
inline const uint32_t kBlueHv2BIp = Ip("10.0.2.22");
inline const uint32_t kRedHv2BIp = Ip("10.0.2.21");
inline const uint32_t kBlueLx1Ip = Ip("10.0.1.30");
// IPv6 (docs/design/DUAL_STACK.md): blue-a and red-a have 2001:db8:1::/64,
// gateway ::1 (tenants may overlap); blue-b has none.
inline const Ipv6Address kGwA6 = Ip6("2001:db8:1::1");
inline const Ipv6Address kVm1Ip6 = Ip6("2001:db8:1::10");
inline const Ipv6Address kVm3Ip6 = Ip6("2001:db8:1::10");  // red's
inline const Ipv6Address kVm4Ip6 = Ip6("2001:db8:1::12");
inline const Ipv6Address kBlueHv2AIp6 = Ip6("2001:db8:1::11");
// IPv6 routes: blue 2001:db8:9::/48 via hv2 and lx1 (ECMP, on blue-a), blue
// 2001:db8:66::/48 blackholed.
// A MAC nobody owns.
inline constexpr Mac kStrangerMac = {0x02, 0x99, 0x00, 0x00, 0x00, 0x99};

// Host-side interfaces: vm1..vm4 bound to endpoints, vm9 bound to none.
inline constexpr const char* kUnderlay = "ul0";

// Uplinks (an edge's): up0 blue's, transit 192.0.2.1/30 to the peer
// 192.0.2.2; up1 red's, 192.0.2.5/30 to 192.0.2.6. The peers' MACs are
// permanent neighbours. The fixture creates the interfaces; the uplink tests
// bind them (weft_uplinks) and add their routes for their own runs.
inline constexpr const char* kUplinkBlue = "up0";
inline constexpr const char* kUplinkRed = "up1";
inline constexpr Mac kUp0Mac = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x01};
inline constexpr Mac kUp1Mac = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x05};
inline constexpr Mac kBluePeerMac = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x02};
inline constexpr Mac kRedPeerMac = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x06};
inline const uint32_t kUp0Ip = Ip("192.0.2.1");
inline const uint32_t kBluePeerIp = Ip("192.0.2.2");
inline const uint32_t kUp1Ip = Ip("192.0.2.5");
inline const uint32_t kRedPeerIp = Ip("192.0.2.6");

// The state above (plus routes: blue 10.9.0.0/16 ECMP to hv2 and lx1 on
// blue-a; blue 10.66.0.0/16 blackhole).
State TestState();

// VXLAN from hv2 to hv1 (ul0) on `vni` around `inner`.
Bytes FromHv2(uint32_t vni, const Bytes& inner);

// --- running programs ------------------------------------------------------------

using Packets = std::array<uint64_t, WEFT_REASON_COUNT>;

struct RunResult {
  absl::Status status;  // of the run (ProgTestRun): InvalidArgument for EINVAL
  uint32_t retval = 0;
  Bytes out;
  Packets counted{};  // packets counted per reason during the run

  // The one reason counted, when exactly one packet was counted; else -1.
  int Reason() const;
  // "encap=1 spoofed=1" (for messages).
  std::string CountedString() const;
};

std::string ReasonName(int reason);  // "WEFT_ENCAP (encap)" or "none"

// What the fixture created; shared by all tests of the process.
struct Env {
  std::unique_ptr<Datapath> datapath;
  State state;
  NodeTables tables;
  Mac ul0_mac{};
  uint32_t ul0_ifindex = 0;
};

// The environment, set up on the first call (needs root): enters a private
// network namespace for the rest of the process. Without gtest, for the
// packet fuzzer (bench/packet_fuzz.cc) too.
absl::StatusOr<Env*> SharedEnv();

class BpfTest : public ::testing::Test {
 protected:
  void SetUp() override;

  const Env& env() const { return *env_; }
  Datapath& dp() const { return *env_->datapath; }
  static uint32_t IfIndex(std::string_view ifname);
  static Mac IfMac(std::string_view ifname);

  // Run `packet` through a TC program as if it arrived on `ifname`.
  RunResult RunTc(int prog_fd, std::string_view ifname, const Bytes& packet) const;
  // Run `packet` through an XDP program as if it arrived on `ifname`.
  RunResult RunXdp(int prog_fd, std::string_view ifname, const Bytes& packet) const;

 private:
  RunResult Run(int prog_fd, Hook hook, std::string_view ifname, const Bytes& packet) const;
  Env* env_ = nullptr;
};

}  // namespace weft::testing

#endif  // WEFT_TESTS_BPF_FIXTURE_H_
