"""An edge's agent killed and started again under traffic
(docs/NORTH_SOUTH.md#failover): the lab's north-south part with a real
controller, hv1 and hv2 with tenant A's VMs, both edges carrying A, and the
hypervisors' route to A's site learned by both edges. What
tests/netns/test_edge_failover.py asserts and bench/ns_failover.py measures."""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Callable

from .control import ControlPlane
from .lab import Lab
from .ns import LabError, ip, run, wait_for
from .north_south import EDGES, SITE_HOST, NorthSouth, Pinger, add_north_south
from .topology import Topology, default_topology

EDGE_NAMES = [e for e, _, _ in EDGES]
HYPERVISORS = ["hv1", "hv2"]
VMS = ["a1", "a2", "a3", "a4"]  # tenant A: a1, a3 on hv1; a2, a4 on hv2
TENANT = "A"
PING_INTERVAL = 0.05   # seconds between the steady ping's requests
RECOVERY_BOUND = 15.0  # seconds from the kill until pings are answered again
TIMEOUT = 30.0         # any other condition (BGP's connect retry is 1 s here)
PICK_ATTEMPTS = 12     # steady pings tried until one's flow goes through the edge


def topology() -> Topology:
    topo = default_topology()
    topo.nodes = [n for n in topo.nodes if n.name in HYPERVISORS]
    topo.vms = [v for v in topo.vms if v.name in VMS]
    return add_north_south(topo)


@dataclass
class Outage:
    session_down: float  # s from the kill until the provider's session with the edge is down
    routes_moved: float  # s until every hypervisor's route to the site avoids the edge
    sent: int            # pings from the first reply to the last
    lost: int            # of those, unanswered
    longest_gap: float   # s, the longest between two replies from a second before the kill


