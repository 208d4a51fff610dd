#include "controller/service.h"

#include <atomic>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/log.h"
#include "common/model/validate.h"
#include "common/serving/grpc_status.h"
#include "common/wire/convert.h"

namespace weft {
namespace {

// Unique per update sent by this process.
std::string NewNonce(uint64_t version) {
  static const uint64_t process = std::random_device{}();
  static std::atomic<uint64_t> counter{0};
  return absl::StrFormat("%d-%x-%d", version, process & 0xffffff, ++counter);
}

}  // namespace

grpc::Status SyncService::Stream(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>* stream) {
  v1::AgentMessage first;
  if (!stream->Read(&first)) return grpc::Status::OK;
  if (!first.has_hello() || first.hello().node().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first message must be a Hello naming the node");
  }
  const v1::Hello hello = first.hello();
  const std::string node = hello.node();
  WEFT_LOG_INFO("node %s: stream from %s", node, context->peer());
  controller_->StreamOpened(node, hello.applied_version());

  std::atomic<bool> closed{false};
  std::thread reader([&] {
    v1::AgentMessage message;
    while (stream->Read(&message)) {
      if (message.has_ack()) {
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
  std::string sent;  // fingerprint of the view last sent
  bool first_update = true;
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
        WriteChunks(view->PartStates(), view->version, nonce, max_chunk_bytes_,
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
  context->TryCancel();  // ends the reader's Read
  reader.join();
  controller_->StreamClosed(node);
  return result;
}

grpc::Status AdminService::GetState(grpc::ServerContext*, const v1::GetStateRequest*,
                                    v1::GetStateResponse* response) {
  *response->mutable_state() = ToProto(controller_->state());
  return grpc::Status::OK;
}

grpc::Status AdminService::ApplyState(grpc::ServerContext* context,
                                      const v1::ApplyStateRequest* request,
                                      v1::ApplyStateResponse* response) {
  absl::StatusOr<State> state = StateFromProto(request->state());
  absl::Status status = state.status();
  if (status.ok()) status = ValidateState(*state);
  if (status.ok()) {
    absl::StatusOr<uint64_t> version =
        controller_->Apply(*std::move(state), absl::StrCat("ApplyState from ", context->peer()));
    if (version.ok()) {
      response->set_version(*version);
      return grpc::Status::OK;
    }
    status = version.status();
  }
  controller_->EditRejected();
  WEFT_LOG_WARN("ApplyState from %s refused: %s", context->peer(), status.message());
  // InvalidArgument, as every error of conversion, validation and versioning.
  return ToGrpcStatus(status);
}

grpc::Status AdminService::GetRealization(grpc::ServerContext*,
                                          const v1::GetRealizationRequest* request,
                                          v1::GetRealizationResponse* response) {
  *response = controller_->Realization(request->version());
  return grpc::Status::OK;
}

}  // namespace weft
