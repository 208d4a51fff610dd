// The desired state through EtcdStateStore: round trips, the size of a
// small change's transaction, version guards, concurrent writers, staging.
#include <atomic>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

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
  EXPECT_EQ(back->policies.at(0).rules.size(), 2u);

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

TEST_F(EtcdTest, HundredThousandEndpointsRoundTrip) {
  auto writer = Connect();
  const State big = ManyEndpoints(100000);
  absl::Time start = absl::Now();
  absl::StatusOr<uint64_t> version = writer->WriteState(big, {});
  ASSERT_TRUE(version.ok()) << version.status();
  absl::Duration write_time = absl::Now() - start;

  auto replica = Connect();
  std::optional<StoreSnapshot> first;
  start = absl::Now();
  ASSERT_TRUE(replica
                  ->Start(
                      [&](StoreSnapshot s) {
                        if (!first) first = std::move(s);
                      },
                      [](bool, const std::string&) {})
                  .ok());
  absl::Duration read_time = absl::Now() - start;
  ASSERT_TRUE(first.has_value() && first->state.ok());
  EXPECT_EQ(first->state->endpoints.size(), 100000u);
  EXPECT_TRUE(SameState(*first->state, big));
  replica->Stop();

  State changed = big;
  changed.endpoints[500].ip += 200000;
  start = absl::Now();
  absl::StatusOr<uint64_t> small = writer->WriteState(changed, {});
  absl::Duration small_time = absl::Now() - start;
  ASSERT_TRUE(small.ok()) << small.status();
  std::printf(
      "100k endpoints: staged write %s, cold read (Start to first snapshot) %s, one endpoint "
      "changed %s\n",
      absl::FormatDuration(write_time).c_str(), absl::FormatDuration(read_time).c_str(),
      absl::FormatDuration(small_time).c_str());
}

}  // namespace
}  // namespace weft::testing
