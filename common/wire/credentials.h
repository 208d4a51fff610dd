// gRPC credentials for the sync stream and the admin API from the command
// line: mutual TLS (a CA that signs both sides, each side's own certificate
// and key, read again when the files change) or, only when asked for
// explicitly, plaintext. Who the peer is: common/wire/peer_identity.h.
#ifndef WEFT_COMMON_WIRE_CREDENTIALS_H_
#define WEFT_COMMON_WIRE_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace weft {

struct TlsFlags {
  std::string cert;  // PEM certificate (chain) of this side
  std::string key;   // PEM private key of this side
  std::string ca;    // PEM CA that signed the peer's certificate
  bool insecure = false;
  // How often the three files are read again (rotation without a restart).
  unsigned refresh_seconds = 60;
};

// InvalidArgument when neither a complete set of TLS files nor --insecure is
// given, or both; NotFound/FailedPrecondition when a file cannot be read;
// PermissionDenied when others may read the key.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientCredentials(const TlsFlags& flags);
// The server requires a client certificate signed by the CA.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(const TlsFlags& flags);

}  // namespace weft

#endif  // WEFT_COMMON_WIRE_CREDENTIALS_H_
