#include "controller/file_events.h"

#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace weft {
namespace {

bool Readable(const FileEvents& events, int timeout_ms) {
  pollfd p = {.fd = events.fd(), .events = POLLIN, .revents = 0};
  return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

class FileEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/weft-file-events-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/state.yaml";
    Write(path_, "version: 1\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static void Write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  std::string dir_, path_;
};

TEST_F(FileEventsTest, AnAtomicReplacementWakes) {
  absl::StatusOr<FileEvents> events = FileEvents::Watch(path_);
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_FALSE(Readable(*events, 0));
  Write(path_ + ".tmp", "version: 2\n");
  ASSERT_EQ(std::rename((path_ + ".tmp").c_str(), path_.c_str()), 0);
  EXPECT_TRUE(Readable(*events, 5000));
  events->Drain();
  EXPECT_FALSE(Readable(*events, 0)) << "drained";
}

TEST_F(FileEventsTest, AWriteInPlaceWakesOnceClosed) {
  absl::StatusOr<FileEvents> events = FileEvents::Watch(path_);
  ASSERT_TRUE(events.ok()) << events.status();
  {
    std::ofstream out(path_, std::ios::trunc);
    out << "version: 3\n";
    out.flush();
    EXPECT_FALSE(Readable(*events, 0)) << "still being written";
  }
  EXPECT_TRUE(Readable(*events, 5000));
}

TEST_F(FileEventsTest, AMissingDirectoryIsAnError) {
  EXPECT_FALSE(FileEvents::Watch(dir_ + "/no/such/state.yaml").ok());
}

}  // namespace
}  // namespace weft
