#include "common/wire/credentials.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/base/status.h"

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

struct Pems {
  std::string cert, key, ca;
};

absl::StatusOr<Pems> ReadAll(const TlsFlags& flags) {
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
  Pems pems;
  for (auto [flag, path, out] :
       {std::tuple("tls_cert", &flags.cert, &pems.cert),
        std::tuple("tls_key", &flags.key, &pems.key), std::tuple("tls_ca", &flags.ca, &pems.ca)}) {
    ASSIGN_OR_RETURN(*out, ReadPem(flag, *path));
  }
  return pems;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(const TlsFlags& flags) {
  if (flags.insecure && flags.cert.empty() && flags.key.empty() && flags.ca.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  ASSIGN_OR_RETURN(const Pems pems, ReadAll(flags));
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pems.ca;
  options.pem_private_key = pems.key;
  options.pem_cert_chain = pems.cert;
  return grpc::SslCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(const TlsFlags& flags) {
  if (flags.insecure && flags.cert.empty() && flags.key.empty() && flags.ca.empty()) {
    return grpc::InsecureServerCredentials();
  }
  ASSIGN_OR_RETURN(const Pems pems, ReadAll(flags));
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = pems.ca;
  options.pem_key_cert_pairs.push_back({pems.key, pems.cert});
  return grpc::SslServerCredentials(options);
}

}  // namespace weft
