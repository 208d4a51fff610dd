// The desired state through EtcdStateStore: round trips, the size of a
// small change's transaction (read from etcd, or diffed against a started
// store's mirror), version guards, concurrent writers and stale mirrors,
// staging.
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/etcd/client.h"
#include "common/store/store_keys.h"
#include "gmock/gmock.h"
#include "tests/store/etcd_fixture.h"
#include "tests/store/sample_states.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<etcd::Client> RawClient(const EtcdStoreOptions& options) {
  etcd::EtcdConfig config;
  config.endpoints = options.endpoints;
  auto client = etcd::Client::Create(config);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

std::vector<std::string> KeysAtRevision(etcd::Client& client, const std::string& prefix,
                                        int64_t revision) {
  auto range = client.Range(prefix, etcd::PrefixEnd(prefix));
  EXPECT_TRUE(range.ok()) << range.status();
  std::vector<std::string> keys;
  if (!range.ok()) return keys;
  for (const mvccpb::KeyValue& kv : range->kvs) {
    if (kv.mod_revision() == revision) keys.push_back(kv.key());
  }
  return keys;
}

// A member that refuses connections (dead, as after the etcd leader's
// kill -9 of netns.test_replicas) is skipped by a transaction as by a read:
// over a connection that never came up nothing was sent, so sending it to
// the next member cannot apply it twice. Once sent, a transaction that gets
// no answer is not repeated (common/etcd/client.h).
TEST_F(EtcdTest, ATransactionSkipsAMemberItCannotConnectTo) {
  etcd::EtcdConfig config;
  config.endpoints = {"127.0.0.1:1", etcd_->Endpoint()};  // nothing listens on port 1
  auto client = etcd::Client::Create(config);
  ASSERT_TRUE(client.ok()) << client.status();
  etcdserverpb::TxnRequest txn;
  auto* put = txn.add_success()->mutable_request_put();
  put->set_key("/test/skip");
  put->set_value("once");
  absl::StatusOr<etcdserverpb::TxnResponse> done = (*client)->Txn(txn);
  ASSERT_TRUE(done.ok()) << done.status();
  auto range = (*client)->Range("/test/skip", "");
  ASSERT_TRUE(range.ok()) << range.status();
  ASSERT_EQ(range->kvs.size(), 1u);
  EXPECT_EQ(range->kvs[0].value(), "once");
  EXPECT_EQ(range->kvs[0].version(), 1) << "written exactly once";
}

TEST_F(EtcdTest, ReadBeforeAnyWriteIsTheEmptyStateAtVersionZero) {
  auto store = Connect();
  absl::StatusOr<State> state = store->ReadState();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->version, 0u);
  EXPECT_EQ(ObjectCount(*state), 0u);
}

TEST_F(EtcdTest, RoundTripsEveryKindAndTheEmptyState) {
  auto store = Connect();
  const State every = EveryKind();
  absl::StatusOr<uint64_t> version = store->WriteState(every, {.source = "test"});
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_GT(*version, 0u);

  absl::StatusOr<State> back = store->ReadState();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameState(*back, every));
  EXPECT_EQ(back->version, *version);
  EXPECT_EQ(back->uplinks.size(), 1u);
  EXPECT_EQ(back->policies.at(0).rules.size(), 3u);
  EXPECT_EQ(back->routes6.size(), 1u) << "an IPv6 route is a key of its own";
  EXPECT_EQ(back->physical_hosts.size(), 1u);

  // A replica's first snapshot holds the same.
  auto replica = Connect();
  std::optional<StoreSnapshot> first;
  ASSERT_TRUE(replica
                  ->Start(
                      [&](StoreSnapshot s) {
                        if (!first) first = std::move(s);
                      },
                      [](bool, const std::string&) {})
                  .ok());
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->state.ok()) << first->state.status();
  EXPECT_TRUE(SameState(*first->state, every));
  EXPECT_EQ(first->state_version, *version);
  replica->Stop();

  absl::StatusOr<uint64_t> emptied = store->WriteState(State(), {.source = "test"});
  ASSERT_TRUE(emptied.ok()) << emptied.status();
  back = store->ReadState();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ObjectCount(*back), 0u);
  EXPECT_EQ(back->version, *emptied);
}

