// weft-health-probe: asks a grpc.health.v1 endpoint (plaintext, e.g. the
// agent's or the controller's --health_listen) for its status. Exit 0 when
// SERVING, 1 otherwise (NOT_SERVING, unreachable, ...); prints the status.
// For Docker HEALTHCHECK, systemd and the tests; kubelet has its own probe.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/serving/health.h"

ABSL_FLAG(std::string, addr, "127.0.0.1:9465", "health endpoint, host:port");
ABSL_FLAG(std::string, service, "", "service name (\"\": the process as a whole)");
ABSL_FLAG(int, timeout_ms, 2000, "deadline of the check");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("weft-health-probe [--addr HOST:PORT] [--service NAME]");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<std::string> status =
      weft::CheckHealth(absl::GetFlag(FLAGS_addr), absl::GetFlag(FLAGS_service),
                        absl::Milliseconds(absl::GetFlag(FLAGS_timeout_ms)));
  if (!status.ok()) {
    std::fprintf(stderr, "weft-health-probe: %s\n", status.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", status->c_str());
  return *status == "SERVING" ? 0 : 1;
}
