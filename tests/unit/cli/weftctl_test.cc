// weftctl's parsing and formatting (cli/format.h, cli/admin_format.h): no root, no agent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/admin_format.h"
#include "cli/format.h"
#include "cli/store_command.h"
#include "common/model/state_yaml.h"

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

const std::vector<std::string> kTls = {"--tls_cert", "c.pem",    "--tls_key",
                                       "c.key",      "--tls_ca", "ca.pem"};

std::vector<std::string> ControllerArgs(std::vector<std::string> tail) {
  std::vector<std::string> argv = {"--controller", "127.0.0.1:7001"};
  argv.insert(argv.end(), kTls.begin(), kTls.end());
  argv.insert(argv.end(), tail.begin(), tail.end());
  return argv;
}

TEST(WeftctlArgs, ControllerCommands) {
  auto a = cli::ParseArgs(ControllerArgs({"apply", "-f", "state.yaml"}));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(cli::ForController(a->command));
  EXPECT_EQ(a->controller, "127.0.0.1:7001");
  EXPECT_EQ(a->tls.cert, "c.pem");
  EXPECT_EQ(a->tls.key, "c.key");
  EXPECT_EQ(a->tls.ca, "ca.pem");
  EXPECT_FALSE(a->tls.insecure);
  EXPECT_EQ(a->options.at("-f"), "state.yaml");

  a = cli::ParseArgs({"--json", "get", "state", "--controller=ctl:7001", "--insecure",
                      "--tls-server-name", "ignored"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->json);
  EXPECT_TRUE(a->tls.insecure);
  EXPECT_EQ(a->tls_server_name, "ignored");
  EXPECT_EQ(a->operands, std::vector<std::string>{"state"});

  a = cli::ParseArgs(ControllerArgs({"get", "realization", "7"}));
  ASSERT_TRUE(a.ok()) << a.status();
  auto req = cli::RealizationRequestFrom(*a);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->version(), 7u);
  a = cli::ParseArgs(ControllerArgs({"get", "realization"}));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(cli::RealizationRequestFrom(*a)->version(), 0u);  // the current one
  a = cli::ParseArgs(ControllerArgs({"get", "realization", "seven"}));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(cli::RealizationRequestFrom(*a).status().message(),
            "get realization seven: not a version number");
  a = cli::ParseArgs(ControllerArgs({"get", "uplinks"}));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->operands, std::vector<std::string>{"uplinks"});
  EXPECT_FALSE(cli::ForController("status"));
}

TEST(WeftctlArgs, ControllerCommandErrorsNameWhatIsWrong) {
  auto error = [](std::vector<std::string> argv) {
    auto a = cli::ParseArgs(argv);
    return a.ok() ? std::string("(accepted)") : std::string(a.status().message());
  };
  EXPECT_EQ(error(ControllerArgs({"apply"})), "apply needs -f FILE");
  EXPECT_EQ(error(ControllerArgs({"apply", "-f"})), "-f needs a value");
  EXPECT_EQ(error(ControllerArgs({"apply", "--tenant", "1"})), "apply takes no option --tenant");
  EXPECT_EQ(error({"--controller", "ctl:7001", "get", "state"}),
            "--controller needs --tls_cert, --tls_key and --tls_ca (mutual TLS), or --insecure");
  EXPECT_EQ(error({"get", "state", "--insecure"}),
            "get asks the controller: give --controller ADDR");
  EXPECT_EQ(
      error(ControllerArgs({"get"})),
      "get needs an object: get state | get realization [VERSION] | get uplinks | get routes");
  EXPECT_EQ(error(ControllerArgs({"get", "nodes"})),
            "unknown object \"nodes\" (get state | get realization [VERSION] | get uplinks | get "
            "routes)");
  EXPECT_EQ(error(ControllerArgs({"get", "state", "3"})),
            "unexpected argument \"3\" (get state | get realization [VERSION] | get uplinks | get "
            "routes)");
  EXPECT_EQ(error(ControllerArgs({"get", "uplinks", "blue"})),
            "unexpected argument \"blue\" (get state | get realization [VERSION] | get uplinks | "
            "get routes)");
  EXPECT_EQ(error(ControllerArgs({"get", "realization", "3", "4"})),
            "unexpected argument \"4\" (get state | get realization [VERSION] | get uplinks | get "
            "routes)");
  EXPECT_EQ(error(ControllerArgs({"--socket", "/run/weft/hv1.sock", "get", "state"})),
            "--socket is the agent's; get asks the controller");
  // The agent's commands take neither --controller nor TLS options.
  EXPECT_EQ(error(ControllerArgs({"status"})),
            "status asks the agent: --controller and its TLS options are for apply and get");
  EXPECT_EQ(error({"--insecure", "policy"}),
            "policy asks the agent: --controller and its TLS options are for apply and get");
  EXPECT_EQ(error({"status", "extra"}), "unexpected argument \"extra\"");
}

