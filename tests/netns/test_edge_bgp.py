"""An edge's agent announces its tenants' segments upstream, zero-touch
(docs/NORTH_SOUTH.md#announcing): the real weft-agent on an edge with two
tenants whose segments overlap (A and B both own 10.0.1.0/24 and
10.0.2.0/24), one uplink each to a provider router (BIRD 2, one routing
table per customer). Each customer table holds its own tenant's segments
and advertised routes and none of the other's; a segment added to A in the
state appears in A's table only, and is withdrawn when removed; B's uplink
removed from the state empties B's table and leaves A's.

EdgeBgpSidecarTest: the same edge with gobgpd run beside the agent (a
sidecar, --gobgpd_api): the tables fill; gobgpd killed, they empty; gobgpd
started again holding nothing, the agent notices (GetBgp) and gives it
everything again, and the tables fill again.

The uplink links and their transit addresses are made here: the agent does
not configure them yet (the datapath's part, docs/NORTH_SOUTH.md)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time

import netns_common
import weftlab
from netns_common import LabTestCase, unmet
from weftlab import Node, Segment, Tenant, Topology
from weftlab.provider_router import BgpSession, ProviderRouter
from weftlab.topology import overlapping_segments

PROVIDER_AS = 64500
METRICS = "127.0.0.1:9464"  # in the edge's namespace
TIMEOUT = 30.0  # seconds for any one condition (BGP connect retry is 1 s here)

# tenant -> (edge link, provider link, transit, edge address, provider address,
# edge AS, BIRD table). Two local AS numbers: each session speaks its own.
UPLINKS = {
    "A": ("upa", "custa", "192.0.2.0/30", "192.0.2.2", "192.0.2.1", 65001, "custA"),
    "B": ("upb", "custb", "192.0.2.4/30", "192.0.2.6", "192.0.2.5", 65002, "custB"),
}
ADVERTISED = {"A": "10.66.0.0/16", "B": "10.77.0.0/16"}
B_ONLY_SEGMENT = Segment("b-app", "B", 2003, "10.0.3.0/24", "10.0.3.1", "02:fe:00:00:02:03")
ADDED_TO_A = Segment("a-new", "A", 1009, "10.0.9.0/24", "10.0.9.1", "02:fe:00:00:01:09")


wait_for = functools.partial(netns_common.wait_for, timeout=TIMEOUT)


class EdgeBgpLab(LabTestCase):
    """The edge, the provider router and the edge's agent; no tests."""
    START_AGENTS = False  # prepare starts the edge's agent after the provider is up
    WHOAMI = False

    @classmethod
    def make_topology(cls):
        tenants = [Tenant("A", 1), Tenant("B", 2)]
        segments = overlapping_segments(tenants) + [B_ONLY_SEGMENT]
        return Topology([Node("edge1", "198.18.0.11")], tenants, segments, vms=[])

    @classmethod
    def state(cls, extra_segments: list[Segment], uplinks: tuple[str, ...] = ("A", "B")) -> dict:
        topo = cls.lab.topo.copy()
        topo.segments += extra_segments
        cls.edits += 1
        topo.version = cls.edits  # every state written is a new version
        state = topo.state_dict()
        state["nodes"][0]["role"] = "edge"
        state["routes"] = [{"tenant": t, "prefix": p, "blackhole": True, "advertise": True}
                           for t, p in ADVERTISED.items()]
        state["uplinks"] = [
            {"name": f"{tenant.lower()}-edge1", "node": "edge1", "tenant": tenant,
             "interface": link, "transit": transit, "address": edge_addr, "peer": provider_addr, "peer_as": PROVIDER_AS,
             "local_as": local_as, "hold_time": 9, "keepalive": 3}
            for tenant, (link, _, transit, edge_addr, provider_addr, local_as, _)
            in UPLINKS.items() if tenant in uplinks]
        return state

    @classmethod
    def prepare(cls, lab):
        for tool in ("bird", "birdc", "gobgpd"):
            if not shutil.which(tool):
                unmet(f"missing tool: {tool}")
        cls.edits = 0
        cls.provider_ns = f"{lab.prefix}prov"
        weftlab.run(["ip", "netns", "add", cls.provider_ns])
        # named under the lab's prefix, so the lab's teardown (or a later
        # run's stale cleanup) usually removes it first: quiet if gone
        cls.addClassCleanup(subprocess.run, ["ip", "netns", "del", cls.provider_ns], check=False,
                            stderr=subprocess.DEVNULL)
        weftlab.run(["ip", "-n", cls.provider_ns, "link", "set", "lo", "up"])
        edge_ns = lab.ns("edge1")
        sessions = []
        for link, far, _, edge_addr, provider_addr, local_as, table in UPLINKS.values():
            weftlab.run(["ip", "-n", edge_ns, "link", "add", link, "type", "veth", "peer", "name",
                         far, "netns", cls.provider_ns])
            weftlab.run(["ip", "-n", edge_ns, "addr", "add", f"{edge_addr}/30", "dev", link])
            weftlab.run(["ip", "-n", cls.provider_ns, "addr", "add", f"{provider_addr}/30",
                         "dev", far])
            weftlab.run(["ip", "-n", edge_ns, "link", "set", link, "up"])
            weftlab.run(["ip", "-n", cls.provider_ns, "link", "set", far, "up"])
            sessions.append(BgpSession(f"bgp_{table}", provider_addr, PROVIDER_AS, edge_addr, local_as,
                                       table=table))
        # the provider's files live in the lab's run directory, removed with it
        cls.provider = ProviderRouter(cls.provider_ns, lab.dir, "192.0.2.1", sessions)
        cls.addClassCleanup(cls.provider.stop)
        lab.write_state(cls.state([]))
        cls.gobgpd_log = os.path.join(lab.log_dir, "gobgpd.log")
        lab.start_agent("edge1", extra=cls.gobgpd_flags() + ["--metrics_listen", METRICS])

    @classmethod
    def gobgpd_flags(cls) -> list[str]:
        """The agent's flags saying which gobgpd it drives: its own child."""
        return [f"--gobgpd_log={cls.gobgpd_log}"]

    def table(self, tenant: str) -> set[str]:
        return self.provider.prefixes(UPLINKS[tenant][6])

    def expected(self, tenant: str, extra: list[Segment] = ()) -> set[str]:
        return ({s.subnet for s in self.lab.topo.segments + list(extra) if s.tenant == tenant}
                | {ADVERTISED[tenant]})

    def metric(self, name: str) -> float:
        out = self.lab.exec("edge1", ["curl", "-sf", f"http://{METRICS}/metrics"],
                            timeout=10).stdout
        for line in out.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        self.fail(f"no {name} in the edge's /metrics:\n{out}")

    def diagnostics(self) -> str:
        agent = self.lab.agents["edge1"]
        try:
            with open(self.gobgpd_log) as f:
                gobgpd = "".join(f.readlines()[-10:])
        except OSError as e:
            gobgpd = str(e)
        return (f"\nBIRD:\n{self.provider.birdc('show', 'protocols')}"
                f"\nagent stderr tail:\n{agent.stderr()[-3000:]}\ngobgpd log tail:\n{gobgpd}")

    def wait_tables(self, what: str, wanted: dict[str, set[str]]) -> float:
        try:
            return wait_for(what, lambda: all(self.table(t) == p for t, p in wanted.items()))
        except AssertionError as e:
            seen = {t: sorted(self.table(t)) for t in wanted}
            raise AssertionError(f"{e}; tables now {seen}, wanted "
                                 f"{ {t: sorted(p) for t, p in wanted.items()} }"
                                 f"{self.diagnostics()}") from None


