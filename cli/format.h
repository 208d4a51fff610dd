// weftctl's pure half: command-line parsing into requests, and answers into
// aligned tables (or JSON). No I/O, unit-tested without root or an agent.
// The controller's answers are formatted in cli/admin_format.h.
#ifndef WEFT_CLI_FORMAT_H_
#define WEFT_CLI_FORMAT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/wire/credentials.h"
#include "google/protobuf/message.h"
#include "weft/v1/admin.pb.h"
#include "weft/v1/agent_api.pb.h"

namespace weft::cli {

struct Args {
  std::string socket;  // empty: the only socket in /run/weft
  // The controller's Admin address, for the commands that talk to it
  // (ForController); TLS flags or --insecure say how.
  std::string controller;
  TlsFlags tls;
  std::string tls_server_name;  // empty: the host of `controller`
  bool json = false;
  std::string command;
  std::vector<std::string> operands;  // get: the object, then its argument; store: the action
  std::map<std::string, std::string> options;  // "--tenant" -> "1"; flags -> "true"
};

// argv without the program name. Unknown commands, objects and options,
// options of another command, a controller command without --controller or
// without a choice of credentials, are errors naming them.
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv);
std::string Usage();

// apply and get go to the controller's Admin API; store to etcd itself
// (cli/store_command.h); the rest to the agent.
bool ForController(const std::string& command);

// The values of the command's options, checked before anything is asked
// (ParseArgs checks only which options there are): what the request
// builders below would refuse, e.g. a number that is not one or is out of
// range, naming the option. weftctl exits 2 on it, as on any usage error.
absl::Status CheckOptions(const Args& args);

// monitor's end: after --count events (0: no limit) or --timeout.
struct MonitorLimits {
  uint32_t count = 0;
  std::optional<absl::Duration> timeout;
};
absl::StatusOr<MonitorLimits> MonitorLimitsFrom(const Args& args);

absl::StatusOr<v1::ConntrackRequest> ConntrackRequestFrom(const Args& args);
absl::StatusOr<v1::TraceRequest> TraceRequestFrom(const Args& args);
absl::StatusOr<v1::MonitorRequest> MonitorRequestFrom(const Args& args);
absl::StatusOr<uint32_t> TenantFrom(const Args& args);  // 0 when absent
// --if-version N of apply and store seed; nullopt when absent.
absl::StatusOr<std::optional<uint64_t>> IfVersionFrom(const Args& args);
// get realization [VERSION]; no VERSION asks about the controller's current one.
absl::StatusOr<v1::GetRealizationRequest> RealizationRequestFrom(const Args& args);

// `text` from the agent or the controller (names, errors, labels), safe to
// print on a terminal: control characters (C0 with newline and tab, DEL,
// C1) and bytes that are not UTF-8 become \xNN, so no answer can move the
// cursor, retitle the window, rewrite a line or fake another row. Every
// formatter below passes such text through it (FormatTable: every cell).
std::string Printable(absl::string_view text);

// Columns padded to their widest cell, two spaces apart.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// A cell: `s`, or "-" when empty.
std::string OrDash(const std::string& s);
// An IPv4 address or prefix and its IPv6 twin, when there is one, in one
// cell: both families read the same way.
std::string BothFamilies(const std::string& v4, const std::string& v6);

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
