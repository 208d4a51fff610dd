// The operator surface without root: exposition format, the /metrics HTTP
// server, grpc.health.v1 and the controller's series.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "common/serving/health.h"
#include "agent/metrics/agent_metrics.h"
#include "common/serving/exposition.h"
#include "common/serving/http_server.h"
#include "controller/controller.h"
#include "controller/metrics.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

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

TEST(ExpositionTest, FamiliesSamplesAndEscaping) {
  ExpositionWriter w;
  w.Family("weft_x_total", ExpositionWriter::Type::kCounter, "A help\\text\nline.");
  w.Sample({{"a", "q\"uote"}, {"b", "back\\slash\nnl"}}, uint64_t{18446744073709551615u});
  w.Gauge("weft_ratio", "Ratio.", 0.25);
  EXPECT_EQ(w.text(),
            "# HELP weft_x_total A help\\\\text\\nline.\n"
            "# TYPE weft_x_total counter\n"
            "weft_x_total{a=\"q\\\"uote\",b=\"back\\\\slash\\nnl\"} 18446744073709551615\n"
            "# HELP weft_ratio Ratio.\n"
            "# TYPE weft_ratio gauge\n"
            "weft_ratio 0.25\n");
}

TEST(ExpositionTest, ReasonVerdicts) {
  EXPECT_STREQ(ReasonVerdict(WEFT_DELIVER_LOCAL), "forward");
  EXPECT_STREQ(ReasonVerdict(WEFT_PASS_HOST), "forward");
  EXPECT_STREQ(ReasonVerdict(WEFT_ARP_REPLY), "reply");
  EXPECT_STREQ(ReasonVerdict(WEFT_REJECT), "reply");
  EXPECT_STREQ(ReasonVerdict(WEFT_DROP_SPOOFED), "drop");
  EXPECT_STREQ(ReasonVerdict(WEFT_DROP_CT_INVALID), "drop");
}

TEST(MetricsServerTest, ServesMetricsAtScrapeTime) {
  int scrapes = 0;
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:0", [&] {
        ExpositionWriter w;
        w.Counter("weft_scrapes_total", "Scrapes.", ++scrapes);
        return w.text();
      });
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  ASSERT_GT(port, 0);
  std::string r = Exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\n")) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("\r\n\r\n# HELP weft_scrapes_total Scrapes.\n"
                          "# TYPE weft_scrapes_total counter\nweft_scrapes_total 1\n")) << r;
  r = Exchange(port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
  EXPECT_NE(r.find("weft_scrapes_total 2\n"), std::string::npos) << r;
  EXPECT_TRUE(Exchange(port, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
  EXPECT_TRUE(Exchange(port, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
  EXPECT_TRUE(Exchange(port, "garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
  r = Exchange(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200")) << r;
  EXPECT_TRUE(r.ends_with("\r\n\r\n")) << r;
  (*server)->Stop();
  EXPECT_EQ(Exchange(port, "GET /metrics HTTP/1.1\r\n\r\n"), "connect failed");
}

TEST(MetricsServerTest, RefusesBadAddresses) {
  EXPECT_FALSE(MetricsServer::Start("no-port", [] { return std::string(); }).ok());
  EXPECT_FALSE(MetricsServer::Start("256.1.1.1:9", [] { return std::string(); }).ok());
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

TEST(ControllerMetricsTest, NodesVersionsNacksAndRejectedEdits) {
  Controller controller;
  State state;
  state.version = 3;
  state.nodes.push_back({.name = "hv1", .vtep = 0xc6120001});
  state.nodes.push_back({.name = "hv2", .vtep = 0xc6120002});
  controller.Apply(state, "test");
  controller.StreamOpened("hv1", 0);
  controller.Nacked("hv1", 3, "n1", "bad");
  controller.EditRejected();
  const std::string text = CollectControllerMetrics(controller);
  EXPECT_NE(text.find("weft_controller_state_version 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("weft_controller_agents_connected 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("weft_controller_node_connected{node=\"hv2\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("weft_controller_node_nacks_total{node=\"hv1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("weft_controller_rejected_edits_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE weft_controller_node_acked_version gauge\n"), std::string::npos);
}

}  // namespace
}  // namespace weft
