"""An upgrade from the previous release under traffic loses no packet.

The previous release's weft-agent (the commit in tests/upgrade/PREVIOUS_RELEASE,
built from git by tests/upgrade/previous_release.py on the first run and kept
under the build tree) runs both hypervisors as deployed
(--detach_on_exit=false). Under ping floods across hosts and within one, and
a TCP stream, each hypervisor's agent is stopped and this tree's agent started
over its pins, one host at a time as the DaemonSet rolls. Every ping is
answered; the new agents adopted every map the old ones pinned (the same map
ids: conntrack entries and counters carry on) and attached their own programs
(new program ids).

The first run builds the previous release (minutes; see docs/OPERATIONS.md
"Upgrades"); a checkout without that commit in its history fails, saying so."""

from __future__ import annotations

import json
import os
import re
import sys
import unittest

from netns_common import LabTestCase, require_lab
import weftlab
from weftlab import Policy, Rule, run, wait_for
from weftlab.counters import BPFTOOL

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "upgrade"))
import previous_release  # noqa: E402

AS_DEPLOYED = ["--detach_on_exit=false"]
TENANT_A = 1
# a1 (hv1) -> a4 (hv2) crosses the underlay; a1 -> a3 stays on hv1.
CLIENT, CROSS_HOST, SAME_HOST = "10.0.1.10", "10.0.2.11", "10.0.2.10"
FLOOD_COUNT = 5000
FLOOD_INTERVAL = "0.005"  # 25 s of echo requests at 200/s: outlasts both upgrades
TCP_PORT, TCP_SECONDS = 5302, 25
ESTABLISHED = ("weft_ct",)  # conntrack tables both releases have


def firewalled_topology():
    """The default lab with tenant A denying by default and allowing the
    test's flows: they pass through the firewall's maps and conntrack, so
    losing either in the upgrade would drop them."""
    topo = weftlab.default_topology()
    topo.tenant("A").default_action = "deny"
    client = [f"{CLIENT}/32"]
    topo.policies = [Policy("a-upgrade", "A", applied_to_endpoints=["a1", "a3", "a4"], rules=[
        Rule("egress", "allow", "icmp", icmp_type=8, peer_cidrs=[f"{CROSS_HOST}/32",
                                                                 f"{SAME_HOST}/32"]),
        Rule("egress", "allow", "tcp", ports=[TCP_PORT], peer_cidrs=[f"{CROSS_HOST}/32"]),
        Rule("ingress", "allow", "icmp", icmp_type=8, peer_cidrs=client),
        Rule("ingress", "allow", "tcp", ports=[TCP_PORT], peer_cidrs=client),
    ])]
    topo.validate()
    return topo


def _prog_id(filters: str) -> str | None:
    m = re.search(r"\bid (\d+)", filters)
    return m.group(1) if m else None


def _pinned_map_ids(pin_dir: str) -> dict[str, int]:
    """{pin name: map id} of every map pinned under pin_dir."""
    ids = {}
    for name in sorted(os.listdir(pin_dir)):
        cp = run([BPFTOOL, "-j", "map", "show", "pinned", os.path.join(pin_dir, name)],
                 check=False)
        if cp.returncode == 0:
            ids[name] = json.loads(cp.stdout)["id"]
    return ids


def _total(counters: dict[str, int]) -> int:
    return sum(counters.values())


def _flood_summary(out_path: str) -> tuple[int, int, str]:
    with open(out_path) as f:
        summary = f.read()
    m = re.search(r"(\d+) packets transmitted, (\d+) received", summary)
    if not m:
        return -1, -1, summary
    return int(m.group(1)), int(m.group(2)), summary


