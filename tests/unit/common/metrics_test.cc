// The operator surface without root: metric families, the /metrics endpoint,
// grpc.health.v1 and the controller's series.
#include "controller/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/metrics/agent_metrics.h"
#include "common/serving/health.h"
#include "common/serving/metric_families.h"
#include "common/serving/metrics_endpoint.h"
#include "controller/controller.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"

namespace weft {
namespace {

// What a scrape of `families` answers.
std::string Text(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

// Sends `request` to 127.0.0.1:port and returns everything the server says.
std::string Exchange(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect failed";
  }
  send(fd, request.data(), request.size(), 0);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) out.append(buf, n);
  close(fd);
  return out;
}

TEST(MetricFamiliesTest, FamiliesInOrderLabelsEscaped) {
  MetricFamilies w;
  w.Family("weft_x_total", prometheus::MetricType::Counter, "A help.");
  w.Sample({{"b", "q\"uote"}, {"a", "back\\slash\nnl"}}, 7);
  w.Gauge("weft_ratio", "Ratio.", 0.25);
  EXPECT_EQ(Text(std::move(w).Take()),
            "# HELP weft_x_total A help.\n"
            "# TYPE weft_x_total counter\n"
            "weft_x_total{b=\"q\\\"uote\",a=\"back\\\\slash\\nnl\"} 7\n"
            "# HELP weft_ratio Ratio.\n"
            "# TYPE weft_ratio gauge\n"
            "weft_ratio 0.25\n");
}

TEST(AgentMetricsTest, ReasonVerdicts) {
  EXPECT_STREQ(ReasonVerdict(WEFT_DELIVER_LOCAL), "forward");
  EXPECT_STREQ(ReasonVerdict(WEFT_PASS_HOST), "forward");
  EXPECT_STREQ(ReasonVerdict(WEFT_ARP_REPLY), "reply");
  EXPECT_STREQ(ReasonVerdict(WEFT_REJECT), "reply");
  EXPECT_STREQ(ReasonVerdict(WEFT_ND_REPLY), "reply");
  EXPECT_STREQ(ReasonVerdict(WEFT_ND_DAD), "ignored");
  EXPECT_STREQ(ReasonVerdict(WEFT_DROP_ND_INVALID), "drop");
  EXPECT_STREQ(ReasonVerdict(WEFT_DROP_SPOOFED), "drop");
  EXPECT_STREQ(ReasonVerdict(WEFT_DROP_CT_INVALID), "drop");
}

// The agent's own series, without a datapath or a controller: the router
// advertisements it sent and failed to send.
TEST(AgentMetricsTest, RouterAdvertisementsSentAndFailed) {
  AgentMetricsSource source{.node = "hv1", .mode = "file", .underlay_hook = "tc"};
  source.router_adverts = {.sent = 12, .failed = 2};
  const std::string text = Text(CollectAgentMetrics(source));
  EXPECT_NE(text.find("# TYPE weft_router_advertisements_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("weft_router_advertisements_total{result=\"sent\"} 12\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("weft_router_advertisements_total{result=\"failed\"} 2\n"), std::string::npos)
      << text;
}

TEST(MetricsEndpointTest, ServesMetricsAtScrapeTime) {
  int scrapes = 0;
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> server =
      MetricsEndpoint::Start("127.0.0.1:0", [&] {
        MetricFamilies w;
        w.Counter("weft_scrapes_total", "Scrapes.", ++scrapes);
        return std::move(w).Take();
      });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  std::string r = Exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_NE(r.find("Content-Type: text/plain"), std::string::npos) << r;
  EXPECT_NE(r.find("\n# HELP weft_scrapes_total Scrapes.\n"
                   "# TYPE weft_scrapes_total counter\nweft_scrapes_total 1\n"),
            std::string::npos)
      << r;
  r = Exchange(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
  EXPECT_NE(r.find("weft_scrapes_total 2\n"), std::string::npos) << r;
  EXPECT_TRUE(Exchange(port, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404")) << r;
  (*server)->Stop();
  EXPECT_EQ(Exchange(port, "GET /metrics HTTP/1.1\r\n\r\n"), "connect failed");
}

TEST(MetricsEndpointTest, RefusesBadAddressesSayingWhy) {
  auto start = [](const std::string& address) {
    absl::StatusOr<std::unique_ptr<MetricsEndpoint>> s =
        MetricsEndpoint::Start(address, [] { return std::vector<prometheus::MetricFamily>(); });
    return s.ok() ? std::string("started") : std::string(s.status().message());
  };
  EXPECT_NE(start("no-port").find("want host:port"), std::string::npos);
  EXPECT_NE(start("[::1]:9").find("IPv6"), std::string::npos);
  EXPECT_NE(start("256.1.1.1:9").find("IPv4"), std::string::npos);
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> taken =
      MetricsEndpoint::Start("127.0.0.1:0", [] { return std::vector<prometheus::MetricFamily>(); });
  ASSERT_TRUE(taken.ok()) << taken.status();
  EXPECT_NE(start(absl::StrCat("127.0.0.1:", (*taken)->port())).find("Address already in use"),
            std::string::npos);
}

TEST(HealthTest, NotServingUntilReadyAndAfterShutdown) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server = HealthServer::Start("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string addr = "127.0.0.1:" + std::to_string((*server)->port());
  auto check = [&](const std::string& service = "") {
    absl::StatusOr<std::string> s = CheckHealth(addr, service, absl::Seconds(5));
    return s.ok() ? *s : s.status().ToString();
  };
  EXPECT_EQ(check(), "NOT_SERVING");
  EXPECT_EQ(check("liveness"), "SERVING");  // alive while not yet ready
  (*server)->SetServing(true);
  EXPECT_EQ(check(), "SERVING");
  EXPECT_NE(check("weft.v1.Sync").find("NOT_FOUND"), std::string::npos);
  (*server)->Shutdown();
  EXPECT_NE(check(), "SERVING");
  EXPECT_NE(check("liveness"), "SERVING");
}

// A view with a VLAN bridge, from an agent that does not announce it.
TEST(ControllerMetricsTest, WhatANodeDoesNotRealize) {
  Controller controller;
  State state;
  state.version = 3;
  state.nodes.push_back({.name = "hv1", .vtep = 0xc6120001});
  state.tenants.push_back({.name = "blue", .id = 1});
  Segment web{.name = "web", .tenant = "blue", .vni = 1001, .gateway_mac = {2, 0xfe, 0, 0, 0, 1}};
  web.subnet = {0x0a000100, 24};
  web.gateway = 0x0a000101;
  web.vlan_bridge = VlanBridge{.node = "hv1", .trunk = "eth1", .vlan = 100};
  state.segments.push_back(web);
  ASSERT_TRUE(controller.Apply(state, "test").ok());
  controller.StreamOpened("hv1", 0, {"sotw", "chunked"});
  const std::string text = Text(CollectControllerMetrics(controller));
  EXPECT_NE(
      text.find("weft_controller_node_unrealized{node=\"hv1\",feature=\"vlan-bridging\"} 1\n"),
      std::string::npos)
      << text;
  EXPECT_EQ(text.find("feature=\"ipv6-tenants\""), std::string::npos) << text;
}

TEST(ControllerMetricsTest, NodesVersionsNacksAndRejectedEdits) {
  Controller controller;
  State state;
  state.version = 3;
  state.nodes.push_back({.name = "hv1", .vtep = 0xc6120001});
  state.nodes.push_back({.name = "hv2", .vtep = 0xc6120002});
  ASSERT_TRUE(controller.Apply(state, "test").ok());
  controller.StreamOpened("hv1", 0, {});
  controller.Nacked("hv1", 3, "n1", "bad");
  controller.EditRejected();
  const std::string text = Text(CollectControllerMetrics(controller));
  EXPECT_NE(text.find("weft_controller_state_version 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("weft_controller_agents_connected 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("weft_controller_node_connected{node=\"hv2\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("weft_controller_node_nacks_total{node=\"hv1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("weft_controller_rejected_edits_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE weft_controller_node_acked_version gauge\n"), std::string::npos);
}

}  // namespace
}  // namespace weft
