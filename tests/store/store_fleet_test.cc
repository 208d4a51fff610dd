// Learned routes and realization through EtcdStateStore: leased, replaced
// per report, removed only by their stream; connected rows gone with the
// replica's lease.
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/etcd/client.h"
#include "common/store/store_keys.h"
#include "tests/store/etcd_fixture.h"

namespace weft::testing {
namespace {

Ipv4Prefix Prefix(uint32_t addr, uint8_t length) { return {.addr = addr, .length = length}; }

TEST_F(EtcdTest, LearnedRoutesPutReplaceAndDeleteByTheirStreamOnly) {
  auto replica = Connect();
  absl::Mutex mu;
  std::optional<StoreSnapshot> last;
  ASSERT_TRUE(replica
                  ->Start(
                      [&](StoreSnapshot s) {
                        absl::MutexLock lock(&mu);
                        last = std::move(s);
                      },
                      [](bool, const std::string&) {})
                  .ok());
  auto learned_now = [&](const std::string& edge) -> std::optional<LearnedSnapshot> {
    absl::MutexLock lock(&mu);
    auto it = last->learned.find(edge);
    if (it == last->learned.end()) return std::nullopt;
    return it->second;
  };
  // Big enough to take several parts.
  LearnedSnapshot first;
  for (uint32_t i = 0; i < 20000; ++i) first["up1"].push_back(Prefix(0x0b000000 + (i << 8), 24));
  first["up2"] = {};
  ASSERT_TRUE(replica->PutLearned("edge1", "stream-1", first).ok());
  ASSERT_TRUE(WaitFor([&] { return learned_now("edge1") == first; }, absl::Seconds(10)));

  LearnedSnapshot second = {{"up1", {Prefix(0x0c000000, 8)}}};
  ASSERT_TRUE(replica->PutLearned("edge1", "stream-1", second).ok());
  ASSERT_TRUE(WaitFor([&] { return learned_now("edge1") == second; }, absl::Seconds(10)));

  // Another stream may not remove them.
  ASSERT_TRUE(replica->DeleteLearned("edge1", "stream-2").ok());
  etcd::EtcdConfig config;
  config.endpoints = Options().endpoints;
  auto raw = etcd::Client::Create(config);
  ASSERT_TRUE(raw.ok());
  const std::string edge_prefix = StoreKeys(Options().prefix).LearnedEdge("edge1");
  auto kept = (*raw)->Range(edge_prefix, etcd::PrefixEnd(edge_prefix));
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->kvs.size(), 2u);  // the owner and one part
  EXPECT_EQ(learned_now("edge1"), second);

  ASSERT_TRUE(replica->DeleteLearned("edge1", "stream-1").ok());
  ASSERT_TRUE(WaitFor([&] { return !learned_now("edge1").has_value(); }, absl::Seconds(10)));
  replica->Stop();
}

TEST_F(EtcdTest, ConnectedRowsVanishWhenTheReplicaDiesWithoutCleanup) {
  EtcdStoreOptions options = Options();
  options.lease_ttl = absl::Seconds(2);
  options.replica = "replica-a";
  auto replica = Connect(options);
  ASSERT_TRUE(replica->Start([](StoreSnapshot) {}, [](bool, const std::string&) {}).ok());
  replica->SetConnected("hv1", true);
  replica->SetRealized({.node = "hv1",
                        .acked_version = 7,
                        .acked_digest = "d7",
                        .capabilities = {"sotw", "chunked"}});

  auto observer = Connect();
  auto hv1 = [&]() -> std::optional<RealizedNode> {
    auto nodes = observer->ReadRealization();
    if (!nodes.ok()) return std::nullopt;
    for (const RealizedNode& node : *nodes) {
      if (node.node == "hv1") return node;
    }
    return std::nullopt;
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        auto node = hv1();
        return node && node->acked_version == 7 &&
               node->replicas == std::vector<std::string>{"replica-a"};
      },
      absl::Seconds(5)));
  // Held past several TTLs while the replica lives (the lease is renewed).
  absl::SleepFor(absl::Seconds(3));  // not a wait for a condition: time must pass
  ASSERT_TRUE(hv1().has_value());
  EXPECT_EQ(hv1()->replicas.size(), 1u);

  replica.reset();  // no Stop: as if it died
  ASSERT_TRUE(WaitFor([&] { return hv1() && hv1()->replicas.empty(); }, absl::Seconds(10)));
  EXPECT_EQ(hv1()->acked_version, 7u);  // realization outlives the stream
  EXPECT_EQ(hv1()->acked_digest, "d7");
  EXPECT_EQ(hv1()->capabilities, (std::vector<std::string>{"sotw", "chunked"}));
}

}  // namespace
}  // namespace weft::testing
