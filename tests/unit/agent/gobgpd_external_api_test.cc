// --gobgpd_api: only a loopback listener, because gobgpd's API is plaintext
// and unauthenticated and whoever reaches it decides what the edge announces.
#include <string>

#include "agent/bgp/external_api.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

TEST(GobgpdExternalApi, AcceptsOnlyALoopbackHostAndAPort) {
  for (const char* accepted :
       {"127.0.0.1:50051", "127.8.9.10:1", "localhost:50051", "[::1]:50051", "[::1]:65535"}) {
    EXPECT_TRUE(bgp::CheckExternalApi(accepted).ok()) << accepted;
  }
  for (const char* refused :
       {"10.0.0.1:50051", "0.0.0.0:50051", "[::]:50051", "[2001:db8::1]:50051", "example.org:50051",
        "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:port", "[::1]",
        ":50051", "[::ffff:10.0.0.1]:50051", "::1:50051", ""}) {
    const absl::Status status = bgp::CheckExternalApi(refused);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << refused;
    EXPECT_THAT(status.message(), ::testing::HasSubstr("--gobgpd_api")) << refused;
  }
}

}  // namespace
}  // namespace weft
