// What a replica sees through EtcdStateStore::Start: each change once, in
// order, at its commit revision; a bad key as an error; an etcd restart as
// unreachable then reachable, without a lost event.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/etcd/client.h"
#include "gmock/gmock.h"
#include "tests/store/etcd_fixture.h"
#include "tests/store/sample_states.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

// Records what a started store reports.
class Recorder {
 public:
  std::function<void(StoreSnapshot)> OnChange() {
    return [this](StoreSnapshot s) {
      absl::MutexLock lock(&mu_);
      snapshots_.push_back(std::move(s));
    };
  }
  std::function<void(bool, const std::string&)> OnReachable() {
    return [this](bool reachable, const std::string& why) {
      absl::MutexLock lock(&mu_);
      reachable_.push_back(reachable);
    };
  }
  std::vector<StoreSnapshot> Snapshots() {
    absl::MutexLock lock(&mu_);
    return snapshots_;
  }
  std::vector<bool> Reachable() {
    absl::MutexLock lock(&mu_);
    return reachable_;
  }
  bool WaitForRevision(uint64_t revision) {
    return WaitFor(
        [&] {
          absl::MutexLock lock(&mu_);
          return !snapshots_.empty() && snapshots_.back().revision >= revision;
        },
        absl::Seconds(15));
  }

 private:
  absl::Mutex mu_;
  std::vector<StoreSnapshot> snapshots_;
  std::vector<bool> reachable_;
};

TEST_F(EtcdTest, WatchDeliversEachChangeOnceInOrderAtItsRevision) {
  auto writer = Connect();
  auto replica = Connect();
  Recorder recorder;
  ASSERT_TRUE(replica->Start(recorder.OnChange(), recorder.OnReachable()).ok());
  std::vector<uint64_t> versions;
  for (size_t i = 1; i <= 5; ++i) {
    absl::StatusOr<uint64_t> version = writer->WriteState(ManyEndpoints(i), {});
    ASSERT_TRUE(version.ok()) << version.status();
    versions.push_back(*version);
  }
  ASSERT_TRUE(recorder.WaitForRevision(versions.back()));
  std::vector<StoreSnapshot> snapshots = recorder.Snapshots();
  ASSERT_EQ(snapshots.size(), 1 + versions.size());  // the initial read, then each write
  EXPECT_EQ(snapshots[0].state_version, 0u);
  for (size_t i = 0; i < versions.size(); ++i) {
    const StoreSnapshot& s = snapshots[i + 1];
    EXPECT_EQ(s.revision, versions[i]);
    EXPECT_EQ(s.state_version, versions[i]);
    EXPECT_TRUE(s.state_changed);
    EXPECT_FALSE(s.learned_changed);
    ASSERT_TRUE(s.state.ok()) << s.state.status();
    EXPECT_EQ(s.state->endpoints.size(), i + 1);
    EXPECT_EQ(s.state->version, versions[i]);
  }
  replica->Stop();
}

TEST_F(EtcdTest, GarbageKeyIsAnErrorNamingItUntilAGoodWrite) {
  auto writer = Connect();
  ASSERT_TRUE(writer->WriteState(EveryKind(), {}).ok());
  auto replica = Connect();
  Recorder recorder;
  ASSERT_TRUE(replica->Start(recorder.OnChange(), recorder.OnReachable()).ok());

  // Written bypassing the store, into the generation the head names (0).
  etcd::EtcdConfig config;
  config.endpoints = Options().endpoints;
  auto raw = etcd::Client::Create(config);
  ASSERT_TRUE(raw.ok());
  const std::string bad_key = Options().prefix + "state/g0/endpoints/bogus";
  etcdserverpb::TxnRequest txn;
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(bad_key);
  put->set_value("\xff\xff not a proto");
  auto bad = (*raw)->Txn(txn);
  ASSERT_TRUE(bad.ok()) << bad.status();
  ASSERT_TRUE(recorder.WaitForRevision(bad->header().revision()));
  StoreSnapshot broken = recorder.Snapshots().back();
  EXPECT_EQ(broken.revision, static_cast<uint64_t>(bad->header().revision()));
  EXPECT_TRUE(broken.state_changed);
  ASSERT_FALSE(broken.state.ok());
  EXPECT_THAT(std::string(broken.state.status().message()),
              HasSubstr(bad_key.substr(Options().prefix.size() + 9)));

  absl::StatusOr<uint64_t> good = writer->WriteState(EveryKind(), {});
  ASSERT_TRUE(good.ok()) << good.status();
  ASSERT_TRUE(recorder.WaitForRevision(*good));
  StoreSnapshot recovered = recorder.Snapshots().back();
  ASSERT_TRUE(recovered.state.ok()) << recovered.state.status();
  EXPECT_TRUE(SameState(*recovered.state, EveryKind()));
  replica->Stop();
}

TEST_F(EtcdTest, EtcdRestartIsReportedAndTheWatchLosesNothing) {
  EtcdStoreOptions options = Options();
  auto replica = Connect(options);
  Recorder recorder;
  ASSERT_TRUE(replica->Start(recorder.OnChange(), recorder.OnReachable()).ok());
  auto writer = Connect();
  absl::StatusOr<uint64_t> before = writer->WriteState(ManyEndpoints(1), {});
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(recorder.WaitForRevision(*before));

  etcd_->Kill();
  ASSERT_TRUE(WaitFor([&] { return !recorder.Reachable().empty(); }, absl::Seconds(15)));
  EXPECT_EQ(recorder.Reachable().front(), false);
  absl::StatusOr<uint64_t> refused = replica->WriteState(ManyEndpoints(9), {});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr(etcd_->Endpoint()));

  ASSERT_TRUE(etcd_->Start().ok());
  // Written at once, most likely before the replica's watch is back: it must
  // come from the resumed watch all the same.
  absl::StatusOr<uint64_t> after;
  ASSERT_TRUE(WaitFor([&] { return (after = writer->WriteState(ManyEndpoints(2), {})).ok(); },
                      absl::Seconds(15)))
      << after.status();
  absl::StatusOr<uint64_t> last = writer->WriteState(ManyEndpoints(3), {});
  ASSERT_TRUE(last.ok());
  ASSERT_TRUE(recorder.WaitForRevision(*last));
  ASSERT_TRUE(WaitFor([&]() -> bool { return recorder.Reachable().back(); }, absl::Seconds(15)));
  EXPECT_EQ(recorder.Reachable(), (std::vector<bool>{false, true}));

  std::vector<uint64_t> seen;
  for (const StoreSnapshot& s : recorder.Snapshots()) seen.push_back(s.revision);
  EXPECT_THAT(seen, ::testing::IsSupersetOf({*before, *after, *last}));
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(recorder.Snapshots().back().state->endpoints.size(), 3u);
  replica->Stop();
}

}  // namespace
}  // namespace weft::testing
