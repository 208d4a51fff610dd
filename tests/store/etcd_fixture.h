// A real single-member etcd for one test: started on free loopback ports
// with its data directory under /dev/shm (or TMPDIR), killed and removed at
// the end, also when the test fails. Without the etcd binary the test
// skips, or fails when CI is set. With EtcdTls it serves clients over TLS
// only and requires a client certificate signed by `ca`.
#ifndef WEFT_TESTS_STORE_ETCD_FIXTURE_H_
#define WEFT_TESTS_STORE_ETCD_FIXTURE_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/store/etcd_state_store.h"
#include "gtest/gtest.h"
#include "tests/testing/wait_for.h"

namespace weft::testing {

// PEM files. `cert` serves clients and, with clientAuth among its extended
// key usages, is also what the fixture probes etcd with.
struct EtcdTls {
  std::string ca;
  std::string cert;
  std::string key;
};

class EtcdProcess {
 public:
  // A fresh data directory; not started.
  explicit EtcdProcess(std::optional<EtcdTls> tls = std::nullopt);
  ~EtcdProcess();                // killed, data directory removed
  absl::Status Start();          // same ports and data directory each time
  // The same member and data, serving clients on HiddenEndpoint() only: what
  // is written there happens while clients of Endpoint() cannot see it.
  absl::Status StartHidden();
  void Kill();                         // SIGKILL, waited for
  std::string Endpoint() const;        // 127.0.0.1:<client port>
  std::string HiddenEndpoint() const;  // 127.0.0.1:<another port>

 private:
  std::string data_dir_;
  absl::Status StartServing(const std::string& endpoint);

  int client_port_ = 0;
  int hidden_port_ = 0;
  int peer_port_ = 0;
  pid_t pid_ = -1;
  std::optional<EtcdTls> tls_;
};

class EtcdTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // How the test's etcd serves clients: plaintext, unless a fixture says
  // otherwise.
  virtual std::optional<EtcdTls> ServerTls() { return std::nullopt; }

  EtcdStoreOptions Options() const;
  std::unique_ptr<EtcdStateStore> Connect(const EtcdStoreOptions& options);
  std::unique_ptr<EtcdStateStore> Connect() { return Connect(Options()); }

  std::unique_ptr<EtcdProcess> etcd_;
};

}  // namespace weft::testing

#endif  // WEFT_TESTS_STORE_ETCD_FIXTURE_H_
