"""North-south through an edge (docs/NORTH_SOUTH.md#uplink-interfaces): the
real agents on a hypervisor (hv1) and an edge (edge1). hv1 hosts a1 (tenant
A) and b1 (tenant B), both 10.0.1.10. edge1 has one trunk link to an
"upstream" namespace and carries A's uplink on VLAN 101 and B's on VLAN 102,
both set up by the agent from the state; the state routes 10.200.0.0/24
through edge1 for each tenant (static upstream routes, no BGP). On a kernel
without 802.1Q VLANs (CONFIG_VLAN_8021Q unset, as on the lab machine this
was written on) each uplink is a plain link of its own instead, and the
test says so.

The upstream keeps the tenants apart with plain policy routing (ip rule iif
<vlan> lookup <table>) and has one host namespace per tenant behind it, both
10.200.0.10. Checked: each VM reaches its own tenant's host (counted on the
hosts: each host's ICMP echo requests received), a low TTL from upstream is
answered with time exceeded from the edge's transit address, the edge's
to_uplink/from_uplink counters move, an agent killed and restarted leaves
the uplink in place, a state whose uplink has no link is
refused whole naming the field, and an uplink removed from the state takes
its VLAN subinterface (and its address) with it, or its address off its
plain link (which stays)."""

from __future__ import annotations

import functools
import re
import subprocess

import netns_common
import weftlab
from netns_common import LabTestCase
from weftlab import VM, Node, Route, Tenant, Topology
from weftlab.topology import overlapping_segments, vm_mac

TIMEOUT = 15.0  # seconds for any one condition
TRUNK = "trunk"
HOST_IP = "10.200.0.10"
UPSTREAM_PREFIX = "10.200.0.0/24"

# tenant -> (VLAN, transit, edge address, upstream address, upstream's
# gateway address towards the tenant's host, routing table)
UPLINKS = {
    "A": (101, "192.0.2.0/30", "192.0.2.2", "192.0.2.1", "10.200.0.1", 101),
    "B": (102, "192.0.2.4/30", "192.0.2.6", "192.0.2.5", "10.200.0.2", 102),
}


wait_for = functools.partial(netns_common.wait_for, timeout=TIMEOUT)


def run(ns: str, *argv: str) -> str:
    return weftlab.run(["ip", "netns", "exec", ns, *argv]).stdout


