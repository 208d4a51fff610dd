#include "controller/service.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/log.h"
#include "common/base/status.h"
#include "common/model/validate.h"
#include "common/serving/grpc_status.h"
#include "common/wire/convert.h"
#include "controller/wire_entries.h"
#include "grpcpp/support/proto_buffer_reader.h"

namespace weft {
namespace {

// Unique per update sent by this process.
std::string NewNonce(uint64_t version) {
  static const uint64_t process = std::random_device{}();
  static std::atomic<uint64_t> counter{0};
  return absl::StrFormat("%d-%x-%d", version, process & 0xffffff, ++counter);
}

// Capabilities are short lower-case names ("sotw", "ipv6-tenants"): a Hello
// with more, or longer, or other characters is refused, not stored (they are
// kept with the node's realization, in etcd too).
constexpr int kMaxHelloCapabilities = 32;
constexpr size_t kMaxCapabilityName = 32;

absl::Status CheckHelloCapabilities(const v1::Hello& hello) {
  if (hello.capabilities_size() > kMaxHelloCapabilities) {
    return FieldError(
        "Hello", "capabilities",
        absl::StrCat(hello.capabilities_size(), " names, more than ", kMaxHelloCapabilities));
  }
  for (const std::string& name : hello.capabilities()) {
    const bool ok = !name.empty() && name.size() <= kMaxCapabilityName &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                    });
    if (!ok) {
      return FieldError("Hello", "capabilities",
                        absl::StrCat(QuoteBounded(name), " is not a capability name (1..",
                                     kMaxCapabilityName, " of a-z, 0-9 and '-')"));
    }
  }
  return absl::OkStatus();
}

// The Hello's node and capabilities, or why the stream is refused: before
// anything of it is kept or logged at length.
grpc::Status CheckHello(const Controller& controller, const v1::AgentMessage& first,
                        const std::string& peer) {
  if (!first.has_hello() || first.hello().node().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first message must be a Hello naming the node");
  }
  const std::string& node = first.hello().node();
  if (absl::Status bad = CheckNodeName("Hello", "node", node); !bad.ok()) {
    WEFT_LOG_WARN("stream from %s refused: %s", peer, bad.message());
    return ToGrpcStatus(bad);
  }
  if (!controller.HasWeftNode(node)) {
    WEFT_LOG_WARN("stream from %s refused: node %s is not a Weft node of the state", peer, node);
    return grpc::Status(
        grpc::StatusCode::NOT_FOUND,
        absl::StrCat("Hello.node: node ", node, " is not a Weft node of the state"));
  }
  if (absl::Status bad = CheckHelloCapabilities(first.hello()); !bad.ok()) {
    WEFT_LOG_WARN("stream from %s refused: %s", peer, bad.message());
    return ToGrpcStatus(bad);
  }
  return grpc::Status::OK;
}

// An ApplyState's request parsed, once its list entries, counted on the
// wire, are within StateLimits: an empty entry is 2 bytes of the message,
// ~120 parsed and hundreds converted.
absl::StatusOr<v1::ApplyStateRequest> ParseWithinLimits(const grpc::ByteBuffer& bytes) {
  constexpr StateLimits kLimits;
  if (bytes.Length() > kLimits.bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the state is more than ", kLimits.bytes, " bytes, the most accepted"));
  }
  grpc::ByteBuffer copy(bytes);  // shares the slices; the reader wants it mutable
  grpc::ProtoBufferReader counting(&copy);
  ASSIGN_OR_RETURN(const size_t entries, CountWireListEntries(v1::ApplyStateRequest::descriptor(),
                                                              &counting, kLimits.entries));
  if (entries > kLimits.entries) {
    return absl::ResourceExhaustedError(absl::StrCat("the state has more than ", kLimits.entries,
                                                     " list entries, the most accepted"));
  }
  grpc::ByteBuffer again(bytes);
  grpc::ProtoBufferReader parsing(&again);
  v1::ApplyStateRequest request;
  if (!request.ParseFromZeroCopyStream(&parsing)) {
    return absl::InvalidArgumentError("the request is not a well-formed weft.v1.ApplyStateRequest");
  }
  return request;
}

// An ApplyState's state, converted and valid. Held to the limits before it
// is converted.
absl::StatusOr<State> AcceptableState(const v1::State& proto) {
  RETURN_IF_ERROR(StateBudget().Add(proto));
  ASSIGN_OR_RETURN(State state, StateFromProto(proto));
  RETURN_IF_ERROR(ValidateDesiredState(state));
  return state;
}

