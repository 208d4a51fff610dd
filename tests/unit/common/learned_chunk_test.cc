// An edge's learned-routes report cut into chunks and put back together
// (common/wire/learned_chunk.h).
#include "common/wire/learned_chunk.h"

#include <string>
#include <vector>

#include "common/model/net_format.h"
#include "controller/server.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

// `n` distinct /32s from 10.<base>.0.0, unsorted.
std::vector<Ipv4Prefix> Hosts(uint32_t base, size_t n) {
  std::vector<Ipv4Prefix> out;
  for (size_t i = n; i-- > 0;) {
    out.push_back({(10u << 24) | (base << 16) | static_cast<uint32_t>(i), 32});
  }
  return out;
}

absl::StatusOr<std::optional<LearnedSnapshot>> Feed(LearnedRoutesAssembler& a,
                                                    const std::vector<v1::LearnedRoutesChunk>& cs) {
  absl::StatusOr<std::optional<LearnedSnapshot>> last = std::nullopt;
  for (const v1::LearnedRoutesChunk& c : cs) {
    last = a.Add(c);
    if (!last.ok()) return last;
  }
  return last;
}

TEST(LearnedChunkTest, ABigReportIsCutIntoMessagesUnderTheLimitAndPutBackTogether) {
  LearnedSnapshot snapshot = {{"a", Hosts(1, 10000)}, {"b", {}}, {"c", Hosts(3, 7000)}};
  const std::vector<v1::LearnedRoutesChunk> chunks = ChunkLearnedRoutes(snapshot, 7);
  ASSERT_GT(chunks.size(), 4u);
  for (const v1::LearnedRoutesChunk& c : chunks) {
    v1::AgentMessage m;
    *m.mutable_learned() = c;
    EXPECT_LE(m.ByteSizeLong(), static_cast<size_t>(kMaxAgentMessageBytes));
    EXPECT_EQ(c.report(), 7u);
    EXPECT_EQ(c.count(), chunks.size());
  }
  LearnedRoutesAssembler assembler;
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    absl::StatusOr<std::optional<LearnedSnapshot>> partial = assembler.Add(chunks[i]);
    ASSERT_TRUE(partial.ok()) << partial.status();
    EXPECT_FALSE(partial->has_value());
  }
  absl::StatusOr<std::optional<LearnedSnapshot>> whole = assembler.Add(chunks.back());
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_TRUE(whole->has_value());
  for (auto& [uplink, prefixes] : snapshot) SortLearnedPrefixes(prefixes);
  EXPECT_EQ(**whole, snapshot);
}

TEST(LearnedChunkTest, AnEmptyReportIsOneChunk) {
  const std::vector<v1::LearnedRoutesChunk> chunks = ChunkLearnedRoutes({}, 1);
  ASSERT_EQ(chunks.size(), 1u);
  LearnedRoutesAssembler assembler;
  absl::StatusOr<std::optional<LearnedSnapshot>> whole = assembler.Add(chunks[0]);
  ASSERT_TRUE(whole.ok() && whole->has_value());
  EXPECT_TRUE((*whole)->empty());
}

TEST(LearnedChunkTest, ChunksOutOfOrderOrOfAnotherReportAreRefused) {
  const std::vector<v1::LearnedRoutesChunk> chunks =
      ChunkLearnedRoutes({{"a", Hosts(1, 10000)}}, 3);
  ASSERT_GE(chunks.size(), 3u);
  LearnedRoutesAssembler skip;
  ASSERT_TRUE(skip.Add(chunks[0]).ok());
  EXPECT_EQ(skip.Add(chunks[2]).status().message(),
            "learned routes report 3: chunk 2 where chunk 1 was due");
  LearnedRoutesAssembler mixed;
  ASSERT_TRUE(mixed.Add(chunks[0]).ok());
  v1::LearnedRoutesChunk other = chunks[1];
  other.set_report(4);
  EXPECT_FALSE(mixed.Add(other).ok());
  // Report numbers grow on a stream.
  LearnedRoutesAssembler again;
  ASSERT_TRUE(Feed(again, ChunkLearnedRoutes({}, 5)).ok());
  EXPECT_FALSE(Feed(again, ChunkLearnedRoutes({}, 5)).ok());
  EXPECT_TRUE(Feed(again, ChunkLearnedRoutes({}, 6)).ok());
  v1::LearnedRoutesChunk none;
  none.set_report(9);
  EXPECT_FALSE(again.Add(none).ok());  // count 0
}

TEST(LearnedChunkTest, ABadPrefixIsRefusedNamingUplinkAndPrefix) {
  v1::LearnedRoutesChunk chunk;
  chunk.set_report(1);
  chunk.set_count(1);
  v1::UplinkLearned* u = chunk.add_uplinks();
  u->set_uplink("blue-e1");
  u->add_prefixes("10.0.0.0/8");
  u->add_prefixes("10.0.0.1/8");  // host bits set
  LearnedRoutesAssembler assembler;
  const absl::Status bad = assembler.Add(chunk).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("uplink \"blue-e1\": prefix \"10.0.0.1/8\""), std::string::npos)
      << bad;
  u->set_prefixes(1, std::string(100000, '1'));
  EXPECT_FALSE(LearnedRoutesAssembler().Add(chunk).ok());
  u->set_prefixes(1, "2001:db8::/32");
  EXPECT_FALSE(LearnedRoutesAssembler().Add(chunk).ok());
}

TEST(LearnedChunkTest, AReportOverTheControllersBoundIsRefused) {
  LearnedRoutesAssembler assembler(LearnedLimits{.prefixes = 15000});
  const absl::Status over =
      Feed(assembler, ChunkLearnedRoutes({{"a", Hosts(1, 10000)}, {"b", Hosts(2, 6000)}}, 1))
          .status();
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(over.message().find("more than 15000 prefixes"), std::string::npos) << over;
  LearnedRoutesAssembler fits(LearnedLimits{.prefixes = 15000});
  EXPECT_TRUE(Feed(fits, ChunkLearnedRoutes({{"a", Hosts(1, 15000)}}, 1)).ok());
}

}  // namespace
}  // namespace weft
