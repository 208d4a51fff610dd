#include "common/serving/flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate of this side of the sync stream (mutual TLS): the agent's "
          "client certificate, the controller's server certificate");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA that signed the other side's certificate: the controller's for an agent, "
          "the agents' for the controller");
ABSL_FLAG(bool, insecure, false, "plaintext, no authentication (tests only)");
ABSL_FLAG(std::string, metrics_listen, "",
          "address of the Prometheus /metrics endpoint (plain HTTP, unauthenticated), e.g. "
          "127.0.0.1:9464; \":9464\" is 127.0.0.1, every address only when given "
          "(0.0.0.0:9464); none when empty");
ABSL_FLAG(std::string, health_listen, "",
          "address of a plaintext, unauthenticated grpc.health.v1 endpoint for probes, e.g. "
          "127.0.0.1:9465 (\":9465\" is 127.0.0.1; at most 16 connections, idle ones closed "
          "after 5 s): "
          "SERVING once ready (an agent: programs attached and the first state applied; the "
          "controller: state loaded and Sync listening, and its Sync and Admin listeners "
          "serve it too, with their TLS); none when empty");

namespace weft {

ServingFlags ServingFlagsFromCommandLine() {
  return {.tls = {.cert = absl::GetFlag(FLAGS_tls_cert),
                  .key = absl::GetFlag(FLAGS_tls_key),
                  .ca = absl::GetFlag(FLAGS_tls_ca),
                  .insecure = absl::GetFlag(FLAGS_insecure)},
          .metrics_listen = absl::GetFlag(FLAGS_metrics_listen),
          .health_listen = absl::GetFlag(FLAGS_health_listen)};
}

}  // namespace weft
