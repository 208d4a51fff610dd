#include "common/wire/peer_identity.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/model/validate.h"
#include "grpc/grpc_security_constants.h"

namespace weft {
namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
};

absl::StatusOr<Identity> IdentityFromUri(absl::string_view uri) {
  Identity identity;
  absl::string_view name = uri;
  if (absl::ConsumePrefix(&name, kSpiffeNodePrefix)) {
    identity.role = PeerRole::kNode;
  } else if (absl::ConsumePrefix(&name, kSpiffeAdminPrefix)) {
    identity.role = PeerRole::kAdmin;
  } else {
    return absl::PermissionDeniedError(absl::StrCat(
        "the certificate's URI SAN \"", absl::CHexEscape(uri.substr(0, 80)), "\" is neither ",
        kSpiffeNodePrefix, "<name> nor ", kSpiffeAdminPrefix, "<name>"));
  }
  if (absl::Status bad = CheckNodeName("the certificate", "URI SAN", name); !bad.ok()) {
    return absl::PermissionDeniedError(bad.message());
  }
  identity.name = std::string(name);
  return identity;
}

// The URI SANs of `cert` in the spiffe://weft/ trust domain.
std::vector<std::string> WeftUris(X509* cert) {
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> uris;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     ASN1_STRING_length(uri));
    if (absl::StartsWith(text, "spiffe://weft/")) uris.push_back(std::move(text));
  }
  return uris;
}

}  // namespace

absl::StatusOr<Identity> IdentityFromCertificate(absl::string_view pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, X509Free> cert(
      bio == nullptr ? nullptr : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) return absl::InvalidArgumentError("the peer's certificate is not PEM X.509");
  // Without the extension a certificate allows every usage: require it, and
  // clientAuth in it, so a server's certificate is never taken for a client's.
  const bool has_eku = (X509_get_extension_flags(cert.get()) & EXFLAG_XKUSAGE) != 0;
  if (!has_eku || (X509_get_extended_key_usage(cert.get()) & XKU_SSL_CLIENT) == 0) {
    return absl::PermissionDeniedError(
        "the certificate does not allow clientAuth in its extended key usage (a server "
        "certificate cannot call the controller)");
  }
  const std::vector<std::string> uris = WeftUris(cert.get());
  if (uris.size() != 1) {
    return absl::PermissionDeniedError(absl::StrCat(
        "the certificate must name exactly one spiffe://weft/ URI SAN (", kSpiffeNodePrefix,
        "<name> or ", kSpiffeAdminPrefix, "<name>); it names ", uris.size()));
  }
  return IdentityFromUri(uris[0]);
}

absl::StatusOr<Identity> PeerIdentity(const grpc::AuthContext& auth) {
  const std::vector<grpc::string_ref> pems =
      auth.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (!auth.IsPeerAuthenticated() || pems.size() != 1) {
    return absl::UnauthenticatedError("the peer presented no certificate");
  }
  return IdentityFromCertificate(absl::string_view(pems[0].data(), pems[0].size()));
}

std::string Describe(const Identity& identity) {
  return absl::StrCat(identity.role == PeerRole::kNode ? "node " : "admin ", identity.name);
}

}  // namespace weft
