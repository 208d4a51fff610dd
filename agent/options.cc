#include "agent/options.h"

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/bgp/external_api.h"
#include "agent/sync/controller_list.h"
#include "common/base/status.h"
#include "common/wire/credentials.h"

ABSL_FLAG(std::string, state, "", "YAML desired-state file (standalone mode)");
ABSL_FLAG(std::string, node, "", "this hypervisor's node name in the state");
ABSL_FLAG(std::string, underlay, "", "underlay interface carrying VXLAN");
ABSL_FLAG(std::string, underlay_hook, "tc",
          "where to decapsulate on the underlay: tc (TC ingress) or xdp");
ABSL_FLAG(std::string, bpffs, "/sys/fs/bpf", "bpffs mount; maps pin under <bpffs>/weft/<node>");
ABSL_FLAG(std::string, ready_file, "", "written once programs are attached and state applied");
ABSL_FLAG(int, resync_seconds, 1,
          "how often interfaces are re-resolved and the VM programs' attachment checked");
ABSL_FLAG(int, router_advert_seconds, 600,
          "how often VMs on a segment with an IPv6 subnet get an unsolicited router "
          "advertisement (0: only when they solicit one)");
ABSL_FLAG(int, full_resync_seconds, 60,
          "how often every map is rebuilt and compared even when nothing changed");
ABSL_FLAG(int, ct_tcp_syn_seconds, 30, "conntrack timeout of a TCP flow in its handshake");
ABSL_FLAG(int, ct_tcp_established_seconds, 3600, "conntrack timeout of an established TCP flow");
ABSL_FLAG(int, ct_tcp_closing_seconds, 30, "conntrack timeout of a TCP flow after FIN or RST");
ABSL_FLAG(int, ct_udp_seconds, 60, "conntrack timeout of a UDP flow");
ABSL_FLAG(int, ct_icmp_seconds, 30, "conntrack timeout of an ICMP echo flow");
ABSL_FLAG(std::string, controller, "",
          "weft-controller's Sync address (host:port), or a comma-separated list of them "
          "(replicas: the agent starts at the one its node name picks and moves to the next "
          "when its stream ends), instead of --state");
ABSL_FLAG(std::string, tls_server_name, "",
          "name to check the controllers' certificates against (default: the host of each "
          "--controller address)");
ABSL_FLAG(int, sync_stall_seconds, 10,
          "drop a controller stream that leaves an update half received this long");
ABSL_FLAG(std::string, api_socket, "",
          "unix socket of the local API (weftctl), mode 0600; default /run/weft/<node>.sock; "
          "\"none\": no API");
ABSL_FLAG(bool, detach_on_exit, true,
          "on SIGTERM/SIGINT detach the programs and remove the pins; false leaves them "
          "attached and pinned, forwarding with the last state, for the next agent to adopt "
          "(upgrades and restarts without loss)");
ABSL_FLAG(std::string, gobgpd, "gobgpd",
          "the BGP speaker an edge starts as its child (docs/NORTH_SOUTH.md); not started on "
          "a node without uplinks");
ABSL_FLAG(int, gobgpd_api_port, 50051, "gobgpd's gRPC API port, on 127.0.0.1");
ABSL_FLAG(std::string, gobgpd_log, "", "gobgpd's output; empty: discarded");
ABSL_FLAG(std::string, gobgpd_api, "",
          "host:port on loopback (e.g. 127.0.0.1:50051) of a gobgpd run beside the agent (a "
          "sidecar in its network namespace, no configuration file) to drive instead of starting "
          "one; excludes --gobgpd, --gobgpd_api_port and --gobgpd_log");
ABSL_FLAG(int, max_learned_prefixes, 10000,
          "on an edge, the most prefixes an uplink reports to the controller as learned from "
          "its peer; the rest are dropped, counted (weft_bgp_learned_prefixes_dropped) and "
          "logged");

