#include "cli/admin.h"

#include <chrono>
#include <optional>

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
    ASSIGN_OR_RETURN(const std::optional<uint64_t> if_version, IfVersionFrom(args));
    if (if_version) apply.set_if_version(*if_version);
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
  if (args.operands[0] == "uplinks" || args.operands[0] == "routes") {
    const bool uplinks = args.operands[0] == "uplinks";
    v1::GetStateResponse r;
    RETURN_IF_ERROR(WithContext(FromGrpcStatus(stub->GetState(&ctx, {}, &r)),
                                absl::StrCat("controller ", args.controller)));
    // What is announced is derived from the model: --json gives the uplinks
    // (or routes) as the controller holds them, learned routes included.
    if (args.json) {
      v1::State only;
      only.set_version(r.state().version());
      if (uplinks) {
        *only.mutable_uplinks() = r.state().uplinks();
      } else {
        *only.mutable_routes() = r.state().routes();
      }
      for (const v1::Route& learned : r.learned_routes()) *only.add_routes() = learned;
      return ToJson(only);
    }
    const absl::StatusOr<State> state = StateFromProto(r.state());
    RETURN_IF_ERROR(WithContext(state.status(), "the controller's state"));
    v1::State learned_proto;
    *learned_proto.mutable_routes() = r.learned_routes();
    const absl::StatusOr<State> learned = StateFromProto(learned_proto);
    RETURN_IF_ERROR(WithContext(learned.status(), "the controller's learned routes"));
    return uplinks ? FormatUplinks(*state, learned->routes) : FormatRoutes(*state, learned->routes);
  }
  v1::GetRealizationResponse r;
  return Answer(args, stub->GetRealization(&ctx, realization, &r), r, &FormatRealization);
}

}  // namespace weft::cli