// The caller's description, or its refusal logged once and returned.
absl::StatusOr<std::string> CheckCaller(PeerTrust trust, const grpc::ServerContextBase& context,
                                        PeerRole role, absl::string_view node,
                                        absl::string_view call) {
  absl::StatusOr<std::string> caller = AuthorizedCaller(trust, context, role, node);
  if (!caller.ok()) {
    WEFT_LOG_WARN("%s from %s refused: %s", call, context.peer(), caller.status().message());
  }
  return caller;
}

}  // namespace

absl::Status ValidateDesiredState(const State& state) {
  auto none_learned = [](const auto& routes) {
    for (size_t i = 0; i < routes.size(); ++i) {
      if (!routes[i].learned_by.empty()) {
        return FieldError(ObjectLabel("route", RouteName(routes[i]), i), "learned_by",
                          "is the controller's, for routes learned upstream; a state sets none");
      }
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(none_learned(state.routes));
  RETURN_IF_ERROR(none_learned(state.routes6));
  return ValidateState(state);
}

absl::StatusOr<std::string> AuthorizedCaller(PeerTrust trust,
                                             const grpc::ServerContextBase& context, PeerRole role,
                                             absl::string_view node) {
  if (trust == PeerTrust::kAnyone) return absl::StrCat(context.peer(), " (plaintext)");
  ASSIGN_OR_RETURN(const Identity identity, PeerIdentity(*context.auth_context()));
  const std::string who = Describe(identity);
  if (identity.role != role) {
    return absl::PermissionDeniedError(
        absl::StrCat("the certificate of ", who, " may not ",
                     role == PeerRole::kAdmin ? "call the Admin API" : "open a Sync stream"));
  }
  if (role == PeerRole::kNode && identity.name != node) {
    return absl::PermissionDeniedError(
        absl::StrCat("the certificate of ", who, " may not speak for node ", QuoteBounded(node)));
  }
  return absl::StrCat(who, " at ", context.peer());
}

grpc::Status SyncService::Stream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>* stream) {
  v1::AgentMessage first;
  if (!stream->Read(&first)) return grpc::Status::OK;
  if (grpc::Status refused = CheckHello(*controller_, first, context->peer()); !refused.ok()) {
    return refused;
  }
  const v1::Hello hello = first.hello();
  const std::string node = hello.node();
  const absl::StatusOr<std::string> caller =
      CheckCaller(trust_, *context, PeerRole::kNode, node, "Sync");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  WEFT_LOG_INFO("node %s: stream from %s", node, *caller);
  // A replica whose watch is behind what the node applied would send it a
  // version older than its own (which it refuses): another replica may not be.
  if (!controller_->AwaitVersion(node, hello.applied_version(), hello.applied_digest(),
                                 kReplicaBehindWait)) {
    const std::string behind =
        absl::StrCat("this replica is at version ", controller_->revision(), ", behind the node's ",
                     hello.applied_version(), "; try another");
    WEFT_LOG_WARN("node %s: stream refused: %s", node, behind);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, behind);
  }
  controller_->StreamOpened(node, hello.applied_version(),
                            {hello.capabilities().begin(), hello.capabilities().end()});

  static std::atomic<uint64_t> streams{0};
  const uint64_t stream_id = ++streams;
  std::atomic<bool> closed{false};
  // Set by the reader when it refuses what the agent sent (a learned-routes
  // report): the stream ends with it.
  grpc::Status refused = grpc::Status::OK;
  std::thread reader([&] {
    LearnedRoutesAssembler learned(learned_limits_);
    v1::AgentMessage message;
    while (stream->Read(&message)) {
      if (message.has_learned()) {
        absl::StatusOr<std::optional<LearnedSnapshot>> report = learned.Add(message.learned());
        absl::Status status = report.status();
        if (status.ok() && report->has_value()) {
          status = controller_->ReportLearned(node, stream_id, **std::move(report));
        }
        if (!status.ok()) {
          WEFT_LOG_WARN("node %s: stream dropped: %s", node, status.message());
          refused = ToGrpcStatus(status);
          break;
        }
      } else if (message.has_ack()) {
        controller_->Acked(node, message.ack().version(), message.ack().nonce());
      } else if (message.has_nack()) {
        controller_->Nacked(node, message.nack().version(), message.nack().nonce(),
                            message.nack().error());
      } else if (message.has_hello()) {
        WEFT_LOG_WARN("node %s: a second Hello on one stream; ignored", node);
      }
    }
    closed = true;
    controller_->Wake();
  });

  grpc::Status result = grpc::Status::OK;
  // An agent that applied this very view (from this controller or another)
  // is sent nothing until it changes.
  const std::shared_ptr<const NodeView> resumed =
      controller_->Resume(node, hello.applied_version(), hello.applied_digest());
  std::string sent = resumed != nullptr ? resumed->fingerprint : "";  // of the view last sent
  bool first_update = resumed == nullptr;
  if (resumed != nullptr) {
    context->AddInitialMetadata(kResumedMetadataKey, absl::StrCat(hello.applied_version()));
    stream->SendInitialMetadata();
  }
  while (!closed && !context->IsCancelled()) {
    std::shared_ptr<const NodeView> view =
        controller_->WaitForView(node, sent, closed, absl::Seconds(1));
    if (closed || context->IsCancelled()) break;
    if (!first_update && view->fingerprint == sent) continue;
    first_update = false;
    const std::string nonce = NewNonce(view->version);
    controller_->Sent(node, *view, nonce);
    size_t chunks = 0;
    const absl::Status sent_all =
        WriteChunks(view->PartStates(), view->version, nonce, view->digest, max_chunk_bytes_,
                    [&](const v1::ControllerMessage& message) {
                      ++chunks;
                      return stream->Write(message);
                    });
    if (absl::IsCancelled(sent_all)) break;  // the stream closed
    if (!sent_all.ok()) {
      WEFT_LOG_ERROR("node %s: version %d cannot be sent: %s", node, view->version,
                     sent_all.ToString());
      result = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, std::string(sent_all.message()));
      break;
    }
    WEFT_LOG_INFO("node %s: sent version %d (nonce %s, %d chunks)", node, view->version, nonce,
                  chunks);
    sent = view->fingerprint;
  }
  // Ends the reader's Read; a reader that refused the stream has ended, and
  // the agent is to see its reason, not a cancellation.
  if (!closed) context->TryCancel();
  reader.join();
  controller_->ForgetLearned(node, stream_id);
  controller_->StreamClosed(node);
  return refused.ok() ? result : refused;
}