TEST_F(EtcdTest, OneEndpointChangeIsOneSmallTransaction) {
  auto store = Connect();
  State state = EveryKind();
  ASSERT_TRUE(store->WriteState(state, {}).ok());
  state.endpoints[1].ip += 1;  // blue-web-2
  absl::StatusOr<uint64_t> version = store->WriteState(state, {});
  ASSERT_TRUE(version.ok()) << version.status();

  auto raw = RawClient(Options());
  std::vector<std::string> touched = KeysAtRevision(*raw, Options().prefix, *version);
  ASSERT_EQ(touched.size(), 2u) << ::testing::PrintToString(touched);
  EXPECT_EQ(touched[0].substr(0, Options().prefix.size() + 7), Options().prefix + "state/g");
  EXPECT_TRUE(absl::EndsWith(touched[0], "/endpoints/blue-web-2")) << touched[0];
  EXPECT_EQ(touched[1], StoreKeys(Options().prefix).Head());
}

TEST_F(EtcdTest, StaleIfVersionIsAbortedAndWritesNothing) {
  auto store = Connect();
  const State every = EveryKind();
  absl::StatusOr<uint64_t> version = store->WriteState(every, {});
  ASSERT_TRUE(version.ok()) << version.status();

  absl::StatusOr<uint64_t> stale =
      store->WriteState(State(), {.if_version = *version - 1, .source = "stale"});
  ASSERT_EQ(stale.status().code(), absl::StatusCode::kAborted) << stale.status();
  EXPECT_THAT(std::string(stale.status().message()),
              HasSubstr(absl::StrCat("at version ", *version, ", not ", *version - 1)));
  absl::StatusOr<State> back = store->ReadState();
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->version, *version);
  EXPECT_TRUE(SameState(*back, every));

  absl::StatusOr<uint64_t> current = store->WriteState(State(), {.if_version = *version});
  EXPECT_TRUE(current.ok()) << current.status();
}

TEST_F(EtcdTest, TwoWritersWithTheSameIfVersionExactlyOneWins) {
  auto first = Connect();
  auto second = Connect();
  absl::StatusOr<uint64_t> version = first->WriteState(EveryKind(), {});
  ASSERT_TRUE(version.ok());
  for (int round = 0; round < 5; ++round) {
    absl::StatusOr<uint64_t> a, b;
    std::thread ta([&] { a = first->WriteState(ManyEndpoints(3, "a"), {.if_version = *version}); });
    std::thread tb(
        [&] { b = second->WriteState(ManyEndpoints(4, "b"), {.if_version = *version}); });
    ta.join();
    tb.join();
    ASSERT_NE(a.ok(), b.ok()) << "round " << round << ": " << a.status() << " / " << b.status();
    const absl::StatusOr<uint64_t>& loser = a.ok() ? b : a;
    EXPECT_EQ(loser.status().code(), absl::StatusCode::kAborted) << loser.status();
    version = a.ok() ? a : b;
    absl::StatusOr<State> back = first->ReadState();
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(SameState(*back, a.ok() ? ManyEndpoints(3, "a") : ManyEndpoints(4, "b")));
  }
}

TEST_F(EtcdTest, StagedWriteIsSeenWholeAndDropsTheOldGeneration) {
  EtcdStoreOptions options = Options();
  options.max_txn_ops = 4;
  auto writer = Connect(options);
  const State old_state = ManyEndpoints(47, "old");  // 50 objects
  const State new_state = ManyEndpoints(47, "new");
  ASSERT_TRUE(writer->WriteState(old_state, {}).ok());

  // A replica's snapshots and a reader's reads, while the new state stages.
  auto replica = Connect();
  absl::Mutex mu;
  std::vector<StoreSnapshot> snapshots;
  ASSERT_TRUE(replica
                  ->Start(
                      [&](StoreSnapshot s) {
                        absl::MutexLock lock(&mu);
                        snapshots.push_back(std::move(s));
                      },
                      [](bool, const std::string&) {})
                  .ok());
  std::atomic<bool> done = false;
  std::atomic<int> mixed = 0, reads = 0;
  auto reader_store = Connect();
  std::thread reader([&] {
    while (!done) {
      absl::StatusOr<State> read = reader_store->ReadState();
      if (!read.ok() || !(SameState(*read, old_state) || SameState(*read, new_state))) ++mixed;
      ++reads;
    }
  });
  absl::StatusOr<uint64_t> version = writer->WriteState(new_state, {});
  done = true;
  reader.join();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(mixed, 0) << "of " << reads << " reads";

  ASSERT_TRUE(WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return !snapshots.empty() && snapshots.back().revision == *version;
      },
      absl::Seconds(10)));
  {
    absl::MutexLock lock(&mu);
    for (const StoreSnapshot& s : snapshots) {
      ASSERT_TRUE(s.state.ok()) << s.state.status();
      EXPECT_TRUE(SameState(*s.state, old_state) || SameState(*s.state, new_state))
          << "revision " << s.revision;
    }
    EXPECT_TRUE(SameState(*snapshots.back().state, new_state));
  }
  replica->Stop();

  // Only the head's generation is left under state/.
  auto raw = RawClient(options);
  auto range = raw->Range(options.prefix + "state/", etcd::PrefixEnd(options.prefix + "state/"),
                          {.keys_only = true});
  ASSERT_TRUE(range.ok());
  std::set<std::string> generations;
  for (const mvccpb::KeyValue& kv : range->kvs) {
    std::string rest = kv.key().substr(options.prefix.size() + 6);
    if (rest != "head") generations.insert(rest.substr(0, rest.find('/')));
  }
  EXPECT_EQ(generations.size(), 1u) << ::testing::PrintToString(generations);
  EXPECT_EQ(range->kvs.size(), 51u);
}

