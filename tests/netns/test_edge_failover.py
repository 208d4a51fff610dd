"""Edge failover (docs/NORTH_SOUTH.md#failover), on the lab's north-south
part (lab/weftlab/north_south.py): a real weft-controller, hypervisors hv1
and hv2 with tenant A's VMs, edges edge1 and edge2 each with A's uplink to
the provider's router (BIRD 2, hold 3 s, keepalive 1 s), and A's site. The
hypervisors' route to the site is the one the controller makes of what both
edges learn over BGP.

  - ECMP: TCP connections from A's VMs to the site's host (each its own
    source port) leave through both edges (both edges' to_uplink move);
  - edge1's agent killed (-9; its gobgpd dies with it): a steady ping
    (50 ms apart) from a VM whose flow goes through edge1 is answered again
    through edge2 within RECOVERY_BOUND, and the hypervisors' routes to the
    site list edge2 only. The lost pings and the outage are printed (no
    timing asserts);
  - edge1's agent started again: it rejoins (routes through both edges
    again, its session up) and carries flows again (its to_uplink moves).
"""

from __future__ import annotations

import time

import weftlab
from netns_common import LabTestCase, unmet
from weftlab import ControlPlane, default_topology, north_south
from weftlab.north_south import EDGES, SITE_HOST, NorthSouth, Pinger

