// weft-controller as a replica on a store (controller/replica.h, the store
// mode of controller/controller.h), against FakeStateStore: versions are the
// store's revisions, a bad state in the store is refused and the last good
// one served, writes and learned routes go through the store, if_version
// conflicts, an unreachable store refuses writes, realization merges the
// fleet's with this replica's streams, a replica behind waits.
#include "controller/replica.h"

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/model/net_format.h"
#include "common/model/state_yaml.h"
#include "controller/controller.h"
#include "controller/service.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/fake_state_store.h"

namespace weft {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// blue lives on hv1 and goes out through edge1; red lives on hv2.
constexpr char kReplicaFleet[] = R"yaml(
nodes:
  - {name: hv1, vtep: 198.18.0.1}
  - {name: hv2, vtep: 198.18.0.2}
  - {name: edge1, vtep: 198.18.0.11, role: edge}
tenants:
  - {name: blue, id: 1}
  - {name: red, id: 2}
segments:
  - {name: blue-web, tenant: blue, vni: 1001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:01"}
  - {name: red-web, tenant: red, vni: 2001, subnet: 10.0.1.0/24, gateway: 10.0.1.1, gateway_mac: "02:fe:00:00:00:02"}
endpoints:
  - {name: blue-1, segment: blue-web, ip: 10.0.1.10, mac: "02:00:00:01:01:10", node: hv1, interface: vblue1}
  - {name: red-1, segment: red-web, ip: 10.0.1.10, mac: "02:00:00:02:01:10", node: hv2, interface: vred1}
uplinks:
  - {name: blue-e1, node: edge1, tenant: blue, interface: eth1, vlan: 100, transit: 192.0.2.0/30, address: 192.0.2.2, peer: 192.0.2.1, peer_as: 64500, local_as: 65001}
)yaml";

State ReplicaFleet() {
  absl::StatusOr<State> state = ParseStateYaml(kReplicaFleet, "fleet.yaml");
  EXPECT_TRUE(state.ok()) << state.status();
  return *state;
}

// The fleet with red's endpoint moved to another address: only hv2's view
// (red) changes.
State RedMoved() {
  State state = ReplicaFleet();
  for (Endpoint& e : state.endpoints) {
    if (e.name == "red-1") e.ip = *ParseIpv4("10.0.1.11");
  }
  return state;
}

// An endpoint in a segment that does not exist: ValidateState refuses it.
State Invalid() {
  State state = ReplicaFleet();
  state.endpoints[0].segment = "nowhere";
  return state;
}

class ReplicaTest : public ::testing::Test {
 protected:
  void StartWith(absl::StatusOr<State> state) {
    store_.PutRaw(std::move(state));
    ASSERT_TRUE(replica_.Start().ok());
  }

  FakeStateStore store_{"r1"};
  Controller controller_{&store_, "r1"};
  Replica replica_{&controller_, &store_, "r1"};
};

TEST_F(ReplicaTest, InstallsTheStoreStateAtItsRevision) {
  StartWith(ReplicaFleet());
  const uint64_t revision = store_.revision();
  EXPECT_TRUE(replica_.ready());
  EXPECT_TRUE(replica_.store_up());
  EXPECT_EQ(controller_.version(), revision);
  EXPECT_EQ(controller_.revision(), revision);
  EXPECT_EQ(controller_.View("hv1")->version, revision);
  EXPECT_EQ(controller_.View("hv2")->version, revision);
  EXPECT_EQ(controller_.state().version, revision);  // the state version if_version compares
  EXPECT_EQ(controller_.state().endpoints.size(), 2u);
}

TEST_F(ReplicaTest, AWriteIsServedHereWhenApplyReturnsAndOnlyChangedViewsGetItsRevision) {
  StartWith(ReplicaFleet());
  const uint64_t before = controller_.version();
  absl::StatusOr<uint64_t> written = controller_.Apply(RedMoved(), "test");
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, store_.revision());
  EXPECT_THAT(store_.sources(), ElementsAre("test"));
  // Read-your-writes: installed before Apply returned.
  EXPECT_EQ(controller_.version(), *written);
  EXPECT_EQ(controller_.state().version, *written);
  EXPECT_EQ(controller_.View("hv2")->version, *written);
  EXPECT_EQ(controller_.View("hv1")->version, before);  // blue did not change
}

TEST_F(ReplicaTest, InstallAtRefusesARevisionNotAboveTheCurrentOne) {
  StartWith(ReplicaFleet());
  const uint64_t revision = controller_.revision();
  const absl::Status again = controller_.InstallAt(revision, RedMoved(), std::nullopt, "test");
  EXPECT_TRUE(absl::IsFailedPrecondition(again)) << again;
  EXPECT_EQ(controller_.state().endpoints[1].ip, ReplicaFleet().endpoints[1].ip);
}

