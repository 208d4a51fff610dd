// weftctl: the operator's view of one agent, over its local API socket, and
// of the controller, over its Admin API (cli/admin.h).
// See docs/OPERATIONS.md "weftctl".
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/admin.h"
#include "cli/format.h"
#include "grpcpp/grpcpp.h"
#include "weft/v1/agent_api.grpc.pb.h"

namespace {

int Fail(const std::string& msg) {
  std::fprintf(stderr, "weftctl: %s\n", msg.c_str());
  return 1;
}

// The only agent socket in /run/weft, or an error naming the choices.
std::string DefaultSocket(std::string* error) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/weft", ec)) {
    if (e.path().extension() == ".sock") found.push_back(e.path().string());
  }
  if (found.size() == 1) return found[0];
  *error = found.empty() ? "no agent socket in /run/weft (is weft-agent running? --socket PATH)"
                         : "several agents in /run/weft; pick one with --socket";
  return "";
}

template <typename Response>
int Print(const weft::cli::Args& args, const grpc::Status& status, const Response& r,
          std::string (*format)(const Response&)) {
  if (!status.ok()) return Fail(status.error_message());
  std::fputs((args.json ? weft::cli::ToJson(r) : format(r)).c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::StatusOr<weft::cli::Args> parsed =
      weft::cli::ParseArgs(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.ok()) {
    std::fprintf(stderr, "weftctl: %s\n%s", std::string(parsed.status().message()).c_str(),
                 weft::cli::Usage().c_str());
    return 2;
  }
  const weft::cli::Args& args = *parsed;
  if (args.command == "help") {
    std::fputs(weft::cli::Usage().c_str(), stdout);
    return 0;
  }
  if (weft::cli::ForController(args.command)) {
    absl::StatusOr<std::string> out = weft::cli::RunAdmin(args);
    if (!out.ok()) return Fail(std::string(out.status().message()));
    std::fputs(out->c_str(), stdout);
    return 0;
  }
  std::string socket = args.socket;
  if (socket.empty()) {
    std::string error;
    socket = DefaultSocket(&error);
    if (socket.empty()) return Fail(error);
  }
  if (access(socket.c_str(), F_OK) != 0) return Fail(socket + ": no such socket");
  if (access(socket.c_str(), R_OK | W_OK) != 0) return Fail(socket + ": permission denied (root only)");
  auto channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  auto stub = weft::v1::AgentApi::NewStub(channel);
  auto deadline = [](grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  };

  using namespace weft;
  grpc::ClientContext ctx;
  if (args.command == "status") {
    deadline(ctx);
    v1::StatusResponse r;
    return Print(args, stub->Status(&ctx, {}, &r), r, &cli::FormatStatus);
  }
  if (args.command == "endpoints" || args.command == "routes") {
    absl::StatusOr<uint32_t> tenant = cli::TenantFrom(args);
    if (!tenant.ok()) return Fail(std::string(tenant.status().message()));
    deadline(ctx);
    if (args.command == "endpoints") {
      v1::EndpointsRequest req;
      req.set_tenant_id(*tenant);
      v1::EndpointsResponse r;
      return Print(args, stub->Endpoints(&ctx, req, &r), r, &cli::FormatEndpoints);
    }
    v1::RoutesRequest req;
    req.set_tenant_id(*tenant);
    v1::RoutesResponse r;
    return Print(args, stub->Routes(&ctx, req, &r), r, &cli::FormatRoutes);
  }
  if (args.command == "conntrack") {
    absl::StatusOr<v1::ConntrackRequest> req = cli::ConntrackRequestFrom(args);
    if (!req.ok()) return Fail(std::string(req.status().message()));
    deadline(ctx);
    v1::ConntrackResponse r;
    return Print(args, stub->Conntrack(&ctx, *req, &r), r, &cli::FormatConntrack);
  }
  if (args.command == "counters") {
    deadline(ctx);
    v1::CountersResponse r;
    grpc::Status s = stub->Counters(&ctx, {}, &r);
    if (!s.ok()) return Fail(s.error_message());
    std::fputs((args.json ? cli::ToJson(r) : cli::FormatCounters(r, args.options.contains("--all")))
                   .c_str(),
               stdout);
    return 0;
  }
  if (args.command == "policy") {
    deadline(ctx);
    v1::PolicyResponse r;
    return Print(args, stub->Policy(&ctx, {}, &r), r, &cli::FormatPolicy);
  }
  if (args.command == "trace") {
    absl::StatusOr<v1::TraceRequest> req = cli::TraceRequestFrom(args);
    if (!req.ok()) return Fail(std::string(req.status().message()));
    deadline(ctx);
    v1::TraceResponse r;
    return Print(args, stub->Trace(&ctx, *req, &r), r, &cli::FormatTrace);
  }
  if (args.command == "monitor") {
    absl::StatusOr<v1::MonitorRequest> req = cli::MonitorRequestFrom(args);
    if (!req.ok()) return Fail(std::string(req.status().message()));
    const long count = args.options.contains("--count") ? std::stol(args.options.at("--count")) : 0;
    if (args.options.contains("--timeout")) {
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(
                           static_cast<long>(std::stod(args.options.at("--timeout")) * 1000)));
    }
    auto reader = stub->Monitor(&ctx, *req);
    reader->WaitForInitialMetadata();
    std::fprintf(stderr, "monitoring %s (Ctrl-C to stop)\n", socket.c_str());
    v1::Event e;
    long seen = 0;
    while (reader->Read(&e)) {
      std::string line = args.json ? cli::ToJson(e) : cli::FormatEvent(e) + "\n";
      std::fputs(line.c_str(), stdout);
      std::fflush(stdout);
      if (count && ++seen >= count) {
        ctx.TryCancel();
        break;
      }
    }
    grpc::Status s = reader->Finish();
    if (!s.ok() && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
        s.error_code() != grpc::StatusCode::CANCELLED) {
      return Fail(s.error_message());
    }
    return 0;
  }
  return Fail("unknown command " + args.command);
}
