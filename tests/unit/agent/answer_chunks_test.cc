// The agent API's long answers in messages of bounded size
// (agent/api/answer_chunks.h): merged in order they are the answer.
#include "agent/api/answer_chunks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "weft/v1/agent_api.pb.h"

namespace weft {
namespace {

using google::protobuf::util::MessageDifferencer;

v1::ConntrackResponse Answer(int entries) {
  v1::ConntrackResponse r;
  r.set_total(entries + 7);
  for (int i = 0; i < entries; ++i) {
    v1::ConntrackEntry* e = r.add_entries();
    e->set_tenant_id(i % 3 + 1);
    e->set_src("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250));
    e->set_dst("10.1.0.1");
    e->set_sport(40000 + i % 20000);
    e->set_state("established");
    e->set_policy("policy-" + std::to_string(i));
  }
  return r;
}

std::vector<v1::ConntrackResponse> Chunks(const v1::ConntrackResponse& answer, size_t max_bytes) {
  std::vector<v1::ConntrackResponse> out;
  EXPECT_TRUE(api::WriteInChunks(answer, &v1::ConntrackResponse::mutable_entries, max_bytes,
                                 [&](const v1::ConntrackResponse& r) {
                                   out.push_back(r);
                                   return true;
                                 }));
  return out;
}

TEST(AnswerChunks, EachUnderTheLimitMergedTheWholeAnswer) {
  // 100,000 entries are several MiB: more than gRPC's 4 MiB default.
  const v1::ConntrackResponse answer = Answer(100000);
  ASSERT_GT(answer.ByteSizeLong(), 4u << 20);
  const std::vector<v1::ConntrackResponse> chunks = Chunks(answer, api::kMaxAnswerChunkBytes);
  ASSERT_GT(chunks.size(), 4u);
  v1::ConntrackResponse merged;
  for (const v1::ConntrackResponse& c : chunks) {
    EXPECT_LE(c.ByteSizeLong(), api::kMaxAnswerChunkBytes);
    EXPECT_GT(c.entries_size(), 0);
    merged.MergeFrom(c);
  }
  EXPECT_TRUE(MessageDifferencer::Equals(merged, answer));
  EXPECT_EQ(chunks[0].total(), answer.total());  // the other fields come first
  EXPECT_EQ(chunks[1].total(), 0u);
}

TEST(AnswerChunks, EmptyAnswerIsOneMessageAndABigEntryGoesAlone) {
  std::vector<v1::ConntrackResponse> chunks = Chunks(Answer(0), 1000);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].total(), 7u);

  v1::ConntrackResponse answer = Answer(3);
  answer.mutable_entries(1)->set_policy(std::string(5000, 'p'));
  chunks = Chunks(answer, 1000);
  ASSERT_EQ(chunks.size(), 3u);
  for (const v1::ConntrackResponse& c : chunks) EXPECT_EQ(c.entries_size(), 1);
}

TEST(AnswerChunks, StopsWhenTheClientIsGone) {
  int writes = 0;
  EXPECT_FALSE(api::WriteInChunks(Answer(1000), &v1::ConntrackResponse::mutable_entries, 1000,
                                  [&](const v1::ConntrackResponse&) {
                                    ++writes;
                                    return false;
                                  }));
  EXPECT_EQ(writes, 1);
}

}  // namespace
}  // namespace weft
