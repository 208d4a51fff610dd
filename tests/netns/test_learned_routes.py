"""Routes learned upstream reach every hypervisor (docs/NORTH_SOUTH.md#learned-routes):
a real weft-controller, a hypervisor's agent (hv1, tenant A's VM) and an
edge's agent (edge1, A's uplink) over mutual TLS, and a provider router
(BIRD 2) that announces 198.51.100.0/24 on A's session.

  - the prefix appears in hv1's weft_routes (read through weftctl on the
    agent's socket) as a REMOTE route to edge1's VTEP, with the VNI of A's
    lowest-VNI segment; `weftctl get routes` and `get uplinks` show it as
    learned by A's uplink; `weftctl status` on the edge shows its session up;
  - BIRD withdraws it (its static protocol disabled): gone from hv1's map;
    announced again: back;
  - the edge's agent killed (its Sync stream gone): gone from hv1's map.

The times from the change upstream to hv1's map are printed (no timing
asserts). The uplink's link and transit address are made here, as in
test_edge_bgp.py."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import time

import netns_common
import weftlab
from netns_common import LabTestCase, unmet
from weftlab import VM, Node, Segment, Tenant, Topology
from weftlab.control import ControlPlane
from weftlab.provider_router import BgpSession, ProviderRouter

PROVIDER_AS = 64500
EDGE_AS = 65001
EDGE_VTEP = "198.18.0.11"
LEARNED = "198.51.100.0/24"
TIMEOUT = 30.0  # seconds for any one condition (BGP's connect retry is 1 s here)
POLL = 0.02     # poll interval for the timings

A_WEB = Segment("a-web", "A", 1001, "10.0.1.0/24", "10.0.1.1", "02:fe:00:00:01:01")
A_DB = Segment("a-db", "A", 1002, "10.0.2.0/24", "10.0.2.1", "02:fe:00:00:01:02")


wait_for = functools.partial(netns_common.wait_for, timeout=TIMEOUT, poll=POLL)


class LearnedRoutesTest(LabTestCase):
    START_AGENTS = False  # prepare starts them against the controller
    WHOAMI = False

    @classmethod
    def make_topology(cls):
        return Topology([Node("hv1", "198.18.0.1"), Node("edge1", EDGE_VTEP)], [Tenant("A", 1)],
                        [A_DB, A_WEB], [VM("a1", "a-web", "10.0.1.10", "02:00:00:01:01:0a", "hv1")])

    @classmethod
    def state(cls) -> dict:
        state = cls.lab.topo.state_dict()
        next(n for n in state["nodes"] if n["name"] == "edge1")["role"] = "edge"
        state["uplinks"] = [{"name": "a-edge1", "node": "edge1", "tenant": "A",
                             "interface": "upa", "transit": "192.0.2.0/30",
                             "address": "192.0.2.2", "peer": "192.0.2.1",
                             "peer_as": PROVIDER_AS, "local_as": EDGE_AS,
                             "hold_time": 9, "keepalive": 3}]
        return state

    @classmethod
    def prepare(cls, lab):
        for tool in ("bird", "birdc", "gobgpd"):
            if not shutil.which(tool):
                unmet(f"missing tool: {tool}")
        cls.cp = ControlPlane(lab)
        missing = cls.cp.missing_binaries()
        if missing:
            unmet(f"no {' '.join(missing)} next to the agent (build them)")
        cls.cp.build()
        lab.publish_state(cls.state())
        cls.weftctl_path = cls.cp.binary("weftctl")
        cls.sockets = {n: lab.agent_socket(n) for n in ("hv1", "edge1")}

        cls.provider_ns = f"{lab.prefix}prov"
        weftlab.run(["ip", "netns", "add", cls.provider_ns])
        cls.addClassCleanup(subprocess.run, ["ip", "netns", "del", cls.provider_ns], check=False,
                            stderr=subprocess.DEVNULL)
        weftlab.run(["ip", "-n", cls.provider_ns, "link", "set", "lo", "up"])
        edge_ns = lab.ns("edge1")
        weftlab.run(["ip", "-n", edge_ns, "link", "add", "upa", "type", "veth", "peer", "name",
                     "custa", "netns", cls.provider_ns])
        weftlab.run(["ip", "-n", edge_ns, "addr", "add", "192.0.2.2/30", "dev", "upa"])
        weftlab.run(["ip", "-n", cls.provider_ns, "addr", "add", "192.0.2.1/30", "dev", "custa"])
        weftlab.run(["ip", "-n", edge_ns, "link", "set", "upa", "up"])
        weftlab.run(["ip", "-n", cls.provider_ns, "link", "set", "custa", "up"])
        cls.session = BgpSession("bgp_custA", "192.0.2.1", PROVIDER_AS, "192.0.2.2", EDGE_AS,
                                 exports=[LEARNED])
        cls.provider = ProviderRouter(cls.provider_ns, lab.dir, "192.0.2.1", [cls.session])
        cls.addClassCleanup(cls.provider.stop)

        cls.cp.start()
        for node in ("hv1", "edge1"):
            cls.cp.start_agent(node, timeout=TIMEOUT, extra=[
                "--gobgpd_log", os.path.join(lab.log_dir, f"gobgpd-{node}.log")])

    # --- helpers -----------------------------------------------------------------
    def ctl(self, node: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.weftctl_path, "--socket", self.sockets[node], *args],
                              capture_output=True, text=True, timeout=20)

    def hv_route(self) -> dict | None:
        """hv1's weft_routes entry for LEARNED in tenant A, or None."""
        cp = self.ctl("hv1", "--json", "routes")
        if cp.returncode != 0:
            self.fail(f"weftctl routes on hv1: {cp.stderr}")
        routes = json.loads(cp.stdout).get("routes", [])
        return next((r for r in routes if r["prefix"] == LEARNED and r["tenant_id"] == 1), None)

    def diagnostics(self) -> str:
        edge = self.lab.agents["edge1"]
        return (f"\nBIRD:\n{self.provider.birdc('show', 'protocols')}"
                f"\nedge agent stderr tail:\n{edge.stderr()[-3000:]}"
                f"\ncontroller log tail:\n{self.cp.log()[-3000:]}")

    def wait_hv(self, what: str, present: bool) -> float:
        try:
            return wait_for(what, lambda: (self.hv_route() is not None) == present)
        except AssertionError as e:
            raise AssertionError(f"{e}; hv1's route now {self.hv_route()}{self.diagnostics()}") \
                from None

    # --- the test ----------------------------------------------------------------
    def test_learned_route_reaches_the_hypervisor_and_leaves_with_bird_and_the_edge(self):
        elapsed = self.wait_hv(f"{LEARNED} learned upstream in hv1's weft_routes", True)
        print(f"\nagents ready -> learned route in hv1's map: {elapsed:.2f}s "
              "(includes the BGP session coming up)")
        route = self.hv_route()
        self.assertEqual(route["kind"], "remote")
        self.assertEqual(route["next_hops"], [EDGE_VTEP])
        self.assertEqual((route["vni"], route["segment"]), (A_WEB.vni, A_WEB.name),
                         "the transit segment is A's lowest VNI")

        routes = self.cp.weftctl("get", "routes")
        self.assertEqual(routes.returncode, 0, routes.stderr)
        self.assertRegex(routes.stdout, r"A\s+198\.51\.100\.0/24\s+edge1 \(a-web\)\s+"
                                        r"learned by a-edge1")
        uplinks = self.cp.weftctl("get", "uplinks")
        self.assertEqual(uplinks.returncode, 0, uplinks.stderr)
        self.assertIn("LEARNED UPSTREAM (1)", uplinks.stdout)
        status = self.ctl("edge1", "status")
        self.assertIn("bgp:               1/1 sessions up, 1 learned prefixes", status.stdout)

        # withdrawn upstream: gone from hv1's map; announced again: back
        static = f"{self.session.name}_own"
        for _ in range(3):
            start = time.monotonic()
            self.provider.birdc("disable", static)
            self.wait_hv("the withdrawn prefix to leave hv1's map", False)
            print(f"BIRD withdraws -> gone from hv1's map: {time.monotonic() - start:.3f}s")
            start = time.monotonic()
            self.provider.birdc("enable", static)
            self.wait_hv("the prefix announced again in hv1's map", True)
            print(f"BIRD announces -> in hv1's map: {time.monotonic() - start:.3f}s")

        # the edge's stream gone: its learned routes with it
        edge = self.lab.agents["edge1"]
        start = time.monotonic()
        edge.proc.kill()
        edge.proc.wait(10)
        self.wait_hv("the edge's learned route to leave hv1's map once its agent is gone", False)
        print(f"edge agent killed -> gone from hv1's map: {time.monotonic() - start:.3f}s")
        del self.lab.agents["edge1"]  # killed on purpose: not a death for setUp to report


if __name__ == "__main__":
    import unittest
    unittest.main()
