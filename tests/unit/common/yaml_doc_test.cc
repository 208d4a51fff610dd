#include "common/model/yaml_doc.h"

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Kind = YamlDoc::Kind;
using NodeId = YamlDoc::NodeId;

YamlDoc ParseOk(const std::string& text) {
  absl::StatusOr<YamlDoc> doc = YamlDoc::Parse(text);
  EXPECT_TRUE(doc.ok()) << doc.status();
  return doc.ok() ? *std::move(doc) : *YamlDoc::Parse("");
}

// The scalar texts of a sequence's items ("<null>" for a null).
std::vector<std::string> ItemTexts(const YamlDoc& doc, NodeId list) {
  std::vector<std::string> texts;
  for (NodeId item : doc.items(list)) {
    texts.push_back(doc.kind(item) == Kind::kNull ? "<null>" : std::string(doc.scalar(item)));
  }
  return texts;
}

TEST(YamlDocTest, BlockAndFlowCollections) {
  const YamlDoc doc = ParseOk(R"yaml(
# a comment
name: hv1
list: [a, "b c", 'd']
nested:
  - {x: 1, y: [2, 3]}
  - z
)yaml");
  const NodeId root = doc.root();
  ASSERT_EQ(doc.kind(root), Kind::kMapping);
  ASSERT_EQ(doc.entries(root).size(), 3u);
  EXPECT_EQ(doc.scalar(doc.entries(root)[0].key), "name");
  EXPECT_EQ(doc.scalar(*doc.Find(root, "name")), "hv1");
  EXPECT_THAT(ItemTexts(doc, *doc.Find(root, "list")), ElementsAre("a", "b c", "d"));

  const NodeId nested = *doc.Find(root, "nested");
  ASSERT_EQ(doc.kind(nested), Kind::kSequence);
  ASSERT_EQ(doc.items(nested).size(), 2u);
  const NodeId first = doc.items(nested)[0];
  ASSERT_EQ(doc.kind(first), Kind::kMapping);
  EXPECT_EQ(doc.scalar(*doc.Find(first, "x")), "1");
  EXPECT_THAT(ItemTexts(doc, *doc.Find(first, "y")), ElementsAre("2", "3"));
  EXPECT_EQ(doc.scalar(doc.items(nested)[1]), "z");
  EXPECT_FALSE(doc.Find(root, "missing").has_value());
}

TEST(YamlDocTest, AccessorsOfTheWrongKindAreEmpty) {
  const YamlDoc doc = ParseOk("{a: [b]}");
  const NodeId list = *doc.Find(doc.root(), "a");
  EXPECT_EQ(doc.scalar(list), "");
  EXPECT_TRUE(doc.entries(list).empty());
  EXPECT_TRUE(doc.items(doc.root()).empty());
  EXPECT_FALSE(doc.Find(list, "b").has_value());
}

TEST(YamlDocTest, CompactJson) {
  const YamlDoc doc = ParseOk(R"({"nodes":[{"name":"hv1","vtep":"198.18.0.1"}],"v":null})");
  const NodeId nodes = *doc.Find(doc.root(), "nodes");
  const NodeId node = doc.items(nodes)[0];
  EXPECT_EQ(doc.scalar(*doc.Find(node, "vtep")), "198.18.0.1");
  EXPECT_EQ(doc.kind(*doc.Find(doc.root(), "v")), Kind::kNull);
}

TEST(YamlDocTest, NullIsAnUntaggedPlainScalar) {
  const YamlDoc doc = ParseOk("[~, null, Null, NULL, '', \"null\", '~', !!str null, nULL, 0]");
  EXPECT_THAT(ItemTexts(doc, doc.root()), ElementsAre("<null>", "<null>", "<null>", "<null>", "",
                                                      "null", "~", "null", "nULL", "0"));
  // Nothing at all after the indicator: an empty plain scalar.
  const YamlDoc block = ParseOk("a:\nb:\n  -\n  - x\n");
  EXPECT_EQ(block.kind(*block.Find(block.root(), "a")), Kind::kNull);
  EXPECT_THAT(ItemTexts(block, *block.Find(block.root(), "b")), ElementsAre("<null>", "x"));
}