class EdgeFailover:
    """The lab of `topology()` once start()ed: its controller, its
    north-south part, the site's host answering."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.cp = ControlPlane(lab)
        self.ns = NorthSouth(lab)
        self.frozen: dict[str, list[int]] = {}  # edge -> its stopped processes

    def start(self) -> None:
        """Controller, provider and sites, agents; returns once every session
        is up and the hypervisors route the site through both edges."""
        self.cp.build()
        self.cp.start()
        self.ns.build()
        self.cp.start_agents()
        self.ns.ensure_uplinks()
        self.lab.start_whoami([self.ns.customer(TENANT).host])
        self.wait(f"{TENANT}'s sessions Established on both edges",
                  lambda: all(self.session_up(e) for e in EDGE_NAMES))
        self.wait("the hypervisors' route to the site through both edges (learned)",
                  lambda: self.routes_via(EDGE_NAMES))

    # --- what is where -------------------------------------------------------------
    def site_routes(self) -> dict[str, list[str]]:
        """{hypervisor: the edges its route to the site goes through}."""
        return {hv: self.ns.site_route_edges(hv, TENANT) for hv in HYPERVISORS}

    def routes_via(self, edges: list[str]) -> bool:
        return all(via == edges for via in self.site_routes().values())

    def session_up(self, edge: str) -> bool:
        return self.ns.established().get(self.ns.session_name(TENANT, edge), False)

    def to_uplink(self) -> dict[str, int]:
        return {e: self.lab.counters(e).get("to_uplink", 0) for e in EDGE_NAMES}

    def pids(self, edge: str) -> list[int]:
        """The processes in the edge's namespace."""
        return [int(p) for p in
                run(["ip", "netns", "pids", self.lab.ns(edge)], check=False).stdout.split()]

    def gobgpd_pids(self, edge: str) -> list[int]:
        return [p for p in self.pids(edge) if process_name(p) == "gobgpd"]

    def diagnostics(self) -> str:
        return (f"BIRD:\n{self.ns.provider.birdc('show', 'protocols')}\n"
                f"routes to the site: {self.site_routes()}\n"
                f"controller log tail:\n{self.cp.log()[-2000:]}")

    def wait(self, what: str, condition, timeout: float = TIMEOUT) -> float:
        """Polls `condition` (every 20 ms) until true; the seconds it took.
        LabError naming `what`, with diagnostics, after `timeout`."""
        start = time.monotonic()
        try:
            wait_for(condition, timeout, interval=0.02, what=what)
        except LabError as e:
            raise LabError(f"{e}\n{self.diagnostics()}") from None
        return time.monotonic() - start

    # --- failing and coming back ----------------------------------------------------
    def pinger_through(self, edge: str) -> Pinger:
        """A steady ping to the site from one of the VMs whose flow the
        hypervisor sends through `edge` (ECMP by flow hash; each ping has an
        ICMP id of its own, so new pings until one does)."""
        for attempt in range(PICK_ATTEMPTS):
            vm = VMS[attempt % len(VMS)]
            before = self.to_uplink()
            pinger = Pinger(self.lab, vm, SITE_HOST, interval=PING_INTERVAL, seconds=120)
            try:
                self.wait(f"{vm}'s ping answered", lambda: len(pinger.replies()) >= 5, 10)
            except LabError:
                pinger.stop()
                raise
            moved = {e: v - before[e] for e, v in self.to_uplink().items()}
            if moved[edge] >= 5 and all(v == 0 for e, v in moved.items() if e != edge):
                return pinger
            pinger.stop()
        raise LabError(f"none of {PICK_ATTEMPTS} pings from {VMS} went through {edge}")

    def kill_agent(self, edge: str, pinger: Pinger) -> Outage:
        """kill -9 of the edge's agent (its gobgpd dies with it; both close
        their connections); the figures of `_outage`."""
        agent = self.lab.agents.pop(edge)  # killed on purpose: not a death to report

        def fail() -> None:
            agent.proc.kill()
            agent.proc.wait(10)
        return self._outage(edge, pinger, fail)

    def freeze_host(self, edge: str, pinger: Pinger) -> Outage:
        """The edge dies as a host does, closing no connection: its underlay
        port cut and every process of its namespace (its agent, gobgpd)
        stopped (SIGSTOP), so the provider notices at the BGP hold time and
        the controller by its keepalive. thaw_host() undoes it; the figures
        of `_outage`."""
        pids = self.pids(edge)

        def fail() -> None:
            self.frozen[edge] = pids
            ip(self.lab.underlay_ns, "link", "set", edge, "down")
            for pid in pids:
                os.kill(pid, signal.SIGSTOP)
        return self._outage(edge, pinger, fail)

    def thaw_host(self, edge: str) -> None:
        """Undoes freeze_host (idempotent: also a test's cleanup)."""
        for pid in self.frozen.pop(edge, []):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        ip(self.lab.underlay_ns, "link", "set", edge, "up")

    def _outage(self, edge: str, pinger: Pinger, fail: Callable[[], None]) -> Outage:
        """fail()s the edge; returns once the hypervisors route around it and
        `pinger` is answered again (LabError if not within RECOVERY_BOUND),
        a second later, with the figures."""
        others = [e for e in EDGE_NAMES if e != edge]
        killed_wall, killed = time.time(), time.monotonic()
        fail()
        session_down = self.wait(f"the provider's session with {edge} down",
                                 lambda: not self.session_up(edge), RECOVERY_BOUND)
        self.wait(f"the hypervisors' routes to the site through {', '.join(others)} only",
                  lambda: self.routes_via(others), RECOVERY_BOUND)
        routes_wall, routes_moved = time.time(), time.monotonic() - killed
        self.wait("pings answered again after the routes moved",
                  lambda: [t for t in pinger.replies() if t > routes_wall],
                  max(0.5, RECOVERY_BOUND - (time.monotonic() - killed)))
        time.sleep(1.0)  # a second of replies after the recovery, for the figures
        pinger.stop()
        replies = pinger.replies_seq()
        seqs = sorted({s for _, s in replies})
        times = [t for t, _ in replies]
        return Outage(session_down, routes_moved, sent=seqs[-1] - seqs[0] + 1,
                      lost=seqs[-1] - seqs[0] + 1 - len(seqs),
                      longest_gap=max((b - a for a, b in zip(times, times[1:])
                                       if b > killed_wall - 1), default=0.0))

    def restart_agent(self, edge: str) -> float:
        """The edge's agent started again; the seconds until it rejoined."""
        start = time.monotonic()
        self.cp.start_agent(edge)
        return self.rejoined(edge, start)

    def rejoined(self, edge: str, since: float) -> float:
        """The seconds from `since` until the edge's session is up and the
        hypervisors route through every edge again."""
        self.wait(f"the provider's session with {edge} up again", lambda: self.session_up(edge))
        self.wait("the hypervisors' routes through both edges again",
                  lambda: self.routes_via(EDGE_NAMES))
        return time.monotonic() - since


def process_name(pid: int) -> str | None:
    """The process's name, "<zombie>" for a dead one not yet reaped, None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    name, state = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2]
    return "<zombie>" if state in "ZX" else name