class EdgeBgpTest(EdgeBgpLab):
    def test_tenants_announced_apart_then_segment_added_and_removed(self):
        a, b = self.expected("A"), self.expected("B")
        self.assertIn(B_ONLY_SEGMENT.subnet, b - a, "the test needs a prefix only B owns")
        elapsed = self.wait_tables("each customer table to hold its tenant's prefixes",
                                   {"A": a, "B": b})
        print(f"\nagent ready -> both tables complete: {elapsed:.2f}s")
        # overlapping segments in both, each tenant's own prefixes in its table only
        self.assertNotIn(ADVERTISED["B"], self.table("A"))
        self.assertNotIn(B_ONLY_SEGMENT.subnet, self.table("A"))
        self.assertNotIn(ADVERTISED["A"], self.table("B"))
        routes = self.provider.routes(table="custA")
        self.assertIn("via 192.0.2.2", routes, "A's routes should point at A's transit address")
        self.assertNotIn("via 192.0.2.6", routes, "B's next hop in A's table")
        self.assertEqual(self.metric("weft_bgp_sessions"), 2)
        self.assertEqual(self.metric("weft_bgp_announced_prefixes"), len(a) + len(b))
        self.assertEqual(self.metric("weft_bgp_failing"), 0)

        self.lab.write_state(self.state([ADDED_TO_A]))
        start = time.monotonic()
        self.lab.reload_agent("edge1")
        self.wait_tables("the segment added to A to appear in A's table only",
                         {"A": self.expected("A", [ADDED_TO_A]), "B": b})
        print(f"segment added to A -> in custA: {time.monotonic() - start:.3f}s")
        self.assertNotIn(ADDED_TO_A.subnet, self.table("B"))

        self.lab.write_state(self.state([]))
        start = time.monotonic()
        self.lab.reload_agent("edge1")
        self.wait_tables("the removed segment to be withdrawn", {"A": a, "B": b})
        print(f"segment removed from A -> gone from custA: {time.monotonic() - start:.3f}s")

        # B's uplink removed: its session goes, so do its routes; A's stay
        self.lab.write_state(self.state([], uplinks=("A",)))
        self.lab.reload_agent("edge1")
        self.wait_tables("B's uplink removal to empty custB only", {"A": a, "B": set()})
        wait_for("weft_bgp_sessions to drop to 1", lambda: self.metric("weft_bgp_sessions") == 1)
        self.assertEqual(self.metric("weft_bgp_announced_prefixes"), len(a))


