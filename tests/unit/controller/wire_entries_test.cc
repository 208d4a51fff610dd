// Entries counted on the wire are the entries CountListEntries counts once
// parsed, and bytes that are no message are refused.
#include "controller/wire_entries.h"

#include <string>

#include "common/wire/chunk.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"
#include "weft/v1/admin.pb.h"

namespace weft {
namespace {

absl::StatusOr<size_t> Count(const std::string& bytes, size_t stop_above = 1 << 30) {
  google::protobuf::io::ArrayInputStream in(bytes.data(), int(bytes.size()));
  return CountWireListEntries(v1::ApplyStateRequest::descriptor(), &in, stop_above);
}

v1::ApplyStateRequest AStateWithNestedLists() {
  v1::ApplyStateRequest request;
  v1::State& state = *request.mutable_state();
  state.set_version(7);
  state.add_nodes()->set_name("hv1");
  state.add_nodes()->set_name("hv2");
  v1::Endpoint& endpoint = *state.add_endpoints();
  endpoint.set_name("a1");
  endpoint.add_groups("web");
  endpoint.add_groups("db");
  v1::Policy& policy = *state.add_policies();
  policy.mutable_applied_to()->add_groups("web");
  v1::Rule& rule = *policy.add_rules();
  rule.mutable_peer()->add_cidrs("10.0.0.0/8");
  rule.add_ports()->set_first(80);
  rule.add_ports()->set_first(443);
  policy.add_rules();
  state.add_routes();  // an empty entry: 2 bytes
  return request;
}

TEST(WireEntriesTest, CountsWhatCountListEntriesCounts) {
  const v1::ApplyStateRequest request = AStateWithNestedLists();
  absl::StatusOr<size_t> counted = Count(request.SerializeAsString());
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(*counted, CountListEntries(request.state()));
  EXPECT_EQ(*counted, 13u);
}

TEST(WireEntriesTest, StopsPastTheLimit) {
  v1::ApplyStateRequest request;
  for (int i = 0; i < 1000; ++i) request.mutable_state()->add_endpoints();
  absl::StatusOr<size_t> counted = Count(request.SerializeAsString(), 10);
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_GT(*counted, 10u);
  EXPECT_LT(*counted, 1000u);
}

TEST(WireEntriesTest, RefusesBytesThatAreNoMessage) {
  const std::string whole = AStateWithNestedLists().SerializeAsString();
  EXPECT_FALSE(Count(whole.substr(0, whole.size() - 3)).ok());           // cut short
  EXPECT_FALSE(Count(std::string("\x0a\xff\xff\xff\xff\x0f", 6)).ok());  // length past the end
  EXPECT_TRUE(Count("").ok());                                           // the empty message
}

}  // namespace
}  // namespace weft
