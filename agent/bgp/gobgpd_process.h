// gobgpd as a child of the agent: started with no configuration file (every
// setting arrives later through its gRPC API), its API bound to a loopback
// port of the agent's own network namespace, and stopped with the agent.
// A child by default so that the edge's BGP sessions cannot outlive the
// agent that decides what they announce (DESIGN §9); GobgpdOptions::
// external_api uses a gobgpd run beside the agent instead (a sidecar).
#ifndef WEFT_AGENT_BGP_GOBGPD_PROCESS_H_
#define WEFT_AGENT_BGP_GOBGPD_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft::bgp {

struct GobgpdOptions {
  std::string binary = "gobgpd";
  uint16_t api_port = 50051;  // on 127.0.0.1 only
  std::string log_path;       // gobgpd's stdout and stderr; empty: /dev/null
  // Non-empty: no child is started; the agent drives the gobgpd whose API
  // listens at this loopback "host:port" (a sidecar in the agent's network
  // namespace, started without a configuration file), and the fields
  // above are unused.
  std::string external_api;
};

class GobgpdProcess {
 public:
  // Forks and execs gobgpd; the child dies with this process (PDEATHSIG).
  static absl::StatusOr<std::unique_ptr<GobgpdProcess>> Start(const GobgpdOptions& options);
  ~GobgpdProcess();  // Stop()
  GobgpdProcess(const GobgpdProcess&) = delete;
  GobgpdProcess& operator=(const GobgpdProcess&) = delete;

  std::string api_address() const;  // "127.0.0.1:<port>", for a gRPC channel
  // OK while the child runs; the exit status otherwise (it is reaped).
  absl::Status Alive();
  // SIGTERM, then SIGKILL if it has not exited within a second; idempotent.
  void Stop();

 private:
  GobgpdProcess(pid_t pid, uint16_t api_port) : pid_(pid), api_port_(api_port) {}
  pid_t pid_;
  uint16_t api_port_;
};

}  // namespace weft::bgp

#endif  // WEFT_AGENT_BGP_GOBGPD_PROCESS_H_