TEST(WeftctlArgs, ApplyIfVersion) {
  auto a = cli::ParseArgs(ControllerArgs({"apply", "-f", "state.yaml", "--if-version", "42"}));
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::optional<uint64_t>> v = cli::IfVersionFrom(*a);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, std::optional<uint64_t>(42));
  a = cli::ParseArgs(ControllerArgs({"apply", "-f", "state.yaml"}));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*cli::IfVersionFrom(*a), std::nullopt);  // unguarded
  for (const char* bad : {"x", "-1", "007", "18446744073709551616"}) {
    a = cli::ParseArgs(ControllerArgs({"apply", "-f", "s.yaml", "--if_version", bad}));
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(cli::CheckOptions(*a).message(),
              absl::StrCat("--if-version ", bad, ": not a version number"));
  }
  EXPECT_FALSE(cli::ParseArgs(ControllerArgs({"get", "state", "--if-version", "3"})).ok());
}

TEST(WeftctlArgs, StoreSeedAndExport) {
  auto a =
      cli::ParseArgs({"store", "seed", "--store", "etcd://127.0.0.1:2379,127.0.0.1:2381", "-f",
                      "fleet.yaml", "--if-version", "0", "--store_ca", "ca.pem", "--store-cert",
                      "c.pem", "--store_key", "c.key", "--store_prefix", "/x/"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_FALSE(cli::ForController(a->command));
  EXPECT_EQ(a->operands, std::vector<std::string>{"seed"});
  EXPECT_EQ(a->options.at("--store"), "etcd://127.0.0.1:2379,127.0.0.1:2381");
  EXPECT_EQ(a->options.at("-f"), "fleet.yaml");
  EXPECT_EQ(a->options.at("--store-ca"), "ca.pem");
  EXPECT_EQ(a->options.at("--store-cert"), "c.pem");
  EXPECT_EQ(a->options.at("--store-key"), "c.key");
  EXPECT_EQ(a->options.at("--store-prefix"), "/x/");
  EXPECT_EQ(*cli::IfVersionFrom(*a), std::optional<uint64_t>(0));
  a = cli::ParseArgs({"store", "export", "--store", "etcd://127.0.0.1:2379", "-o", "out.yaml"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->options.at("-o"), "out.yaml");

  auto error = [](std::vector<std::string> argv) {
    auto parsed = cli::ParseArgs(argv);
    return parsed.ok() ? std::string("(accepted)") : std::string(parsed.status().message());
  };
  const std::string store = "--store=etcd://127.0.0.1:2379";
  EXPECT_EQ(error({"store", store}),
            "store needs an action: store seed -f FILE | store export [-o FILE]");
  EXPECT_EQ(error({"store", "load", store}),
            "unknown action \"load\" (store seed -f FILE | store export [-o FILE])");
  EXPECT_EQ(error({"store", "export", "now", store}),
            "unexpected argument \"now\" (store seed -f FILE | store export [-o FILE])");
  EXPECT_EQ(error({"store", "export"}),
            "store export needs --store etcd://HOST:PORT[,HOST:PORT...]");
  EXPECT_EQ(error({"store", "seed", store}), "store seed needs -f FILE");
  EXPECT_EQ(error({"store", "seed", store, "-f", "a.yaml", "-o", "b.yaml"}),
            "store seed takes no option -o");
  EXPECT_EQ(error({"store", "export", store, "-f", "a.yaml"}), "store export takes no option -f");
  EXPECT_EQ(error({"store", "export", store, "--if-version", "3"}),
            "store export takes no option --if-version");
  EXPECT_EQ(error({"store", "export", store, "--tenant", "1"}), "store takes no option --tenant");
  for (std::vector<std::string> argv :
       {std::vector<std::string>{"--controller", "c:1", "store", "export", store},
        {"--insecure", "store", "export", store},
        {"--socket", "/run/weft/a.sock", "store", "export", store}}) {
    EXPECT_EQ(error(argv),
              "store talks to etcd itself: --controller, --socket and their TLS options are not "
              "for it (--store_ca, --store_cert, --store_key are)");
  }
  a = cli::ParseArgs({"store", "seed", store, "-f", "a.yaml", "--if-version", "v2"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(cli::CheckOptions(*a).message(), "--if-version v2: not a version number");
}

// Plaintext to etcd only on loopback, as for the controller: the refusal
// names the endpoint and comes before anything is dialled (192.0.2.1 is
// TEST-NET-1, which no test can reach).
TEST(WeftctlStore, RefusesPlaintextToARemoteEtcd) {
  auto args =
      cli::ParseArgs({"store", "export", "--store", "etcd://127.0.0.1:2379,192.0.2.1:2379"});
  ASSERT_TRUE(args.ok()) << args.status();
  const absl::StatusOr<std::string> exported = cli::RunStore(*args);
  EXPECT_EQ(exported.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(exported.status().message(), ::testing::HasSubstr("192.0.2.1:2379"));
  EXPECT_THAT(exported.status().message(), ::testing::HasSubstr("--store-ca"));
}

// Each value a usage error names its option: no exception, nothing asked.
TEST(WeftctlArgs, OptionValuesAreCheckedBeforeAnything) {
  auto error = [](std::vector<std::string> argv) -> std::string {
    absl::StatusOr<cli::Args> a = cli::ParseArgs(argv);
    if (!a.ok()) return "ParseArgs: " + std::string(a.status().message());
    absl::Status s = cli::CheckOptions(*a);
    EXPECT_TRUE(s.ok() || absl::IsInvalidArgument(s)) << s;
    return std::string(s.message());
  };
  auto starts = [](const std::string& s, const std::string& prefix) {
    return s.starts_with(prefix);
  };
  for (const char* count : {"x", "-1", "1.5", "4294967296", ""}) {
    const std::string e = error({"monitor", "--count", count});
    EXPECT_TRUE(starts(e, "--count ")) << count << ": " << e;
  }
  for (const char* timeout : {"x", "0", "-1", "nan", "inf", "1e300", ""}) {
    const std::string e = error({"monitor", "--timeout", timeout});
    EXPECT_TRUE(starts(e, "--timeout ")) << timeout << ": " << e;
  }
  EXPECT_TRUE(starts(error({"endpoints", "--tenant", "one"}), "--tenant one"));
  EXPECT_TRUE(starts(error({"routes", "--tenant", "99999999999"}), "--tenant "));
  EXPECT_TRUE(starts(error({"conntrack", "--port", "70000"}), "--port 70000"));
  EXPECT_TRUE(starts(
      error({"trace", "--tenant", "1", "--src", "1.1.1.1", "--dst", "2.2.2.2", "--ttl", "1000"}),
      "--ttl 1000"));
  EXPECT_TRUE(starts(error({"monitor", "--type", "all"}), "--type"));
  EXPECT_TRUE(starts(error({"--controller", "c:1", "--insecure", "get", "realization", "v2"}),
                     "get realization v2"));
  EXPECT_EQ(error({"monitor", "--count", "5", "--timeout", "1.5"}), "");
  EXPECT_EQ(error({"status"}), "");

  auto a = cli::ParseArgs({"monitor", "--count", "5", "--timeout", "1.5"});
  ASSERT_TRUE(a.ok());
  auto limits = cli::MonitorLimitsFrom(*a);
  ASSERT_TRUE(limits.ok()) << limits.status();
  EXPECT_EQ(limits->count, 5u);
  EXPECT_EQ(limits->timeout, absl::Milliseconds(1500));
  a = cli::ParseArgs({"monitor"});
  ASSERT_TRUE(a.ok());
  limits = cli::MonitorLimitsFrom(*a);
  ASSERT_TRUE(limits.ok());
  EXPECT_EQ(limits->count, 0u);
  EXPECT_FALSE(limits->timeout.has_value());
}

TEST(WeftctlPrintable, EscapesControlsAndWhatIsNotUtf8) {
  EXPECT_EQ(cli::Printable("web-1 10.0.1.10"), "web-1 10.0.1.10");
  EXPECT_EQ(cli::Printable("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x90\x9f"),
            "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x90\x9f");  // UTF-8 as it is
  EXPECT_EQ(cli::Printable("a\x1b[2J\x1b]0;owned\x07"
                           "b"),
            "a\\x1b[2J\\x1b]0;owned\\x07b");
  EXPECT_EQ(cli::Printable("one\ntwo\r\tx\x7f"), "one\\x0atwo\\x0d\\x09x\\x7f");
  EXPECT_EQ(cli::Printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(cli::Printable("\xc2\x9b"
                           "31m"),
            "\\xc2\\x9b31m");  // C1 CSI, in UTF-8
  EXPECT_EQ(cli::Printable("\x9b"
                           "31m"),
            "\\x9b31m");                                         // C1 CSI, raw byte
  EXPECT_EQ(cli::Printable("\xff\xc0\xaf"), "\\xff\\xc0\\xaf");  // not UTF-8, overlong
  EXPECT_EQ(cli::Printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(cli::Printable("end\xe6\x97"), "end\\xe6\\x97");     // cut short
}

// What of the applied state the agent does not realize, only when anything.
TEST(WeftctlStatus, SaysWhatTheAgentDoesNotRealize) {
  v1::StatusResponse status;
  status.set_node("hv1");
  EXPECT_EQ(cli::FormatStatus(status).find("not realized"), std::string::npos);
  status.add_unrealized("ipv6-tenants");
  status.add_unrealized("vlan-bridging");
  EXPECT_NE(cli::FormatStatus(status).find("not realized:      ipv6-tenants, vlan-bridging (in the "
                                           "state, not in the datapath)\n"),
            std::string::npos)
      << cli::FormatStatus(status);
}

TEST(WeftctlStatus, AnEdgeShowsItsSessionsAndLearnedPrefixes) {
  v1::StatusResponse status;
  status.set_node("edge1");
  EXPECT_EQ(cli::FormatStatus(status).find("bgp:"), std::string::npos);  // no uplink: no line
  status.set_bgp_sessions(2);
  status.set_bgp_sessions_established(1);
  status.set_bgp_learned_prefixes(3);
  EXPECT_NE(cli::FormatStatus(status).find("bgp:               1/2 sessions up, 3 learned "
                                           "prefixes\n"),
            std::string::npos);
}

// Names and errors from the agent or the controller reach the terminal
// escaped, in every formatter.
TEST(WeftctlPrintable, FormattersEscapeWhatTheyWereSent) {
  const std::string evil = "x\x1b[2J\ny";
  const std::string shown = "x\\x1b[2J\\x0ay";
  auto no_escape = [](const std::string& text) { return text.find('\x1b') == std::string::npos; };
  v1::EndpointsResponse eps;
  eps.add_endpoints()->set_name(evil);
  EXPECT_NE(cli::FormatEndpoints(eps).find(shown), std::string::npos);
  v1::GetRealizationResponse real;
  real.add_nodes()->set_nack_error(evil);
  EXPECT_NE(cli::FormatRealization(real).find(shown), std::string::npos);
  v1::GetStateResponse state;
  state.mutable_state()->add_tenants()->set_name(evil);
  EXPECT_NE(cli::FormatState(state).find(shown), std::string::npos);
  v1::StatusResponse status;
  status.set_node(evil);
  EXPECT_NE(cli::FormatStatus(status).find(shown), std::string::npos);
  v1::TraceResponse trace;
  trace.set_summary(evil);
  EXPECT_NE(cli::FormatTrace(trace).find(shown), std::string::npos);
  v1::Event event;
  event.set_tenant(evil);
  EXPECT_NE(cli::FormatEvent(event).find(shown), std::string::npos);
  v1::PolicyResponse policy;
  policy.add_rules()->set_policy(evil);
  policy.add_defaults()->set_tenant(evil);
  v1::ConntrackResponse ct;
  ct.add_entries()->set_state(evil);
  v1::RoutesResponse routes;
  routes.add_routes()->set_tenant(evil);
  v1::CountersResponse counters;
  counters.add_counters()->set_reason(evil);
  for (const std::string& text :
       {cli::FormatPolicy(policy), cli::FormatConntrack(ct), cli::FormatRoutes(routes),
        cli::FormatCounters(counters, true), cli::ToJson(event)}) {
    EXPECT_TRUE(no_escape(text)) << text;
  }
}

TEST(WeftctlFormat, Realization) {
  v1::GetRealizationResponse r;
  r.set_controller_version(5);
  r.set_version(5);
  auto* n = r.add_nodes();
  n->set_node("hv1");
  n->set_connected(true);
  n->set_acked_version(5);
  n->set_enforced_version(5);
  n = r.add_nodes();
  n->set_node("hv2");
  n->set_acked_version(3);
  n->set_enforced_version(3);
  n->set_nacked_version(5);
  n->set_nack_error("segment \"a-db\": field \"vni\": VNI 0 is outside 1..16777215");
  n->add_unrealized("ipv6-tenants");
  r.add_enforcing("hv1");
  EXPECT_EQ(cli::FormatRealization(r),
            "controller version: 5\n"
            "version 5 enforced by 1 of 2 nodes\n"
            "\n"
            "NODE  CONNECTED  ACKED  ENFORCED  ENFORCES 5  NACKED  NOT REALIZED  NACK ERROR\n"
            "hv1   yes        5      5         yes         -       -             -\n"
            "hv2   no         3      3         no          5       ipv6-tenants  segment "
            "\"a-db\": field \"vni\": VNI 0 is outside 1..16777215\n");
  // Replicas on etcd: the replica holding each stream.
  r.mutable_nodes(0)->add_replicas("r1");
  EXPECT_NE(cli::FormatRealization(r).find("hv1   yes (r1)   5      5         yes"),
            std::string::npos)
      << cli::FormatRealization(r);
  v1::ApplyStateResponse applied;
  applied.set_version(6);
  EXPECT_EQ(cli::FormatApplied(applied), "applied: controller version 6\n");
}

TEST(WeftctlFormat, StateListsWhatItHolds) {
  v1::GetStateResponse r;
  r.mutable_state()->set_version(4);
  auto* node = r.mutable_state()->add_nodes();
  node->set_name("hv1");
  node->set_vtep("198.18.0.1");
  auto* t = r.mutable_state()->add_tenants();
  t->set_name("A");
  t->set_id(1);
  t->set_default_action(v1::FIREWALL_ACTION_DENY);
  auto* route = r.mutable_state()->add_routes();
  route->set_tenant("A");
  route->set_prefix("10.66.0.0/16");
  route->set_blackhole(true);
  EXPECT_EQ(cli::FormatState(r),
            "version: 4\n"
            "\nNODES (1)\nNAME  VTEP        KIND\nhv1   198.18.0.1  weft\n"
            "\nTENANTS (1)\nNAME  ID  DEFAULT\nA     1   deny\n"
            "\nROUTES (1)\nTENANT  PREFIX        VIA\nA       10.66.0.0/16  blackhole\n");
}

// A segment's IPv6 subnet and gateway beside the IPv4 ones, in their
// columns, and its VLAN bridge; an endpoint's two addresses likewise.
TEST(WeftctlFormat, StateShowsBothFamiliesAndTheVlanBridge) {
  v1::GetStateResponse r;
  auto* dual = r.mutable_state()->add_segments();
  dual->set_tenant("A");
  dual->set_name("a-web");
  dual->set_vni(1001);
  dual->set_subnet("10.0.1.0/24");
  dual->set_gateway("10.0.1.1");
  dual->set_subnet6("fd00:a:0:1::/64");
  dual->set_gateway6("fd00:a:0:1::1");
  auto* bridge = dual->mutable_vlan_bridge();
  bridge->set_node("hv1");
  bridge->set_standby("hv2");
  bridge->set_trunk("eth1");
  bridge->set_vlan(100);
  auto* v4 = r.mutable_state()->add_segments();
  v4->set_tenant("A");
  v4->set_name("a-db");
  v4->set_vni(1002);
  v4->set_subnet("10.0.2.0/24");
  v4->set_gateway("10.0.2.1");
  auto* e = r.mutable_state()->add_endpoints();
  e->set_segment("a-web");
  e->set_name("a1");
  e->set_ip("10.0.1.10");
  e->set_ip6("fd00:a:0:1::10");
  e->set_mac("02:00:00:01:01:0a");
  e->set_node("hv1");
  e->set_interface("va1");
  EXPECT_EQ(
      cli::FormatState(r),
      "version: 0\n"
      "\nSEGMENTS (2)\n"
      "TENANT  NAME   VNI   SUBNET                       GATEWAY                 VLAN BRIDGE\n"
      "A       a-web  1001  10.0.1.0/24 fd00:a:0:1::/64  10.0.1.1 fd00:a:0:1::1  hv1 eth1 "
      "vlan 100 (standby hv2)\n"
      "A       a-db   1002  10.0.2.0/24                  10.0.2.1                -\n"
      "\nENDPOINTS (1)\n"
      "SEGMENT  NAME  IP                        MAC                NODE  INTERFACE  GROUPS\n"
      "a-web    a1    10.0.1.10 fd00:a:0:1::10  02:00:00:01:01:0a  hv1   va1\n");
}

// The agent's endpoints: an IPv6 address beside the IPv4 one when the
// datapath holds one.
TEST(WeftctlFormat, EndpointsShowBothFamilies) {
  v1::EndpointsResponse eps;
  v1::EndpointInfo* dual = eps.add_endpoints();
  dual->set_name("a1");
  dual->set_ip("10.0.1.10");
  dual->set_ip6("fd00:a:0:1::10");
  eps.add_endpoints()->set_ip("10.0.1.11");
  const std::string text = cli::FormatEndpoints(eps);
  EXPECT_NE(text.find("10.0.1.10 fd00:a:0:1::10"), std::string::npos) << text;
  EXPECT_NE(text.find("10.0.1.11 "), std::string::npos) << text;
  EXPECT_EQ(text.find("10.0.1.11 fd00"), std::string::npos) << text;
}

// IPv6 flows in the columns of IPv4 ones: [address]:port, and an ICMPv6
// echo's identifier as an ICMP echo's.
TEST(WeftctlFormat, ConntrackShowsIpv6Flows) {
  v1::ConntrackResponse r;
  v1::ConntrackEntry* tcp = r.add_entries();
  tcp->set_protocol("tcp");
  tcp->set_src("2001:db8:1::10");
  tcp->set_sport(40000);
  tcp->set_dst("2001:db8:2::10");
  tcp->set_dport(443);
  v1::ConntrackEntry* echo = r.add_entries();
  echo->set_protocol("icmpv6");
  echo->set_src("2001:db8:1::10");
  echo->set_sport(7);
  echo->set_dst("2001:db8:2::10");
  echo->set_dport(7);
  const std::string text = cli::FormatConntrack(r);
  EXPECT_NE(text.find("tcp     [2001:db8:1::10]:40000  [2001:db8:2::10]:443"), std::string::npos)
      << text;
  const size_t at = text.find("icmpv6  2001:db8:1::10  ");
  ASSERT_NE(at, std::string::npos) << text;
  const std::string row = text.substr(at, text.find('\n', at) - at);
  EXPECT_NE(row.find(" id 7 "), std::string::npos) << row;
  EXPECT_EQ(row.find('['), std::string::npos) << row;
}

TEST(WeftctlFormat, StateListsEdgesAndUplinks) {
  v1::GetStateResponse r;
  auto* node = r.mutable_state()->add_nodes();
  node->set_name("edge1");
  node->set_vtep("198.18.0.11");
  node->set_role(v1::NODE_ROLE_EDGE);
  auto* route = r.mutable_state()->add_routes();
  route->set_tenant("A");
  route->set_prefix("10.0.0.0/8");
  route->set_blackhole(true);
  route->set_advertise(true);
  auto* u = r.mutable_state()->add_uplinks();
  u->set_name("a-e1");
  u->set_node("edge1");
  u->set_tenant("A");
  u->set_interface("eth1");
  u->set_vlan(100);
  u->set_peer("192.0.2.1");
  u->set_peer_as(64500);
  EXPECT_EQ(cli::FormatState(r),
            "version: 0\n"
            "\nNODES (1)\nNAME   VTEP         KIND\nedge1  198.18.0.11  edge\n"
            "\nROUTES (1)\nTENANT  PREFIX      VIA\nA       10.0.0.0/8  blackhole, advertised\n"
            "\nUPLINKS (1)\nTENANT  NAME  EDGE   LINK           PEER       PEER AS\n"
            "A       a-e1  edge1  eth1 vlan 100  192.0.2.1  64500\n");
}

TEST(WeftctlFormat, UplinksAndWhatIsAnnounced) {
  absl::StatusOr<State> state = ParseStateYaml(R"yaml(
version: 3
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01"}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
routes:
  - {tenant: blue, prefix: 10.66.0.0/16, blackhole: true}
  - {tenant: blue, prefix: 10.0.0.0/8, blackhole: true, advertise: true}
  - {tenant: red, prefix: 10.9.0.0/16, blackhole: true, advertise: true}
uplinks:
  - {name: blue-e1, node: edge1, tenant: blue, interface: eth1, vlan: 100, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001, hold_time: 9, keepalive: 3}
  - {name: blue-e2, node: edge2, tenant: blue, interface: eth2, transit: 192.0.2.8/29, address: 192.0.2.10, peer: 192.0.2.9, peer_as: 64500, local_as: 65001}
)yaml",
                                               "ns.yaml");
  ASSERT_TRUE(state.ok()) << state.status();
  // red has no uplink: it announces nothing, whatever its routes say.
  EXPECT_EQ(cli::FormatUplinks(*state, {}),
            "version: 3\n"
            "\nUPLINKS (2)\n"
            "TENANT  NAME     EDGE   LINK           ADDRESS        PEER       PEER AS  LOCAL AS  "
            "HOLD/KEEPALIVE\n"
            "blue    blue-e1  edge1  eth1 vlan 100  192.0.2.2/30   192.0.2.1  64500    65001     "
            "9/3\n"
            "blue    blue-e2  edge2  eth2           192.0.2.10/29  192.0.2.9  64500    65001     "
            "90/30\n"
            "\nANNOUNCED UPSTREAM (2)\n"
            "TENANT  PREFIX       FROM\n"
            "blue    10.0.1.0/24  segment blue-web\n"
            "blue    10.0.0.0/8   route (advertise)\n");
  EXPECT_EQ(cli::FormatUplinks(State{}, {}), "version: 0\nno uplinks\n");

  // Learned upstream: listed, and flagged where they overlap a segment of their tenant
  // (red's 10.0.1.0/24 is another tenant's: no flag).
  Route inside;
  inside.tenant = "blue";
  inside.prefix = {0x0a000180, 25};  // 10.0.1.128/25, inside blue-web
  inside.nodes = {"edge1", "edge2"};
  inside.segment = "blue-web";
  inside.learned_by = {"blue-e1", "blue-e2"};
  Route outside = inside;
  outside.prefix = {0xc6336400, 24};  // 198.51.100.0/24
  outside.nodes = {"edge1"};
  outside.learned_by = {"blue-e1"};
  const std::string text = cli::FormatUplinks(*state, {inside, outside});
  EXPECT_NE(text.find("\nLEARNED UPSTREAM (2)\n"
                      "TENANT  PREFIX           EDGES        UPLINKS\n"
                      "blue    10.0.1.128/25    edge1,edge2  blue-e1,blue-e2\n"
                      "blue    198.51.100.0/24  edge1        blue-e1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("OVERLAPPING A SEGMENT (allowed: the longest prefix wins) (1)\n"
                      "TENANT  PREFIX         SEGMENT   SUBNET\n"
                      "blue    10.0.1.128/25  blue-web  10.0.1.0/24\n"),
            std::string::npos)
      << text;
  const std::string routes = cli::FormatRoutes(*state, {outside});
  EXPECT_NE(routes.find("blue    198.51.100.0/24  edge1 (blue-web)  learned by blue-e1\n"),
            std::string::npos)
      << routes;
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
  EXPECT_EQ(cli::FormatCounters(r, false),
            "REASON  VERDICT  PACKETS  BYTES\nencap   pass     3        300\n");
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

// IPv6 headers as IPv4 ones, the addresses in brackets before a port.
TEST(WeftctlFormat, TraceShowsIpv6Headers) {
  v1::TraceResponse r;
  r.set_reason("icmp_error");
  v1::PacketHeaders* in = r.mutable_input();
  in->set_ethertype("ipv6");
  in->set_src("2001:db8:1::10");
  in->set_dst("2001:db8:9::1");
  in->set_protocol("udp");
  in->set_sport(40000);
  in->set_dport(53);
  in->set_ttl(1);
  v1::PacketHeaders* out = r.mutable_output();
  out->set_src_mac("02:fe:00:00:00:01");
  out->set_ethertype("ipv6");
  out->set_src("2001:db8:1::1");
  out->set_dst("2001:db8:1::10");
  out->set_protocol("icmpv6");
  out->set_icmp_type(3);
  const std::string text = cli::FormatTrace(r);
  EXPECT_NE(text.find("[2001:db8:1::10]:40000 > [2001:db8:9::1]:53 udp ttl 1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("2001:db8:1::1 > 2001:db8:1::10 icmpv6 type 3 code 0"), std::string::npos)
      << text;
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

}  // namespace
}  // namespace weft
