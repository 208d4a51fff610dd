// weftctl's pure half: command-line parsing into requests, and answers into
// aligned tables (or JSON). No I/O, unit-tested without root or an agent.
#ifndef WEFT_CLI_FORMAT_H_
#define WEFT_CLI_FORMAT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "weft/v1/agent_api.pb.h"

namespace weft::cli {

struct Args {
  std::string socket;  // empty: the only socket in /run/weft
  bool json = false;
  std::string command;
  std::map<std::string, std::string> options;  // "--tenant" -> "1"; flags -> "true"
};

// argv without the program name. Unknown commands and options, and options
// of another command, are errors naming them.
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv);
std::string Usage();

absl::StatusOr<v1::ConntrackRequest> ConntrackRequestFrom(const Args& args);
absl::StatusOr<v1::TraceRequest> TraceRequestFrom(const Args& args);
absl::StatusOr<v1::MonitorRequest> MonitorRequestFrom(const Args& args);
absl::StatusOr<uint32_t> TenantFrom(const Args& args);  // 0 when absent

// Columns padded to their widest cell, two spaces apart.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

std::string FormatStatus(const v1::StatusResponse& s);
std::string FormatEndpoints(const v1::EndpointsResponse& r);
std::string FormatRoutes(const v1::RoutesResponse& r);
std::string FormatConntrack(const v1::ConntrackResponse& r);
// Only reasons that counted something unless `all`.
std::string FormatCounters(const v1::CountersResponse& r, bool all);
std::string FormatPolicy(const v1::PolicyResponse& r);
std::string FormatTrace(const v1::TraceResponse& r);
std::string FormatEvent(const v1::Event& e);  // one line

// One JSON document (proto field names), newline-terminated.
std::string ToJson(const google::protobuf::Message& m);

}  // namespace weft::cli

#endif  // WEFT_CLI_FORMAT_H_
