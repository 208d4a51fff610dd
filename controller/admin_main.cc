// weft-admin: a minimal client of weft-controller's Admin service, printing
// JSON (until weftctl grows these commands).
//   weft-admin --admin ADDR (--insecure | --tls_cert F --tls_key F --tls_ca F) COMMAND
//     state                    the controller's whole desired state
//     realization [VERSION]    per node: acked/nacked versions, connected,
//                              enforced version; who enforces VERSION
//     apply FILE.yaml          validate and install FILE as the desired state
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "agent/model/state_yaml.h"
#include "agent/sync/convert.h"
#include "agent/sync/credentials.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "weft/v1/admin.grpc.pb.h"

ABSL_FLAG(std::string, admin, "", "weft-controller's Admin address (host:port)");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate");
ABSL_FLAG(std::string, tls_key, "", "PEM private key");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA of the controller's certificate");
ABSL_FLAG(bool, insecure, false, "plaintext");
ABSL_FLAG(int, timeout_seconds, 5, "deadline of the call");

namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "weft-admin: %s\n", what.c_str());
  return 1;
}

int Print(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  std::fputs(json.c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "weft-admin --admin ADDR (--insecure | --tls_cert F --tls_key F --tls_ca F) "
      "state | realization [VERSION] | apply FILE.yaml");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2 || absl::GetFlag(FLAGS_admin).empty()) {
    return Fail("usage: --admin ADDR, then state | realization [VERSION] | apply FILE");
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds = weft::ClientCredentials(
      {.cert = absl::GetFlag(FLAGS_tls_cert), .key = absl::GetFlag(FLAGS_tls_key),
       .ca = absl::GetFlag(FLAGS_tls_ca), .insecure = absl::GetFlag(FLAGS_insecure)});
  if (!creds.ok()) return Fail(creds.status().ToString());
  auto stub = weft::v1::Admin::NewStub(grpc::CreateChannel(absl::GetFlag(FLAGS_admin), *creds));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(absl::GetFlag(FLAGS_timeout_seconds)));
  const std::string command = args[1];
  grpc::Status status;
  if (command == "state") {
    weft::v1::GetStateResponse response;
    status = stub->GetState(&context, {}, &response);
    if (status.ok()) return Print(response);
  } else if (command == "realization") {
    weft::v1::GetRealizationRequest request;
    uint64_t version = 0;
    if (args.size() > 2 && !absl::SimpleAtoi(args[2], &version)) {
      return Fail(std::string("not a version: ") + args[2]);
    }
    request.set_version(version);
    weft::v1::GetRealizationResponse response;
    status = stub->GetRealization(&context, request, &response);
    if (status.ok()) return Print(response);
  } else if (command == "apply" && args.size() > 2) {
    absl::StatusOr<weft::State> state = weft::LoadStateFile(args[2]);
    if (!state.ok()) return Fail(state.status().ToString());
    weft::v1::ApplyStateRequest request;
    *request.mutable_state() = weft::ToProto(*state);
    weft::v1::ApplyStateResponse response;
    status = stub->ApplyState(&context, request, &response);
    if (status.ok()) return Print(response);
  } else {
    return Fail("unknown command " + command);
  }
  return Fail(absl::StrCat("code ", status.error_code(), ": ", status.error_message()));
}