TEST(YamlDocTest, ScalarsKeepTheirTextWhateverTheStyle) {
  const YamlDoc doc = ParseOk(
      "a: 02:00:00:01:01:30\n"
      "b: \"tab\\there\"\n"
      "c: |\n  two\n  lines\n"
      "d: >\n  folded\n  text\n"
      "e: true\n"
      "f: !!int 7\n");
  const NodeId root = doc.root();
  EXPECT_EQ(doc.scalar(*doc.Find(root, "a")), "02:00:00:01:01:30");
  EXPECT_EQ(doc.scalar(*doc.Find(root, "b")), "tab\there");
  EXPECT_EQ(doc.scalar(*doc.Find(root, "c")), "two\nlines\n");
  EXPECT_EQ(doc.scalar(*doc.Find(root, "d")), "folded text\n");
  EXPECT_EQ(doc.scalar(*doc.Find(root, "e")), "true");
  EXPECT_EQ(doc.scalar(*doc.Find(root, "f")), "7");
}

TEST(YamlDocTest, RepeatedKeysAreAllKeptAndFindTakesTheFirst) {
  const YamlDoc doc = ParseOk("{a: 1, b: 2, a: 3}");
  ASSERT_EQ(doc.entries(doc.root()).size(), 3u);
  EXPECT_EQ(doc.scalar(doc.entries(doc.root())[2].key), "a");
  EXPECT_EQ(doc.scalar(doc.entries(doc.root())[2].value), "3");
  EXPECT_EQ(doc.scalar(*doc.Find(doc.root(), "a")), "1");
}

TEST(YamlDocTest, NoDocumentIsANullRoot) {
  for (const char* text : {"", "# only a comment\n", "---\n", "~\n"}) {
    absl::StatusOr<YamlDoc> doc = YamlDoc::Parse(text);
    ASSERT_TRUE(doc.ok()) << text << ": " << doc.status();
    EXPECT_EQ(doc->kind(doc->root()), Kind::kNull) << text;
  }
}

TEST(YamlDocTest, ExplicitStartAndEndOfOneDocument) {
  const YamlDoc doc = ParseOk("---\na: 1\n...\n");
  EXPECT_EQ(doc.scalar(*doc.Find(doc.root(), "a")), "1");
}

TEST(YamlDocTest, AnAliasIsTheNodeItsAnchorNames) {
  const YamlDoc doc = ParseOk(
      "base: &b {groups: [web]}\n"
      "copy: *b\n"
      "name: &n hv1\n"
      "names: [*n, *n]\n");
  const NodeId root = doc.root();
  EXPECT_EQ(*doc.Find(root, "copy"), *doc.Find(root, "base"));
  EXPECT_THAT(ItemTexts(doc, *doc.Find(root, "names")), ElementsAre("hv1", "hv1"));
}

TEST(YamlDocTest, AnAnchorDefinedAgainNamesTheLaterNode) {
  const YamlDoc doc = ParseOk("[&a x, *a, &a y, *a]");
  EXPECT_THAT(ItemTexts(doc, doc.root()), ElementsAre("x", "x", "y", "y"));
}

// Nine levels of ten aliases each to the level below: a billion copies of
// "lol" for a walk that follows aliases, from 300 bytes of text.
std::string NineLevelsOfTenAliases() {
  std::string text = "l0: &l0 lol\n";
  for (int level = 1; level <= 9; ++level) {
    absl::StrAppend(&text, "l", level, ": &l", level, " [*l", level - 1);
    for (int i = 1; i < 10; ++i) absl::StrAppend(&text, ", *l", level - 1);
    absl::StrAppend(&text, "]\n");
  }
  return text;
}

TEST(YamlDocTest, AliasesThatRepeatTooMuchAreRefused) {
  absl::StatusOr<YamlDoc> doc = YamlDoc::Parse(NineLevelsOfTenAliases());
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  // Level 6 is the first to walk as more than a million: 10^6 "lol".
  EXPECT_THAT(std::string(doc.status().message()), StartsWith("7:"));
  EXPECT_THAT(std::string(doc.status().message()),
              HasSubstr(": alias *l5 makes the aliases repeat more than 1048576 nodes and bytes "
                        "of text in all"));
}