TEST_F(ReplicaTest, ABadStateInTheStoreIsRefusedAndTheLastGoodOneServed) {
  StartWith(ReplicaFleet());
  const uint64_t good = controller_.version();
  store_.PutRaw(Invalid());
  EXPECT_EQ(controller_.version(), good);
  EXPECT_EQ(controller_.state().endpoints[0].segment, "blue-web");
  EXPECT_EQ(controller_.rejected_edits(), 1u);
  store_.PutRaw(absl::InvalidArgumentError("state/g1/nodes/hv9: not a weft.v1.State"));
  EXPECT_EQ(controller_.version(), good);
  EXPECT_EQ(controller_.rejected_edits(), 2u);
  EXPECT_TRUE(replica_.ready());  // still serving the last good state

  const uint64_t fixed = store_.PutRaw(RedMoved());
  EXPECT_EQ(controller_.version(), fixed);
  EXPECT_EQ(controller_.View("hv2")->version, fixed);
}

TEST_F(ReplicaTest, AFirstStateThatIsRefusedLeavesTheReplicaNotReadyUntilAGoodOne) {
  StartWith(Invalid());
  EXPECT_FALSE(replica_.ready());
  EXPECT_FALSE(controller_.HasWeftNode("hv1"));
  EXPECT_EQ(controller_.rejected_edits(), 1u);
  store_.PutRaw(ReplicaFleet());
  EXPECT_TRUE(replica_.ready());
  EXPECT_TRUE(controller_.HasWeftNode("hv1"));
}

TEST_F(ReplicaTest, AnEmptyStoreServesTheEmptyState) {
  ASSERT_TRUE(replica_.Start().ok());
  EXPECT_TRUE(replica_.ready());
  EXPECT_EQ(controller_.state().version, 0u);
  EXPECT_TRUE(controller_.state().nodes.empty());
}

TEST_F(ReplicaTest, LearnedRoutesGoThroughTheStoreAndComeBackAtTheirRevision) {
  StartWith(ReplicaFleet());
  const uint64_t state_version = controller_.state().version;
  const uint64_t hv2_version = controller_.View("hv2")->version;
  ASSERT_TRUE(
      controller_.ReportLearned("edge1", 7, {{"blue-e1", {*ParseIpv4Prefix("198.51.100.0/24")}}})
          .ok());
  EXPECT_EQ(store_.LearnedOwners()["edge1"], "r1#7");
  const uint64_t learned_at = store_.revision();
  ASSERT_EQ(controller_.LearnedRoutes().size(), 1u);
  EXPECT_EQ(controller_.LearnedRoutes()[0].tenant, "blue");
  EXPECT_EQ(controller_.View("hv1")->version, learned_at);   // blue's view changed
  EXPECT_EQ(controller_.View("hv2")->version, hv2_version);  // red's did not
  EXPECT_EQ(controller_.version(), learned_at);
  EXPECT_EQ(controller_.state().version, state_version);  // the desired state did not change

  controller_.ForgetLearned("edge1", 6);  // another stream's: nothing
  EXPECT_EQ(store_.LearnedOwners().count("edge1"), 1u);
  controller_.ForgetLearned("edge1", 7);
  EXPECT_EQ(store_.LearnedOwners().count("edge1"), 0u);
  EXPECT_TRUE(controller_.LearnedRoutes().empty());
  EXPECT_EQ(controller_.View("hv1")->version, store_.revision());
}

