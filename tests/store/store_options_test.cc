// ParseStoreUrl and CheckStoreTransport: the --store flags (no etcd needed).
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

EtcdStoreOptions WithEndpoints(std::vector<std::string> endpoints) {
  EtcdStoreOptions options;
  options.endpoints = std::move(endpoints);
  return options;
}

TEST(StoreTransportTest, PlaintextOnlyToLoopbackMembers) {
  for (const char* endpoint : {"127.0.0.1:2379", "127.8.0.1:2379", "[::1]:2379", "localhost:2379"}) {
    EXPECT_TRUE(CheckStoreTransport(WithEndpoints({endpoint}), "--tls").ok()) << endpoint;
  }
  // One remote member among loopback ones is enough to refuse, naming it.
  absl::Status refused =
      CheckStoreTransport(WithEndpoints({"127.0.0.1:2379", "10.0.0.5:2379"}), "--tls");
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.message(), ::testing::HasSubstr("10.0.0.5:2379 is not a loopback address"));
  EXPECT_THAT(refused.message(), ::testing::HasSubstr("--tls"));
  for (const char* endpoint : {"etcd-a:2379", "[2001:db8::1]:2379", "0.0.0.0:2379"}) {
    EXPECT_FALSE(CheckStoreTransport(WithEndpoints({endpoint}), "--tls").ok()) << endpoint;
  }
}

TEST(StoreTransportTest, ClientTlsIsTheThreeFilesTogether) {
  EtcdStoreOptions options = WithEndpoints({"10.0.0.5:2379"});
  options.ca = "ca.pem";
  options.cert = "cert.pem";
  EXPECT_THAT(CheckStoreTransport(options, "--tls").message(),
              ::testing::HasSubstr("--tls go together"));
  options.key = "key.pem";
  EXPECT_TRUE(CheckStoreTransport(options, "--tls").ok());
}

}  // namespace
}  // namespace weft
