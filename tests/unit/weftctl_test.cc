// weftctl's parsing and formatting (cli/format.h) and the trace packets
// (agent/api/packet.h): no root, no agent.
#include <gtest/gtest.h>

#include "agent/api/packet.h"
#include "cli/format.h"

namespace weft {
namespace {

TEST(WeftctlArgs, GlobalOptionsCommandAndItsOptions) {
  auto a = cli::ParseArgs({"--socket", "/tmp/x.sock", "--json", "conntrack", "--tenant", "2",
                           "--addr=10.0.1.10", "--port", "7777"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->socket, "/tmp/x.sock");
  EXPECT_TRUE(a->json);
  EXPECT_EQ(a->command, "conntrack");
  auto req = cli::ConntrackRequestFrom(*a);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->tenant_id(), 2u);
  EXPECT_EQ(req->address(), "10.0.1.10");
  EXPECT_EQ(req->port(), 7777u);
}

TEST(WeftctlArgs, RefusesWhatACommandDoesNotTake) {
  EXPECT_FALSE(cli::ParseArgs({"status", "--tenant", "1"}).ok());
  EXPECT_FALSE(cli::ParseArgs({"frobnicate"}).ok());
  EXPECT_FALSE(cli::ParseArgs({}).ok());
  EXPECT_FALSE(cli::ParseArgs({"conntrack", "--tenant"}).ok());  // no value
  auto bad_port = cli::ParseArgs({"conntrack", "--port", "70000"});
  ASSERT_TRUE(bad_port.ok());
  EXPECT_FALSE(cli::ConntrackRequestFrom(*bad_port).ok());
}

TEST(WeftctlArgs, Trace) {
  auto a = cli::ParseArgs({"trace", "--ingress-iface", "va1", "--src", "10.0.1.10", "--dst",
                           "10.0.2.11", "--proto", "tcp", "--dport", "7777", "--tcp-flags", "S"});
  ASSERT_TRUE(a.ok()) << a.status();
  auto req = cli::TraceRequestFrom(*a);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->ingress_iface(), "va1");
  EXPECT_EQ(req->protocol(), "tcp");
  EXPECT_EQ(req->dport(), 7777u);
  // --ingress_iface spelled with an underscore is the same option.
  a = cli::ParseArgs({"trace", "--ingress_iface", "va1", "--src", "1.1.1.1", "--dst", "2.2.2.2"});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(cli::TraceRequestFrom(*a).ok());
  // Neither an interface nor a tenant; TCP without a port; a bad protocol.
  for (std::vector<std::string> argv :
       {std::vector<std::string>{"trace", "--src", "1.1.1.1", "--dst", "2.2.2.2"},
        {"trace", "--tenant", "1", "--src", "1.1.1.1", "--dst", "2.2.2.2", "--proto", "tcp"},
        {"trace", "--tenant", "1", "--src", "1.1.1.1", "--dst", "2.2.2.2", "--proto", "sctp"}}) {
    a = cli::ParseArgs(argv);
    ASSERT_TRUE(a.ok());
    EXPECT_FALSE(cli::TraceRequestFrom(*a).ok()) << argv.back();
  }
}

TEST(WeftctlFormat, TableAlignsColumns) {
  EXPECT_EQ(cli::FormatTable({"A", "LONGER", "C"}, {{"xxxx", "y", "z"}, {"1", "2", "3"}}),
            "A     LONGER  C\n"
            "xxxx  y       z\n"
            "1     2       3\n");
}

TEST(WeftctlFormat, CountersHideZeroUnlessAll) {
  v1::CountersResponse r;
  auto* c = r.add_counters();
  c->set_reason("encap");
  c->set_packets(3);
  c->set_bytes(300);
  c = r.add_counters();
  c->set_reason("spoofed");
  c->set_drop(true);
  EXPECT_EQ(cli::FormatCounters(r, false), "REASON  VERDICT  PACKETS  BYTES\nencap   pass     3        300\n");
  EXPECT_NE(cli::FormatCounters(r, true).find("spoofed  drop"), std::string::npos);
}

TEST(WeftctlFormat, TraceNamesRuleRouteAndOutput) {
  v1::TraceResponse r;
  r.set_summary("PASS (encap) by web/2: VXLAN VNI 1002 to VTEP 198.18.0.2");
  r.set_reason("encap");
  r.set_conntrack("miss");
  r.set_policy_judged(true);
  r.set_policy_action("allow");
  r.set_direction("egress");
  r.set_rule_index(1);
  r.set_policy("web");
  r.set_rule_number(2);
  r.set_route("connected");
  r.set_vni(1002);
  r.set_vtep("198.18.0.2");
  r.set_encapsulated(true);
  r.mutable_outer()->set_ethertype("ipv4");
  r.mutable_outer()->set_protocol("udp");
  r.mutable_outer()->set_dst("198.18.0.2");
  r.mutable_output()->set_ethertype("ipv4");
  r.mutable_output()->set_protocol("tcp");
  r.mutable_output()->set_tcp_flags("S");
  const std::string text = cli::FormatTrace(r);
  EXPECT_NE(text.find("allow by egress rule web/2 (#1)"), std::string::npos) << text;
  EXPECT_NE(text.find("route:        connected, vni 1002, vtep 198.18.0.2"), std::string::npos)
      << text;
  EXPECT_NE(text.find("output outer:"), std::string::npos) << text;
}

TEST(WeftctlFormat, EventLine) {
  v1::Event e;
  e.set_type("drop");
  e.set_reason("spoofed");
  e.set_tenant_id(1);
  e.set_tenant("A");
  e.set_protocol("icmp");
  e.set_src("10.0.1.99");
  e.set_dst("10.0.1.11");
  e.set_interface("va1");
  EXPECT_EQ(cli::FormatEvent(e), "drop spoofed tenant 1(A) icmp 10.0.1.99 > 10.0.1.11 on va1");
  EXPECT_NE(cli::ToJson(e).find("\"reason\":\"spoofed\""), std::string::npos);
}

TEST(TracePacket, BuildsAndParsesBack) {
  api::FrameSpec spec;
  spec.src_mac = {2, 0, 0, 1, 1, 10};
  spec.dst_mac = {2, 0xfe, 0, 0, 1, 1};
  spec.src = *api::ParseIpv4("10.0.1.10");
  spec.dst = *api::ParseIpv4("10.0.2.11");
  spec.protocol = api::kProtoTcp;
  spec.sport = 40000;
  spec.dport = 7777;
  spec.tcp_flags = *api::ParseTcpFlags("S");
  const api::Bytes frame = api::BuildFrame(spec);
  v1::PacketHeaders outer, inner;
  uint32_t vni = 0;
  EXPECT_FALSE(api::ParseFrame(frame, &outer, &inner, &vni));
  EXPECT_EQ(inner.src_mac(), "02:00:00:01:01:0a");
  EXPECT_EQ(inner.src(), "10.0.1.10");
  EXPECT_EQ(inner.dst(), "10.0.2.11");
  EXPECT_EQ(inner.protocol(), "tcp");
  EXPECT_EQ(inner.dport(), 7777u);
  EXPECT_EQ(inner.tcp_flags(), "S");

  const api::Bytes vx = api::WrapVxlan(frame, {2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2},
                                       *api::ParseIpv4("198.18.0.2"),
                                       *api::ParseIpv4("198.18.0.1"), 1002);
  EXPECT_TRUE(api::ParseFrame(vx, &outer, &inner, &vni));
  EXPECT_EQ(vni, 1002u);
  EXPECT_EQ(outer.dst(), "198.18.0.1");
  EXPECT_EQ(outer.dport(), 4789u);
  EXPECT_EQ(inner.dst(), "10.0.2.11");
}

TEST(TracePacket, FlagsAndAddresses) {
  EXPECT_EQ(*api::ParseTcpFlags("SA"), 0x12);
  EXPECT_EQ(api::TcpFlagsString(0x11), "FA");
  EXPECT_FALSE(api::ParseTcpFlags("Z").ok());
  EXPECT_FALSE(api::ParseMac("02:00:00:01:01").ok());
  EXPECT_FALSE(api::ParseIpv4("10.0.1").ok());
  EXPECT_EQ(api::Ipv4String(0x0a00010a), "10.0.1.10");
}

}  // namespace
}  // namespace weft
