// weft-agent: one per hypervisor. See docs/OPERATIONS.md.
#include <malloc.h>

#include <cstdio>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "agent/options.h"
#include "agent/run.h"
#include "common/base/signals.h"
#include "common/serving/file_limit.h"

int main(int argc, char** argv) {
  // Before the credentials of the options start gRPC's threads.
  const sigset_t signals = weft::BlockDaemonSignals();
  // A state from the controller is received, converted and applied on the
  // sync client's thread, so its temporaries live in that thread's malloc
  // arena. malloc_trim returns the free chunks of every arena but shrinks
  // only the main arena's top; free() shrinks another arena's top only past
  // M_TRIM_THRESHOLD, which glibc raises to twice the largest mmapped block
  // freed (up to 64 MiB): at 100,000 endpoints ~10 MiB of a new state's
  // freed temporaries stayed resident there. A fixed threshold (glibc's
  // default value) keeps it low; it also stops glibc raising the mmap
  // threshold, so blocks from 128 KiB are mmapped, and unmapped when freed.
  mallopt(M_TRIM_THRESHOLD, 128 * 1024);
  absl::SetProgramUsageMessage(
      "weft-agent (--state FILE | --controller ADDR (--tls_cert F --tls_key F --tls_ca F | "
      "--insecure)) --node NAME --underlay IFACE [--underlay_hook tc|xdp]");
  absl::ParseCommandLine(argc, argv);
  // Every VM interface, map and connection costs a descriptor; 1,024 is
  // too few to leave to chance.
  if (absl::StatusOr<long> limit = weft::RaiseOpenFileLimit(); !limit.ok()) {
    std::fprintf(stderr, "weft-agent: %s (continuing)\n", limit.status().ToString().c_str());
  }

  absl::StatusOr<weft::AgentProcessOptions> options = weft::AgentProcessOptionsFromFlags();
  const absl::Status status = options.ok() ? weft::RunAgent(*options, signals) : options.status();
  if (!status.ok()) {
    std::fprintf(stderr, "weft-agent: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
