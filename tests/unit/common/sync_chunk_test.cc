#include <string>

#include "absl/strings/str_cat.h"
#include "common/wire/chunk.h"
#include "common/wire/convert.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

v1::State BigState(int endpoints) {
  v1::State s;
  s.set_version(42);
  v1::Node* node = s.add_nodes();
  node->set_name("hv1");
  node->set_vtep("198.18.0.1");
  s.add_tenants()->set_name("blue");
  for (int i = 0; i < endpoints; ++i) {
    v1::Endpoint* e = s.add_endpoints();
    e->set_name(absl::StrCat("endpoint-with-a-long-name-", i));
    e->set_segment("blue-web");
    e->set_ip(absl::StrCat("10.", i / 65536 % 256, ".", i / 256 % 256, ".", i % 256));
    e->set_mac("02:00:00:00:00:01");
    e->set_node("hv1");
    e->set_interface("vm0");
  }
  v1::Route* route = s.add_routes();
  route->set_tenant("blue");
  route->set_prefix("10.200.0.0/16");
  return s;
}

// What an update converted to, back as a proto with its version, to compare
// with the conversion of the whole state it was cut from.
v1::State Received(const Update& update) {
  EXPECT_TRUE(update.state.ok()) << update.state.status();
  v1::State out = update.state.ok() ? ToProto(*update.state) : v1::State();
  out.set_version(update.version);
  return out;
}

v1::State Converted(const v1::State& whole) {
  absl::StatusOr<State> state = StateFromProto(whole);
  EXPECT_TRUE(state.ok()) << state.status();
  return state.ok() ? ToProto(*state) : v1::State();
}

// Every chunk through `assembler`, each accepted; the update the last one
// completes.
std::optional<Update> Assemble(ChunkAssembler& assembler,
                               const std::vector<v1::StateChunk>& chunks) {
  std::optional<Update> done;
  for (const v1::StateChunk& c : chunks) {
    absl::StatusOr<std::optional<Update>> r = assembler.Add(c);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok() && r->has_value()) done = std::move(**r);
  }
  return done;
}

TEST(SyncChunkTest, SmallStateIsOneChunk) {
  absl::StatusOr<std::vector<v1::StateChunk>> chunks = ChunkState(BigState(3), 42, "n1");
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_EQ(chunks->size(), 1u);
  EXPECT_EQ((*chunks)[0].count(), 1u);
}

TEST(SyncChunkTest, RoundTripUnderTheLimit) {
  const v1::State state = BigState(5000);
  const size_t max = 16 * 1024;
  absl::StatusOr<std::vector<v1::StateChunk>> chunks = ChunkState(state, 42, "nonce-7", max);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_GT(chunks->size(), 10u);
  ChunkAssembler assembler;
  std::optional<Update> done;
  for (size_t i = 0; i < chunks->size(); ++i) {
    const v1::StateChunk& c = (*chunks)[i];
    v1::ControllerMessage m;
    *m.mutable_chunk() = c;
    EXPECT_LE(m.ByteSizeLong(), max) << "chunk " << i;
    EXPECT_EQ(c.index(), i);
    absl::StatusOr<std::optional<Update>> r = assembler.Add(c);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->has_value(), i + 1 == chunks->size());
    EXPECT_EQ(assembler.in_progress(), i + 1 < chunks->size());
    if (r->has_value()) done = **r;
  }
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->version, 42u);
  EXPECT_EQ(done->nonce, "nonce-7");
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(Received(*done), Converted(state)));
}

TEST(SyncChunkTest, PiecesAreChunkedAsTheirMerge) {
  v1::State a = BigState(700);
  v1::State b = BigState(300);
  b.mutable_nodes(0)->set_name("hv2");
  b.mutable_tenants(0)->set_name("red");
  absl::StatusOr<std::vector<v1::StateChunk>> chunks = ChunkState({&a, &b}, 42, "n", 16 * 1024);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_GT(chunks->size(), 2u);
  ChunkAssembler assembler;
  std::optional<Update> done = Assemble(assembler, *chunks);
  ASSERT_TRUE(done.has_value());
  v1::State merged = a;
  merged.MergeFrom(b);
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(Received(*done), Converted(merged)));
}

