// The agent's list of controllers (--controller A,B,...): parsing, the
// order it tries them in, and a move from a controller that goes away to
// the next, which resumes the agent without resending its state.
#include "agent/sync/controller_list.h"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/sync/client.h"
#include "common/model/state_yaml.h"
#include "controller/controller.h"
#include "controller/service.h"
#include "gmock/gmock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/testing/wait_for.h"

namespace weft {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- --controller ----

TEST(ControllerListTest, OneAddressOrACommaSeparatedList) {
  EXPECT_THAT(*ParseControllerList("198.18.0.254:7000"), ElementsAre("198.18.0.254:7000"));
  EXPECT_THAT(*ParseControllerList("ctl-a.example:7000,198.18.0.2:7000,[fd00::1]:7000"),
              ElementsAre("ctl-a.example:7000", "198.18.0.2:7000", "[fd00::1]:7000"));
  EXPECT_TRUE(ParseControllerList("")->empty());  // standalone
}

TEST(ControllerListTest, AnEmptyOrMalformedEntryIsRefusedByName) {
  const struct {
    const char* flag;
    const char* error;
  } cases[] = {
      {"a:7000,,b:7000", "--controller entry 2 \"\" is empty"},
      {"a:7000,", "--controller entry 2 \"\" is empty"},
      {",a:7000", "--controller entry 1 \"\" is empty"},
      {"a:7000,b", "--controller entry 2 \"b\" is not HOST:PORT"},
      {"a:0", "entry 1 \"a:0\" is not HOST:PORT"},
      {"a:65536", "entry 1 \"a:65536\" is not HOST:PORT"},
      {"a:70x", "entry 1 \"a:70x\" is not HOST:PORT"},
      {":7000", "entry 1 \":7000\" is not HOST:PORT"},
      {"a :7000", "is not HOST:PORT"},
      {"fd00::1:7000", "is not HOST:PORT"},  // IPv6 wants brackets
      {"[fd00::1:7000", "is not HOST:PORT"},
      {"dns:///a:7000", "is not HOST:PORT"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<std::vector<std::string>> parsed = ParseControllerList(c.flag);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.flag;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.error)) << c.flag;
  }
}

// ---- the order of the attempts ----

TEST(ControllerRotationTest, StartsWhereTheNodeNamePointsAndGoesRound) {
  // A stable hash: the same start in every process and release.
  EXPECT_EQ(ControllerRotation("hv1", 1000).current(), ControllerRotation("hv1", 1000).current());
  EXPECT_EQ(ControllerRotation("hv1", 1000).current(), 582u);  // FNV-1a("hv1") % 1000
  ControllerRotation r("hv7", 3);
  const size_t first = r.current();
  std::vector<size_t> order;
  for (int i = 0; i < 6; ++i) {
    r.Next(/*served=*/false);
    order.push_back(r.current());
  }
  EXPECT_THAT(order, ElementsAre((first + 1) % 3, (first + 2) % 3, first, (first + 1) % 3,
                                 (first + 2) % 3, first));
  EXPECT_EQ(ControllerRotation("hv7", 1).current(), 0u);
}

TEST(ControllerRotationTest, AFleetSpreadsOverTheList) {
  std::vector<int> per_controller(3);
  for (int i = 0; i < 300; ++i) {
    ++per_controller[ControllerRotation(absl::StrCat("hv", i), 3).current()];
  }
  for (int n : per_controller) {
    EXPECT_GT(n, 60);  // a third is 100
  }
}

// Backoff only once every controller of a round failed: a stream that was
// served and ended is followed at once by the next controller.
TEST(ControllerRotationTest, BacksOffOnlyAfterAWholeRoundFailed) {
  ControllerRotation r("hv1", 3);
  EXPECT_FALSE(r.Next(false));
  EXPECT_FALSE(r.Next(false));
  EXPECT_TRUE(r.Next(false));  // all three failed
  EXPECT_FALSE(r.Next(false));
  EXPECT_FALSE(r.Next(true));   // served, then ended: the round starts with it
  EXPECT_FALSE(r.Next(false));  // the second of the round
  EXPECT_TRUE(r.Next(false));   // the third
  ControllerRotation one("hv1", 1);
  EXPECT_TRUE(one.Next(true));  // one controller: as before the list, each retry waits
  EXPECT_TRUE(one.Next(false));
}

