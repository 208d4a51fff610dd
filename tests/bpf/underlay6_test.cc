// VXLAN over an IPv6 underlay (docs/DATAPATH.md "IPv6 underlay"), table-driven
// through the real programs: the fixture's fleet with hv1, hv2 and lx1 on
// IPv6 VTEPs whose last 32 bits are their IPv4 ones (so every endpoint and
// route the fixture wrote names them already), switched to the IPv6
// underlay for these tests only and back after each.
#include <arpa/inet.h>

#include <algorithm>
#include <string>
#include <vector>

#include "bpf/bpf.h"
#include "common/packet/builder.h"
#include "common/packet/parser.h"
#include "tests/bpf/checks.h"
#include "tests/bpf/fixture.h"
#include "tests/bpf/underlay_table.h"

namespace weft::testing {
namespace {

using Addr6 = std::array<uint8_t, 16>;

// 2001:db8:1::c612:<n>, the IPv6 twin of 198.18.0.<n>.
Addr6 Vtep6(uint8_t n) {
  Addr6 a = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0xc6, 0x12, 0, n};
  return a;
}
const Addr6 kHv1Vtep6 = Vtep6(1);
const Addr6 kHv2Vtep6 = Vtep6(2);
const Addr6 kLx1Vtep6 = Vtep6(3);

// `Base` with the fixture's state switched to an IPv6 underlay while a test
// runs.
template <typename Base>
class OnIpv6Underlay : public Base {
 protected:
  void SetUp() override {
    Base::SetUp();
    if (this->IsSkipped() || this->HasFatalFailure()) return;
    const uint32_t zero = 0;
    ASSERT_EQ(bpf_map_lookup_elem(this->dp().MapFd(Map::kConfig), &zero, &saved_), 0);
    weft_config v6 = saved_;
    v6.flags |= WEFT_CONFIG_F_UNDERLAY6;
    Put(kHv1Vtep6, WEFT_VTEP_LOCAL);
    Put(kHv2Vtep6, 0);
    Put(kLx1Vtep6, WEFT_VTEP_FOREIGN);
    ASSERT_EQ(bpf_map_update_elem(this->dp().MapFd(Map::kConfig), &zero, &v6, BPF_EXIST), 0);
  }
  void TearDown() override {
    const uint32_t zero = 0;
    if (saved_.underlay_ifindex != 0) {
      EXPECT_EQ(bpf_map_update_elem(this->dp().MapFd(Map::kConfig), &zero, &saved_, BPF_EXIST), 0);
    }
    for (const Addr6& a : {kHv1Vtep6, kHv2Vtep6, kLx1Vtep6}) {
      const __be32 ref = Ref(a);
      bpf_map_delete_elem(this->dp().MapFd(Map::kVtep6), &ref);
    }
  }

  static __be32 Ref(const Addr6& a) {
    __be32 ref;
    std::copy(a.begin() + 12, a.end(), reinterpret_cast<uint8_t*>(&ref));
    return ref;
  }
  void Put(const Addr6& a, uint32_t flags) {
    weft_vtep6 v{};
    std::copy(a.begin(), a.end(), v.addr);
    v.flags = flags;
    const __be32 ref = Ref(a);
    ASSERT_EQ(bpf_map_update_elem(this->dp().MapFd(Map::kVtep6), &ref, &v, BPF_ANY), 0);
  }

