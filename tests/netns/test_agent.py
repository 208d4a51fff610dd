"""weft-agent's lifecycle in a real namespace: refusing bad state (and loading
nothing), clean shutdown (pins and TC filters gone), SIGHUP reload."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import time
import unittest

from netns_common import LabTestCase
from weftlab import VM, wait_for


def _find(items, name):
    return next(i for i in items if i["name"] == name)


# (test name, mutation of the state dict, object named in stderr, field named)
BAD_STATES = {
    "bad_cidr": (lambda s: _find(s["segments"], "a-web").update(subnet="10.0.1.0/33"),
                 "a-web", "subnet"),
    "vni_zero": (lambda s: _find(s["segments"], "a-db").update(vni=0),
                 "a-db", "vni"),
    "endpoint_outside_subnet": (lambda s: _find(s["endpoints"], "a1").update(ip="10.0.9.10"),
                                "a1", "ip"),
    "unknown_node": (lambda s: _find(s["endpoints"], "a2").update(node="hv9"),
                     "a2", "node"),
    "bad_mac": (lambda s: _find(s["endpoints"], "a3").update(mac="02:00:00:zz:02:0a"),
                "a3", "mac"),
    # interfaces the agent relies on: the VM program would replace its own
    "underlay_interface": (lambda s: _find(s["endpoints"], "a3").update(interface="eth0"),
                           "a3", "interface"),
    "loopback_interface": (lambda s: _find(s["endpoints"], "a3").update(interface="lo"),
                           "a3", "interface"),
}


class BadStateTest(LabTestCase):
    """Each bad file: non-zero exit, stderr names object and field, nothing
    pinned, no TC filter attached, no ready file."""

    START_AGENTS = False
    WHOAMI = False

    def run_agent_expecting_exit(self, state: dict, tag: str, timeout: float = 15.0):
        n = list(BAD_STATES).index(tag)
        path = self.lab.write_state(state, path=os.path.join(self.lab.dir, f"state-{n}.yaml"))
        ready = os.path.join(self.lab.dir, f"state-{n}.ready")
        argv = self.lab.agent_argv("hv1", state_file=path, ready_file=ready)
        proc, _, err = self.lab.spawn(self.lab.ns("hv1"), argv, f"agent-bad-{tag}")
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(10)
            self.fail(f"agent accepted the bad state ({tag}) and kept running")
        with open(err, errors="replace") as f:
            stderr = f.read()
        return proc.returncode, stderr, ready

    def check_bad(self, tag: str):
        mutate, obj, fld = BAD_STATES[tag]
        state = copy.deepcopy(self.lab.topo.state_dict())
        mutate(state)
        rc, stderr, ready = self.run_agent_expecting_exit(state, tag)
        self.assertNotEqual(rc, 0, f"agent exited 0 on bad state ({tag})\n{stderr}")
        # whole words: "ip" must not match inside "skip"
        self.assertRegex(stderr, rf"(?i)(?<![\w-]){re.escape(obj)}(?![\w-])",
                         f"stderr does not name object {obj!r}:\n{stderr}")
        self.assertRegex(stderr, rf"(?i)(?<![\w-]){re.escape(fld)}(?![\w-])",
                         f"stderr does not name field {fld!r}:\n{stderr}")
        self.assertEqual(self.lab.pinned(), [], f"pinned despite bad state ({tag})")
        self.assertFalse(os.path.exists(ready), "ready file written for a bad state")
        for dev in ("eth0", "va1", "va3"):
            self.assertEqual(self.lab.tc_filters("hv1", dev), "",
                             f"TC filter left on {dev} after bad state ({tag})")
        xdp = self.lab.exec("hv1", ["ip", "link", "show", "eth0"]).stdout
        self.assertNotIn("xdp", xdp)

    def test_bad_cidr(self):
        self.check_bad("bad_cidr")

    def test_vni_zero(self):
        self.check_bad("vni_zero")

    def test_endpoint_outside_subnet(self):
        self.check_bad("endpoint_outside_subnet")

    def test_unknown_node(self):
        self.check_bad("unknown_node")

    def test_bad_mac(self):
        self.check_bad("bad_mac")

    def test_underlay_interface(self):
        self.check_bad("underlay_interface")

    def test_loopback_interface(self):
        self.check_bad("loopback_interface")

    def test_good_state_is_accepted(self):
        """The same harness with the unmodified state: the agent gets ready
        (so the failures above are the mutations, not the harness)."""
        agent = self.lab.start_agent("hv1")
        self.addCleanup(self.lab.stop_agent, "hv1")
        self.assertIsNone(agent.proc.poll())


class LifecycleTest(LabTestCase):
    """Attach on start, detach and unpin on SIGTERM."""

    START_AGENTS = False
    WHOAMI = False

    def test_start_pins_and_attaches_then_sigterm_cleans_up(self):
        lab = self.lab
        local = [v.interface for v in lab.topo.vms_on("hv1")]
        agent = lab.start_agent("hv1")
        pins = lab.pinned("hv1")
        self.assertIn("weft/hv1/weft_stats", pins)
        self.assertIn("weft/hv1/weft_ep_by_ip", pins)
        # counters readable through the pin
        self.assertIn("pass_host", lab.counters("hv1"))
        for dev in ["eth0"] + local:
            self.assertNotEqual(lab.tc_filters("hv1", dev), "", f"no TC filter on {dev}")
        # a second, independent agent on hv2 pins under its own directory
        lab.start_agent("hv2")
        self.assertIn("weft/hv2/weft_stats", lab.pinned("hv2"))
        self.assertTrue(lab.ping("a1", "10.0.2.11", count=1).ok)

        rc = lab.stop_agent("hv1")
        self.assertEqual(rc, 0, f"agent exit status on SIGTERM; stderr:\n{agent.stderr()}")
        self.assertEqual(lab.pinned("hv1"), [], "pins left after SIGTERM")
        for dev in ["eth0"] + local:
            self.assertEqual(lab.tc_filters("hv1", dev), "", f"TC filter left on {dev}")
            self.assertEqual(lab.tc_filters("hv1", dev, "egress"), "",
                             f"TC egress filter left on {dev}")
        self.assertNotIn("xdp", lab.exec("hv1", ["ip", "link", "show", "eth0"]).stdout)
        # hv2's agent is untouched by hv1's shutdown
        self.assertIn("weft/hv2/weft_stats", lab.pinned("hv2"))
        rc = lab.stop_agent("hv2")
        self.assertEqual(rc, 0)
        self.assertEqual(lab.pinned(), [])

    def test_sigint_also_cleans_up(self):
        lab = self.lab
        agent = lab.start_agent("hv1")
        agent.proc.send_signal(2)  # SIGINT
        agent.proc.wait(10)
        lab.agents.pop("hv1", None)
        self.assertEqual(agent.proc.returncode, 0, agent.stderr())
        self.assertEqual(lab.pinned("hv1"), [])
        self.assertEqual(lab.tc_filters("hv1", "eth0"), "")


class ReloadTest(LabTestCase):
    """SIGHUP re-reads the state file."""

    NEW = VM("a5", "a-web", "10.0.1.12", "02:00:00:01:01:0c", "hv2")

    def restore_state(self):
        self.lab.write_state()
        self.lab.reload_agents()

    def test_sighup_adds_a_vm(self):
        lab = self.lab
        lab.add_vm(copy.deepcopy(self.NEW))
        lab.start_whoami(["a5"])
        # not in the state yet: nobody answers ARP for it, a5's packets are not bound
        self.assertFalse(lab.ping("a1", "10.0.1.12", count=2, timeout=2).ok)
        lab.write_state()
        t0 = time.monotonic()
        lab.reload_agents()
        r = lab.wait_ping("a1", "10.0.1.12", timeout=10)
        self.assertTrue(r.ok, f"a5 not reachable 10 s after SIGHUP:\n{r.output}")
        print(f"\n  a5 reachable {time.monotonic() - t0:.2f}s after SIGHUP", flush=True)
        self.assertEqual(lab.whoami("a1", "10.0.1.12"), "a5")   # cross-host L2
        self.assertEqual(lab.whoami("a5", "10.0.1.10"), "a1")   # a5's own interface bound
        self.assertEqual(lab.whoami("a5", "10.0.2.10"), "a3")   # routed from the new VM
        self.assertEqual(lab.whoami("a1", "10.0.1.11"), "a2")   # old state still there
        self.assertEqual(lab.check_agents_alive(), [])
        self.assertNotEqual(lab.tc_filters("hv2", "va5"), "")

    def test_sighup_with_bad_file_keeps_last_good_state(self):
        """docs/ARCHITECTURE.md §5: an update is validated as a whole and applied or not at
        all; a bad file on reload must not take the datapath down."""
        lab = self.lab
        state = lab.topo.state_dict()
        _find(state["segments"], "a-db").update(vni=0)
        lab.write_state(state)
        self.addCleanup(lab.write_state)
        lab.reload_agents()
        # give it the chance to apply something wrong, then check it did not
        time.sleep(1.0)
        self.assertEqual(lab.check_agents_alive(), [], "agent died on a bad reload")
        self.assertEqual(lab.whoami("a1", "10.0.2.11"), "a4")
        self.assertEqual(lab.whoami("a1", "10.0.1.11"), "a2")

    def test_sighup_binding_an_interface_the_agent_relies_on_is_refused(self):
        """An endpoint on the underlay or on loopback: the reload is refused,
        naming endpoint and field; the underlay program stays, traffic
        between hosts flows."""
        lab = self.lab
        self.addCleanup(self.restore_state)
        for interface, role in (("eth0", "the agent's underlay"), ("lo", "loopback")):
            state = lab.topo.state_dict()
            _find(state["endpoints"], "a3").update(interface=interface)
            lab.write_state(state)
            lab.reload_agent("hv1")
            expected = f'endpoint "a3": field "interface": "{interface}" is {role}'
            wait_for(lambda: expected in lab.agents["hv1"].stderr(), 5,
                     what=f"hv1's agent to refuse a3 on {interface}")
            self.assertEqual(lab.check_agents_alive(), [], "agent died on a refused reload")
            self.assertUnderlayProgram("hv1")
            self.assertReaches("a1", "10.0.1.11", "a2")  # cross-host L2
            self.assertReaches("a2", "10.0.2.10", "a3")  # cross-host routed, to a3

    def test_sighup_binding_the_underlay_by_another_name_binds_nothing(self):
        """An altname of the underlay passes the check by name: the agent
        resolves it to the underlay's ifindex and neither binds it nor gives
        it the VM program."""
        lab = self.lab
        altname = ["ip", "link", "property", "add", "dev", "eth0", "altname", "weftunder"]
        cp = lab.exec("hv1", altname)
        if cp.returncode != 0:
            self.skipTest(f"no altnames here: {cp.stderr}")
        self.addCleanup(lab.exec, "hv1", [*altname[:3], "del", *altname[4:]])
        self.addCleanup(self.restore_state)
        state = lab.topo.state_dict()
        _find(state["endpoints"], "a3").update(interface="weftunder")
        lab.write_state(state)
        lab.reload_agent("hv1")
        wait_for(lambda: "interface weftunder is the agent's underlay eth0"
                 in lab.agents["hv1"].stderr(), 5, what="hv1's agent to skip weftunder")
        self.assertEqual(lab.check_agents_alive(), [])
        self.assertUnderlayProgram("hv1")
        self.assertReaches("a1", "10.0.1.11", "a2")  # cross-host L2


if __name__ == "__main__":
    unittest.main()
