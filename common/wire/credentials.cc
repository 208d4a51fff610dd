#include "common/wire/credentials.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/status.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace weft {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const std::string what = absl::StrCat("--", flag, " ", path, ": ", std::strerror(errno));
    return errno == ENOENT ? absl::NotFoundError(what) : absl::FailedPreconditionError(what);
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": not a PEM file"));
  }
  return text.str();
}

// A private key others can read is a key others may have copied: refuse it
// rather than serve with it. A group may read it only when root owns it (an
// administrator's deliberate grant, as Debian's ssl-cert group or the
// Kubernetes fsGroup of a Secret volume), the rule PostgreSQL applies.
absl::Status CheckKeyIsPrivate(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return absl::OkStatus();  // ReadPem names the error
  const mode_t mode = st.st_mode & 07777;
  const bool group_grant = st.st_uid == 0 && (mode & S_IRWXG) == S_IRGRP;
  if ((mode & S_IRWXO) != 0 || ((mode & S_IRWXG) != 0 && !group_grant)) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "--tls_key %s: the private key is accessible to %s (mode %04o); make it readable by its "
        "owner only (chmod 600), or by a group with 0640 and owner root",
        path, (mode & S_IRWXO) != 0 ? "others" : "group", mode));
  }
  return absl::OkStatus();
}

// The flags name a complete set of readable PEM files and a private key.
absl::Status CheckFiles(const TlsFlags& flags) {
  const bool any = !flags.cert.empty() || !flags.key.empty() || !flags.ca.empty();
  const bool all = !flags.cert.empty() && !flags.key.empty() && !flags.ca.empty();
  if (flags.insecure && any) {
    return absl::InvalidArgumentError(
        "--insecure and --tls_cert/--tls_key/--tls_ca exclude each other");
  }
  if (!all) {
    return absl::InvalidArgumentError(
        "mutual TLS needs --tls_cert, --tls_key and --tls_ca (or --insecure "
        "for plaintext)");
  }
  for (auto [flag, path] : {std::pair("tls_cert", &flags.cert), std::pair("tls_key", &flags.key),
                            std::pair("tls_ca", &flags.ca)}) {
    RETURN_IF_ERROR(ReadPem(flag, *path).status());
  }
  return CheckKeyIsPrivate(flags.key);
}

// The files are read again every `refresh_seconds` and new handshakes use
// what they hold, so certificates rotate without a restart. CheckFiles has
// checked them once, so a broken start is an error rather than failed
// handshakes.
std::shared_ptr<grpc::experimental::CertificateProviderInterface> WatchFiles(
    const TlsFlags& flags) {
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      flags.key, flags.cert, flags.ca, flags.refresh_seconds);
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(const TlsFlags& flags) {
  if (flags.insecure && flags.cert.empty() && flags.key.empty() && flags.ca.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  RETURN_IF_ERROR(CheckFiles(flags));
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(WatchFiles(flags));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  return grpc::experimental::TlsCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(const TlsFlags& flags) {
  if (flags.insecure && flags.cert.empty() && flags.key.empty() && flags.ca.empty()) {
    return grpc::InsecureServerCredentials();
  }
  RETURN_IF_ERROR(CheckFiles(flags));
  grpc::experimental::TlsServerCredentialsOptions options(WatchFiles(flags));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

}  // namespace weft
