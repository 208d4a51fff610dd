// weft-agent's life once its options are known: start, keep the datapath
// reconciled until SIGTERM/SIGINT (SIGHUP re-reads a state file), stop.
#ifndef WEFT_AGENT_RUN_H_
#define WEFT_AGENT_RUN_H_

#include <signal.h>

#include "absl/status/status.h"
#include "agent/options.h"

namespace weft {

// Returns when the agent has stopped: OK after a stop signal, or the error
// that kept it from starting (or from detaching at the end). `signals`
// (BlockDaemonSignals) are taken synchronously, never mid-write.
absl::Status RunAgent(const AgentProcessOptions& options, const sigset_t& signals);

}  // namespace weft

#endif  // WEFT_AGENT_RUN_H_
