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

TEST(SyncChunkTest, RefusesMixedVersionNonceDigestOrCount) {
  for (int what = 0; what < 4; ++what) {
    std::vector<v1::StateChunk> c = Three();
    if (what == 0) c[1].set_version(10);
    if (what == 1) c[1].set_nonce("other");
    if (what == 2) c[1].set_count(4);
    if (what == 3) c[1].set_digest("other");
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

// ---- limits: a hostile or broken controller cannot make the agent hold
// more than StateLimits of one update ----

TEST(SyncChunkTest, RefusesACountAboveTheLimitAtTheFirstChunk) {
  ChunkAssembler a;
  v1::StateChunk c = ChunkState(BigState(1), 7, "n")->front();
  c.set_count(0xffffffffu);  // as a hostile controller announced it
  absl::Status s = a.Add(c).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("count is more than the 16384 chunks an update may have"));
  EXPECT_FALSE(a.in_progress());
}

// The update goes past the limit in its second chunk: it is converted no
// further, its last chunk completes it as a refusal (a NACK), and the next
// update on the stream is taken as usual.
TEST(SyncChunkTest, AnUpdateOverTheByteLimitIsRefusedAndTheNextIsTaken) {
  absl::StatusOr<std::vector<v1::StateChunk>> big = ChunkState(BigState(60), 8, "big", 1024);
  ASSERT_TRUE(big.ok()) << big.status();
  ASSERT_GE(big->size(), 4u);
  ChunkAssembler a({.bytes = 1500});
  for (size_t i = 0; i + 1 < big->size(); ++i) {
    absl::StatusOr<std::optional<Update>> r = a.Add((*big)[i]);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->has_value());
  }
  absl::StatusOr<std::optional<Update>> last = a.Add(big->back());
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->version, 8u);
  EXPECT_EQ((*last)->nonce, "big");
  EXPECT_EQ((*last)->state.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT((*last)->state.status().message(),
              HasSubstr("the state is more than 1500 bytes, the most accepted"));
  std::optional<Update> next = Assemble(a, *ChunkState(BigState(2), 9, "small"));
  ASSERT_TRUE(next.has_value());
  EXPECT_TRUE(next->state.ok()) << next->state.status();
}

// Empty entries: 2 bytes each on the wire, far more once converted.
TEST(SyncChunkTest, AnUpdateOverTheEntryLimitIsRefused) {
  v1::State empties;
  for (int i = 0; i < 1001; ++i) empties.add_endpoints();
  ChunkAssembler a({.entries = 1000});
  std::optional<Update> done = Assemble(a, *ChunkState(empties, 3, "n"));
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->state.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(done->state.status().message(),
              HasSubstr("the state has more than 1000 list entries, the most accepted"));
}

TEST(SyncChunkTest, ListEntriesCountNestedLists) {
  v1::State s;
  v1::Endpoint* e = s.add_endpoints();
  e->add_groups("web");
  e->add_groups("admin");
  v1::Policy* p = s.add_policies();
  p->mutable_applied_to()->add_groups("web");
  v1::Rule* r = p->add_rules();
  r->add_ports();
  r->mutable_peer()->add_cidrs("10.0.0.0/8");
  // endpoint + 2 groups, policy + applied_to group + rule + port + cidr
  EXPECT_EQ(CountListEntries(s), 8u);
}

TEST(SyncChunkTest, DefaultLimitsFitAFleet) {
  // 100,000 endpoints with a group each: ~13 MiB of state, as the
  // benchmarks' fleet (docs/BENCHMARKS.md).
  v1::State fleet = BigState(100000);
  for (v1::Endpoint& e : *fleet.mutable_endpoints()) e.add_groups("web");
  EXPECT_TRUE(StateBudget().Add(fleet).ok());
}

TEST(SyncChunkTest, AControllerDoesNotSendMoreChunksThanAnAgentTakes) {
  const v1::State piece = BigState(1);
  std::vector<const v1::State*> pieces(StateLimits().chunks + 1, &piece);
  size_t written = 0;
  absl::Status s =
      WriteChunks(pieces, 1, "n", "digest", kMaxChunkBytes, [&](const v1::ControllerMessage&) {
        ++written;
        return true;
      });
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(written, 0u);
}

// Every chunk carries the view's digest, within the chunk size, and the
// update assembled keeps it: what the agent resumes with.
TEST(SyncChunkTest, EveryChunkCarriesTheDigestAndTheUpdateKeepsIt) {
  const v1::State state = BigState(300);
  const std::string digest(32, '\xab');
  constexpr size_t kMax = 8 * 1024;
  std::vector<v1::StateChunk> chunks;
  ASSERT_TRUE(WriteChunks({&state}, 9, "n", digest, kMax, [&](const v1::ControllerMessage& m) {
                chunks.push_back(m.chunk());
                EXPECT_LE(m.ByteSizeLong(), kMax);
                return true;
              }).ok());
  ASSERT_GT(chunks.size(), 2u);
  for (const v1::StateChunk& c : chunks) EXPECT_EQ(c.digest(), digest);
  ChunkAssembler a;
  std::optional<Update> done = Assemble(a, chunks);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->digest, digest);
  EXPECT_TRUE(done->state.ok()) << done->state.status();
}

}  // namespace
}  // namespace weft
