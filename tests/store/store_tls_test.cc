// Client TLS to etcd (--store_ca/--store_cert/--store_key): against an etcd
// that serves clients over TLS only and requires a certificate from the
// fleet's CA, a replica with its certificate reads and writes the state, and
// every client the server cannot trust, or that cannot trust the server, is
// refused without writing anything.
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "tests/store/etcd_fixture.h"
#include "tests/store/sample_states.h"
#include "tests/testing/test_pki.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

class EtcdOverTls : public EtcdTest {
 protected:
  std::optional<EtcdTls> ServerTls() override {
    EXPECT_TRUE(pki_.ok()) << pki_.path("log");
    EXPECT_TRUE(pki_.Mint("etcd",
                          "subjectAltName=IP:127.0.0.1\n"
                          "extendedKeyUsage=serverAuth,clientAuth\n"))
        << pki_.path("log");
    EXPECT_TRUE(pki_.Mint("replica", "extendedKeyUsage=clientAuth\n")) << pki_.path("log");
    EXPECT_TRUE(pki_.MintCa("other-ca")) << pki_.path("log");
    EXPECT_TRUE(pki_.Mint("stranger", "extendedKeyUsage=clientAuth\n", "other-ca"))
        << pki_.path("log");
    return EtcdTls{pki_.path("ca.pem"), pki_.path("etcd.pem"), pki_.path("etcd.key")};
  }

  // Options with client TLS: the CA the client trusts, and its certificate.
  EtcdStoreOptions WithTls(const std::string& ca, const std::string& who) const {
    EtcdStoreOptions options = Options();
    options.ca = pki_.path(ca + ".pem");
    options.cert = pki_.path(who + ".pem");
    options.key = pki_.path(who + ".key");
    return options;
  }

  TestPki pki_;
};

TEST_F(EtcdOverTls, AReplicaWithTheFleetsCertificateWritesAndReads) {
  auto store = Connect(WithTls("ca", "replica"));
  ASSERT_NE(store, nullptr);
  absl::StatusOr<uint64_t> version = store->WriteState(EveryKind(), {});
  ASSERT_TRUE(version.ok()) << version.status();
  absl::StatusOr<State> read = store->ReadState();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->version, *version);
  EXPECT_TRUE(SameState(*read, EveryKind()));
}

TEST_F(EtcdOverTls, ClientsItCannotTrustOrThatCannotTrustItAreRefused) {
  struct Refused {
    const char* what;
    EtcdStoreOptions options;
  };
  const Refused cases[] = {
      {"a certificate from another CA", WithTls("ca", "stranger")},
      {"a client that trusts another CA", WithTls("other-ca", "replica")},
      {"plaintext (loopback, so allowed to try)", Options()},
  };
  for (const Refused& c : cases) {
    absl::StatusOr<std::unique_ptr<EtcdStateStore>> store = EtcdStateStore::Connect(c.options);
    if (!store.ok()) {
      EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << c.what;
      continue;
    }
    const absl::StatusOr<uint64_t> written = (*store)->WriteState(EveryKind(), {});
    EXPECT_EQ(written.status().code(), absl::StatusCode::kUnavailable)
        << c.what << ": " << written.status();
    EXPECT_THAT(written.status().message(), HasSubstr(etcd_->Endpoint())) << c.what;
  }
  // Nothing any of them sent was written.
  auto store = Connect(WithTls("ca", "replica"));
  ASSERT_NE(store, nullptr);
  absl::StatusOr<State> read = store->ReadState();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->version, 0u);
}

}  // namespace
}  // namespace weft::testing