class EdgeBgpSidecarTest(EdgeBgpLab):
    SIDECAR_API = "127.0.0.1:50061"  # not the child's default port: this is not the child

    @classmethod
    def gobgpd_flags(cls) -> list[str]:
        cls.start_sidecar()
        return [f"--gobgpd_api={cls.SIDECAR_API}"]

    @classmethod
    def start_sidecar(cls) -> None:
        """gobgpd as a sidecar runs it: no configuration file, API on the
        edge namespace's loopback; the lab's teardown stops it."""
        argv = ["gobgpd", f"--api-hosts={cls.SIDECAR_API}", "--pprof-disable", "--log-plain"]
        cls.sidecar, _, cls.gobgpd_log = cls.lab.spawn(
            cls.lab.ns("edge1"), argv, f"gobgpd-sidecar-{time.monotonic_ns()}")

    def test_sidecar_restart_is_given_everything_again(self):
        a, b = self.expected("A"), self.expected("B")
        self.wait_tables("each customer table to hold its tenant's prefixes", {"A": a, "B": b})
        self.assertNotIn(ADVERTISED["B"], self.table("A"))
        listening = self.lab.exec("edge1", ["ss", "-Hltn"], timeout=10).stdout
        self.assertNotIn(":50051 ", listening, "the agent started a gobgpd of its own")

        self.sidecar.kill()
        self.sidecar.wait(timeout=10)
        self.wait_tables("the sessions to end with the killed gobgpd", {"A": set(), "B": set()})
        self.start_sidecar()
        start = time.monotonic()
        self.wait_tables("the restarted gobgpd to be given everything again", {"A": a, "B": b})
        print(f"\nsidecar gobgpd restarted -> both tables complete: "
              f"{time.monotonic() - start:.2f}s")
        self.assertNotIn(ADVERTISED["B"], self.table("A"), "tenants mixed after the restart")
        self.assertIn("restarted?", self.lab.agents["edge1"].stderr(),
                      "the agent should say it noticed the restart")
        wait_for("weft_bgp_failing to clear", lambda: self.metric("weft_bgp_failing") == 0)
        self.assertEqual(self.metric("weft_bgp_sessions"), 2)


if __name__ == "__main__":
    import unittest
    unittest.main()
