// IsLoopback decides where plaintext is allowed (the controller's listeners
// with --insecure, etcd without client TLS, gobgpd's API): anything it
// cannot read as a loopback host:port is not loopback.
#include "common/serving/loopback.h"

#include "gtest/gtest.h"

namespace weft {
namespace {

TEST(IsLoopback, OnlyLoopbackHostsWrittenAsGrpcSplitsThem) {
  for (const char* loopback : {"127.0.0.1:1", "127.255.0.9:2379", "localhost:50051", "[::1]:50051",
                               "[0:0:0:0:0:0:0:1]:7"}) {
    EXPECT_TRUE(IsLoopback(loopback)) << loopback;
  }
  for (const char* not_loopback :
       {"10.0.0.1:1", "128.0.0.1:1", "0.0.0.0:1", "[::]:1", "[::ffff:127.0.0.1]:1",
        "[2001:db8::1]:1", "::1:50051", "[::1:50051", "::1]:50051", "localhost.example.org:1",
        "127.0.0.1.example.org:1", ":1", "", "[]:1"}) {
    EXPECT_FALSE(IsLoopback(not_loopback)) << not_loopback;
  }
}

}  // namespace
}  // namespace weft
