// The trace's packets (agent/api/trace.h): the frame built from a spec and
// read back into the API's headers, plain and in VXLAN. No root, no agent.
#include "agent/api/trace.h"

#include <gtest/gtest.h>

#include "common/model/net_format.h"
#include "common/packet/packet.h"

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