class EdgeDatapathTest(LabTestCase):
    START_AGENTS = False  # prepare starts them once the trunk exists
    WHOAMI = False

    @classmethod
    def make_topology(cls):
        tenants = [Tenant("A", 1), Tenant("B", 2)]
        vms = [VM("a1", "a-web", "10.0.1.10", vm_mac(1, 1, 10), "hv1"),
               VM("b1", "b-web", "10.0.1.10", vm_mac(2, 1, 10), "hv1")]
        routes = [Route(t, UPSTREAM_PREFIX, nodes=["edge1"], segment=f"{t.lower()}-web")
                  for t in UPLINKS]
        return Topology([Node("hv1", "198.18.0.1"), Node("edge1", "198.18.0.11")], tenants,
                        overlapping_segments(tenants), vms, routes)

    @classmethod
    def link(cls, tenant: str) -> str:
        """The operator's link that carries the tenant's uplink on the edge."""
        return TRUNK if cls.vlans else f"up{tenant.lower()}"

    @classmethod
    def device(cls, tenant: str) -> str:
        """The uplink's interface on both ends: VLAN subinterface or plain link."""
        return f"{TRUNK}.{UPLINKS[tenant][0]}" if cls.vlans else cls.link(tenant)

    @classmethod
    def state(cls, uplinks: dict[str, str] | None = None) -> dict:
        """The state with an uplink per tenant of `uplinks` (tenant -> link)."""
        if uplinks is None:
            uplinks = {t: cls.link(t) for t in UPLINKS}
        cls.edits += 1
        topo = cls.lab.topo.copy()
        topo.version = cls.edits  # every state written is a new version
        state = topo.state_dict()
        for node in state["nodes"]:
            if node["name"] == "edge1":
                node["role"] = "edge"
        state["uplinks"] = [
            {"name": f"{tenant.lower()}-edge1", "node": "edge1", "tenant": tenant,
             "interface": link, "transit": UPLINKS[tenant][1],
             "address": UPLINKS[tenant][2], "peer": UPLINKS[tenant][3], "peer_as": 64500,
             "local_as": 65001, "hold_time": 9, "keepalive": 3}
            for tenant, link in uplinks.items()]
        if cls.vlans:
            for uplink in state["uplinks"]:
                uplink["vlan"] = UPLINKS[uplink["tenant"]][0]
        return state

    @classmethod
    def make_links(cls, lab) -> None:
        """The operator's links, edge to upstream: a trunk with a VLAN per
        tenant upstream, or (no VLANs in this kernel) a link per tenant."""
        edge, up = lab.ns("edge1"), cls.upstream
        weftlab.run(["ip", "-n", edge, "link", "add", TRUNK, "type", "veth", "peer", "name",
                     TRUNK, "netns", up])
        probe = subprocess.run(["ip", "-n", up, "link", "add", "link", TRUNK, "name", "vprobe",
                                "type", "vlan", "id", "4000"], capture_output=True, text=True)
        cls.vlans = probe.returncode == 0
        if cls.vlans:
            weftlab.run(["ip", "-n", up, "link", "del", "vprobe"])
        else:
            print(f"\nno 802.1Q VLANs in this kernel ({probe.stderr.strip()}): "
                  "one plain link per uplink, the agent's VLAN path is not exercised")
            weftlab.run(["ip", "-n", edge, "link", "del", TRUNK])
            for tenant in UPLINKS:
                weftlab.run(["ip", "-n", edge, "link", "add", cls.link(tenant), "type", "veth",
                             "peer", "name", cls.device(tenant), "netns", up])
        for tenant in UPLINKS:
            weftlab.run(["ip", "-n", edge, "link", "set", cls.link(tenant), "up"])
            weftlab.run(["ip", "-n", up, "link", "set", cls.link(tenant), "up"])
            if cls.vlans:
                weftlab.run(["ip", "-n", up, "link", "add", "link", TRUNK, "name",
                             cls.device(tenant), "type", "vlan", "id", str(UPLINKS[tenant][0])])

    @classmethod
    def prepare(cls, lab):
        cls.edits = 0
        cls.upstream = f"{lab.prefix}up"
        cls.hosts = {t: f"{lab.prefix}h{t.lower()}" for t in UPLINKS}
        for ns in [cls.upstream, *cls.hosts.values()]:
            weftlab.run(["ip", "netns", "add", ns])
            # named under the lab's prefix, so the lab's teardown usually
            # removes it first: quiet if gone
            cls.addClassCleanup(subprocess.run, ["ip", "netns", "del", ns], check=False,
                                stderr=subprocess.DEVNULL)
            weftlab.run(["ip", "-n", ns, "link", "set", "lo", "up"])
        up = cls.upstream
        run(up, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        cls.make_links(lab)
        for tenant, (_, transit, edge_addr, up_addr, gateway, table) in UPLINKS.items():
            sub, host_link = cls.device(tenant), f"h{tenant.lower()}"
            length = transit.split("/")[1]
            weftlab.run(["ip", "-n", up, "addr", "add", f"{up_addr}/{length}", "dev", sub])
            weftlab.run(["ip", "-n", up, "link", "set", sub, "up"])
            # the tenant's host, behind the upstream, on its own table
            host = cls.hosts[tenant]
            weftlab.run(["ip", "-n", up, "link", "add", host_link, "type", "veth", "peer", "name",
                         "eth0", "netns", host])
            weftlab.run(["ip", "-n", up, "addr", "add", f"{gateway}/24", "dev", host_link,
                         "noprefixroute"])
            weftlab.run(["ip", "-n", up, "link", "set", host_link, "up"])
            weftlab.run(["ip", "-n", host, "addr", "add", f"{HOST_IP}/24", "dev", "eth0"])
            weftlab.run(["ip", "-n", host, "link", "set", "eth0", "up"])
            weftlab.run(["ip", "-n", host, "route", "add", "default", "via", gateway])
            weftlab.run(["ip", "-n", up, "route", "add", UPSTREAM_PREFIX, "dev", host_link,
                         "src", gateway, "table", str(table)])
            weftlab.run(["ip", "-n", up, "route", "add", "10.0.0.0/16", "via", edge_addr, "dev",
                         sub, "onlink", "table", str(table)])
            for iif in (sub, host_link):
                weftlab.run(["ip", "-n", up, "rule", "add", "iif", iif, "lookup", str(table)])
        lab.write_state(cls.state())
        lab.start_agent("hv1")
        lab.start_agent("edge1")

    # --- helpers -----------------------------------------------------------------
    def echo_requests(self, tenant: str) -> int:
        """ICMP echo requests the tenant's host has received."""
        snmp = run(self.hosts[tenant], "cat", "/proc/net/snmp").splitlines()
        names, values = [line.split() for line in snmp if line.startswith("Icmp:")][:2]
        return int(values[names.index("InEchos")])

    def edge_links(self) -> str:
        return self.lab.exec("edge1", ["ip", "-o", "addr", "show"]).stdout + \
            self.lab.exec("edge1", ["ip", "-o", "link", "show"]).stdout

    def diagnostics(self) -> str:
        agent = self.lab.agents.get("edge1")
        return (f"\nedge1 links:\n{self.edge_links()}"
                f"\nedge1 counters: {self.lab.counters('edge1')}"
                f"\nedge1 tc on A's uplink: {self.lab.tc_filters('edge1', self.device('A'))}"
                f"\nedge agent stderr tail:\n{agent.stderr()[-3000:] if agent else '-'}")

    def reload_edge(self, state: dict) -> None:
        self.lab.write_state(state)
        self.lab.reload_agent("edge1")

    # --- tests -------------------------------------------------------------------
    def test_1_each_tenant_reaches_its_own_host(self):
        links = self.edge_links()
        for tenant, (_, transit, edge_addr, *_rest) in UPLINKS.items():
            self.assertRegex(links, rf"\d+: {re.escape(self.device(tenant))}@\S+ .*state UP",
                             f"{tenant}'s uplink interface, up")
            self.assertRegex(links, rf"{re.escape(self.device(tenant))}\s+inet "
                             rf"{re.escape(edge_addr)}/{transit.split('/')[1]}")
            # tc shows the kernel's name of the program, cut to 15 characters
            self.assertIn("weft_uplink_ing", self.lab.tc_filters("edge1", self.device(tenant)))
        before = self.lab.counters("edge1")
        for vm, tenant, other in (("a1", "A", "B"), ("b1", "B", "A")):
            mine, theirs = self.echo_requests(tenant), self.echo_requests(other)
            p = self.lab.wait_ping(vm, HOST_IP, timeout=TIMEOUT)
            self.assertTrue(p.ok, f"{vm} -> {HOST_IP}: no reply\n{p.output}{self.diagnostics()}")
            self.assertGreater(self.echo_requests(tenant), mine, f"{tenant}'s host not reached")
            self.assertEqual(self.echo_requests(other), theirs,
                             f"{vm} (tenant {tenant}) reached tenant {other}'s host")
        after = self.lab.counters("edge1")
        for reason in ("to_uplink", "from_uplink"):
            self.assertGreater(after.get(reason, 0), before.get(reason, 0),
                               f"edge1's {reason} counter did not move{self.diagnostics()}")

    def test_2_time_exceeded_from_the_transit_address(self):
        # TTL 2: the upstream forwards it with TTL 1, the edge answers
        out = subprocess.run(["ip", "netns", "exec", self.hosts["A"], "ping", "-n", "-c", "1",
                              "-W", "2", "-t", "2", "10.0.1.10"], capture_output=True,
                             text=True, timeout=10).stdout
        self.assertRegex(out, r"From 192\.0\.2\.2 .*[Tt]ime to live exceeded",
                         f"{out}{self.diagnostics()}")

    def test_3_uplink_without_its_link_is_refused_whole(self):
        agent = self.lab.agents["edge1"]
        # B's uplink on a link that does not exist, and A's removed: neither
        # may happen
        self.reload_edge(self.state({"B": "nolink"}))
        wait_for("the refusal in the agent's log",
                 lambda: 'uplink "b-edge1": field "interface"' in agent.stderr())
        self.assertRegex(agent.stderr(), r'uplink "b-edge1": field "interface": no link "nolink"')
        links = self.edge_links()
        self.assertIn(f"{self.device('A')}@", links, "A's uplink went with the refused state")
        self.assertIn("192.0.2.2/30", links, "A's address went with the refused state")
        self.assertTrue(self.lab.ping("a1", HOST_IP, count=1, timeout=3).ok)
        self.reload_edge(self.state())  # back to both, for the tests after

    def test_4_uplink_removed_takes_its_subinterface(self):
        self.reload_edge(self.state({"A": self.link("A")}))
        wait_for("B's transit address to go", lambda: "192.0.2.6/30" not in self.edge_links())
        links = self.edge_links()
        if self.vlans:
            self.assertNotIn(f"{self.device('B')}@", links, "B's VLAN subinterface stayed")
        self.assertRegex(links, rf"\d+: {self.link('B')}@", "the operator's link must stay")
        self.assertIn(f"{self.device('A')}@", links)
        if not self.vlans:
            self.assertEqual(self.lab.tc_filters("edge1", self.link("B")), "",
                             "the uplink program stayed on B's plain link")
        self.assertFalse(self.lab.ping("b1", HOST_IP, count=2, timeout=2).ok,
                         "B still reaches its host without its uplink")
        self.assertTrue(self.lab.ping("a1", HOST_IP, count=1, timeout=3).ok)

    def test_5_restart_does_not_flap_the_uplink(self):
        """kill -9 and a new agent: forwarding goes on without an agent, and
        the new one takes A's interface as it finds it (same ifindex, its
        address kept, nothing made again)."""
        def ifindex() -> str:
            return self.lab.exec("edge1", ["cat", f"/sys/class/net/{self.device('A')}/ifindex"]
                                 ).stdout.strip()
        before = ifindex()
        agent = self.lab.agents.pop("edge1")
        agent.proc.kill()
        agent.proc.wait()
        self.assertTrue(self.lab.ping("a1", HOST_IP, count=1, timeout=3).ok,
                        "no forwarding while the edge has no agent")
        restarted = self.lab.start_agent("edge1")
        self.assertEqual(ifindex(), before, "A's uplink interface was made again")
        self.assertIn("192.0.2.2/30", self.edge_links())
        self.assertNotIn("made on", restarted.stderr(), "the restarted agent made a VLAN device")
        self.assertIn("weft_uplink_ing", self.lab.tc_filters("edge1", self.device("A")))
        self.assertTrue(self.lab.ping("a1", HOST_IP, count=1, timeout=3).ok)


if __name__ == "__main__":
    import unittest
    unittest.main()