namespace weft {
namespace {

absl::StatusOr<weft_ct_timeouts> CtTimeoutsFromFlags() {
  const int tcp_syn = absl::GetFlag(FLAGS_ct_tcp_syn_seconds);
  const int tcp_established = absl::GetFlag(FLAGS_ct_tcp_established_seconds);
  const int tcp_closing = absl::GetFlag(FLAGS_ct_tcp_closing_seconds);
  const int udp = absl::GetFlag(FLAGS_ct_udp_seconds);
  const int icmp = absl::GetFlag(FLAGS_ct_icmp_seconds);
  for (int seconds : {tcp_syn, tcp_established, tcp_closing, udp, icmp}) {
    if (seconds <= 0) return absl::InvalidArgumentError("--ct_*_seconds must be positive");
  }
  return weft_ct_timeouts{.tcp_syn = static_cast<__u32>(tcp_syn),
                          .tcp_established = static_cast<__u32>(tcp_established),
                          .tcp_closing = static_cast<__u32>(tcp_closing),
                          .udp = static_cast<__u32>(udp),
                          .icmp = static_cast<__u32>(icmp)};
}

absl::StatusOr<Hook> UnderlayHookFromFlag() {
  const std::string hook = absl::GetFlag(FLAGS_underlay_hook);
  if (hook == "tc") return Hook::kTc;
  if (hook == "xdp") return Hook::kXdp;
  return absl::InvalidArgumentError("--underlay_hook must be tc or xdp, not " + hook);
}

// "none": no API; empty: the default path, which names the node.
std::string ApiSocketFromFlag(const std::string& node) {
  const std::string path = absl::GetFlag(FLAGS_api_socket);
  if (path == "none") return "";
  return path.empty() ? "/run/weft/" + node + ".sock" : path;
}

absl::StatusOr<bgp::GobgpdOptions> GobgpdOptionsFromFlags() {
  const std::string external_api = absl::GetFlag(FLAGS_gobgpd_api);
  if (!external_api.empty()) {
    RETURN_IF_ERROR(bgp::CheckExternalApi(external_api));
    // Set to anything but its default: Debian's Abseil does not tell
    // whether a flag was given at all.
    for (const char* launch_flag : {"gobgpd", "gobgpd_api_port", "gobgpd_log"}) {
      const absl::CommandLineFlag& flag = *absl::FindCommandLineFlag(launch_flag);
      if (flag.CurrentValue() != flag.DefaultValue()) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", launch_flag,
                         " configures the gobgpd the agent starts; with --gobgpd_api the "
                         "agent starts none"));
      }
    }
    return bgp::GobgpdOptions{.external_api = external_api};
  }
  const int api_port = absl::GetFlag(FLAGS_gobgpd_api_port);
  if (api_port <= 0 || api_port > 65535) {
    return absl::InvalidArgumentError("--gobgpd_api_port must be 1..65535");
  }
  return bgp::GobgpdOptions{.binary = absl::GetFlag(FLAGS_gobgpd),
                            .api_port = static_cast<uint16_t>(api_port),
                            .log_path = absl::GetFlag(FLAGS_gobgpd_log)};
}

}  // namespace

absl::StatusOr<AgentProcessOptions> AgentProcessOptionsFromFlags() {
  AgentProcessOptions options;
  AgentOptions& agent = options.agent;
  agent.state_path = absl::GetFlag(FLAGS_state);
  agent.node = absl::GetFlag(FLAGS_node);
  agent.underlay = absl::GetFlag(FLAGS_underlay);
  agent.bpffs = absl::GetFlag(FLAGS_bpffs);
  agent.full_resync = absl::Seconds(absl::GetFlag(FLAGS_full_resync_seconds));
  ASSIGN_OR_RETURN(agent.ct_timeouts, CtTimeoutsFromFlags());
  ASSIGN_OR_RETURN(agent.gobgpd, GobgpdOptionsFromFlags());
  if (absl::GetFlag(FLAGS_max_learned_prefixes) < 0) {
    return absl::InvalidArgumentError("--max_learned_prefixes must be 0 or more");
  }
  agent.max_learned_prefixes = static_cast<size_t>(absl::GetFlag(FLAGS_max_learned_prefixes));
  ASSIGN_OR_RETURN(options.controllers, ParseControllerList(absl::GetFlag(FLAGS_controller)));
  if (agent.state_path.empty() == options.controllers.empty() || agent.node.empty() ||
      agent.underlay.empty()) {
    return absl::InvalidArgumentError(
        "one of --state or --controller, and --node and --underlay are required");
  }
  options.serving = ServingFlagsFromCommandLine();
  if (!options.controllers.empty()) {
    ASSIGN_OR_RETURN(options.credentials, ClientCredentials(options.serving.tls));
  }
  ASSIGN_OR_RETURN(agent.underlay_hook, UnderlayHookFromFlag());
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.sync_stall_timeout = absl::Seconds(absl::GetFlag(FLAGS_sync_stall_seconds));
  options.api_socket = ApiSocketFromFlag(agent.node);
  options.ready_file = absl::GetFlag(FLAGS_ready_file);
  options.resync = absl::Seconds(absl::GetFlag(FLAGS_resync_seconds));
  if (absl::GetFlag(FLAGS_router_advert_seconds) < 0) {
    return absl::InvalidArgumentError("--router_advert_seconds: must be 0 or more");
  }
  options.router_adverts = absl::Seconds(absl::GetFlag(FLAGS_router_advert_seconds));
  options.detach_on_exit = absl::GetFlag(FLAGS_detach_on_exit);
  return options;
}

}  // namespace weft
