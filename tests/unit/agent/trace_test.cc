// The trace's packets (agent/api/trace.h): the frame built from a spec and
// read back into the API's headers, plain and in VXLAN. No root, no agent.
#include "agent/api/trace.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/model/net_format.h"
#include "common/packet/packet.h"
#include "common/packet/parser.h"

namespace weft {
namespace {

TEST(TracePacket, BuildsAndParsesBack) {
  api::FrameSpec spec;
  spec.src_mac = {2, 0, 0, 1, 1, 10};
  spec.dst_mac = {2, 0xfe, 0, 0, 1, 1};
  spec.src = *ParseIpv4("10.0.1.10");
  spec.dst = *ParseIpv4("10.0.2.11");
  spec.protocol = packet::kProtoTcp;
  spec.sport = 40000;
  spec.dport = 7777;
  spec.tcp_flags = *packet::ParseTcpFlags("S");
  const packet::Bytes frame = api::BuildFrame(spec);
  v1::PacketHeaders outer, inner;
  uint32_t vni = 0;
  EXPECT_FALSE(api::ParseFrame(frame, &outer, &inner, &vni));
  EXPECT_EQ(inner.src_mac(), "02:00:00:01:01:0a");
  EXPECT_EQ(inner.src(), "10.0.1.10");
  EXPECT_EQ(inner.dst(), "10.0.2.11");
  EXPECT_EQ(inner.protocol(), "tcp");
  EXPECT_EQ(inner.dport(), 7777u);
  EXPECT_EQ(inner.tcp_flags(), "S");

  const packet::Bytes vx = api::WrapVxlan(frame, {2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2},
                                          *ParseIpv4("198.18.0.2"), *ParseIpv4("198.18.0.1"), 1002);
  EXPECT_TRUE(api::ParseFrame(vx, &outer, &inner, &vni));
  EXPECT_EQ(vni, 1002u);
  EXPECT_EQ(outer.dst(), "198.18.0.1");
  EXPECT_EQ(outer.dport(), 4789u);
  EXPECT_EQ(inner.dst(), "10.0.2.11");
}

// From an IPv6 underlay the trace's VXLAN is IPv6, and reads back as such.
TEST(TracePacket, WrapsAndParsesVxlanOverIpv6) {
  api::FrameSpec spec;
  spec.src = *ParseIpv4("10.0.1.11");
  spec.dst = *ParseIpv4("10.0.1.10");
  const packet::Bytes frame = api::BuildFrame(spec);
  const packet::Bytes vx = api::WrapVxlan(frame, {2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2},
                                          *ParseUnderlayAddress("2001:db8:1::c612:2"),
                                          *ParseUnderlayAddress("2001:db8:1::c612:1"), 1001);
  EXPECT_EQ(vx.size(), frame.size() + 70);
  v1::PacketHeaders outer, inner;
  uint32_t vni = 0;
  ASSERT_TRUE(api::ParseFrame(vx, &outer, &inner, &vni));
  EXPECT_EQ(vni, 1001u);
  EXPECT_EQ(outer.ethertype(), "ipv6");
  EXPECT_EQ(outer.src(), "2001:db8:1::c612:2");
  EXPECT_EQ(outer.dst(), "2001:db8:1::c612:1");
  EXPECT_EQ(outer.protocol(), "udp");
  EXPECT_EQ(outer.dport(), 4789u);
  EXPECT_EQ(outer.ttl(), 64u) << "the hop limit";
  EXPECT_EQ(inner.src(), "10.0.1.11");
  EXPECT_EQ(inner.protocol(), "icmp");
}

// An IPv6 packet from a VM: UDP with its checksum over the IPv6 pseudo
// header, an echo request as ICMPv6's; the hop limit as asked.
TEST(TracePacket, BuildsIpv6FromAnIpv6Request) {
  v1::TraceRequest req;
  req.set_src("2001:db8:1::10");
  req.set_dst("2001:db8:9::1");
  req.set_protocol("udp");
  req.set_dport(53);
  req.set_ttl(1);
  absl::StatusOr<api::FrameSpec> spec = api::FrameSpecFrom(req);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(spec->ipv6());
  const packet::Parsed udp = packet::Parse(api::BuildFrame(*spec));
  ASSERT_TRUE(udp.ipv6 && udp.udp) << udp.error;
  EXPECT_EQ(udp.ipv6->hop_limit, 1);
  EXPECT_EQ(udp.ipv6->dst, packet::Ip6("2001:db8:9::1"));
  EXPECT_EQ(udp.udp->dport, 53);
  EXPECT_NE(udp.udp->checksum, 0) << "UDP over IPv6 carries a checksum";
  EXPECT_TRUE(udp.error.empty()) << udp.error;

  req.set_protocol("icmp");
  spec = api::FrameSpecFrom(req);
  ASSERT_TRUE(spec.ok()) << spec.status();
  v1::PacketHeaders outer, headers;
  uint32_t vni = 0;
  EXPECT_FALSE(api::ParseFrame(api::BuildFrame(*spec), &outer, &headers, &vni));
  EXPECT_EQ(headers.ethertype(), "ipv6");
  EXPECT_EQ(headers.src(), "2001:db8:1::10");
  EXPECT_EQ(headers.protocol(), "icmpv6");
  EXPECT_EQ(headers.icmp_type(), 128u) << "an echo request";
  EXPECT_EQ(headers.ttl(), 1u);

  req.set_dst("10.0.2.11");
  EXPECT_THAT(std::string(api::FrameSpecFrom(req).status().message()),
              ::testing::HasSubstr("--src 2001:db8:1::10 and --dst 10.0.2.11 are of two families"));
}

// A number that does not fit its header field is refused, naming the
// field, rather than truncated (source port 70000 is not 4464).
TEST(TraceRequest, RefusesNumbersOutOfTheirFieldsRange) {
  v1::TraceRequest fits;
  fits.set_sport(65535);
  fits.set_dport(65535);
  fits.set_ttl(255);
  fits.set_vni((1u << 24) - 1);
  fits.set_tenant_id(0xffffffffu);
  EXPECT_TRUE(api::CheckTraceRequest(fits).ok());
  EXPECT_TRUE(api::CheckTraceRequest(v1::TraceRequest()).ok());  // the defaults
  struct Case {
    void (v1::TraceRequest::*set)(uint32_t);
    uint32_t value;
    const char* message;
  };
  for (const Case& c : {
           Case{&v1::TraceRequest::set_sport, 70000,
                "trace: sport 70000 is out of range (0..65535)"},
           Case{&v1::TraceRequest::set_dport, 65536,
                "trace: dport 65536 is out of range (0..65535)"},
           Case{&v1::TraceRequest::set_ttl, 1000, "trace: ttl 1000 is out of range (0..255)"},
           Case{&v1::TraceRequest::set_vni, 1u << 24,
                "trace: vni 16777216 is out of range (0..16777215)"},
       }) {
    v1::TraceRequest req = fits;
    (req.*c.set)(c.value);
    const absl::Status s = api::CheckTraceRequest(req);
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
    EXPECT_EQ(s.message(), c.message);
  }
}

}  // namespace
}  // namespace weft