grpc::Status AdminService::GetState(grpc::ServerContext* context, const v1::GetStateRequest*,
                                    v1::GetStateResponse* response) {
  const absl::StatusOr<std::string> caller =
      CheckCaller(trust_, *context, PeerRole::kAdmin, "", "GetState");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  *response->mutable_state() = ToProto(controller_->state());
  State learned;
  learned.routes = controller_->LearnedRoutes();
  *response->mutable_learned_routes() = std::move(*ToProto(learned).mutable_routes());
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* AdminService::ApplyState(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request,
                                                   grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::StatusOr<std::string> caller =
      CheckCaller(trust_, *context, PeerRole::kAdmin, "", "ApplyState");
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status()));
    return reactor;
  }
  const absl::StatusOr<uint64_t> version = Apply(*request, *caller);
  if (!version.ok()) {
    // A conflict or an unreachable store refuses no state.
    if (!absl::IsAborted(version.status()) && !absl::IsUnavailable(version.status())) {
      controller_->EditRejected();
    }
    WEFT_LOG_WARN("ApplyState from %s refused: %s", *caller, version.status().message());
    // ResourceExhausted past the limits; InvalidArgument, as every error of
    // conversion, validation and versioning; Aborted when if_version is not
    // the state's version; Unavailable when the store cannot be reached.
    reactor->Finish(ToGrpcStatus(version.status()));
    return reactor;
  }
  v1::ApplyStateResponse answer;
  answer.set_version(*version);
  grpc::Slice slice(answer.SerializeAsString());
  grpc::ByteBuffer(&slice, 1).Swap(response);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

absl::StatusOr<uint64_t> AdminService::Apply(const grpc::ByteBuffer& request,
                                             const std::string& caller) {
  ASSIGN_OR_RETURN(const v1::ApplyStateRequest parsed, ParseWithinLimits(request));
  ASSIGN_OR_RETURN(State state, AcceptableState(parsed.state()));
  std::optional<uint64_t> if_version;
  if (parsed.has_if_version()) if_version = parsed.if_version();
  return controller_->Apply(std::move(state), absl::StrCat("ApplyState from ", caller), if_version);
}

grpc::Status AdminService::GetRealization(grpc::ServerContext* context,
                                          const v1::GetRealizationRequest* request,
                                          v1::GetRealizationResponse* response) {
  const absl::StatusOr<std::string> caller =
      CheckCaller(trust_, *context, PeerRole::kAdmin, "", "GetRealization");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  *response = controller_->Realization(request->version());
  return grpc::Status::OK;
}

}  // namespace weft
