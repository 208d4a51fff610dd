#include "agent/bgp/gobgpd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace weft::bgp {
namespace {

std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  return "stopped";
}

// In the child between fork and exec: only async-signal-safe calls (the
// agent has gRPC threads), so argv is built before the fork.
[[noreturn]] void ExecGobgpd(char* const* argv, const char* log_path, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(127);  // the parent died before prctl
  int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd >= 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
  }
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  execvp(argv[0], argv);
  _exit(127);
}

}  // namespace

absl::StatusOr<std::unique_ptr<GobgpdProcess>> GobgpdProcess::Start(const GobgpdOptions& options) {
  // No -f: gobgpd then waits for StartBgp on its API. pprof would take a
  // fixed port per namespace, which two edges' daemons could not share.
  const std::vector<std::string> args = {options.binary,
                                         absl::StrCat("--api-hosts=127.0.0.1:", options.api_port),
                                         "--pprof-disable", "--log-plain", "--log-level=info"};
  std::vector<char*> argv;
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const char* log_path = options.log_path.empty() ? "/dev/null" : options.log_path.c_str();
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork for gobgpd: ", std::strerror(errno)));
  if (pid == 0) ExecGobgpd(argv.data(), log_path, parent);
  return std::unique_ptr<GobgpdProcess>(new GobgpdProcess(pid, options.api_port));
}

GobgpdProcess::~GobgpdProcess() { Stop(); }

std::string GobgpdProcess::api_address() const { return absl::StrCat("127.0.0.1:", api_port_); }

absl::Status GobgpdProcess::Alive() {
  if (pid_ <= 0) return absl::FailedPreconditionError("gobgpd was stopped");
  int wait_status = 0;
  const pid_t r = waitpid(pid_, &wait_status, WNOHANG);
  if (r == 0) return absl::OkStatus();
  pid_ = -1;
  if (r < 0) return absl::InternalError(absl::StrCat("waitpid gobgpd: ", std::strerror(errno)));
  return absl::UnavailableError(absl::StrCat("gobgpd ", DescribeExit(wait_status)));
}

void GobgpdProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const absl::Time deadline = absl::Now() + absl::Seconds(1);
  int wait_status = 0;
  while (waitpid(pid_, &wait_status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &wait_status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));  // bounded by the deadline above
  }
  pid_ = -1;
}

}  // namespace weft::bgp
