// Two controller replicas (controller/replica.h) on one real etcd, in this
// process: a write through one is served by the other at the same version,
// every view alike; a bad state written into etcd around the validator is
// refused by both, which keep serving the last good one.
#include <memory>
#include <string>

#include "controller/controller.h"
#include "controller/replica.h"
#include "gmock/gmock.h"
#include "tests/store/etcd_fixture.h"
#include "tests/store/sample_states.h"

namespace weft::testing {
namespace {

// One replica: its own connection to etcd, controller and follower.
struct ReplicaUnderTest {
  ReplicaUnderTest(std::unique_ptr<EtcdStateStore> connected, const std::string& name)
      : store(std::move(connected)),
        controller(store.get(), name),
        replica(&controller, store.get(), name) {}
  ~ReplicaUnderTest() { replica.Stop(); }

  std::unique_ptr<EtcdStateStore> store;
  Controller controller;
  Replica replica;
};

class ReplicasTest : public EtcdTest {
 protected:
  std::unique_ptr<ReplicaUnderTest> StartReplica(const std::string& name) {
    EtcdStoreOptions options = Options();
    options.replica = name;
    auto r = std::make_unique<ReplicaUnderTest>(Connect(options), name);
    const absl::Status started = r->replica.Start();
    EXPECT_TRUE(started.ok()) << started;
    return r;
  }
};

// The versions of every node's view, in the state's order.
std::vector<uint64_t> ViewVersions(const Controller& controller) {
  std::vector<uint64_t> out;
  for (const Node& node : controller.state().nodes)
    out.push_back(controller.View(node.name)->version);
  return out;
}

TEST_F(ReplicasTest, AWriteThroughOneReplicaIsServedByTheOtherAtTheSameVersion) {
  std::unique_ptr<ReplicaUnderTest> one = StartReplica("r1");
  std::unique_ptr<ReplicaUnderTest> two = StartReplica("r2");
  EXPECT_TRUE(one->replica.ready());
  EXPECT_TRUE(two->replica.ready());

  absl::StatusOr<uint64_t> written = one->controller.Apply(EveryKind(), "test");
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(one->controller.state().version, *written);  // read-your-writes on r1
  ASSERT_TRUE(
      WaitFor([&] { return two->controller.state().version == *written; }, absl::Seconds(10)));
  EXPECT_TRUE(SameState(two->controller.state(), EveryKind()));
  EXPECT_EQ(two->controller.version(), one->controller.version());
  EXPECT_EQ(ViewVersions(two->controller), ViewVersions(one->controller));

  // A stale if_version loses on either replica.
  absl::StatusOr<uint64_t> stale = two->controller.Apply(EveryKind(), "test", *written - 1);
  EXPECT_TRUE(absl::IsAborted(stale.status())) << stale.status();
}

TEST_F(ReplicasTest, ABadStateWrittenAroundTheValidatorIsRefusedByEveryReplica) {
  std::unique_ptr<ReplicaUnderTest> one = StartReplica("r1");
  std::unique_ptr<ReplicaUnderTest> two = StartReplica("r2");
  absl::StatusOr<uint64_t> good = one->controller.Apply(EveryKind(), "test");
  ASSERT_TRUE(good.ok()) << good.status();
  ASSERT_TRUE(WaitFor([&] { return two->controller.state().version == *good; }, absl::Seconds(10)));

  State bad = EveryKind();
  ASSERT_FALSE(bad.endpoints.empty());
  bad.endpoints[0].segment = "nowhere";
  absl::StatusOr<uint64_t> written = one->store->WriteState(bad, StoreWriteOptions());
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_TRUE(WaitFor(
      [&] {
        return one->controller.rejected_edits() == 1 && two->controller.rejected_edits() == 1;
      },
      absl::Seconds(10)));
  EXPECT_EQ(one->controller.state().version, *good);
  EXPECT_EQ(two->controller.state().version, *good);
  EXPECT_TRUE(SameState(two->controller.state(), EveryKind()));

  // The next good write is served again.
  absl::StatusOr<uint64_t> fixed = two->controller.Apply(EveryKind(), "test");
  ASSERT_TRUE(fixed.ok()) << fixed.status();
  ASSERT_TRUE(
      WaitFor([&] { return one->controller.state().version == *fixed; }, absl::Seconds(10)));
}

}  // namespace
}  // namespace weft::testing
