// The controller's gRPC services: Sync (one stream per agent) and Admin.
#ifndef WEFT_CONTROLLER_SERVICE_H_
#define WEFT_CONTROLLER_SERVICE_H_

#include <cstddef>

#include "common/wire/chunk.h"
#include "controller/controller.h"
#include "weft/v1/admin.grpc.pb.h"
#include "weft/v1/sync.grpc.pb.h"

namespace weft {

class SyncService final : public v1::Sync::Service {
 public:
  explicit SyncService(Controller* controller, size_t max_chunk_bytes = kMaxChunkBytes)
      : controller_(controller), max_chunk_bytes_(max_chunk_bytes) {}

  grpc::Status Stream(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ControllerMessage, v1::AgentMessage>* stream) override;

 private:
  Controller* controller_;
  size_t max_chunk_bytes_;
};

class AdminService final : public v1::Admin::Service {
 public:
  explicit AdminService(Controller* controller) : controller_(controller) {}

  grpc::Status GetState(grpc::ServerContext* context, const v1::GetStateRequest* request,
                        v1::GetStateResponse* response) override;
  grpc::Status ApplyState(grpc::ServerContext* context, const v1::ApplyStateRequest* request,
                          v1::ApplyStateResponse* response) override;
  grpc::Status GetRealization(grpc::ServerContext* context,
                              const v1::GetRealizationRequest* request,
                              v1::GetRealizationResponse* response) override;

 private:
  Controller* controller_;
};

}  // namespace weft

#endif  // WEFT_CONTROLLER_SERVICE_H_
