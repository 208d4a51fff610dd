// A real single-member etcd for one test: started on free loopback ports
// with its data directory under /dev/shm (or TMPDIR), killed and removed at
// the end, also when the test fails. Without the etcd binary the test
// skips, or fails when CI is set.
#ifndef WEFT_TESTS_STORE_ETCD_FIXTURE_H_
#define WEFT_TESTS_STORE_ETCD_FIXTURE_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/store/etcd_state_store.h"
#include "gtest/gtest.h"
#include "tests/testing/wait_for.h"

namespace weft::testing {

class EtcdProcess {
 public:
  EtcdProcess();                 // a fresh data directory; not started
  ~EtcdProcess();                // killed, data directory removed
  absl::Status Start();          // same ports and data directory each time
  void Kill();                   // SIGKILL, waited for
  std::string Endpoint() const;  // 127.0.0.1:<client port>

 private:
  std::string data_dir_;
  int client_port_ = 0;
  int peer_port_ = 0;
  pid_t pid_ = -1;
};

class EtcdTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  EtcdStoreOptions Options() const;
  std::unique_ptr<EtcdStateStore> Connect(const EtcdStoreOptions& options);
  std::unique_ptr<EtcdStateStore> Connect() { return Connect(Options()); }

  std::unique_ptr<EtcdProcess> etcd_;
};

}  // namespace weft::testing

#endif  // WEFT_TESTS_STORE_ETCD_FIXTURE_H_
