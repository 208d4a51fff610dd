"""Edge failover (docs/NORTH_SOUTH.md#failover), on the lab's north-south
part (lab/weftlab/failover.py): a real weft-controller, hypervisors hv1 and
hv2 with tenant A's VMs, edges edge1 and edge2 each with A's uplink to the
provider's router (BIRD 2, hold 3 s, keepalive 1 s), and A's site. The
hypervisors' route to the site is the one the controller makes of what both
edges learn over BGP.

  - ECMP: TCP connections from A's VMs to the site's host (each its own
    source port) leave through both edges (both edges' to_uplink move);
  - edge1's agent killed (-9): its gobgpd dies with it (PDEATHSIG); a steady
    ping (50 ms apart) from a VM whose flow goes through edge1 is answered
    again within RECOVERY_BOUND, and the hypervisors' routes to the site list
    edge2 only. The lost pings and the outage are printed (no timing asserts);
  - edge1's agent started again: it rejoins (its session up, routes through
    both edges again) and carries flows again (its to_uplink moves);
  - edge1 dies as a host does, closing no connection (its underlay port cut,
    its processes stopped): the provider drops it at the BGP hold time, the
    controller by its own keepalive on the Sync stream, and the steady ping
    through edge1 is answered again within RECOVERY_BOUND; back, it rejoins.
"""

from __future__ import annotations

import time

import weftlab
from netns_common import LabTestCase, unmet
from weftlab import failover, north_south
from weftlab.failover import EDGE_NAMES, PING_INTERVAL, VMS, EdgeFailover
from weftlab.north_south import SITE_HOST

CONNECTIONS = 16  # TCP connections per VM for the ECMP check

# CONNECTIONS connections to the site host's responder: the names that answered.
_CONNECT_MANY = r"""
import socket, sys
names = []
for _ in range(int(sys.argv[3])):
    try:
        with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as s:
            names.append(s.recv(64).decode().strip() or "-")
    except OSError as e:
        names.append(type(e).__name__)
print(" ".join(names))
"""


class EdgeFailoverTest(LabTestCase):
    START_AGENTS = False  # the control plane starts them, after the provider
    WHOAMI = False

    @classmethod
    def make_topology(cls):
        return failover.topology()

    @classmethod
    def prepare(cls, lab):
        if north_south.missing_tools():
            unmet("missing tools: " + " ".join(north_south.missing_tools()))
        cls.f = EdgeFailover(lab)
        missing = cls.f.cp.missing_binaries()
        if missing:
            unmet(f"no {' '.join(missing)} next to the agent (build them)")
        cls.f.start()

    def connect_many(self) -> dict[str, int]:
        """CONNECTIONS TCP connections from each VM to the site's host, all
        answered by it; the packets each edge sent to its uplink meanwhile."""
        before = self.f.to_uplink()
        host = self.f.ns.customer(failover.TENANT).host
        for vm in VMS:
            cp = self.lab.exec(vm, ["/usr/bin/python3", "-c", _CONNECT_MANY, SITE_HOST,
                                    str(weftlab.WHOAMI_PORT), str(CONNECTIONS)], timeout=60)
            self.assertEqual(cp.stdout.split(), [host] * CONNECTIONS,
                             f"{vm} -> {SITE_HOST}: {cp.stderr}")
        return {e: v - before[e] for e, v in self.f.to_uplink().items()}

    def test_ecmp_then_edge1_killed_then_back(self):
        # (a) ECMP: the connections leave through both edges
        moved = self.connect_many()
        print(f"\n{CONNECTIONS * len(VMS)} TCP connections to the site: packets to the "
              f"uplinks {moved}")
        for edge in EDGE_NAMES:
            self.assertGreater(moved[edge], 0, f"no flow through {edge}: {moved}")

        # (b) edge1's agent killed: its flows move to edge2
        pinger = self.f.pinger_through("edge1")
        gobgpd = self.f.gobgpd_pids("edge1")
        self.assertEqual(len(gobgpd), 1, "edge1's agent runs one gobgpd")
        out = self.f.kill_agent("edge1", pinger)
        self.assertIn(failover.process_name(gobgpd[0]), (None, "<zombie>"),
                      "edge1's gobgpd outlived its agent (PDEATHSIG)")
        self.assertTrue(self.f.routes_via(["edge2"]), self.f.site_routes())
        print(f"edge1's agent killed: provider's session down after {out.session_down:.2f} s, "
              f"hypervisors' routes via edge2 only after {out.routes_moved:.2f} s; steady ping "
              f"({PING_INTERVAL * 1000:.0f} ms): {out.lost} lost of {out.sent}, longest gap "
              f"between replies {out.longest_gap:.2f} s")

        # (c) edge1's agent back: it rejoins and carries flows again
        back = self.f.restart_agent("edge1")
        print(f"edge1's agent started again: routes through both edges after {back:.2f} s")
        moved = self.connect_many()
        self.assertGreater(moved["edge1"], 0, f"no flow through edge1 after its return: {moved}")

        # (d) edge1 dies silently: only timers notice
        pinger = self.f.pinger_through("edge1")
        self.addCleanup(self.f.thaw_host, "edge1")
        out = self.f.freeze_host("edge1", pinger)
        self.assertTrue(self.f.routes_via(["edge2"]), self.f.site_routes())
        print(f"edge1 dead (underlay cut, processes stopped): provider's session down after "
              f"{out.session_down:.2f} s, hypervisors' routes via edge2 only after "
              f"{out.routes_moved:.2f} s; steady ping: {out.lost} lost of {out.sent}, longest "
              f"gap {out.longest_gap:.2f} s")
        start = time.monotonic()
        self.f.thaw_host("edge1")
        print(f"edge1 back: routes through both edges after {self.f.rejoined('edge1', start):.2f} s")


if __name__ == "__main__":
    import unittest
    unittest.main()
