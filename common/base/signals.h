// The signals a daemon is stopped (SIGTERM, SIGINT) or poked (SIGHUP) with.
#ifndef WEFT_COMMON_BASE_SIGNALS_H_
#define WEFT_COMMON_BASE_SIGNALS_H_

#include <signal.h>

namespace weft {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and so in every
// thread started after it, and returns them, to be taken synchronously
// (sigtimedwait, signalfd) by the main loop. Call it first thing in main:
// a thread started before (gRPC starts its own as soon as credentials are
// made) would take them with their default action, which ends the process
// without its shutdown path.
inline sigset_t BlockDaemonSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace weft

#endif  // WEFT_COMMON_BASE_SIGNALS_H_
