// weft-agent's command line (docs/OPERATIONS.md): its flags, checked and
// turned into what the process runs with.
#ifndef WEFT_AGENT_OPTIONS_H_
#define WEFT_AGENT_OPTIONS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "common/serving/flags.h"
#include "grpcpp/security/credentials.h"

namespace weft {

struct AgentProcessOptions {
  AgentOptions agent;
  // weft-controller's Sync addresses (host:port each); empty in standalone
  // mode (--state).
  std::vector<std::string> controllers;
  std::shared_ptr<grpc::ChannelCredentials> credentials;  // with a controller
  std::string tls_server_name;
  absl::Duration sync_stall_timeout;
  std::string api_socket;  // empty: no local API
  ServingFlags serving;
  std::string ready_file;  // empty: none
  absl::Duration resync;
  absl::Duration router_adverts;  // zero: only solicited ones
  bool detach_on_exit = true;
};

// From the parsed command line; InvalidArgument naming the flag when one is
// missing or out of range, and the credentials' errors (unreadable files).
absl::StatusOr<AgentProcessOptions> AgentProcessOptionsFromFlags();

}  // namespace weft

#endif  // WEFT_AGENT_OPTIONS_H_
