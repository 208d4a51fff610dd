// ParseStoreUrl: the --store flag's form (no etcd needed).
#include "common/store/store_options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

TEST(StoreUrlTest, TakesEveryEndpointAndKeepsTheDefaults) {
  absl::StatusOr<EtcdStoreOptions> options = ParseStoreUrl("etcd://10.0.0.1:2379,etcd-b:2379");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->endpoints, (std::vector<std::string>{"10.0.0.1:2379", "etcd-b:2379"}));
  EXPECT_EQ(options->prefix, "/weft/v1/");
  EXPECT_EQ(options->max_txn_ops, 128u);
  EXPECT_EQ(options->lease_ttl, absl::Seconds(5));
}

TEST(StoreUrlTest, RefusesWhatIsNotEtcdHostPort) {
  for (const char* url : {"http://h:2379", "etcd://", "etcd://h", "etcd://h:0", "etcd://h:2379,",
                          "etcd://:2379", "etcd://h:99999"}) {
    absl::StatusOr<EtcdStoreOptions> options = ParseStoreUrl(url);
    EXPECT_EQ(options.status().code(), absl::StatusCode::kInvalidArgument) << url;
  }
}

}  // namespace
}  // namespace weft
