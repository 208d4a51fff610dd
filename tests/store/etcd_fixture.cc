#include "tests/store/etcd_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/etcd/client.h"

namespace weft::testing {
namespace {

constexpr char kEtcd[] = "/usr/bin/etcd";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string ScratchDir() {
  std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string pattern = base + "/weft-etcd-XXXXXX";
  std::vector<char> path(pattern.begin(), pattern.end());
  path.push_back('\0');
  return mkdtemp(path.data()) != nullptr ? std::string(path.data()) : std::string();
}

}  // namespace

EtcdProcess::EtcdProcess(std::optional<EtcdTls> tls)
    : data_dir_(ScratchDir()),
      client_port_(FreePort()),
      hidden_port_(FreePort()),
      peer_port_(FreePort()),
      tls_(std::move(tls)) {}

EtcdProcess::~EtcdProcess() {
  Kill();
  if (!data_dir_.empty()) std::filesystem::remove_all(data_dir_);
}

std::string EtcdProcess::Endpoint() const { return absl::StrCat("127.0.0.1:", client_port_); }

std::string EtcdProcess::HiddenEndpoint() const { return absl::StrCat("127.0.0.1:", hidden_port_); }

absl::Status EtcdProcess::Start() { return StartServing(Endpoint()); }

absl::Status EtcdProcess::StartHidden() { return StartServing(HiddenEndpoint()); }

absl::Status EtcdProcess::StartServing(const std::string& endpoint) {
  if (data_dir_.empty()) return absl::InternalError("no scratch directory for etcd");
  std::string client_url = absl::StrCat(tls_ ? "https://" : "http://", endpoint);
  std::string peer_url = absl::StrCat("http://127.0.0.1:", peer_port_);
  std::vector<std::string> args = {kEtcd,
                                   "--name",
                                   "weft-test",
                                   "--data-dir",
                                   data_dir_ + "/data",
                                   "--listen-client-urls",
                                   client_url,
                                   "--advertise-client-urls",
                                   client_url,
                                   "--listen-peer-urls",
                                   peer_url,
                                   "--initial-advertise-peer-urls",
                                   peer_url,
                                   "--initial-cluster",
                                   "weft-test=" + peer_url,
                                   "--log-level",
                                   "error"};
  if (tls_) {
    args.insert(args.end(), {"--cert-file", tls_->cert, "--key-file", tls_->key,
                             "--trusted-ca-file", tls_->ca, "--client-cert-auth"});
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::string log = data_dir_ + "/etcd.log";
  pid_ = fork();
  if (pid_ < 0) return absl::InternalError("fork failed");
  if (pid_ == 0) {
    freopen(log.c_str(), "a", stdout);
    freopen(log.c_str(), "a", stderr);
    setenv("ETCD_UNSUPPORTED_ARCH", "", 0);
    execv(kEtcd, argv.data());
    _exit(127);
  }
  // Up when it answers a range. It accepts connections before it serves:
  // a fresh channel for each probe, so none waits on a connection made too
  // early.
  etcd::EtcdConfig config;
  config.endpoints = {endpoint};
  config.call_timeout = absl::Milliseconds(300);
  if (tls_) {
    config.ca_file = tls_->ca;
    config.cert_file = tls_->cert;
    config.key_file = tls_->key;
  }
  bool up = WaitFor(
      [&] {
        auto client = etcd::Client::Create(config);
        return client.ok() && (*client)->Range("health", "").ok();
      },
      absl::Seconds(20));
  return up ? absl::OkStatus()
            : absl::DeadlineExceededError(absl::StrCat("etcd did not answer; see ", log));
}

void EtcdProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void EtcdTest::SetUp() {
  if (access(kEtcd, X_OK) != 0) {
    if (std::getenv("CI") != nullptr) FAIL() << kEtcd << " missing (apt install etcd-server)";
    GTEST_SKIP() << kEtcd << " missing (apt install etcd-server)";
  }
  etcd_ = std::make_unique<EtcdProcess>(ServerTls());
  absl::Status started = etcd_->Start();
  ASSERT_TRUE(started.ok()) << started;
}

void EtcdTest::TearDown() { etcd_.reset(); }

EtcdStoreOptions EtcdTest::Options() const {
  EtcdStoreOptions options;
  options.endpoints = {etcd_->Endpoint()};
  options.replica = "test-replica";
  return options;
}

std::unique_ptr<EtcdStateStore> EtcdTest::Connect(const EtcdStoreOptions& options) {
  auto store = EtcdStateStore::Connect(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

}  // namespace weft::testing