EDGE_NAMES = [e for e, _, _ in EDGES]
HYPERVISORS = ["hv1", "hv2"]
VMS = ["a1", "a2", "a3", "a4"]  # tenant A: a1, a3 on hv1; a2, a4 on hv2
CONNECTIONS = 16        # TCP connections per VM for the ECMP check
PING_INTERVAL = 0.05    # seconds between the steady ping's requests
RECOVERY_BOUND = 15.0   # seconds from the kill until pings are answered again
TIMEOUT = 30.0          # any other condition (BGP's connect retry is 1 s here)
PICK_ATTEMPTS = 12      # steady pings tried until one's flow goes through edge1

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
        topo = default_topology()
        topo.nodes = [n for n in topo.nodes if n.name in HYPERVISORS]
        topo.vms = [v for v in topo.vms if v.name in VMS]
        return north_south.add_north_south(topo)

    @classmethod
    def prepare(cls, lab):
        if north_south.missing_tools():
            unmet("missing tools: " + " ".join(north_south.missing_tools()))
        cls.cp = ControlPlane(lab)
        missing = cls.cp.missing_binaries()
        if missing:
            unmet(f"no {' '.join(missing)} next to the agent (build them)")
        cls.cp.build()
        cls.cp.start()
        cls.ns = NorthSouth(lab)
        cls.ns.build()
        cls.cp.start_agents()
        cls.ns.ensure_uplinks()
        cls.site = cls.ns.customer("A")
        lab.start_whoami([cls.site.host])

    # --- helpers -----------------------------------------------------------------
    def wait(self, what: str, condition, timeout: float = TIMEOUT) -> float:
        """Polls `condition` until true; the seconds it took, or fails naming `what`."""
        start = time.monotonic()
        try:
            weftlab.wait_for(condition, timeout, interval=0.02, what=what)
        except weftlab.LabError as e:
            self.fail(f"{e}\n{self.diagnostics()}")
        return time.monotonic() - start

    def diagnostics(self) -> str:
        return (f"BIRD:\n{self.ns.provider.birdc('show', 'protocols')}\n"
                f"routes to the site: {self.site_routes()}\n"
                f"controller log tail:\n{self.cp.log()[-2000:]}")

    def site_routes(self) -> dict[str, list[str]]:
        """{hypervisor: the edges its route to A's site goes through}."""
        return {hv: self.ns.site_route_edges(hv, "A") for hv in HYPERVISORS}

    def routes_via(self, edges: list[str]) -> bool:
        return all(via == edges for via in self.site_routes().values())

    def session_up(self, edge: str) -> bool:
        return self.ns.established().get(self.ns.session_name("A", edge), False)

    def to_uplink(self) -> dict[str, int]:
        return {e: self.counter(e, "to_uplink") for e in EDGE_NAMES}

    def connect_many(self, vms: list[str]) -> None:
        """CONNECTIONS TCP connections from each VM to the site's host: all
        answered by it."""
        for vm in vms:
            cp = self.lab.exec(vm, ["/usr/bin/python3", "-c", _CONNECT_MANY, SITE_HOST,
                                    str(weftlab.WHOAMI_PORT), str(CONNECTIONS)], timeout=60)
            self.assertEqual(cp.stdout.split(), [self.site.host] * CONNECTIONS,
                             f"{vm} -> {SITE_HOST}: {cp.stderr}")

    def gobgpd_pids(self, node: str) -> list[int]:
        """The gobgpd processes in node's namespace."""
        pids = weftlab.run(["ip", "netns", "pids", self.lab.ns(node)], check=False).stdout
        return [int(p) for p in pids.split() if _comm(int(p)) == "gobgpd"]

    def pinger_through_edge1(self) -> Pinger:
        """A steady ping to the site from one of A's VMs whose flow the
        hypervisor sends through edge1 (ECMP by flow hash: each ping has an
        ICMP id of its own, so new pings until one does)."""
        for attempt in range(PICK_ATTEMPTS):
            vm = VMS[attempt % len(VMS)]
            before = self.to_uplink()
            pinger = Pinger(self.lab, vm, SITE_HOST, interval=PING_INTERVAL, seconds=120)
            try:
                self.wait(f"{vm}'s ping answered", lambda: len(pinger.replies()) >= 5, 10)
            except AssertionError:
                pinger.stop()
                raise
            after = self.to_uplink()
            if after["edge1"] - before["edge1"] >= 5 and after["edge2"] == before["edge2"]:
                return pinger
            pinger.stop()
        self.fail(f"none of {PICK_ATTEMPTS} pings from {VMS} went through edge1")

    # --- the test ----------------------------------------------------------------
    def test_ecmp_then_edge1_killed_then_back(self):
        self.wait("A's sessions Established on both edges",
                  lambda: all(self.session_up(e) for e in EDGE_NAMES))
        self.wait("both hypervisors' route to the site through both edges (learned)",
                  lambda: self.routes_via(EDGE_NAMES))

        # (a) ECMP: the connections leave through both edges
        before = self.to_uplink()
        self.connect_many(VMS)
        moved = {e: v - before[e] for e, v in self.to_uplink().items()}
        print(f"\n{CONNECTIONS * len(VMS)} TCP connections to the site: packets to the "
              f"uplinks {moved}")
        for edge in EDGE_NAMES:
            self.assertGreater(moved[edge], 0, f"no flow through {edge}: {moved}")

        # (b) edge1's agent killed: its flows move to edge2
        pinger = self.pinger_through_edge1()
        gobgpd = self.gobgpd_pids("edge1")
        self.assertEqual(len(gobgpd), 1, "edge1's agent runs one gobgpd")
        agent = self.lab.agents.pop("edge1")  # killed on purpose: not a death for setUp
        killed_wall, killed = time.time(), time.monotonic()
        agent.proc.kill()
        agent.proc.wait(10)
        self.wait("edge1's gobgpd to die with its agent (PDEATHSIG)",
                  lambda: _comm(gobgpd[0]) in (None, "<zombie>"), 10)
        session_down = self.wait("the provider's session with edge1 down",
                                 lambda: not self.session_up("edge1"), RECOVERY_BOUND)
        self.wait("the hypervisors' routes to the site through edge2 only",
                  lambda: self.routes_via(["edge2"]), RECOVERY_BOUND)
        routes_wall, routes_moved = time.time(), time.monotonic() - killed
        self.wait("pings answered again after the routes moved",
                  lambda: [t for t in pinger.replies() if t > routes_wall],
                  max(0.5, RECOVERY_BOUND - (time.monotonic() - killed)))
        time.sleep(1.0)  # a second of replies after the recovery, for the figures
        pinger.stop()
        replies = pinger.replies_seq()
        seqs = [s for _, s in replies]
        lost = (max(seqs) - min(seqs) + 1) - len(set(seqs))
        times = [t for t, _ in replies]
        gap = max((b - a for a, b in zip(times, times[1:]) if b > killed_wall - 1), default=0)
        print(f"edge1's agent killed: provider's session down after {session_down:.2f} s, "
              f"hypervisors' routes via edge2 only after {routes_moved:.2f} s; steady ping "
              f"({PING_INTERVAL * 1000:.0f} ms): {lost} lost of {max(seqs) - min(seqs) + 1}, "
              f"longest gap between replies {gap:.2f} s")

        # (c) edge1's agent back: it rejoins and carries flows again
        restarted = time.monotonic()
        self.cp.start_agent("edge1")
        self.wait("the provider's session with edge1 up again", lambda: self.session_up("edge1"))
        self.wait("the hypervisors' routes through both edges again",
                  lambda: self.routes_via(EDGE_NAMES))
        print(f"edge1's agent started again: routes through both edges after "
              f"{time.monotonic() - restarted:.2f} s")
        before = self.to_uplink()
        self.connect_many(VMS)
        moved = {e: v - before[e] for e, v in self.to_uplink().items()}
        self.assertGreater(moved["edge1"], 0, f"no flow through edge1 after its return: {moved}")


def _comm(pid: int) -> str | None:
    """The process's name, "<zombie>" for a dead one not yet reaped, None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    name, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2]
    return "<zombie>" if state in "ZX" else name


if __name__ == "__main__":
    import unittest
    unittest.main()