// A started store: the state version of the snapshots it delivers, and a
// way to hold its watch thread in the callback of the next state change (its
// mirror then stays at that version).
class WatchedStore {
 public:
  explicit WatchedStore(std::unique_ptr<EtcdStateStore> store) : store_(std::move(store)) {
    absl::Status started = store_->Start(
        [this](StoreSnapshot s) {
          absl::MutexLock lock(&mu_);
          latest_version_ = s.state_version;
          auto released = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
            return !hold_ || latest_version_ == hold_from_;
          };
          held_ = !released();
          mu_.Await(absl::Condition(&released));
          held_ = false;
        },
        [](bool, const std::string&) {});
    EXPECT_TRUE(started.ok()) << started;
  }
  ~WatchedStore() {
    Release();
    store_->Stop();
  }
  EtcdStateStore* operator->() { return store_.get(); }

  bool WaitForVersion(uint64_t version) {
    return WaitFor(
        [&] {
          absl::MutexLock lock(&mu_);
          return latest_version_ == version;
        },
        absl::Seconds(10));
  }
  void HoldNextChange() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
    hold_from_ = latest_version_;
  }
  bool WaitUntilHeld() {
    return WaitFor(
        [&] {
          absl::MutexLock lock(&mu_);
          return held_;
        },
        absl::Seconds(10));
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    hold_ = false;
  }

 private:
  std::unique_ptr<EtcdStateStore> store_;
  absl::Mutex mu_;
  uint64_t latest_version_ ABSL_GUARDED_BY(mu_) = 0;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t hold_from_ ABSL_GUARDED_BY(mu_) = 0;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
};

TEST_F(EtcdTest, StartedStoreWritesOneEndpointChangeAsOneSmallTransaction) {
  WatchedStore store(Connect());
  State state = EveryKind();
  absl::StatusOr<uint64_t> first = store->WriteState(state, {});
  ASSERT_TRUE(first.ok()) << first.status();
  // The mirror at that version: the next write diffs against it.
  ASSERT_TRUE(store.WaitForVersion(*first));
  state.endpoints[1].ip += 1;  // blue-web-2
  absl::StatusOr<uint64_t> version = store->WriteState(state, {.if_version = *first});
  ASSERT_TRUE(version.ok()) << version.status();

  auto raw = RawClient(Options());
  std::vector<std::string> touched = KeysAtRevision(*raw, Options().prefix, *version);
  ASSERT_EQ(touched.size(), 2u) << ::testing::PrintToString(touched);
  EXPECT_TRUE(absl::EndsWith(touched[0], "/endpoints/blue-web-2")) << touched[0];
  EXPECT_EQ(touched[1], StoreKeys(Options().prefix).Head());
  absl::StatusOr<State> back = store->ReadState();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameState(*back, state));
}

