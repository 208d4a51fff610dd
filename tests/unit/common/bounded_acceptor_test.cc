// The health listener's bound: connections over it are closed at once,
// idle ones are closed after the idle timeout, and probes are answered
// again as soon as slots free up.
#include "common/serving/bounded_acceptor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "common/serving/health.h"
#include "common/serving/listen_address.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{.sin_family = AF_INET, .sin_port = htons(port)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  return fd;
}

// Whether the server ended the connection within `timeout_ms`; what it
// sent before (gRPC's settings) is read and dropped.
bool ClosedByServer(int fd, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    if (poll(&p, 1, std::max<int>(0, int(left.count()))) != 1) return false;
    char bytes[4096];
    if (recv(fd, bytes, sizeof(bytes), 0) <= 0) return true;
  }
}

std::string Check(int port) {
  absl::StatusOr<std::string> s =
      CheckHealth("127.0.0.1:" + std::to_string(port), "liveness", absl::Seconds(5));
  return s.ok() ? *s : s.status().ToString();
}

TEST(BoundedAcceptorTest, ClosesConnectionsOverTheBoundAndAnswersOnceSlotsFree) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server =
      HealthServer::Start("127.0.0.1:0", {.max_connections = 3, .idle_timeout = absl::Seconds(60)});
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  std::vector<int> held;
  for (int i = 0; i < 3; ++i) held.push_back(Connect(port));
  // The fourth is accepted and closed at once; the held ones stay.
  const int over = Connect(port);
  EXPECT_TRUE(ClosedByServer(over, 5000));
  close(over);
  EXPECT_NE(Check(port), "SERVING");
  for (int fd : held) EXPECT_FALSE(ClosedByServer(fd, 0));
  for (int fd : held) close(fd);
  // The relays notice the closes; the next probe finds a slot (bounded wait).
  std::string status;
  for (int attempt = 0; attempt < 50 && status != "SERVING"; ++attempt) {
    status = Check(port);
    if (status != "SERVING") usleep(100 * 1000);
  }
  EXPECT_EQ(status, "SERVING");
}

TEST(BoundedAcceptorTest, ClosesAClientThatSendsNothing) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server = HealthServer::Start(
      "127.0.0.1:0", {.max_connections = 2, .idle_timeout = absl::Milliseconds(300)});
  ASSERT_TRUE(server.ok()) << server.status();
  const int silent = Connect((*server)->port());
  // gRPC alone keeps it for its 120 s handshake timeout.
  EXPECT_TRUE(ClosedByServer(silent, 10000));
  close(silent);
  // A probe is not idle: it is answered.
  EXPECT_EQ(Check((*server)->port()), "SERVING");
}

TEST(BoundedAcceptorTest, KeepsAWatchAliveThroughPings) {
  absl::StatusOr<std::unique_ptr<HealthServer>> server = HealthServer::Start(
      "127.0.0.1:0", {.max_connections = 2, .idle_timeout = absl::Milliseconds(400)});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string((*server)->port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckRequest request;
  auto reader = stub->Watch(&context, request);
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  // Several idle timeouts later the stream still carries the change.
  usleep(1500 * 1000);
  (*server)->SetServing(true);
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  context.TryCancel();
  reader->Finish();
}

TEST(ListenAddressTest, LocalUnlessAnAddressSaysOtherwise) {
  EXPECT_EQ(ParseListenAddress(":9465")->ToString(), "127.0.0.1:9465");
  EXPECT_EQ(ParseListenAddress("localhost:9465")->ToString(), "127.0.0.1:9465");
  EXPECT_EQ(ParseListenAddress("0.0.0.0:9465")->ToString(), "0.0.0.0:9465");
  EXPECT_EQ(ParseListenAddress("[::1]:9465")->ToString(), "[::1]:9465");
  EXPECT_FALSE(ParseListenAddress("example.com:9465").ok());
  EXPECT_FALSE(ParseListenAddress("9465").ok());
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:99999").ok());
}

}  // namespace
}  // namespace weft
