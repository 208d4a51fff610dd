#include "cli/admin.h"

#include <chrono>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cli/admin_format.h"
#include "common/base/status.h"
#include "common/model/state_yaml.h"
#include "common/serving/grpc_status.h"
#include "common/wire/convert.h"
#include "common/wire/credentials.h"
#include "grpcpp/grpcpp.h"
#include "weft/v1/admin.grpc.pb.h"

namespace weft::cli {
namespace {

template <typename Response>
absl::StatusOr<std::string> Answer(const Args& args, const grpc::Status& status, const Response& r,
                                   std::string (*format)(const Response&)) {
  RETURN_IF_ERROR(
      WithContext(FromGrpcStatus(status), absl::StrCat("controller ", args.controller)));
  return args.json ? ToJson(r) : format(r);
}

}  // namespace

absl::StatusOr<std::string> RunAdmin(const Args& args) {
  v1::ApplyStateRequest apply;
  if (args.command == "apply") {
    ASSIGN_OR_RETURN(const State state, LoadStateFile(args.options.at("-f")));
    *apply.mutable_state() = ToProto(state);
  }
  v1::GetRealizationRequest realization;
  if (args.command == "get" && args.operands[0] == "realization") {
    ASSIGN_OR_RETURN(realization, RealizationRequestFrom(args));
  }

  ASSIGN_OR_RETURN(const std::shared_ptr<grpc::ChannelCredentials> creds,
                   ClientCredentials(args.tls));
  grpc::ChannelArguments channel_args;
  if (!args.tls_server_name.empty()) channel_args.SetSslTargetNameOverride(args.tls_server_name);
  // A fleet's whole state can pass gRPC's default 4 MiB limit.
  channel_args.SetMaxReceiveMessageSize(-1);
  auto stub = v1::Admin::NewStub(grpc::CreateCustomChannel(args.controller, creds, channel_args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));

  if (args.command == "apply") {
    v1::ApplyStateResponse r;
    return Answer(args, stub->ApplyState(&ctx, apply, &r), r, &FormatApplied);
  }
  if (args.operands[0] == "state") {
    v1::GetStateResponse r;
    return Answer(args, stub->GetState(&ctx, {}, &r), r, &FormatState);
  }
  if (args.operands[0] == "uplinks") {
    v1::GetStateResponse r;
    RETURN_IF_ERROR(WithContext(FromGrpcStatus(stub->GetState(&ctx, {}, &r)),
                                absl::StrCat("controller ", args.controller)));
    // What is announced is derived from the model: --json gives the uplinks
    // as the controller holds them.
    if (args.json) {
      v1::State uplinks;
      uplinks.set_version(r.state().version());
      *uplinks.mutable_uplinks() = r.state().uplinks();
      return ToJson(uplinks);
    }
    const absl::StatusOr<State> state = StateFromProto(r.state());
    RETURN_IF_ERROR(WithContext(state.status(), "the controller's state"));
    return FormatUplinks(*state);
  }
  v1::GetRealizationResponse r;
  return Answer(args, stub->GetRealization(&ctx, realization, &r), r, &FormatRealization);
}

}  // namespace weft::cli
