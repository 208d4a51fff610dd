// Who is calling, from the certificate the peer presented in mutual TLS.
//
// A caller's identity is the one URI SAN of its certificate under
// spiffe://weft/: spiffe://weft/node/<name> for an agent (it may only ask
// for node <name>'s view and acknowledge in its name) and
// spiffe://weft/admin/<who> for an operator (the Admin API). The certificate
// must also allow clientAuth in its extended key usage, so a server
// certificate (the controller's own, serverAuth only) cannot be used as a
// client. The CA's signature is checked by TLS before this is asked.
#ifndef WEFT_COMMON_WIRE_PEER_IDENTITY_H_
#define WEFT_COMMON_WIRE_PEER_IDENTITY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/auth_context.h"

namespace weft {

enum class PeerRole { kNode, kAdmin };

struct Identity {
  PeerRole role;
  std::string name;  // the node's name, or the operator's
};

inline constexpr absl::string_view kSpiffeNodePrefix = "spiffe://weft/node/";
inline constexpr absl::string_view kSpiffeAdminPrefix = "spiffe://weft/admin/";

// PermissionDenied naming what is wrong: no clientAuth usage, no weft URI
// SAN, more than one, or a malformed one. InvalidArgument when `pem` is not
// a certificate.
absl::StatusOr<Identity> IdentityFromCertificate(absl::string_view pem);

// The identity of the peer of a call; Unauthenticated when the peer
// presented no certificate (a plaintext connection).
absl::StatusOr<Identity> PeerIdentity(const grpc::AuthContext& auth);

// "node hv1", "admin alice": for messages and logs.
std::string Describe(const Identity& identity);

}  // namespace weft

#endif  // WEFT_COMMON_WIRE_PEER_IDENTITY_H_
