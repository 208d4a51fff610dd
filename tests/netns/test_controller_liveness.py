"""The control plane under a controller that stops answering, and the
controller's signals: weft-controller in its own namespace, both Weft
hypervisors' agents with --controller (as test_control_plane).

  - SIGHUP makes the controller check its state file; it keeps serving;
  - a controller that vanishes without closing its connections (SIGSTOP: the
    kernel still acknowledges TCP, nothing answers on HTTP/2), after the
    stream has been idle long enough that gRPC would have stopped pinging
    (two pings without data), is noticed by every agent within the
    keepalive bound, and once it returns (SIGCONT) the agents reconnect and
    enforce its version again;
  - SIGTERM stops the controller through its shutdown path: exit 0.
"""

from __future__ import annotations

import os
import signal
import time
import unittest

from netns_common import ControlPlaneTestCase
from weftlab import LabError, wait_for

# kSyncKeepaliveTimeMs + kSyncKeepaliveTimeoutMs (common/wire/keepalive.h),
# and room for a busy host.
NOTICE_SECONDS = 15 + 10
# gRPC stops pinging after two pings without data: at 10 s and 20 s of an
# idle stream.
IDLE_SECONDS = 25
# The agent's backoff is at most 5 s; TLS handshake, Hello, the update.
REJOIN_SECONDS = 15


class ControllerLivenessTest(ControlPlaneTestCase):

    def wait_all_connected(self, timeout: float) -> dict:
        last = {}

        def done():
            nonlocal last
            last = self.cp.realization()
            return last.get("all_enforcing") and all(n["connected"] for n in last["nodes"])
        try:
            wait_for(done, timeout, what="every node connected and enforcing")
        except LabError:
            self.fail(f"not connected within {timeout}s: {last}\n"
                      f"controller log:\n{self.cp.log()[-3000:]}")
        return last

    def agent_log_count(self, text: str) -> dict:
        return {n: a.stderr().count(text) for n, a in self.lab.agents.items()}

    def test_1_sighup_keeps_the_controller_serving(self):
        self.wait_all_connected(10)
        self.cp.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP: checking the state file" in self.cp.log(), 5,
                 what="the controller's SIGHUP log line")
        self.assertIsNone(self.cp.proc.poll(), f"controller died:\n{self.cp.log()[-2000:]}")
        self.wait_all_connected(5)

    def test_2_a_stopped_controller_is_noticed_and_rejoined(self):
        self.wait_all_connected(10)
        # The scenario, not a synchronisation: a stream idle for this long.
        time.sleep(IDLE_SECONDS)
        ended = self.agent_log_count("stream ended")
        connected = self.agent_log_count("connected as node")
        pid = self.cp.proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            try:
                wait_for(lambda: all(c > ended[n] for n, c in
                                     self.agent_log_count("stream ended").items()),
                         NOTICE_SECONDS, what="every agent noticing the stopped controller")
            except LabError as e:
                self.fail(f"{e}\n" + "\n".join(f"agent {n}:\n{a.stderr()[-1500:]}"
                                              for n, a in self.lab.agents.items()))
            print(f"\n  noticed {time.monotonic() - t0:.1f}s after SIGSTOP", flush=True)
        finally:
            os.kill(pid, signal.SIGCONT)
        t1 = time.monotonic()
        wait_for(lambda: all(c > connected[n] for n, c in
                             self.agent_log_count("connected as node").items()),
                 REJOIN_SECONDS, what="every agent reconnected")
        self.wait_all_connected(REJOIN_SECONDS)
        print(f"  rejoined {time.monotonic() - t1:.1f}s after SIGCONT", flush=True)
        self.assertEqual(self.lab.check_agents_alive(), [])

    def test_3_sigterm_stops_the_controller_through_its_shutdown(self):
        self.cp.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.cp.proc.wait(10), 0, self.cp.log()[-2000:])
        self.assertIn("shutting down", self.cp.log())


if __name__ == "__main__":
    unittest.main()
