// What an edge reports of its uplinks' learned routes (agent/edge/learned_watcher.h).
#include "agent/edge/learned_watcher.h"

#include "gtest/gtest.h"

namespace weft::edge {
namespace {

TEST(CutLearnedTest, OnlyEstablishedSessionsReportAndEachUplinkIsBounded) {
  const UplinkPeers uplinks = {{0xc0000201, "a-edge1"}, {0xc0000205, "b-edge1"}};
  std::map<uint32_t, std::vector<Ipv4Prefix>> routes;
  routes[0xc0000201] = {{0x0a030000, 16}, {0x0a010000, 16}, {0x0a020000, 16}, {0x0a010000, 16}};
  routes[0xc0000205] = {{0x0a090000, 16}};  // its session is down: not reported
  const LearnedRead read = CutLearned(uplinks, {0xc0000201}, routes, 2);
  EXPECT_EQ(read.established, 1u);
  EXPECT_EQ(read.dropped, 1u);  // three distinct prefixes, two reported: the lowest
  const LearnedSnapshot want = {{"a-edge1", {{0x0a010000, 16}, {0x0a020000, 16}}},
                                {"b-edge1", {}}};
  EXPECT_EQ(read.snapshot, want);
}

}  // namespace
}  // namespace weft::edge