TEST(SyncChunkTest, ABadEntryInALaterChunkFailsTheUpdateNotTheStream) {
  v1::State state = BigState(2000);
  state.mutable_endpoints(1990)->set_ip("10.0.7.300");
  absl::StatusOr<std::vector<v1::StateChunk>> chunks = ChunkState(state, 5, "n", 16 * 1024);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_GT(chunks->size(), 2u);
  ChunkAssembler assembler;
  std::optional<Update> done = Assemble(assembler, *chunks);
  ASSERT_TRUE(done.has_value());
  EXPECT_THAT(done->state.status().message(),
              HasSubstr("endpoint \"endpoint-with-a-long-name-1990\": field \"ip\""));
  chunks = ChunkState(BigState(10), 6, "m");
  absl::StatusOr<std::optional<Update>> next = assembler.Add((*chunks)[0]);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_TRUE((*next)->state.ok()) << (*next)->state.status();
}

TEST(SyncChunkTest, DefaultLimitIsUnderGrpcs) {
  EXPECT_LT(kMaxChunkBytes, 4u * 1024 * 1024);
  const v1::State state = BigState(60000);  // several MiB
  ASSERT_GT(state.ByteSizeLong(), 4u * 1024 * 1024);
  absl::StatusOr<std::vector<v1::StateChunk>> chunks = ChunkState(state, 1, "n");
  ASSERT_TRUE(chunks.ok());
  EXPECT_GE(chunks->size(), 2u);
  for (const v1::StateChunk& c : *chunks) EXPECT_LT(c.ByteSizeLong(), kMaxChunkBytes);
}

TEST(SyncChunkTest, EntryTooBigForAChunk) {
  v1::State s;
  s.add_nodes()->set_name(std::string(1000, 'x'));
  EXPECT_EQ(SplitState({&s}, 500).status().code(), absl::StatusCode::kResourceExhausted);
}

std::vector<v1::StateChunk> Three() {
  absl::StatusOr<std::vector<v1::StateChunk>> chunks =
      ChunkState(BigState(300), 9, "abc", 8 * 1024);
  EXPECT_TRUE(chunks.ok());
  chunks->resize(3);
  for (auto& c : *chunks) c.set_count(3);
  return *chunks;
}

TEST(SyncChunkTest, RefusesOutOfOrder) {
  std::vector<v1::StateChunk> c = Three();
  ChunkAssembler a;
  ASSERT_TRUE(a.Add(c[0]).ok());
  absl::Status s = a.Add(c[2]).status();
  EXPECT_THAT(s.message(), HasSubstr("expected chunk 1"));
  EXPECT_FALSE(a.in_progress());  // starts over
}

TEST(SyncChunkTest, RefusesAStartInTheMiddle) {
  ChunkAssembler a;
  EXPECT_THAT(a.Add(Three()[1]).status().message(), HasSubstr("must start with chunk 0"));
}

TEST(SyncChunkTest, RefusesMixedVersionNonceOrCount) {
  for (int what = 0; what < 3; ++what) {
    std::vector<v1::StateChunk> c = Three();
    if (what == 0) c[1].set_version(10);
    if (what == 1) c[1].set_nonce("other");
    if (what == 2) c[1].set_count(4);
    ChunkAssembler a;
    ASSERT_TRUE(a.Add(c[0]).ok());
    EXPECT_FALSE(a.Add(c[1]).ok()) << what;
  }
}

TEST(SyncChunkTest, RefusesZeroCountAndIndexPastCount) {
  ChunkAssembler a;
  v1::StateChunk c;
  EXPECT_THAT(a.Add(c).status().message(), HasSubstr("count is 0"));
  c.set_count(2);
  c.set_index(2);
  EXPECT_THAT(a.Add(c).status().message(), HasSubstr("index is not below count"));
}

TEST(SyncChunkTest, NextUpdateAfterACompleteOne) {
  ChunkAssembler a;
  for (uint64_t v : {1, 2}) {
    absl::StatusOr<std::vector<v1::StateChunk>> chunks = ChunkState(BigState(1), v, "n");
    absl::StatusOr<std::optional<Update>> r = a.Add((*chunks)[0]);
    ASSERT_TRUE(r.ok() && r->has_value());
    EXPECT_EQ((*r)->version, v);
    EXPECT_TRUE((*r)->state.ok());
  }
}

}  // namespace
}  // namespace weft
