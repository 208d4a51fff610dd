// weft-agent: one per hypervisor. See docs/OPERATIONS.md.
#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "agent/agent.h"
#include "agent/log.h"

ABSL_FLAG(std::string, state, "", "YAML desired-state file (standalone mode)");
ABSL_FLAG(std::string, node, "", "this hypervisor's node name in the state");
ABSL_FLAG(std::string, underlay, "", "underlay interface carrying VXLAN");
ABSL_FLAG(std::string, underlay_hook, "tc",
          "where to decapsulate on the underlay: tc (TC ingress) or xdp");
ABSL_FLAG(std::string, bpffs, "/sys/fs/bpf", "bpffs mount; maps pin under <bpffs>/weft/<node>");
ABSL_FLAG(std::string, ready_file, "", "written once programs are attached and state applied");
ABSL_FLAG(int, resync_seconds, 1, "how often interfaces are re-resolved and maps re-checked");

namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "weft-agent: %s\n", status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "weft-agent --state FILE --node NAME --underlay IFACE [--underlay_hook tc|xdp]");
  absl::ParseCommandLine(argc, argv);

  weft::AgentOptions options;
  options.state_path = absl::GetFlag(FLAGS_state);
  options.node = absl::GetFlag(FLAGS_node);
  options.underlay = absl::GetFlag(FLAGS_underlay);
  options.bpffs = absl::GetFlag(FLAGS_bpffs);
  const std::string hook = absl::GetFlag(FLAGS_underlay_hook);
  if (options.state_path.empty() || options.node.empty() || options.underlay.empty()) {
    return Fail(absl::InvalidArgumentError("--state, --node and --underlay are required"));
  }
  if (hook != "tc" && hook != "xdp") {
    return Fail(absl::InvalidArgumentError("--underlay_hook must be tc or xdp, not " + hook));
  }
  options.underlay_hook = hook == "xdp" ? weft::Hook::kXdp : weft::Hook::kTc;

  // Signals are taken synchronously in the loop below, never mid-write.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  sigprocmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<weft::Agent>> agent = weft::Agent::Start(options);
  if (!agent.ok()) return Fail(agent.status());

  if (const std::string ready = absl::GetFlag(FLAGS_ready_file); !ready.empty()) {
    std::ofstream(ready) << "ready\n";
  }

  const timespec period = {absl::GetFlag(FLAGS_resync_seconds), 0};
  for (;;) {
    const int sig = sigtimedwait(&signals, nullptr, &period);
    if (sig == SIGTERM || sig == SIGINT) break;
    absl::Status status =
        sig == SIGHUP ? (*agent)->ReloadState() : (*agent)->Reconcile();
    if (!status.ok()) {
      WEFT_LOG_ERROR("%s; keeping the last good state", status.ToString());
    }
  }
  if (absl::Status s = (*agent)->Shutdown(); !s.ok()) return Fail(s);
  WEFT_LOG_INFO("detached and unpinned; bye");
  return 0;
}
