#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/controller.h"
#include "controller/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

constexpr char kGood[] = "version: 5\nnodes: [{name: hv1, vtep: 198.18.0.1}]\n";

// 1,000 policies × 1,000 rules × 1,000 peer CIDRs in 13 KB: a billion
// CIDRs for a reader that copies what aliases name.
std::string BillionCidrsFromAliases() {
  std::string cidrs = "[&c 10.0.0.0/8";
  std::string rules = "[&r {direction: ingress, action: allow, peer: {cidrs: ";
  std::string policies = "policies:\n- &p {name: p, tenant: t, applied_to: {groups: [g]}, rules: ";
  for (int i = 1; i < 1000; ++i) absl::StrAppend(&cidrs, ", *c");
  absl::StrAppend(&rules, cidrs, "]}}");
  for (int i = 1; i < 1000; ++i) absl::StrAppend(&rules, ", *r");
  absl::StrAppend(&policies, rules, "]}\n");
  for (int i = 1; i < 1000; ++i) absl::StrAppend(&policies, "- *p\n");
  return policies;
}

class StateFileWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/weft-watcher-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/state.yaml";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Replaces the state file atomically, as written a second ago (so it
  // reads without waiting for it to settle), `seconds` apart from the
  // last.
  void Replace(const std::string& text) {
    const std::string tmp = path_ + ".tmp";
    std::ofstream(tmp) << text;
    const timespec when =
        absl::ToTimespec(absl::Now() - absl::Seconds(1) + absl::Nanoseconds(++writes_));
    const timespec times[2] = {when, when};
    ASSERT_EQ(utimensat(AT_FDCWD, tmp.c_str(), times, 0), 0);
    std::filesystem::rename(tmp, path_);
  }

  std::string dir_, path_;
  int writes_ = 0;
  Controller controller_;
};

TEST_F(StateFileWatcherTest, ABillionCidrsFromAliasesEditIsRefusedAndTheLastStateStays) {
  Replace(kGood);
  StateFileWatcher watcher(path_, &controller_);
  ASSERT_TRUE(watcher.LoadInitial().ok());
  const uint64_t version = controller_.version();

  Replace(BillionCidrsFromAliases());
  EXPECT_TRUE(watcher.Poll());
  EXPECT_EQ(controller_.version(), version);
  EXPECT_EQ(controller_.rejected_edits(), 1u);
  EXPECT_EQ(controller_.state().nodes.size(), 1u);
  EXPECT_FALSE(watcher.Poll());  // refused once, not again at every look

  Replace(kGood);
  EXPECT_TRUE(watcher.Poll());
  EXPECT_GT(controller_.version(), version);
}

TEST_F(StateFileWatcherTest, ABillionCidrsFromAliasesFileAtStartIsAnError) {
  Replace(BillionCidrsFromAliases());
  StateFileWatcher watcher(path_, &controller_);
  const absl::Status status = watcher.LoadInitial();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(path_ + ":2:"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("makes the aliases repeat more than"));
}

}  // namespace
}  // namespace weft
