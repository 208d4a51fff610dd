#include "common/model/whole_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

const absl::Time kWritten = absl::FromUnixSeconds(1'700'000'000);
const FileLook kLook = {
    .device = 1, .inode = 2, .size = 100, .modified = kWritten, .changed = kWritten};
const absl::Time kLater = kWritten + absl::Seconds(1);

TEST(CheckReadWholeTest, AStillFileReadWholeIsWhole) {
  EXPECT_TRUE(CheckReadWhole(kLook, kLook, 100, kLater).ok());
}

TEST(CheckReadWholeTest, AChangeDuringTheReadIsRetried) {
  FileLook shorter = kLook, modified = kLook, changed = kLook, replaced = kLook;
  shorter.size = 60;
  modified.modified += absl::Milliseconds(1);
  changed.changed += absl::Milliseconds(1);
  replaced.inode = 3;
  for (const FileLook& after : {shorter, modified, changed, replaced}) {
    const absl::Status status = CheckReadWhole(kLook, after, 100, kLater);
    EXPECT_TRUE(absl::IsUnavailable(status)) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("changed while it was read"));
  }
}

TEST(CheckReadWholeTest, AFileWrittenJustNowIsReadOnceStill) {
  const absl::Status fresh = CheckReadWhole(kLook, kLook, 100, kWritten + absl::Milliseconds(50));
  EXPECT_TRUE(absl::IsUnavailable(fresh)) << fresh;
  EXPECT_THAT(std::string(fresh.message()), HasSubstr("written 50ms ago"));
  // Clocks disagree a little: a write stamped just after `now` is as fresh.
  EXPECT_TRUE(
      absl::IsUnavailable(CheckReadWhole(kLook, kLook, 100, kWritten - absl::Milliseconds(50))));
  EXPECT_TRUE(CheckReadWhole(kLook, kLook, 100, kWritten + kFileSettleTime).ok());
  // An mtime set far ahead by hand is not a write going on.
  EXPECT_TRUE(CheckReadWhole(kLook, kLook, 100, kWritten - absl::Hours(1)).ok());
}

TEST(CheckReadWholeTest, AShortOrLongReadOfAStillFileIsAnError) {
  for (size_t bytes : {0, 99, 101}) {
    const absl::Status status = CheckReadWhole(kLook, kLook, bytes, kLater);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << bytes;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr(absl::StrCat("read ", bytes, " bytes of a file of 100 bytes")));
  }
}

class ReadWholeFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/weft-whole-file-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A file last written `age` ago.
  std::string Write(const std::string& name, const std::string& text, absl::Duration age) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    const timespec when = absl::ToTimespec(absl::Now() - age);
    const timespec times[2] = {when, when};
    EXPECT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
    return path;
  }

  std::string dir_;
};

TEST_F(ReadWholeFileTest, ReadsAFile) {
  const std::string path = Write("a.yaml", "version: 1\n", absl::Seconds(10));
  absl::StatusOr<std::string> text = ReadWholeFile(path, 1000);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "version: 1\n");
}

TEST_F(ReadWholeFileTest, WaitsForAFileWrittenJustNow) {
  const std::string path = Write("a.yaml", "version: 2\n", absl::ZeroDuration());
  absl::StatusOr<std::string> text = ReadWholeFile(path, 1000);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "version: 2\n");
}

TEST_F(ReadWholeFileTest, RefusesAFileOverTheLimitUnread) {
  const std::string path = Write("big.yaml", std::string(1001, '#'), absl::Seconds(10));
  absl::StatusOr<std::string> text = ReadWholeFile(path, 1000);
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(text.status().message()),
              HasSubstr(path + ": 1001 bytes; a file larger than 1000 bytes is not read"));
}

// A directory opens, then reads as an error (std::ifstream made it an
// empty text, so an empty state); a FIFO has no end to wait for.
TEST_F(ReadWholeFileTest, RefusesWhatIsNotARegularFile) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {dir_, fifo}) {
    absl::StatusOr<std::string> text = ReadWholeFile(path, 1000);
    EXPECT_EQ(text.status().code(), absl::StatusCode::kFailedPrecondition) << path;
    EXPECT_THAT(std::string(text.status().message()), HasSubstr(path + ": is not a regular file"));
  }
}

TEST_F(ReadWholeFileTest, AMissingFileIsNotFound) {
  const std::string path = dir_ + "/missing.yaml";
  absl::StatusOr<std::string> text = ReadWholeFile(path, 1000);
  EXPECT_EQ(text.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(text.status().message()), HasSubstr(path + ": open: "));
}

}  // namespace
}  // namespace weft
