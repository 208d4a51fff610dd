// weftctl: the operator's view of one agent, over its local API socket, of
// the controller, over its Admin API (cli/admin.h), and of the replicas'
// store in etcd (cli/store_command.h).
// See docs/OPERATIONS.md "weftctl".
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/admin.h"
#include "cli/format.h"
#include "cli/store_command.h"
#include "common/base/status.h"
#include "common/serving/grpc_status.h"
#include "grpcpp/grpcpp.h"
#include "weft/v1/agent_api.grpc.pb.h"

namespace weft::cli {
namespace {

using Stub = v1::AgentApi::Stub;

// The message may be the agent's or the controller's: printed escaped.
int Fail(absl::string_view msg) {
  std::fprintf(stderr, "weftctl: %s\n", Printable(msg).c_str());
  return 1;
}

int UsageError(const absl::Status& status) {
  std::fprintf(stderr, "weftctl: %s\n%s", Printable(status.message()).c_str(), Usage().c_str());
  return 2;
}

// --socket, or the only agent socket in /run/weft; the agent must answer
// there, so a missing or forbidden socket is an error before any call.
absl::StatusOr<std::string> AgentSocket(const Args& args) {
  std::string socket = args.socket;
  if (socket.empty()) {
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/run/weft", ec)) {
      if (e.path().extension() == ".sock") found.push_back(e.path().string());
    }
    if (found.size() != 1) {
      return absl::NotFoundError(
          found.empty() ? "no agent socket in /run/weft (is weft-agent running? --socket PATH)"
                        : "several agents in /run/weft; pick one with --socket");
    }
    socket = found[0];
  }
  if (access(socket.c_str(), F_OK) != 0) return absl::NotFoundError(socket + ": no such socket");
  if (access(socket.c_str(), R_OK | W_OK) != 0) {
    return absl::PermissionDeniedError(socket + ": permission denied (root only)");
  }
  return socket;
}

constexpr std::chrono::seconds kAnswerDeadline(10);

template <typename Response, typename Format>
void Print(const Args& args, const Response& r, const Format& format) {
  std::fputs((args.json ? ToJson(r) : format(r)).c_str(), stdout);
}

// One request, one answer, printed as `format` has it or as JSON.
template <typename Request, typename Response, typename Format>
absl::Status Ask(const Args& args, Stub& stub,
                 grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                 const Request& request, const Format& format) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kAnswerDeadline);
  Response r;
  RETURN_IF_ERROR(FromGrpcStatus((stub.*rpc)(&ctx, request, &r)));
  Print(args, r, format);
  return absl::OkStatus();
}

// One request, a long answer in several messages (the agent's
// answer_chunks.h): merged, they are the answer, printed as by Ask.
template <typename Request, typename Response, typename Format>
absl::Status AskLong(const Args& args, Stub& stub,
                     std::unique_ptr<grpc::ClientReader<Response>> (Stub::*rpc)(
                         grpc::ClientContext*, const Request&),
                     const Request& request, const Format& format) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kAnswerDeadline);
  std::unique_ptr<grpc::ClientReader<Response>> reader = (stub.*rpc)(&ctx, request);
  Response whole;
  for (Response part; reader->Read(&part);) whole.MergeFrom(part);
  RETURN_IF_ERROR(FromGrpcStatus(reader->Finish()));
  Print(args, whole, format);
  return absl::OkStatus();
}

// Prints events as they come, until --count of them, --timeout or Ctrl-C.
absl::Status Monitor(const Args& args, Stub& stub, const std::string& socket) {
  ASSIGN_OR_RETURN(const v1::MonitorRequest req, MonitorRequestFrom(args));
  ASSIGN_OR_RETURN(const MonitorLimits limits, MonitorLimitsFrom(args));
  grpc::ClientContext ctx;
  if (limits.timeout) {
    ctx.set_deadline(std::chrono::system_clock::now() +
                     absl::ToChronoMilliseconds(*limits.timeout));
  }
  auto reader = stub.Monitor(&ctx, req);
  reader->WaitForInitialMetadata();
  std::fprintf(stderr, "monitoring %s (Ctrl-C to stop)\n", socket.c_str());
  v1::Event e;
  uint32_t seen = 0;
  while (reader->Read(&e)) {
    std::string line = args.json ? ToJson(e) : FormatEvent(e) + "\n";
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
    if (limits.count && ++seen >= limits.count) {
      ctx.TryCancel();
      break;
    }
  }
  const grpc::Status s = reader->Finish();
  // The end asked for: --timeout, or --count reached.
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
      s.error_code() == grpc::StatusCode::CANCELLED) {
    return absl::OkStatus();
  }
  return FromGrpcStatus(s);
}

// The commands that ask the agent.
absl::Status RunAgentCommand(const Args& args) {
  ASSIGN_OR_RETURN(const std::string socket, AgentSocket(args));
  std::unique_ptr<Stub> stub = v1::AgentApi::NewStub(
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
  const std::string& command = args.command;
  if (command == "status") {
    return Ask(args, *stub, &Stub::Status, v1::StatusRequest(), &FormatStatus);
  }
  if (command == "endpoints") {
    v1::EndpointsRequest req;
    ASSIGN_OR_RETURN(const uint32_t tenant, TenantFrom(args));
    req.set_tenant_id(tenant);
    return AskLong(args, *stub, &Stub::Endpoints, req, &FormatEndpoints);
  }
  if (command == "routes") {
    v1::RoutesRequest req;
    ASSIGN_OR_RETURN(const uint32_t tenant, TenantFrom(args));
    req.set_tenant_id(tenant);
    return AskLong(args, *stub, &Stub::Routes, req, &FormatRoutes);
  }
  if (command == "conntrack") {
    ASSIGN_OR_RETURN(const v1::ConntrackRequest req, ConntrackRequestFrom(args));
    return AskLong(args, *stub, &Stub::Conntrack, req, &FormatConntrack);
  }
  if (command == "counters") {
    const bool all = args.options.contains("--all");
    return Ask(args, *stub, &Stub::Counters, v1::CountersRequest(),
               [all](const v1::CountersResponse& r) { return FormatCounters(r, all); });
  }
  if (command == "policy") {
    return Ask(args, *stub, &Stub::Policy, v1::PolicyRequest(), &FormatPolicy);
  }
  if (command == "trace") {
    ASSIGN_OR_RETURN(const v1::TraceRequest req, TraceRequestFrom(args));
    return Ask(args, *stub, &Stub::Trace, req, &FormatTrace);
  }
  if (command == "monitor") return Monitor(args, *stub, socket);
  return absl::InvalidArgumentError("unknown command " + command);
}

// The commands that ask the controller, or (store) etcd itself.
absl::Status RunControllerCommand(const Args& args) {
  ASSIGN_OR_RETURN(const std::string out,
                   args.command == "store" ? RunStore(args) : RunAdmin(args));
  std::fputs(out.c_str(), stdout);
  return absl::OkStatus();
}

}  // namespace
}  // namespace weft::cli

int main(int argc, char** argv) {
  using namespace weft::cli;
  absl::StatusOr<Args> args = ParseArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!args.ok()) return UsageError(args.status());
  if (args->command == "help") {
    std::fputs(Usage().c_str(), stdout);
    return 0;
  }
  if (absl::Status options = CheckOptions(*args); !options.ok()) return UsageError(options);
  const absl::Status status = ForController(args->command) || args->command == "store"
                                  ? RunControllerCommand(*args)
                                  : RunAgentCommand(*args);
  if (!status.ok()) return Fail(status.message());
  return 0;
}