TEST(YamlDocTest, AliasesMayRepeatAsMuchAsTheDocumentHolds) {
  // 2,000 items of 1 KiB, each named by an alias once: 2 MiB of text,
  // 2 MiB more walked through aliases.
  std::string text = "items:\n";
  for (int i = 0; i < 2000; ++i) {
    absl::StrAppend(&text, "- &i", i, " ", std::string(1024, 'x'), "\n");
  }
  absl::StrAppend(&text, "copies:\n");
  for (int i = 0; i < 2000; ++i) absl::StrAppend(&text, "- *i", i, "\n");
  absl::StatusOr<YamlDoc> doc = YamlDoc::Parse(text);
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ(doc->items(*doc->Find(doc->root(), "copies")).size(), 2000u);

  // Copied twice is too much.
  absl::StrAppend(&text, "more:\n");
  for (int i = 0; i < 2000; ++i) absl::StrAppend(&text, "- *i", i, "\n");
  EXPECT_THAT(std::string(YamlDoc::Parse(text).status().message()),
              HasSubstr("makes the aliases repeat more than"));
}

// libyaml's time per token grows with the depth: a million levels took
// minutes. Refused at the first level too deep, in flow and block style.
TEST(YamlDocTest, NestingDeeperThanTheLimitIsRefused) {
  const size_t deep = 1'000'000;
  const std::string flow = std::string(deep, '[') + std::string(deep, ']');
  absl::StatusOr<YamlDoc> doc = YamlDoc::Parse(flow);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(std::string(doc.status().message()),
            "1:65: collections nested more than 64 levels deep; at most 64 are read");

  std::string block;
  for (int level = 0; level < 10'000; ++level)
    absl::StrAppend(&block, std::string(level, ' '), "-\n");
  doc = YamlDoc::Parse(block);
  ASSERT_FALSE(doc.ok());
  EXPECT_THAT(std::string(doc.status().message()),
              HasSubstr("65: collections nested more than 64 levels deep"));

  const std::string limit =
      std::string(YamlDoc::kMaxDepth, '[') + std::string(YamlDoc::kMaxDepth, ']');
  EXPECT_TRUE(YamlDoc::Parse(limit).ok());
}

struct YamlDocBadCase {
  const char* yaml;
  const char* error;
};

void PrintTo(const YamlDocBadCase& c, std::ostream* os) { *os << c.yaml; }

class YamlDocErrorTest : public ::testing::TestWithParam<YamlDocBadCase> {};

TEST_P(YamlDocErrorTest, SaysWhereAndWhat) {
  absl::StatusOr<YamlDoc> doc = YamlDoc::Parse(GetParam().yaml);
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(doc.status().message()), HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Errors, YamlDocErrorTest,
    ::testing::Values(
        YamlDocBadCase{"nodes:\n  - {name: hv1,\n",
                       "3:1: did not find expected node content (while parsing a "
                       "flow node at 3:1)"},
        YamlDocBadCase{"a: 1\n b: 2\n", "2:3: mapping values are not allowed"},
        YamlDocBadCase{"a: [1, 2\n", "2:1: did not find expected ',' or ']'"},
        YamlDocBadCase{"a: *nowhere\n",
                       "1:4: alias *nowhere has no anchor &nowhere "
                       "before it"},
        YamlDocBadCase{"a: *b\nb: &b 1\n", "1:4: alias *b has no anchor &b before it"},
        YamlDocBadCase{"&a [1, *a]", "1:8: alias *a is inside the node it names"},
        YamlDocBadCase{"&a {k: [*a]}", "1:9: alias *a is inside the node it names"},
        YamlDocBadCase{"a: 1\n---\nb: 2\n", "2:1: a second document; one is expected"},
        YamlDocBadCase{"a: b\xff\n", "1:5: invalid"}));

}  // namespace
}  // namespace weft
