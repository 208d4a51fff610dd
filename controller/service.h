// The controller's gRPC services: Sync (one stream per agent) and Admin.
#ifndef WEFT_CONTROLLER_SERVICE_H_
#define WEFT_CONTROLLER_SERVICE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/wire/chunk.h"
#include "common/wire/learned_chunk.h"
#include "common/wire/peer_identity.h"
#include "controller/controller.h"
#include "weft/v1/admin.grpc.pb.h"
#include "weft/v1/sync.grpc.pb.h"

namespace weft {

// How the services know their callers. kCertificate: by the peer's
// certificate (common/wire/peer_identity.h), on every call; kAnyone:
// plaintext, which the controller serves on loopback only (labs, tests).
enum class PeerTrust { kCertificate, kAnyone };

// Who the caller of `context` is ("node hv1 at ipv4:198.18.0.1:4242"), or
// PermissionDenied/Unauthenticated when it may not act as `role` (and, for a
// node, as node `node`).
absl::StatusOr<std::string> AuthorizedCaller(PeerTrust trust,
                                             const grpc::ServerContextBase& context, PeerRole role,
                                             absl::string_view node = "");

// OK when `state` may be the desired state: ValidateState, and no route
// marked learned (those are the controller's). ApplyState's check, and a
// replica's of each state it reads from the store.
absl::Status ValidateDesiredState(const State& state);

// How long a replica behind a node's applied version waits for its store
// watch before it sends the node to another replica.
inline constexpr absl::Duration kReplicaBehindWait = absl::Seconds(3);

class SyncService final : public v1::Sync::Service {
 public:
  SyncService(Controller* controller, PeerTrust trust, size_t max_chunk_bytes = kMaxChunkBytes,
              const LearnedLimits& learned_limits = LearnedLimits())
      : controller_(controller),
        trust_(trust),
        max_chunk_bytes_(max_chunk_bytes),
        learned_limits_(learned_limits) {}

  grpc::Status Stream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>* stream) override;

 private:
  Controller* controller_;
  PeerTrust trust_;
  size_t max_chunk_bytes_;
  LearnedLimits learned_limits_;  // what one learned-routes report may hold
};

// ApplyState takes its request as bytes (a raw callback method: the
// request is the same ApplyStateRequest on the wire) so that its list
// entries are counted against StateLimits before it is parsed: gRPC would
// parse it whole first, up to kMaxAdminMessageBytes, and 64 MiB of empty
// entries parse into ~3.8 GiB.
class AdminService final : public v1::Admin::WithRawCallbackMethod_ApplyState<v1::Admin::Service> {
 public:
  // Every method requires an operator (spiffe://weft/admin/...) under kCertificate.
  AdminService(Controller* controller, PeerTrust trust) : controller_(controller), trust_(trust) {}

  grpc::Status GetState(grpc::ServerContext* context, const v1::GetStateRequest* request,
                        v1::GetStateResponse* response) override;
  grpc::ServerUnaryReactor* ApplyState(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  grpc::Status GetRealization(grpc::ServerContext* context,
                              const v1::GetRealizationRequest* request,
                              v1::GetRealizationResponse* response) override;

 private:
  // The version of the state `request` holds, or why it is refused.
  absl::StatusOr<uint64_t> Apply(const grpc::ByteBuffer& request, const std::string& caller);

  Controller* controller_;
  PeerTrust trust_;
};

}  // namespace weft

#endif  // WEFT_CONTROLLER_SERVICE_H_
