// What a replica sees through EtcdStateStore::Start: each change once, in
// order, at its commit revision; a bad key as an error; an etcd restart as
// unreachable then reachable, without a lost event; a watch whose next
// revision was compacted away ends rather than skipping what it lost, and
// the replica reads everything again.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/etcd/client.h"
#include "common/etcd/watch.h"
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

// Compacted by etcd's own tool, as an operator's maintenance does. The
// store's answer to the end is to read everything again and watch anew
// (EtcdStateStore::Run); what is tested here is that the end is reported at
// all, with the revision etcd still keeps.
TEST_F(EtcdTest, AWatchFromACompactedRevisionEndsAsOutOfRange) {
  auto writer = Connect();
  absl::StatusOr<uint64_t> first = writer->WriteState(ManyEndpoints(1), {});
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<uint64_t> last = writer->WriteState(ManyEndpoints(2), {});
  ASSERT_TRUE(last.ok()) << last.status();
  const std::string compact = absl::StrCat("ETCDCTL_API=3 etcdctl --endpoints=http://",
                                           etcd_->Endpoint(), " compact ", *last, " >/dev/null");
  ASSERT_EQ(std::system(compact.c_str()), 0) << compact;

  etcd::EtcdConfig config;
  config.endpoints = {etcd_->Endpoint()};
  absl::StatusOr<std::unique_ptr<etcd::Client>> client = etcd::Client::Create(config);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::Notification ended;
  absl::Status why;
  int revisions_seen = 0;
  etcd::WatchCallbacks callbacks;
  callbacks.on_revision = [&](int64_t, const std::vector<mvccpb::Event>&) { ++revisions_seen; };
  callbacks.on_end = [&](const absl::Status& status) {
    why = status;
    ended.Notify();
  };
  const std::string prefix = Options().prefix;
  etcd::Watch watch(**client, prefix, etcd::PrefixEnd(prefix), static_cast<int64_t>(*first),
                    std::move(callbacks));
  ASSERT_TRUE(ended.WaitForNotificationWithTimeout(absl::Seconds(15)));
  watch.Stop();
  EXPECT_EQ(why.code(), absl::StatusCode::kOutOfRange) << why;
  EXPECT_THAT(why.message(), HasSubstr(absl::StrCat("oldest kept ", *last))) << why;
  EXPECT_EQ(revisions_seen, 0);
}

// Puts `value` at `key` through `client`.
absl::Status PutForWatch(etcd::Client& client, const std::string& key, const std::string& value) {
  etcdserverpb::TxnRequest txn;
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  return client.Txn(txn).status();
}

// The watch alone, with no lease keepalive to move its client along: when
// its member dies it goes on at the next one, from the revision after the
// last it delivered. The member comes back on its other address only, so the
// watch reaches it there or not at all. (It did not: a stream that broke
// reported CANCELLED, its own cancel hiding the cause, and was opened again
// on the dead member, forever; a replica served a stale state.)
TEST_F(EtcdTest, AWatchGoesOnAtTheNextMemberWhenItsMemberDies) {
  etcd::EtcdConfig config;
  config.endpoints = {etcd_->Endpoint(), etcd_->HiddenEndpoint()};
  auto client = etcd::Client::Create(config);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::Mutex mu;
  std::vector<std::string> values;
  etcd::WatchCallbacks callbacks;
  callbacks.on_revision = [&](int64_t, const std::vector<mvccpb::Event>& events) {
    absl::MutexLock lock(&mu);
    for (const mvccpb::Event& e : events) values.push_back(e.kv().value());
  };
  auto seen = [&] {
    absl::MutexLock lock(&mu);
    return values;
  };
  const std::string prefix = "/test/watch/";
  ASSERT_TRUE(PutForWatch(**client, prefix + "a", "a").ok());
  etcd::Watch watch(**client, prefix, etcd::PrefixEnd(prefix), 1, callbacks);
  ASSERT_TRUE(WaitFor([&] { return seen().size() == 1; }, absl::Seconds(10)));

  etcd_->Kill();
  ASSERT_TRUE(etcd_->StartHidden().ok());
  etcd::EtcdConfig hidden;
  hidden.endpoints = {etcd_->HiddenEndpoint()};
  auto writer = etcd::Client::Create(hidden);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE(PutForWatch(**writer, prefix + "b", "b").ok());
  EXPECT_TRUE(WaitFor([&] { return seen().size() == 2; }, absl::Seconds(15)))
      << "the watch did not reach the member at its other address";
  EXPECT_EQ(seen(), (std::vector<std::string>{"a", "b"}));
  watch.Stop();
}

// While the replica cannot reach etcd, two writes happen and etcd compacts
// past them: its watch cannot resume where it stopped, so it reads the whole
// state again and watches anew, from which it goes on as before.
TEST_F(EtcdTest, AReplicaWhoseWatchResumesPastACompactionReadsEverythingAgain) {
  auto replica = Connect();
  Recorder recorder;
  ASSERT_TRUE(replica->Start(recorder.OnChange(), recorder.OnReachable()).ok());
  absl::StatusOr<uint64_t> before = Connect()->WriteState(ManyEndpoints(1), {});
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_TRUE(recorder.WaitForRevision(*before));

  etcd_->Kill();
  ASSERT_TRUE(etcd_->StartHidden().ok());
  EtcdStoreOptions hidden = Options();
  hidden.endpoints = {etcd_->HiddenEndpoint()};
  auto hidden_writer = Connect(hidden);
  ASSERT_TRUE(hidden_writer->WriteState(ManyEndpoints(2), {}).ok());
  absl::StatusOr<uint64_t> missed = hidden_writer->WriteState(ManyEndpoints(3), {});
  ASSERT_TRUE(missed.ok()) << missed.status();
  const std::string compact =
      absl::StrCat("ETCDCTL_API=3 etcdctl --endpoints=http://", etcd_->HiddenEndpoint(),
                   " compact ", *missed, " >/dev/null");
  ASSERT_EQ(std::system(compact.c_str()), 0) << compact;
  etcd_->Kill();
  ASSERT_TRUE(etcd_->Start().ok());

  ASSERT_TRUE(recorder.WaitForRevision(*missed));
  EXPECT_EQ(recorder.Snapshots().back().revision, *missed);
  EXPECT_EQ(recorder.Snapshots().back().state->endpoints.size(), 3u);
  absl::StatusOr<uint64_t> after = Connect()->WriteState(ManyEndpoints(4), {});
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_TRUE(recorder.WaitForRevision(*after));
  EXPECT_EQ(recorder.Snapshots().back().state->endpoints.size(), 4u);
  replica->Stop();
}

}  // namespace
}  // namespace weft::testing
