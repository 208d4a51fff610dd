#include "tests/bpf/checks.h"

#include <algorithm>

namespace weft::testing {

std::string TcRetName(uint32_t r) {
  switch (r) {
    case kTcOk:
      return "TC_ACT_OK";
    case kTcShot:
      return "TC_ACT_SHOT";
    case kTcRedirect:
      return "TC_ACT_REDIRECT";
    default:
      return "TC " + std::to_string(r);
  }
}

std::string XdpRetName(uint32_t r) {
  switch (r) {
    case 0:
      return "XDP_ABORTED";
    case kXdpDrop:
      return "XDP_DROP";
    case kXdpPass:
      return "XDP_PASS";
    case kXdpTx:
      return "XDP_TX";
    case kXdpRedirect:
      return "XDP_REDIRECT";
    default:
      return "XDP " + std::to_string(r);
  }
}

Mac VtepMac(uint32_t vtep) {
  if (vtep == kHv2Vtep) return kHv2Mac;
  if (vtep == kLx1Vtep) return kLx1Mac;
  return kZeroMac;
}

void ExpectReasonIn(const RunResult& r, const std::vector<int>& reasons) {
  std::vector<std::string> names;
  for (int w : reasons) names.push_back(ReasonName(w));
  EXPECT_TRUE(std::find(reasons.begin(), reasons.end(), r.Reason()) != reasons.end())
      << "counted: " << r.CountedString() << "; want " << ::testing::PrintToString(names);
}

void ExpectOutput(const Check& check, const Bytes& in, const RunResult& r, const Env& env) {
  if (!check) return;
  Parsed p = Parse(r.out);
  check(Seen{in, r.out, p, env});
}

void PrintFramesOnFailure(const Bytes& in, const RunResult& r) {
  if (::testing::Test::HasFailure())
    std::printf("input:\n%s\noutput (%zu bytes):\n%s\n", HexDump(in).c_str(), r.out.size(),
                HexDump(r.out).c_str());
}

bool TcRefusedShortIpv4(const RunResult& r, const Bytes& in) {
  return absl::IsInvalidArgument(r.status) && in.size() < 34 && in.size() >= 14 && in[12] == 0x08 &&
         in[13] == 0;
}

void ExpectUnchanged(const Seen& s) {
  EXPECT_EQ(s.out, s.in) << "output differs from input\nin:\n"
                         << HexDump(s.in) << "\nout:\n"
                         << HexDump(s.out);
}

Parsed ExpectVxlanFromHv1(const Seen& s, uint32_t vtep, uint32_t vni) {
  const Parsed& p = s.p;
  EXPECT_TRUE(p.error.empty()) << p.error;
  if (!p.eth || !p.ipv4 || !p.udp || !p.vxlan) {
    ADD_FAILURE() << "not a VXLAN packet:\n" << HexDump(s.out);
    return Parsed{};
  }
  // Either the program wrote the outer MACs (from bpf_fib_lookup), or it left
  // them to bpf_redirect_neigh, which fills them in on transmit -- a step
  // BPF_PROG_TEST_RUN does not perform, so they read as zero here.
  if (p.eth->src == kZeroMac && p.eth->dst == kZeroMac) {
    static bool told = false;
    if (!told) std::printf("note: outer MACs zero: left to bpf_redirect_neigh\n");
    told = true;
  } else {
    EXPECT_EQ(FormatMac(p.eth->src), FormatMac(s.env.ul0_mac)) << "outer source MAC: ul0's";
    EXPECT_EQ(FormatMac(p.eth->dst), FormatMac(VtepMac(vtep))) << "outer dest MAC: the neighbour's";
  }
  EXPECT_EQ(p.eth->ethertype, kEthIpv4);
  EXPECT_FALSE(p.eth->vlan.has_value());
  const Ipv4View& ip = *p.ipv4;
  EXPECT_EQ(ip.version, 4);
  EXPECT_EQ(ip.ihl, 5);
  EXPECT_EQ(FormatIpv4(ip.src), FormatIpv4(kHv1Vtep));
  EXPECT_EQ(FormatIpv4(ip.dst), FormatIpv4(vtep));
  EXPECT_TRUE(ip.checksum_ok) << "outer IPv4 checksum 0x" << std::hex << ip.checksum;
  EXPECT_EQ(ip.ttl, 64);
  EXPECT_EQ(ip.proto, kProtoUdp);
  EXPECT_FALSE(ip.mf);
  EXPECT_EQ(ip.frag_offset, 0);
  EXPECT_EQ(ip.total_length, s.out.size() - 14) << "outer IPv4 total length";
  EXPECT_EQ(p.udp->dport, 4789);
  EXPECT_GE(p.udp->sport, 49152);
  EXPECT_EQ(p.udp->length, s.out.size() - 14 - 20) << "outer UDP length";
  EXPECT_EQ(p.vxlan->flags, 0x08);
  EXPECT_EQ(p.vxlan->vni, vni);
  EXPECT_EQ(p.vxlan->reserved_low, 0u) << "VXLAN reserved bits";
  EXPECT_EQ(p.inner.size() + 50, s.out.size());
  return p.Inner();
}

void ExpectRouted(const Bytes& in, const Bytes& out, const Mac& src, const Mac& dst) {
  Parsed a = Parse(in), b = Parse(out);
  if (!b.eth || !b.ipv4 || !a.ipv4) {
    ADD_FAILURE() << "routed output is not IPv4:\n" << HexDump(out);
    return;
  }
  EXPECT_EQ(FormatMac(b.eth->dst), FormatMac(dst)) << "destination MAC";
  EXPECT_EQ(FormatMac(b.eth->src), FormatMac(src)) << "source MAC";
  EXPECT_EQ(b.eth->ethertype, kEthIpv4);
  EXPECT_EQ(b.ipv4->ttl, a.ipv4->ttl - 1) << "TTL decremented once";
  EXPECT_TRUE(b.ipv4->checksum_ok)
      << "IPv4 checksum after TTL decrement: 0x" << std::hex << b.ipv4->checksum;
  ASSERT_EQ(out.size(), in.size());
  // Everything after the MACs except TTL (offset 22) and checksum (24, 25).
  for (size_t i = 12; i < in.size(); ++i) {
    if (i == 22 || i == 24 || i == 25) continue;
    EXPECT_EQ(out[i], in[i]) << "byte " << i << " changed by routing";
  }
}

void ExpectArpReply(const Parsed& p, const Mac& mac, uint32_t ip, const Mac& to_mac,
                    uint32_t to_ip) {
  if (!p.eth || !p.arp) {
    ADD_FAILURE() << "not ARP:\n" << HexDump(p.raw);
    return;
  }
  EXPECT_EQ(FormatMac(p.eth->dst), FormatMac(to_mac)) << "Ethernet destination";
  EXPECT_EQ(FormatMac(p.eth->src), FormatMac(mac)) << "Ethernet source";
  EXPECT_EQ(p.arp->htype, 1);
  EXPECT_EQ(p.arp->ptype, kEthIpv4);
  EXPECT_EQ(p.arp->hlen, 6);
  EXPECT_EQ(p.arp->plen, 4);
  EXPECT_EQ(p.arp->op, kArpReply);
  EXPECT_EQ(FormatMac(p.arp->sha), FormatMac(mac)) << "ARP sender MAC (the answer)";
  EXPECT_EQ(FormatIpv4(p.arp->spa), FormatIpv4(ip)) << "ARP sender IP";
  EXPECT_EQ(FormatMac(p.arp->tha), FormatMac(to_mac)) << "ARP target MAC";
  EXPECT_EQ(FormatIpv4(p.arp->tpa), FormatIpv4(to_ip)) << "ARP target IP";
}

void ExpectIcmpErrorBack(const Bytes& in, const Parsed& p, uint8_t type, uint8_t code,
                         uint32_t rest, uint32_t from_ip, const Mac& from_mac) {
  Parsed orig = Parse(in);
  ASSERT_TRUE(orig.eth && orig.ipv4);
  EXPECT_TRUE(p.error.empty()) << p.error;
  if (!p.eth || !p.ipv4 || !p.icmp) {
    ADD_FAILURE() << "not an ICMP packet:\n" << HexDump(p.raw);
    return;
  }
  EXPECT_EQ(FormatMac(p.eth->dst), FormatMac(orig.eth->src)) << "back to the sender's MAC";
  EXPECT_EQ(FormatMac(p.eth->src), FormatMac(from_mac)) << "from the gateway MAC";
  EXPECT_EQ(p.ipv4->ihl, 5);
  EXPECT_TRUE(p.ipv4->checksum_ok) << "IPv4 checksum";
  EXPECT_EQ(FormatIpv4(p.ipv4->src), FormatIpv4(from_ip));
  EXPECT_EQ(FormatIpv4(p.ipv4->dst), FormatIpv4(orig.ipv4->src));
  EXPECT_GT(p.ipv4->ttl, 1);
  EXPECT_EQ(p.ipv4->proto, kProtoIcmp);
  EXPECT_EQ(p.ipv4->total_length, p.raw.size() - 14);
  EXPECT_EQ(p.icmp->type, type);
  EXPECT_EQ(p.icmp->code, code);
  EXPECT_TRUE(p.icmp->checksum_ok) << "ICMP checksum 0x" << std::hex << p.icmp->checksum;
  EXPECT_EQ(p.icmp->rest, rest) << "ICMP rest of header";
  // RFC 792 / 1812: the original IP header and at least 8 bytes of its data.
  const size_t quote = orig.ipv4->ihl * 4u + 8;
  ASSERT_GE(p.icmp->payload.size(), quote) << "quote too short";
  EXPECT_TRUE(std::equal(in.begin() + 14, in.begin() + 14 + quote, p.icmp->payload.begin()))
      << "quote is not the original header + 8 bytes\nin:\n"
      << HexDump(in) << "\nout:\n"
      << HexDump(p.raw);
  EXPECT_LE(p.raw.size(), 14u + 576u) << "ICMP error longer than 576 bytes";
}

}  // namespace weft::testing
