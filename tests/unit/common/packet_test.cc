// The packet builder and parser themselves (no root, no BPF): known
// checksums, layouts and round trips, so a BPF test or trace failure is
// never the builder's; and the text forms of protocols and TCP flags.
#include "common/packet/packet.h"

#include <gtest/gtest.h>

#include "common/model/net_format.h"
#include "common/packet/builder.h"
#include "common/packet/parser.h"

namespace weft::packet {
namespace {

TEST(PacketTest, Ipv4HeaderChecksumKnownValue) {
  // The worked example of Wikipedia's "IPv4 header checksum":
  // 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
  Ipv4Spec s;
  s.src = Ip("192.168.0.1");
  s.dst = Ip("192.168.0.199");
  s.proto = kProtoUdp;
  s.id = 0;
  s.df = true;
  s.ttl = 64;
  s.total_length = 0x0073;
  Bytes h = Ipv4(s, {});
  ASSERT_EQ(h.size(), 20u);
  EXPECT_EQ(h[10], 0xb8);
  EXPECT_EQ(h[11], 0x61);
  EXPECT_EQ(InternetChecksum(h.data(), h.size()), 0);
}

TEST(PacketTest, Ipv4FieldsRoundTrip) {
  Ipv4Spec s;
  s.src = Ip("10.0.1.10");
  s.dst = Ip("10.0.2.20");
  s.ttl = 7;
  s.tos = 0xb8;
  s.mf = true;
  s.frag_offset = 3;
  s.options = {0x01, 0x01};  // padded to 4
  Bytes f =
      Ipv4Frame(MacFrom("02:00:00:00:00:02"), MacFrom("02:00:00:00:00:01"), s, Bytes(12, 0xee));
  Parsed p = Parse(f);
  ASSERT_TRUE(p.eth && p.ipv4) << p.error;
  EXPECT_EQ(FormatMac(p.eth->dst), "02:00:00:00:00:02");
  EXPECT_EQ(p.ipv4->ihl, 6);
  EXPECT_EQ(p.ipv4->ttl, 7);
  EXPECT_EQ(p.ipv4->tos, 0xb8);
  EXPECT_TRUE(p.ipv4->mf);
  EXPECT_FALSE(p.ipv4->df);
  EXPECT_EQ(p.ipv4->frag_offset, 3);
  EXPECT_EQ(p.ipv4->total_length, 24 + 12);
  EXPECT_TRUE(p.ipv4->checksum_ok);
  EXPECT_EQ(FormatIpv4(p.ipv4->src), "10.0.1.10");
  f[14 + 8] ^= 1;  // flip TTL: checksum must no longer hold
  EXPECT_FALSE(Parse(f).ipv4->checksum_ok);
}

TEST(PacketTest, UdpChecksumVerifies) {
  const uint32_t a = Ip("10.0.0.1"), b = Ip("10.0.0.2");
  Bytes u = Udp(1234, 5678, Bytes{1, 2, 3}, a, b);
  const uint32_t pseudo = (a >> 16) + (a & 0xffff) + (b >> 16) + (b & 0xffff) + 17 + u.size();
  EXPECT_EQ(InternetChecksum(u.data(), u.size(), pseudo), 0);
  EXPECT_EQ(Udp(1, 2, {}).at(6), 0);  // no addresses: checksum 0
}

TEST(PacketTest, IcmpEchoChecksum) {
  Ipv4Spec s;
  s.proto = kProtoIcmp;
  s.src = Ip("10.0.0.1");
  s.dst = Ip("10.0.0.2");
  Parsed p = Parse(Ipv4Frame(kBroadcastMac, kZeroMac, s, IcmpEcho(8, 7, 9, Bytes(5, 1))));
  ASSERT_TRUE(p.icmp) << p.error;
  EXPECT_EQ(p.icmp->type, 8);
  EXPECT_TRUE(p.icmp->checksum_ok);
  EXPECT_EQ(p.icmp->rest, 0x00070009u);
  EXPECT_EQ(p.icmp->payload.size(), 5u);
}

TEST(PacketTest, ArpLayout) {
  Bytes f = ArpRequestFrame(MacFrom("02:01:00:00:01:0a"), Ip("10.0.1.10"), Ip("10.0.1.1"));
  ASSERT_EQ(f.size(), 14u + 28u);
  Parsed p = Parse(f);
  ASSERT_TRUE(p.arp);
  EXPECT_EQ(p.eth->dst, kBroadcastMac);
  EXPECT_EQ(p.eth->ethertype, kEthArp);
  EXPECT_EQ(p.arp->op, kArpRequest);
  EXPECT_EQ(FormatIpv4(p.arp->spa), "10.0.1.10");
  EXPECT_EQ(FormatIpv4(p.arp->tpa), "10.0.1.1");
  EXPECT_EQ(FormatMac(p.arp->sha), "02:01:00:00:01:0a");
  EXPECT_EQ(p.arp->tha, kZeroMac);
}

TEST(PacketTest, VxlanRoundTrip) {
  Bytes inner = UdpFrame(MacFrom("02:00:00:00:00:02"), MacFrom("02:00:00:00:00:01"),
                         Ip("10.0.1.10"), Ip("10.0.1.11"), 1000, 2000, 20);
  VxlanSpec s;
  s.outer_dst = MacFrom("02:00:c6:12:00:01");
  s.outer_src = MacFrom("02:00:c6:12:00:02");
  s.outer_src_ip = Ip("198.18.0.2");
  s.outer_dst_ip = Ip("198.18.0.1");
  s.vni = 0xabcdef;
  s.sport = 55555;
  Bytes f = VxlanFrame(s, inner);
  EXPECT_EQ(f.size(), inner.size() + 50);
  Parsed p = Parse(f);
  ASSERT_TRUE(p.vxlan) << p.error;
  EXPECT_TRUE(p.ipv4->checksum_ok);
  EXPECT_EQ(p.udp->sport, 55555);
  EXPECT_EQ(p.udp->dport, 4789);
  EXPECT_EQ(p.udp->length, inner.size() + 16);
  EXPECT_EQ(p.vxlan->flags, 0x08);
  EXPECT_EQ(p.vxlan->vni, 0xabcdefu);
  EXPECT_EQ(p.vxlan->reserved_low, 0u);
  EXPECT_EQ(p.inner, inner);
  Parsed in = p.Inner();
  ASSERT_TRUE(in.udp);
  EXPECT_EQ(in.udp->dport, 2000);
}

TEST(PacketTest, Vxlan6RoundTrip) {
  Bytes inner = UdpFrame(MacFrom("02:00:00:00:00:02"), MacFrom("02:00:00:00:00:01"),
                         Ip("10.0.1.10"), Ip("10.0.1.11"), 1000, 2000, 20);
  Vxlan6Spec s;
  s.outer_dst = MacFrom("02:00:c6:12:00:01");
  s.outer_src = MacFrom("02:00:c6:12:00:02");
  s.outer_src_ip = *ParseIpv6("2001:db8:1::c612:2");
  s.outer_dst_ip = *ParseIpv6("2001:db8:1::c612:1");
  s.vni = 1002;
  s.hop_limit = 7;
  Bytes f = Vxlan6Frame(s, inner);
  EXPECT_EQ(f.size(), inner.size() + 70);
  Parsed p = Parse(f);
  ASSERT_TRUE(p.ipv6 && p.vxlan) << p.error;
  EXPECT_FALSE(p.ipv4);
  EXPECT_EQ(p.ipv6->version, 6);
  EXPECT_EQ(p.ipv6->payload_length, inner.size() + 16);
  EXPECT_EQ(p.ipv6->next_header, kProtoUdp);
  EXPECT_EQ(p.ipv6->hop_limit, 7);
  EXPECT_EQ(p.ipv6->src, s.outer_src_ip);
  EXPECT_EQ(p.ipv6->dst, s.outer_dst_ip);
  EXPECT_EQ(p.vxlan->vni, 1002u);
  EXPECT_EQ(p.inner, inner);
}

// The payload length bounds what is read: past it is padding, short of it
// is an error; extension headers and ICMPv6 are not walked.
TEST(PacketTest, Ipv6LengthsAndWhatIsNotRead) {
  Ipv6Spec ip;
  ip.src = *ParseIpv6("2001:db8::1");
  ip.dst = *ParseIpv6("2001:db8::2");
  Bytes f = Eth(kBroadcastMac, kZeroMac, kEthIpv6, Ipv6(ip, Udp(1, 4789, Bytes(24, 0))));
  Bytes padded = f;
  padded.resize(f.size() + 10, 0);
  EXPECT_EQ(Parse(padded).inner.size(), 16u) << "padding taken for the VXLAN payload";
  Bytes cut = f;
  cut.resize(f.size() - 1);
  Parsed short_frame = Parse(cut);
  EXPECT_TRUE(short_frame.ipv6);
  EXPECT_FALSE(short_frame.udp);
  EXPECT_EQ(short_frame.error, "IPv6 payload length beyond the frame");
  // Extension headers are not walked; ICMP (IPv4's) after IPv6 is no ICMP.
  for (uint8_t next : {uint8_t{0}, kProtoIcmp}) {
    ip.next_header = next;
    Parsed p = Parse(Eth(kBroadcastMac, kZeroMac, kEthIpv6, Ipv6(ip, Bytes(16, 0))));
    EXPECT_TRUE(p.ipv6 && !p.udp && !p.tcp && !p.icmp) << int(next);
  }
}

// ICMPv6's checksum covers the IPv6 pseudo header: a changed address or
// byte of the message breaks it.
TEST(PacketTest, Icmp6RoundTripAndChecksum) {
  Ipv6Spec ip;
  ip.src = Ip6("fe80::1");
  ip.dst = Ip6("ff02::1:ff00:1");
  ip.hop_limit = 255;
  const Bytes body = {1, 2, 3, 4, 5, 6, 7, 8};
  const Bytes f = Icmp6Frame(kBroadcastMac, kZeroMac, ip, {.type = 135, .rest = 7, .body = body});
  Parsed p = Parse(f);
  ASSERT_TRUE(p.ipv6 && p.icmp) << p.error;
  EXPECT_EQ(p.ipv6->next_header, kProtoIcmp6);
  EXPECT_EQ(p.ipv6->payload_length, 16);
  EXPECT_EQ(p.icmp->type, 135);
  EXPECT_EQ(p.icmp->rest, 7u);
  EXPECT_EQ(p.icmp->payload, body);
  EXPECT_TRUE(p.icmp->checksum_ok);
  for (size_t at : {size_t{14 + 8}, size_t{14 + 40 + 9}}) {  // the source address, the body
    Bytes changed = f;
    changed[at] ^= 1;
    EXPECT_FALSE(Parse(changed).icmp->checksum_ok) << at;
  }
  Ipv6Spec other = ip;
  other.dst = Ip6("ff02::1:ff00:2");
  EXPECT_NE(
      Parse(Icmp6Frame(kBroadcastMac, kZeroMac, other, {.type = 135, .body = body})).icmp->checksum,
      p.icmp->checksum);
}

TEST(PacketTest, LinkLocalOfMac) {
  EXPECT_EQ(LinkLocalOf(MacFrom("02:fe:00:00:00:01")), Ip6("fe80::fe:ff:fe00:1"));
  EXPECT_EQ(LinkLocalOf(MacFrom("52:54:00:12:34:56")), Ip6("fe80::5054:ff:fe12:3456"));
}

TEST(PacketTest, NeighborSolicitationLayout) {
  EXPECT_EQ(SolicitedNodeGroup(Ip6("2001:db8::12:3456")), Ip6("ff02::1:ff12:3456"));
  const Bytes f = NeighborSolicitationFrame(MacFrom("02:00:00:00:00:0a"), Ip6("fe80::a"),
                                            Ip6("2001:db8::12:3456"),
                                            NdLinkLayerOption(1, MacFrom("02:00:00:00:00:0a")));
  Parsed p = Parse(f);
  ASSERT_TRUE(p.eth && p.ipv6 && p.icmp) << p.error;
  EXPECT_EQ(p.eth->dst, MacFrom("33:33:ff:12:34:56"));
  EXPECT_EQ(p.ipv6->dst, Ip6("ff02::1:ff12:3456"));
  EXPECT_EQ(p.ipv6->hop_limit, 255);
  EXPECT_EQ(p.icmp->type, 135);
  EXPECT_TRUE(p.icmp->checksum_ok);
  EXPECT_EQ(p.icmp->payload.size(), 16u + 8);  // target, option
}

TEST(PacketTest, ExactIpLength) {
  Bytes f = UdpFrameOfIpLength(kBroadcastMac, kZeroMac, 1, 2, 1450, true);
  EXPECT_EQ(f.size(), 14u + 1450u);
  Parsed p = Parse(f);
  ASSERT_TRUE(p.ipv4);
  EXPECT_EQ(p.ipv4->total_length, 1450);
  EXPECT_TRUE(p.ipv4->df);
}

TEST(PacketTest, ParserFlagsMalformed) {
  Bytes f = UdpFrame(kBroadcastMac, kZeroMac, 1, 2, 3, 4);
  f.resize(14 + 10);
  EXPECT_FALSE(Parse(f).ipv4.has_value());
  EXPECT_FALSE(Parse(f).error.empty());
  EXPECT_FALSE(Parse(Bytes(5)).eth.has_value());
}

TEST(PacketTest, VlanParsed) {
  Bytes f = EthVlan(kBroadcastMac, kZeroMac, 42, kEthArp, Arp(1, kZeroMac, 1, kZeroMac, 2));
  Parsed p = Parse(f);
  ASSERT_TRUE(p.eth && p.arp);
  EXPECT_EQ(*p.eth->vlan, 42);
}

TEST(PacketText, FlagsAndAddresses) {
  EXPECT_EQ(*ParseTcpFlags("SA"), 0x12);
  EXPECT_EQ(TcpFlagsString(0x11), "FA");
  EXPECT_FALSE(ParseTcpFlags("Z").ok());
  EXPECT_FALSE(ParseMac("02:00:00:01:01").ok());
  EXPECT_FALSE(ParseIpv4("10.0.1").ok());
  EXPECT_EQ(FormatIpv4(0x0a00010a), "10.0.1.10");
}

}  // namespace
}  // namespace weft::packet