class UpgradeFromPreviousReleaseTest(LabTestCase):
    START_AGENTS = False  # prepare starts the previous release's
    WHOAMI = False
    previous_agent: str = None

    @classmethod
    def make_topology(cls):
        return firewalled_topology()

    @classmethod
    def setUpClass(cls):
        require_lab(agent=True)
        # Before the lab exists: the first run compiles for minutes.
        cls.previous_agent = previous_release.build(weftlab.default_build_dir())
        super().setUpClass()

    @classmethod
    def prepare(cls, lab):
        new_agent = lab.agent_path
        lab.agent_path = cls.previous_agent
        try:
            for node in lab.topo.weft_nodes():
                lab.start_agent(node.name, extra=AS_DEPLOYED)
        finally:
            lab.agent_path = new_agent

    def program_ids(self, node: str) -> dict[str, str | None]:
        """{interface: id of the program on its ingress} of node's VMs and eth0."""
        devs = [vm.interface for vm in self.lab.topo.vms_on(node)] + ["eth0"]
        return {dev: _prog_id(self.lab.tc_filters(node, dev)) for dev in devs}

    def upgrade(self, node: str) -> None:
        """Stops node's agent as a rolling update does and starts this tree's
        over its pins; asserts the maps were adopted and the programs replaced."""
        lab = self.lab
        pins = _pinned_map_ids(lab.pin_dir(node))
        programs = self.program_ids(node)
        self.assertNotIn(None, programs.values(), f"{node}: a hook without a program")
        self.assertEqual(lab.stop_agent(node), 0, f"{node}: the previous release's agent")
        self.assertEqual(self.program_ids(node), programs,
                         f"{node}: the programs left with the previous release's agent")
        counted = _total(lab.counters(node))  # with no agent at all

        agent = lab.start_agent(node, extra=AS_DEPLOYED)
        self.assertNotEqual(agent.argv[0], self.previous_agent)
        adopted = _pinned_map_ids(lab.pin_dir(node))
        replaced = {name: f"id {map_id} -> {adopted.get(name)}"
                    for name, map_id in pins.items() if adopted.get(name) != map_id}
        self.assertFalse(replaced, f"{node}: maps pinned by the previous release were not "
                         f"adopted; the new agent said:\n{agent.stderr()[-2000:]}")
        # Still at least what they held (a re-created map would start from 0).
        self.assertGreaterEqual(_total(lab.counters(node)), counted,
                                f"{node}: the counters restarted")
        for dev, prog in self.program_ids(node).items():
            self.assertIsNotNone(prog, f"{node}: no program on {dev} after the upgrade")
            self.assertNotEqual(prog, programs[dev],
                                f"{node}: {dev} still runs the previous release's program")
        wait_for(lambda: _total(lab.counters(node)) > counted + 100, 10,
                 what=f"{node}'s counters to go on from {counted}")

    def test_upgrade_under_traffic_loses_nothing_and_adopts_the_pins(self):
        lab = self.lab
        for dst in (CROSS_HOST, SAME_HOST):
            self.assertTrue(lab.wait_ping("a1", dst).ok, f"a1 -> {dst} before the upgrade")
        floods = {dst: lab.spawn(lab.ns("a1"),
                                 ["ping", "-q", "-i", FLOOD_INTERVAL, "-c", str(FLOOD_COUNT),
                                  "-W", "1", dst], f"upgrade-flood-{dst}")
                  for dst in (CROSS_HOST, SAME_HOST)}
        server = lab.spawn(lab.ns("a4"), ["iperf3", "-s", "-1", "-p", str(TCP_PORT)],
                           "upgrade-iperf-server")
        procs = list(floods.values()) + [server]
        try:
            lab.wait_listening("a4", TCP_PORT)
            client = lab.spawn(lab.ns("a1"), ["iperf3", "-c", CROSS_HOST, "-p", str(TCP_PORT),
                                              "-t", str(TCP_SECONDS), "-b", "20M"],
                               "upgrade-iperf-client")
            procs.append(client)

            def tcp_stream():
                """hv1's conntrack entry of iperf3's data connection (its
                control connection carries a few packets). An established
                flow is in weft_ct, the table both releases have; the
                previous release has no weft_ct_pending to read."""
                flows = lab.ct_find("hv1", TENANT_A, 6, CLIENT, CROSS_HOST, port_b=TCP_PORT,
                                    tables=ESTABLISHED)
                busiest = max(flows, key=lambda e: e["packets"][0], default=None)
                return busiest if busiest and busiest["packets"][0] > 100 else None
            tcp_before = wait_for(tcp_stream, 10, what="the TCP stream in hv1's conntrack")
            client_port = (tcp_before["port_lo"] if tcp_before["addr_lo"] == CLIENT
                           else tcp_before["port_hi"])

            for node in ("hv1", "hv2"):
                self.upgrade(node)

            tcp_after = lab.ct_find("hv1", TENANT_A, 6, CLIENT, CROSS_HOST, client_port,
                                    TCP_PORT, tables=ESTABLISHED)
            self.assertEqual(len(tcp_after), 1, f"hv1's conntrack: {lab.ct_entries('hv1')}")
            self.assertEqual(tcp_after[0]["state"], tcp_before["state"])
            self.assertGreater(tcp_after[0]["packets"][0], tcp_before["packets"][0],
                               "the TCP flow's conntrack entry did not carry on")
            for dst, (proc, _, _) in floods.items():
                self.assertIsNone(proc.poll(), f"the flood to {dst} ended before both "
                                  "upgrades did: raise FLOOD_COUNT")
            for dst, (proc, out, _) in floods.items():
                proc.wait(FLOOD_COUNT * float(FLOOD_INTERVAL) + 30)
                sent, received, summary = _flood_summary(out)
                self.assertEqual(sent, FLOOD_COUNT, summary)
                self.assertEqual(received, sent, f"a1 -> {dst} lost packets:\n{summary}")
            status = client[0].wait(TCP_SECONDS + 30)
            with open(client[1]) as f:
                report = f.read()
            self.assertEqual(status, 0, report)
            self.assertRegex(report, r"receiver")
        finally:
            for proc, _, _ in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


if __name__ == "__main__":
    unittest.main()