TEST_F(EtcdTest, StartedStoreWriteOverAStaleMirrorEndsAtTheStateWritten) {
  WatchedStore store(Connect());
  auto other = Connect();
  const State first_state = ManyEndpoints(5, "a");
  const State other_state = ManyEndpoints(6, "a");  // adds a-5
  State final_state = first_state;
  final_state.endpoints[0].ip += 1;

  // The mirror stays at the first version while the other writer writes.
  store.HoldNextChange();
  absl::StatusOr<uint64_t> first = store->WriteState(first_state, {});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(store.WaitUntilHeld());
  absl::StatusOr<uint64_t> others = other->WriteState(other_state, {});
  ASSERT_TRUE(others.ok()) << others.status();

  // Guarded on the mirror's version: refused, naming the other's.
  absl::StatusOr<uint64_t> guarded = store->WriteState(final_state, {.if_version = *first});
  ASSERT_EQ(guarded.status().code(), absl::StatusCode::kAborted) << guarded.status();
  EXPECT_THAT(std::string(guarded.status().message()),
              HasSubstr(absl::StrCat("at version ", *others, ", not ", *first)));

  // Unguarded: the diff against the stale mirror fails its guard, the mirror
  // does not catch up, the write reads the state from etcd, and a-5 goes (a
  // diff against the mirror would have left it).
  absl::StatusOr<uint64_t> written = store->WriteState(final_state, {});
  ASSERT_TRUE(written.ok()) << written.status();
  absl::StatusOr<State> back = other->ReadState();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->version, *written);
  EXPECT_TRUE(SameState(*back, final_state));
  store.Release();
  ASSERT_TRUE(store.WaitForVersion(*written));

  // Again, but the mirror catches up while the write waits for it: the retry
  // diffs against it.
  store.HoldNextChange();
  ASSERT_TRUE(store->WriteState(first_state, {}).ok());
  ASSERT_TRUE(store.WaitUntilHeld());
  ASSERT_TRUE(other->WriteState(other_state, {}).ok());
  std::thread release([&] {
    absl::SleepFor(absl::Milliseconds(200));
    store.Release();
  });
  written = store->WriteState(final_state, {});
  release.join();
  ASSERT_TRUE(written.ok()) << written.status();
  back = other->ReadState();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->version, *written);
  EXPECT_TRUE(SameState(*back, final_state));
  ASSERT_TRUE(store.WaitForVersion(*written));
}

TEST_F(EtcdTest, HundredThousandEndpointsRoundTrip) {
  auto writer = Connect();
  const State big = ManyEndpoints(100000);
  absl::Time start = absl::Now();
  absl::StatusOr<uint64_t> version = writer->WriteState(big, {});
  ASSERT_TRUE(version.ok()) << version.status();
  absl::Duration write_time = absl::Now() - start;

  auto replica = Connect();
  absl::Mutex mu;
  std::optional<StoreSnapshot> first;
  uint64_t latest_version = 0;
  start = absl::Now();
  ASSERT_TRUE(replica
                  ->Start(
                      [&](StoreSnapshot s) {
                        absl::MutexLock lock(&mu);
                        latest_version = s.state_version;
                        if (!first) first = std::move(s);
                      },
                      [](bool, const std::string&) {})
                  .ok());
  absl::Duration read_time = absl::Now() - start;
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(first.has_value() && first->state.ok());
    EXPECT_EQ(first->state->endpoints.size(), 100000u);
    EXPECT_TRUE(SameState(*first->state, big));
  }

  // One endpoint changed: through the started replica (a diff against its
  // mirror), then through a store never started (a diff against a fresh
  // read of the 100k objects).
  State changed = big;
  changed.endpoints[500].ip += 200000;
  start = absl::Now();
  absl::StatusOr<uint64_t> mirrored = replica->WriteState(changed, {.if_version = *version});
  absl::Duration mirrored_time = absl::Now() - start;
  ASSERT_TRUE(mirrored.ok()) << mirrored.status();
  ASSERT_TRUE(WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        return latest_version == *mirrored;
      },
      absl::Seconds(30)));
  replica->Stop();
  changed.endpoints[501].ip += 200000;
  start = absl::Now();
  absl::StatusOr<uint64_t> direct = writer->WriteState(changed, {.if_version = *mirrored});
  absl::Duration direct_time = absl::Now() - start;
  ASSERT_TRUE(direct.ok()) << direct.status();
  absl::StatusOr<State> back = writer->ReadState();
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(SameState(*back, changed));
  // A measurement, not an assertion (benchmarks are not tests).
  std::printf(
      "100k endpoints: staged write %s, cold read (Start to first snapshot) %s, one endpoint "
      "changed: started replica (mirror) %s, store not started (fresh read) %s\n",
      absl::FormatDuration(write_time).c_str(), absl::FormatDuration(read_time).c_str(),
      absl::FormatDuration(mirrored_time).c_str(), absl::FormatDuration(direct_time).c_str());
}

}  // namespace
}  // namespace weft::testing