// ---- a move between two controllers serving the same state ----

constexpr char kFailoverFleet[] = R"yaml(
version: 3
nodes:
  - {name: hv1, vtep: 198.18.0.1}
tenants:
  - {name: blue, id: 1}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01"}
endpoints:
  - {name: blue-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vb1}
)yaml";

State FailoverFleet() {
  absl::StatusOr<State> s = ParseStateYaml(kFailoverFleet, "fleet");
  EXPECT_TRUE(s.ok()) << s.status();
  return *s;
}

struct Replica {
  Replica() : sync(&controller, PeerTrust::kAnyone) {
    EXPECT_TRUE(controller.Apply(FailoverFleet(), "test").ok());
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(&sync);
    server = b.BuildAndStart();
  }
  ~Replica() { Stop(); }
  void Stop() {
    if (server) server->Shutdown(std::chrono::system_clock::now());
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port); }
  bool Serving() const {
    const v1::GetRealizationResponse r = controller.Realization(0);
    return r.nodes(0).connected() && r.all_enforcing();
  }

  Controller controller;
  SyncService sync;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
};

using weft::testing::WaitFor;

TEST(ControllerFailoverTest, TheAgentMovesToTheNextControllerWhichResumesIt) {
  Replica a, b;
  // In the order that starts hv1 on a.
  std::vector<std::string> list = {a.address(), b.address()};
  if (ControllerRotation("hv1", 2).current() == 1) std::swap(list[0], list[1]);
  std::mutex mu;
  std::vector<uint64_t> applied;
  SyncClient client({.controllers = list,
                     .credentials = grpc::InsecureChannelCredentials(),
                     .node = "hv1",
                     .backoff_max = absl::Milliseconds(300)},
                    [&](State s) {
                      std::lock_guard<std::mutex> lock(mu);
                      applied.push_back(s.version);
                      return absl::OkStatus();
                    });
  auto applied_now = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return applied;
  };
  client.Start();
  ASSERT_TRUE(WaitFor([&] { return a.Serving() && applied_now().size() == 1; }));
  EXPECT_EQ(client.controller(), a.address());
  EXPECT_FALSE(b.controller.Realization(0).nodes(0).connected());

  a.Stop();
  ASSERT_TRUE(WaitFor([&] { return b.Serving() && client.connected(); }));
  EXPECT_EQ(client.controller(), b.address());
  EXPECT_EQ(client.reconnects(), 1u);  // straight to b: no retry of a first
  // Resumed: nothing resent, and b counts hv1 as enforcing its version.
  EXPECT_EQ(applied_now(), std::vector<uint64_t>{3});
  EXPECT_EQ(b.controller.Realization(0).nodes(0).acked_version(), 3u);

  // A change through b reaches the agent.
  State changed = FailoverFleet();
  changed.endpoints[0].mac[5] = 0x42;
  ASSERT_EQ(b.controller.Apply(changed, "test").value_or(0), 4u);
  ASSERT_TRUE(WaitFor([&] { return applied_now().size() == 2; }));
  EXPECT_EQ(applied_now().back(), 4u);
  client.Stop();
}

// The first controller of the list is down: the next one is tried at once
// (no waiting on the dead one), and the agent is served there.
TEST(ControllerFailoverTest, AControllerThatCannotBeReachedIsPassedOver) {
  Replica b;
  Replica dead;
  const std::string dead_address = dead.address();
  dead.Stop();
  std::vector<std::string> list = {dead_address, b.address()};
  if (ControllerRotation("hv1", 2).current() == 1) std::swap(list[0], list[1]);
  SyncClient client({.controllers = list,
                     .credentials = grpc::InsecureChannelCredentials(),
                     .node = "hv1",
                     .backoff_max = absl::Milliseconds(300)},
                    [](State) { return absl::OkStatus(); });
  client.Start();
  ASSERT_TRUE(WaitFor([&] { return b.Serving(); }));
  EXPECT_EQ(client.controller(), b.address());
  client.Stop();
}

}  // namespace
}  // namespace weft