  weft_config saved_{};
};

using Underlay6Test = OnIpv6Underlay<BpfTest>;

// VXLAN over IPv6 from `src` (with its underlay MAC) to `dst`.
Bytes From6(const Addr6& src, const Mac& src_mac, const Addr6& dst, uint32_t vni,
            const Bytes& inner) {
  Vxlan6Spec s;
  s.outer_dst = kUl0Mac;
  s.outer_src = src_mac;
  s.outer_src_ip = src;
  s.outer_dst_ip = dst;
  s.sport = 51234;
  s.vni = vni;
  return Vxlan6Frame(s, inner);
}

Bytes InnerUdp(const Mac& smac, uint32_t sip, const Mac& dmac, uint32_t dip) {
  return UdpFrame(dmac, smac, sip, dip, 40000, 5001, 16, 64);
}

constexpr size_t kOuter6 = 14 + 40 + 8 + 8;  // Ethernet, IPv6, UDP, VXLAN

Addr6 At(const Bytes& b, size_t offset) {
  Addr6 a{};
  std::copy(b.begin() + offset, b.begin() + offset + 16, a.begin());
  return a;
}
uint16_t Get16(const Bytes& b, size_t offset) { return uint16_t(b[offset] << 8 | b[offset + 1]); }

// Outer Ethernet/IPv6/UDP/VXLAN of `out`, well formed, from `src` to `dst`
// on `vni`, and the lengths agreeing with the frame.
void ExpectVxlan6(const Bytes& out, const Addr6& src, const Addr6& dst, uint32_t vni) {
  ASSERT_GE(out.size(), kOuter6 + 14);
  EXPECT_EQ(Get16(out, 12), kEthIpv6);
  EXPECT_EQ(out[14] >> 4, 6);
  EXPECT_EQ(Get16(out, 18), out.size() - 14 - 40) << "payload length";
  EXPECT_EQ(out[20], kProtoUdp) << "UDP right after the IPv6 header";
  EXPECT_GT(out[21], 1) << "hop limit";
  EXPECT_EQ(At(out, 22), src);
  EXPECT_EQ(At(out, 38), dst);
  EXPECT_EQ(Get16(out, 56), 4789);
  EXPECT_EQ(Get16(out, 58), out.size() - 14 - 40) << "UDP length";
  EXPECT_EQ(Get16(out, 60), 0) << "a zero UDP checksum (RFC 6935), never a stale one";
  EXPECT_EQ(out[62], 0x08);
  EXPECT_EQ(uint32_t(out[66] << 16 | out[67] << 8 | out[68]), vni);
}

// One row per case reads better than one field per line.
// clang-format off
std::vector<UnderlayCase> Underlay6Cases() {
  const Bytes to_vm1 = InnerUdp(kBlueHv2AMac, kBlueHv2AIp, kVm1Mac, kVm1Ip);
  auto inner_only = [to_vm1](const Seen& s) { EXPECT_EQ(s.out, to_vm1); };
  std::vector<UnderlayCase> c;
  c.push_back({"DeliveredToVm1", [=] { return From6(kHv2Vtep6, kHv2Mac, kHv1Vtep6, kVniBlueA, to_vm1); },
               Verdict::kRedirect, {WEFT_DECAP}, inner_only});
  c.push_back({"FromForeignToVm4",
               [=] { return From6(kLx1Vtep6, kLx1Mac, kHv1Vtep6, kVniBlueA,
                                  InnerUdp(kBlueLx1Mac, kBlueLx1Ip, kVm4Mac, kVm4Ip)); },
               Verdict::kRedirect, {WEFT_DECAP}, nullptr});
  c.push_back({"FromUnknownVtep",
               [=] { Addr6 a = Vtep6(99); return From6(a, kStrangerMac, kHv1Vtep6, kVniBlueA, to_vm1); },
               Verdict::kDrop, {WEFT_DROP_UNKNOWN_VTEP}, nullptr});
  // The last 32 bits name hv2; the rest of the address is not hv2's.
  c.push_back({"SameLast32BitsOtherPrefix",
               [=] { Addr6 a = kHv2Vtep6; a[5] = 2; return From6(a, kHv2Mac, kHv1Vtep6, kVniBlueA, to_vm1); },
               Verdict::kDrop, {WEFT_DROP_UNKNOWN_VTEP}, nullptr});
  c.push_back({"FromOwnAddress",
               [=] { return From6(kHv1Vtep6, kHv2Mac, kHv1Vtep6, kVniBlueA, to_vm1); },
               Verdict::kDrop, {WEFT_DROP_UNKNOWN_VTEP}, nullptr});
  c.push_back({"ToAnotherAddressPasses",
               [=] { return From6(kHv2Vtep6, kHv2Mac, Vtep6(77), kVniBlueA, to_vm1); },
               Verdict::kPass, {WEFT_PASS_HOST}, nullptr});
  // Extension headers and ICMPv6 (the underlay's neighbour discovery) are the host's.
  c.push_back({"HopByHopHeaderPasses",
               [=] {
                 Ipv6Spec ip;
                 ip.src = kHv2Vtep6;
                 ip.dst = kHv1Vtep6;
                 ip.next_header = 0;
                 Bytes hbh = {kProtoUdp, 0, 1, 4, 0, 0, 0, 0};
                 return Eth(kUl0Mac, kHv2Mac, kEthIpv6,
                            Ipv6(ip, Concat(hbh, Udp(51234, 4789, Vxlan(kVniBlueA, to_vm1)))));
               },
               Verdict::kPass, {WEFT_PASS_HOST}, nullptr});
  c.push_back({"Icmpv6Passes",
               [=] {
                 Ipv6Spec ip;
                 ip.src = kHv2Vtep6;
                 ip.dst = kHv1Vtep6;
                 ip.next_header = 58;
                 return Eth(kUl0Mac, kHv2Mac, kEthIpv6, Ipv6(ip, Bytes{135, 0, 0, 0, 0, 0, 0, 0}));
               },
               Verdict::kPass, {WEFT_PASS_HOST}, nullptr});
  c.push_back({"PayloadLengthShortOfFrame",
               [=] {
                 Bytes f = From6(kHv2Vtep6, kHv2Mac, kHv1Vtep6, kVniBlueA, to_vm1);
                 f[18] = 0;
                 f[19] = 20;
                 return f;
               },
               Verdict::kDrop, {WEFT_DROP_TRUNCATED}, nullptr});
  c.push_back({"TrailingBytesPastPacket",
               [=] {
                 Bytes f = From6(kHv2Vtep6, kHv2Mac, kHv1Vtep6, kVniBlueA, to_vm1);
                 f.resize(f.size() + 16, 0x5a);
                 return f;
               },
               Verdict::kDrop, {WEFT_DROP_TRUNCATED}, nullptr});
  // On an IPv6 underlay, IPv4 VXLAN is not Weft's, even to an address
  // whose bits the node's reference happens to hold.
  c.push_back({"Ipv4VxlanPasses",
               [=] {
                 VxlanSpec s;
                 s.outer_dst = kUl0Mac;
                 s.outer_src = kHv2Mac;
                 s.outer_src_ip = kHv2Vtep;
                 s.outer_dst_ip = kHv1Vtep;
                 s.vni = kVniBlueA;
                 return VxlanFrame(s, to_vm1);
               },
               Verdict::kPass, {WEFT_PASS_HOST}, nullptr});
  // A foreign VTEP's ARP for a local VM, answered back through the tunnel.
  c.push_back({"ArpFromForeignAnswered",
               [=] { return From6(kLx1Vtep6, kLx1Mac, kHv1Vtep6, kVniBlueA,
                                  ArpRequestFrame(kBlueLx1Mac, kBlueLx1Ip, kVm1Ip)); },
               Verdict::kTx, {WEFT_ARP_REPLY},
               [](const Seen& s) {
                 const Bytes& out = s.out;
                 ExpectVxlan6(out, kHv1Vtep6, kLx1Vtep6, kVniBlueA);
                 Mac dst{};
                 std::copy(out.begin(), out.begin() + 6, dst.begin());
                 EXPECT_EQ(FormatMac(dst), FormatMac(kLx1Mac)) << "outer MACs swapped";
                 Bytes inner(out.begin() + kOuter6, out.end());
                 ExpectArpReply(Parse(inner), kVm1Mac, kVm1Ip, kBlueLx1Mac, kBlueLx1Ip);
               }});
  return c;
}
// clang-format on

class Underlay6DecapTest : public OnIpv6Underlay<UnderlayTableTest> {};

TEST_P(Underlay6DecapTest, Verdict) { RunCase(); }

INSTANTIATE_TEST_SUITE_P(Underlay6, Underlay6DecapTest,
                         ::testing::ValuesIn(OnBothHooks(Underlay6Cases())), UnderlayParamName);

// A VM's packet to a remote endpoint leaves in VXLAN over IPv6: from hv1's
// address to hv2's, the inner frame untouched; and the path MTU left to the
// VM is the underlay's less 70 bytes of headers, not 50.
TEST_F(Underlay6Test, EncapsulatesTowardsTheRemoteVtepsIpv6Address) {
  const Bytes in = UdpFrame(kBlueHv2AMac, kVm1Mac, kVm1Ip, kBlueHv2AIp, 40000, 5001, 64, 64);
  RunResult r = RunTc(dp().VmProgramFd(), "vm1", in);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(TcRetName(r.retval), TcRetName(kTcRedirect));
  EXPECT_EQ(ReasonName(r.Reason()), ReasonName(WEFT_ENCAP)) << r.CountedString();
  ExpectVxlan6(r.out, kHv1Vtep6, kHv2Vtep6, kVniBlueA);
  EXPECT_EQ(Bytes(r.out.begin() + kOuter6, r.out.end()), in) << "the inner frame as sent";
}

TEST_F(Underlay6Test, PathMtuLeavesRoomForTheIpv6Header) {
  // 1430 bytes of IPv4 fill a 1500-byte underlay exactly; 1431 do not.
  RunResult fits =
      RunTc(dp().VmProgramFd(), "vm1",
            UdpFrameOfIpLength(kBlueHv2AMac, kVm1Mac, kVm1Ip, kBlueHv2AIp, 1430, true));
  ASSERT_TRUE(fits.status.ok()) << fits.status;
  EXPECT_EQ(ReasonName(fits.Reason()), ReasonName(WEFT_ENCAP)) << fits.CountedString();
  EXPECT_EQ(fits.out.size(), 14u + 1500u);

  const Bytes big = UdpFrameOfIpLength(kBlueHv2AMac, kVm1Mac, kVm1Ip, kBlueHv2AIp, 1431, true);
  RunResult refused = RunTc(dp().VmProgramFd(), "vm1", big);
  ASSERT_TRUE(refused.status.ok()) << refused.status;
  EXPECT_EQ(ReasonName(refused.Reason()), ReasonName(WEFT_ICMP_ERROR)) << refused.CountedString();
  ExpectIcmpErrorBack(big, Parse(refused.out), 3, 4, 1430, kGwA, kBlueGwMac);
}

}  // namespace
}  // namespace weft::testing
