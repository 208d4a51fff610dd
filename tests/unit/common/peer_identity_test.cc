#include "common/wire/peer_identity.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/wire/credentials.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_pki.h"

namespace weft {
namespace {

using ::testing::HasSubstr;

class PeerIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(pki_.ok()) << "openssl failed; see " << pki_.path("log"); }

  absl::StatusOr<Identity> Of(const std::string& extensions) {
    EXPECT_TRUE(pki_.Mint("peer", extensions)) << pki_.path("log");
    return IdentityFromCertificate(pki_.Read("peer.pem"));
  }

  TestPki pki_;
};

TEST_F(PeerIdentityTest, NodeAndAdminCertificates) {
  absl::StatusOr<Identity> node = Of(TestPki::Node("hv1"));
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(node->role, PeerRole::kNode);
  EXPECT_EQ(node->name, "hv1");
  EXPECT_EQ(Describe(*node), "node hv1");

  absl::StatusOr<Identity> admin = Of(TestPki::Admin("alice"));
  ASSERT_TRUE(admin.ok()) << admin.status();
  EXPECT_EQ(admin->role, PeerRole::kAdmin);
  EXPECT_EQ(admin->name, "alice");

  // Other names beside the one weft URI do not matter.
  absl::StatusOr<Identity> more =
      Of("subjectAltName=DNS:hv1.example,URI:spiffe://other/x,URI:spiffe://weft/node/hv1.rack-2\n"
         "extendedKeyUsage=serverAuth,clientAuth\n");
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_EQ(more->name, "hv1.rack-2");
}

TEST_F(PeerIdentityTest, ClientAuthIsRequired) {
  for (const char* eku : {"", "extendedKeyUsage=serverAuth\n"}) {
    absl::StatusOr<Identity> id =
        Of(absl::StrCat("subjectAltName=URI:spiffe://weft/node/hv1\n", eku));
    EXPECT_EQ(id.status().code(), absl::StatusCode::kPermissionDenied) << eku;
    EXPECT_THAT(id.status().message(), HasSubstr("clientAuth"));
  }
  // The controller's own certificate, as the lab mints it.
  EXPECT_EQ(Of(TestPki::kServer).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(PeerIdentityTest, ExactlyOneWellFormedWeftUri) {
  const struct {
    const char* san;
    const char* message;
  } cases[] = {
      // clang-format off
      {"DNS:weft-agent",                                            "names 0"},
      {"URI:spiffe://weft/node/hv1,URI:spiffe://weft/node/hv2",     "names 2"},
      {"URI:spiffe://weft/node/hv1,URI:spiffe://weft/admin/alice",  "names 2"},
      {"URI:spiffe://weft/node/",                                   "URI SAN\""},
      {"URI:spiffe://weft/node/hv1/extra",                          "URI SAN\""},
      {"URI:spiffe://weft/node/hv%31",                              "URI SAN\""},
      {"URI:spiffe://weft/operator/alice",                          "neither"},
      {"URI:spiffe://weftx/node/hv1",                               "names 0"},
      // clang-format on
  };
  for (const auto& c : cases) {
    absl::StatusOr<Identity> id =
        Of(absl::StrCat("subjectAltName=", c.san, "\nextendedKeyUsage=clientAuth\n"));
    EXPECT_EQ(id.status().code(), absl::StatusCode::kPermissionDenied) << c.san;
    EXPECT_THAT(id.status().message(), HasSubstr(c.message)) << c.san;
  }
  EXPECT_EQ(Of(absl::StrCat("subjectAltName=URI:spiffe://weft/node/", std::string(254, 'a'),
                            "\nextendedKeyUsage=clientAuth\n"))
                .status()
                .code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(PeerIdentityTest, NotACertificate) {
  EXPECT_EQ(IdentityFromCertificate("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IdentityFromCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PeerIdentityTest, CredentialsRefuseAKeyOthersCanRead) {
  ASSERT_TRUE(pki_.Mint("hv1", TestPki::Node("hv1")));
  const TlsFlags flags{
      .cert = pki_.path("hv1.pem"), .key = pki_.path("hv1.key"), .ca = pki_.path("ca.pem")};
  auto refused = [&](mode_t mode, const char* who) {
    EXPECT_EQ(chmod(flags.key.c_str(), mode), 0);
    for (const absl::Status& status :
         {ClientCredentials(flags).status(), ServerCredentials(flags).status()}) {
      EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << std::oct << mode;
      EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("--tls_key ", flags.key)));
      EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("accessible to ", who)));
    }
  };
  auto accepted = [&](mode_t mode) {
    EXPECT_EQ(chmod(flags.key.c_str(), mode), 0);
    EXPECT_TRUE(ClientCredentials(flags).ok()) << std::oct << mode;
    EXPECT_TRUE(ServerCredentials(flags).ok()) << std::oct << mode;
  };
  accepted(0600);
  accepted(0400);
  refused(0604, "others");
  refused(0644, "others");
  refused(0660, "group");
  if (geteuid() != 0) GTEST_SKIP() << "chown needs root";
  ASSERT_EQ(chown(flags.key.c_str(), 0, 65534), 0);
  accepted(0640);  // root's grant to a group (ssl-cert, a Kubernetes fsGroup)
  ASSERT_EQ(chown(flags.key.c_str(), 65534, 65534), 0);
  refused(0640, "group");
}

}  // namespace
}  // namespace weft