TEST_F(ReplicaTest, LearnedRoutesTheStoreDidNotTakeArePutAgainWhenItAnswers) {
  StartWith(ReplicaFleet());
  store_.SetDown(true);
  ASSERT_TRUE(
      controller_.ReportLearned("edge1", 7, {{"blue-e1", {*ParseIpv4Prefix("198.51.100.0/24")}}})
          .ok());
  EXPECT_TRUE(controller_.LearnedRoutes().empty());
  store_.SetDown(false);  // the replica republishes on its own thread
  for (int i = 0; i < 500 && controller_.LearnedRoutes().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(controller_.LearnedRoutes().size(), 1u);
  EXPECT_EQ(store_.LearnedOwners()["edge1"], "r1#7");
}

TEST_F(ReplicaTest, IfVersionConflictsThroughTheStore) {
  StartWith(ReplicaFleet());
  const uint64_t version = controller_.state().version;
  absl::StatusOr<uint64_t> stale = controller_.Apply(RedMoved(), "test", version - 1);
  EXPECT_TRUE(absl::IsAborted(stale.status())) << stale.status();
  EXPECT_THAT(stale.status().message(),
              HasSubstr(absl::StrCat("the state is at version ", version, ", not ", version - 1)));
  EXPECT_EQ(controller_.state().endpoints[1].ip, ReplicaFleet().endpoints[1].ip);
  absl::StatusOr<uint64_t> current = controller_.Apply(RedMoved(), "test", version);
  EXPECT_TRUE(current.ok()) << current.status();
}

TEST(FileModeTest, IfVersionConflictsWithTheControllersVersion) {
  Controller controller;
  ASSERT_EQ(*controller.Apply(ReplicaFleet(), "test"), 1u);
  absl::StatusOr<uint64_t> stale = controller.Apply(RedMoved(), "test", 5);
  EXPECT_TRUE(absl::IsAborted(stale.status())) << stale.status();
  EXPECT_THAT(stale.status().message(),
              HasSubstr("the state is at version 1, not 5: read it again"));
  EXPECT_EQ(controller.version(), 1u);
  absl::StatusOr<uint64_t> current = controller.Apply(RedMoved(), "test", 1);
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ(*current, 2u);
}

TEST(FileModeTest, AnyAppliedVersionIsServed) {
  Controller controller;
  ASSERT_TRUE(controller.Apply(ReplicaFleet(), "test").ok());
  EXPECT_TRUE(controller.AwaitVersion("hv1", 1000, "", absl::ZeroDuration()));
}

TEST_F(ReplicaTest, WritesAreRefusedWhileTheStoreIsUnreachableAndTheStateIsStillServed) {
  StartWith(ReplicaFleet());
  const uint64_t version = controller_.version();
  store_.SetDown(true);
  EXPECT_FALSE(replica_.store_up());
  absl::StatusOr<uint64_t> refused = controller_.Apply(RedMoved(), "test");
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_THAT(refused.status().message(), HasSubstr("the state store is unreachable"));
  EXPECT_THAT(refused.status().message(), HasSubstr("etcd at fake:2379"));
  EXPECT_EQ(controller_.version(), version);
  EXPECT_EQ(controller_.View("hv1")->version, version);
  EXPECT_TRUE(replica_.ready());
  store_.SetDown(false);
  EXPECT_TRUE(replica_.store_up());
  EXPECT_TRUE(controller_.Apply(RedMoved(), "test").ok());
}

TEST_F(ReplicaTest, RealizationMergesTheFleetWithThisReplicasStreams) {
  StartWith(ReplicaFleet());
  const uint64_t version = controller_.version();
  // hv1 on this replica, acked the view it was sent.
  controller_.StreamOpened("hv1", 0, {});
  EXPECT_THAT(store_.ConnectedHere(), ElementsAre("hv1"));
  controller_.Sent("hv1", *controller_.View("hv1"), "n1");
  controller_.Acked("hv1", version, "n1");
  // hv2 on another replica, as it wrote in the store.
  RealizedNode hv2;
  hv2.node = "hv2";
  hv2.acked_version = version - 1;
  hv2.nacked_version = version;
  hv2.nack_error = "no room";
  store_.PutOtherReplicas(hv2, "r2");

  const v1::GetRealizationResponse r = controller_.Realization(0);
  ASSERT_EQ(r.nodes_size(), 3);
  const v1::NodeRealization& n1 = r.nodes(0);
  EXPECT_EQ(n1.node(), "hv1");
  EXPECT_TRUE(n1.connected());
  EXPECT_EQ(n1.enforced_version(), version);
  EXPECT_THAT(n1.replicas(), ElementsAre("r1"));
  const v1::NodeRealization& n2 = r.nodes(1);
  EXPECT_EQ(n2.node(), "hv2");
  EXPECT_TRUE(n2.connected());
  EXPECT_THAT(n2.replicas(), ElementsAre("r2"));
  EXPECT_EQ(n2.acked_version(), version - 1);
  EXPECT_EQ(n2.nacked_version(), version);
  EXPECT_EQ(n2.nack_error(), "no room");
  EXPECT_EQ(n2.enforced_version(), version - 1);
  EXPECT_FALSE(r.nodes(2).connected());  // edge1: nowhere
  EXPECT_THAT(r.enforcing(), ElementsAre("hv1"));

  controller_.StreamClosed("hv1");
  EXPECT_TRUE(store_.ConnectedHere().empty());
}

TEST_F(ReplicaTest, AReplicaBehindTheNodeWaitsForItsWatch) {
  StartWith(ReplicaFleet());
  const uint64_t ahead = controller_.revision() + 2;
  EXPECT_TRUE(controller_.AwaitVersion("hv1", controller_.revision(), "", absl::ZeroDuration()));
  EXPECT_FALSE(controller_.AwaitVersion("hv1", ahead, "", absl::Milliseconds(50)));
  std::thread watch([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    store_.PutRaw(RedMoved());  // two revisions: the state, then nothing
    store_.PutRaw(RedMoved());
  });
  EXPECT_TRUE(controller_.AwaitVersion("hv1", ahead, "", absl::Seconds(10)));
  watch.join();
}

TEST_F(ReplicaTest, AStreamFromANodeAheadOfThisReplicaEndsUnavailable) {
  StartWith(ReplicaFleet());
  SyncService sync(&controller_, PeerTrust::kAnyone);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&sync);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  std::unique_ptr<v1::Sync::Stub> stub = v1::Sync::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub->Stream(&context);
  v1::AgentMessage hello;
  hello.mutable_hello()->set_node("hv1");
  hello.mutable_hello()->set_applied_version(controller_.revision() + 100);
  ASSERT_TRUE(stream->Write(hello));
  v1::ControllerMessage reply;
  EXPECT_FALSE(stream->Read(&reply));  // nothing sent: it would go backwards
  const grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(ended.error_message(),
              HasSubstr(absl::StrCat("this replica is at version ", controller_.revision(),
                                     ", behind the node's ", controller_.revision() + 100,
                                     "; try another")));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

}  // namespace
}  // namespace weft
