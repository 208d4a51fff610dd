"""The control plane end to end: weft-controller in its own namespace on the
underlay (198.18.0.254), both Weft hypervisors' agents with --controller over
mutual TLS (a throwaway CA made with openssl), real traffic.

  - agents start with no state and become ready on the first snapshot;
  - an edit of the controller's state file (a new VM) makes the VM reachable
    from the other host within a bounded wait, and every node reports the
    new version through Admin GetRealization;
  - a bad edit is refused (the controller's log names object and field) and
    traffic keeps flowing; so is a file built to exhaust the YAML reader
    (nested aliases, deep nesting);
  - `weftctl --controller ... apply -f FILE` installs a state through the
    Admin API (get state shows it, traffic follows it) until the next change
    of the state file, which wins again; a bad file is refused by weftctl
    itself, naming file, object and field, and nothing reaches the controller;
  - IPv6 beside IPv4 in a tenant's segments, endpoints and routes, a segment's
    VLAN bridge and a physical host on it, are accepted, served by `get state`
    and sent to the agents, whose realization says they realize IPv6 (their
    Hello announces ipv6-tenants) but not the bridge (no vlan-bridging): IPv4
    keeps flowing, Neighbor Discovery and router advertisements configure a
    VM, its IPv6 reaches a VM of its segment on the other host, and the
    gateway answers a hop limit of 1 with Time Exceeded;
  - with the controller killed, traffic continues; restarted (with a change
    made while it was down), the agents reconnect and converge;
  - identities: an agent with hv1's certificate saying it is hv2 is refused
    (PERMISSION_DENIED) and hv2's realization is untouched; a node's
    certificate and the controller's own cannot use the Admin API (the state
    is unchanged); --insecure on a non-loopback address and a private key
    others can read stop the controller at start.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import shutil
import time
import unittest

from netns_common import ControlPlaneTestCase
from weftlab import VM, LabError, wait_for
from weftlab.control import CONTROLLER_IP, SYNC_PORT
from weftlab.ns import ip, ip_batch

# a new VM on hv2 in tenant A's web segment, and one added while the
# controller is down
A5 = VM("a5", "a-web", "10.0.1.12", "02:00:00:01:01:0c", "hv2")
A6 = VM("a6", "a-db", "10.0.2.12", "02:00:00:01:02:0c", "hv2")

CONVERGE_SECONDS = 10.0


def _billion_laughs() -> str:
    """1,000 policies x 1,000 rules x 1,000 peer CIDRs, by aliases."""
    cidrs = "[&c 10.0.0.0/8" + ", *c" * 999 + "]"
    rules = "[&r {direction: ingress, action: allow, peer: {cidrs: %s}}" % cidrs + ", *r" * 999 + "]"
    return ("policies:\n- &p {name: p, tenant: t, applied_to: {groups: [g]}, rules: %s}\n" % rules
            + "- *p\n" * 999)


def _link_local(mac: str) -> str:
    """fe80::/64 with the modified EUI-64 of `mac`, as iproute2 prints it."""
    b = bytes.fromhex(mac.replace(":", ""))
    return str(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + bytes([b[0] ^ 2]) + b[1:3]
                                     + b"\xff\xfe" + b[3:]))


def _find(items, name):
    return next(i for i in items if i["name"] == name)


class ControlPlaneTest(ControlPlaneTestCase):
    # Unsolicited router advertisements within the test's patience (600 s
    # by default).
    AGENT_FLAGS = ["--router_advert_seconds", "1"]

    # --- helpers -----------------------------------------------------------------
    def controller_log(self) -> str:
        return self.cp.log()

    def wait_enforced(self, version: int | None = None, timeout: float = CONVERGE_SECONDS) -> dict:
        """Polls GetRealization until every Weft node enforces `version`
        (default: the controller's current one)."""
        last = {}
        def done():
            nonlocal last
            last = self.cp.realization(version or 0)
            return last.get("all_enforcing")
        try:
            wait_for(done, timeout, what="every node enforcing the version")
        except LabError:
            self.fail(f"not realized within {timeout}s: {json.dumps(last, indent=1)}\n"
                      f"controller log:\n{self.controller_log()[-3000:]}")
        return last

    def write_controller_state(self, state=None):
        self.lab.write_state(state, path=self.cp.state_file)

    def write_controller_state_and_wait(self, state=None) -> int:
        """Writes a good state file and waits until the controller serves
        it (it reads a file once it has been still for 200 ms) and every
        node enforces it; returns its version."""
        before = int(self.cp.realization()["controller_version"])
        self.write_controller_state(state)
        wait_for(lambda: int(self.cp.realization()["controller_version"]) > before, 5,
                 what="the controller to load the state file")
        return int(self.wait_enforced()["controller_version"])

    # --- tests (in order: names sort) ------------------------------------------
    def test_1_agents_start_from_the_controller(self):
        r = self.wait_enforced()
        self.assertEqual(sorted(n["node"] for n in r["nodes"]), ["hv1", "hv2"])
        self.assertTrue(all(n["connected"] for n in r["nodes"]), r)
        self.assertReaches("a1", "10.0.1.11", "a2")   # cross-host L2
        self.assertReaches("a1", "10.0.2.11", "a4")   # cross-host routed
        self.assertReaches("b2", "10.0.2.20", "b4")   # tenant B, overlapping addresses
        for node in ("hv1", "hv2"):
            self.assertIn("connected as node", self.lab.agents[node].stderr())

    def test_2_edit_adds_a_vm(self):
        lab = self.lab
        lab.add_vm(copy.deepcopy(A5))
        lab.start_whoami(["a5"])
        self.assertFalse(lab.ping("a1", A5.ip, count=1, timeout=1).ok)
        before = self.cp.realization()["controller_version"]
        t0 = time.monotonic()
        self.write_controller_state()
        r = lab.wait_ping("a1", A5.ip, timeout=CONVERGE_SECONDS)
        self.assertTrue(r.ok, f"a5 not reachable {CONVERGE_SECONDS}s after the edit:\n"
                              f"{r.output}\n{self.controller_log()[-2000:]}")
        print(f"\n  a5 reachable {time.monotonic() - t0:.2f}s after the edit", flush=True)
        real = self.wait_enforced()
        self.assertGreater(int(real["controller_version"]), int(before))
        self.assertEqual(lab.whoami("a1", A5.ip), "a5")

        # Removed from the state it is unreachable again (the VM itself stays
        # up); added back, reachable again.
        vm = next(v for v in lab.topo.vms if v.name == "a5")
        lab.topo.vms.remove(vm)
        self.write_controller_state()
        wait_for(lambda: not lab.ping("a1", A5.ip, count=1, timeout=1).ok,
                 CONVERGE_SECONDS, what="a5 unreachable after its removal from the state")
        self.assertIsNone(lab.whoami("a1", A5.ip, timeout=1.5))
        lab.topo.vms.append(vm)
        self.write_controller_state()
        self.assertTrue(lab.wait_ping("a1", A5.ip, timeout=CONVERGE_SECONDS).ok,
                        "a5 not reachable again after it was added back")
        self.assertEqual(lab.whoami("a5", "10.0.2.10"), "a3")  # routed from the new VM

    def test_3_bad_edit_is_refused_and_traffic_flows(self):
        lab = self.lab
        version = self.cp.realization()["controller_version"]
        state = lab.topo.state_dict()
        _find(state["segments"], "a-db").update(vni=0)
        self.write_controller_state(state)
        self.addCleanup(self.write_controller_state_and_wait)
        wait_for(lambda: "refused the new state file" in self.controller_log(), 5,
                 what="the controller to refuse the edit")
        refusal = [l for l in self.controller_log().splitlines() if "refused the new" in l][-1]
        self.assertIn('segment "a-db"', refusal)
        self.assertIn('field "vni"', refusal)
        time.sleep(0.5)
        self.assertEqual(self.cp.realization()["controller_version"], version)
        self.assertReaches("a1", "10.0.2.11", "a4")
        self.assertReaches("a1", A5.ip, "a5")
        self.assertEqual(lab.check_agents_alive(), [])

    def test_3_endpoint_on_an_interface_the_agent_relies_on_is_nacked(self):
        """The controller cannot tell which interfaces an agent relies on; the
        agent refuses the state with a Nack naming endpoint and field, and
        keeps its underlay program and its traffic."""
        lab = self.lab
        self.addCleanup(self.write_controller_state_and_wait)
        for interface, role in (("eth0", "the agent's underlay"), ("lo", "loopback")):
            state = lab.topo.state_dict()
            _find(state["endpoints"], "a3").update(interface=interface)
            self.write_controller_state(state)
            expected = f'endpoint "a3": field "interface": "{interface}" is {role}'
            last = {}
            def nacked():
                nonlocal last
                last = self.cp.realization()
                hv1 = next((n for n in last.get("nodes", []) if n["node"] == "hv1"), {})
                return expected in hv1.get("nack_error", "")
            try:
                wait_for(nacked, CONVERGE_SECONDS, what=f"hv1 to refuse a3 on {interface}")
            except LabError:
                self.fail(f"no Nack: {json.dumps(last, indent=1)}")
            self.assertEqual(lab.check_agents_alive(), [])
            self.assertUnderlayProgram("hv1")
            self.assertReaches("a1", "10.0.1.11", "a2")  # cross-host L2
            self.assertReaches("a2", "10.0.2.10", "a3")  # cross-host routed, to a3
        self.write_controller_state_and_wait()

    def test_3_version_without_room_is_refused(self):
        """A version near 2^64 would wrap at the next change, and every
        agent would refuse the wrapped one: the Admin API refuses it."""
        cp = self.cp
        before = int(cp.realization()["controller_version"])
        state = self.lab.topo.state_dict()
        state["version"] = 2**64 - 1
        path = self.lab.write_state(state, path=f"{cp.state_file}.version.yaml")
        r = cp.weftctl("apply", "-f", path)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn('state: field "version": 18446744073709551615 is over', r.stderr)
        self.assertEqual(int(cp.realization()["controller_version"]), before)

    def test_3b_a_file_that_would_exhaust_the_reader_is_refused(self):
        """A billion laughs (13 KB of nested aliases, a billion CIDRs once
        expanded: the controller died of bad_alloc) and a million levels of
        nesting (the reader hung for minutes) are refused like any bad edit:
        the controller keeps serving and the agents keep the last version."""
        lab = self.lab
        version = self.write_controller_state_and_wait()
        self.addCleanup(self.write_controller_state_and_wait)
        for text, bound in ((_billion_laughs(), "makes the aliases repeat more than"),
                            ("nodes: " + "[" * 1_000_000 + "]" * 1_000_000 + "\n",
                             "nested more than 64 levels deep")):
            refused = self.controller_log().count("refused the new state file")
            self.write_controller_state(text)
            wait_for(lambda: self.controller_log().count("refused the new state file") > refused,
                     5, what="the controller to refuse the file")
            refusal = [l for l in self.controller_log().splitlines() if "refused the new" in l][-1]
            self.assertIn(f"{self.cp.state_file}:", refusal)
            self.assertIn(bound, refusal)
            self.assertIsNone(self.cp.proc.poll(), "weft-controller exited")
            real = self.cp.realization()
            self.assertEqual(int(real["controller_version"]), version)
            self.assertTrue(real.get("all_enforcing"), real)
        self.assertReaches("a1", "10.0.2.11", "a4")
        self.assertEqual(lab.check_agents_alive(), [])

    def test_3c_ipv6_forwarded_and_a_vlan_bridge_carried_and_reported_unrealized(self):
        lab, cp = self.lab, self.cp
        state = lab.topo.state_dict()
        dual = {"a-web": ("fd00:a:0:1::/64", "fd00:a:0:1::1"),
                "a-db": ("fd00:a:0:2::/64", "fd00:a:0:2::1")}
        for seg in state["segments"]:
            if seg["name"] in dual:
                seg["subnet6"], seg["gateway6"] = dual[seg["name"]]
            if seg["name"] == "a-web":
                seg["vlan_bridge"] = {"node": "hv2", "standby": "hv1", "trunk": "eth9",
                                      "vlan": 100}
        ip6 = {"a1": "fd00:a:0:1::10", "a2": "fd00:a:0:1::11"}
        for ep in state["endpoints"]:
            if ep["name"] in ip6:
                ep["ip6"] = ip6[ep["name"]]
        state.setdefault("routes", []).append(
            {"tenant": "A", "prefix": "2001:db8:66::/48", "nodes": ["hv2"], "segment": "a-web"})
        state["physical_hosts"] = [{"name": "rack-1", "segment": "a-web", "ip": "10.0.1.50"}]
        self.write_controller_state_and_wait(state)
        self.addCleanup(self.write_controller_state_and_wait)
        served = cp.admin("get", "state")["state"]
        self.assertEqual(_find(served["segments"], "a-web")["subnet6"], "fd00:a:0:1::/64")
        self.assertEqual(_find(served["endpoints"], "a1")["ip6"], "fd00:a:0:1::10")
        self.assertEqual(_find(served["segments"], "a-web")["vlan_bridge"]["vlan"], 100)
        # an IPv6 route goes in a list of its own, which older agents ignore
        self.assertEqual([r["prefix"] for r in served["routes6"]], ["2001:db8:66::/48"])
        self.assertEqual(_find(served["physical_hosts"], "rack-1")["ip"], "10.0.1.50")
        for node in self.cp.realization()["nodes"]:
            self.assertEqual(node.get("unrealized"), ["vlan-bridging"], node)
            self.assertIn("ipv6-tenants", node.get("capabilities", []), node)
        self.assertIn("vlan-bridging", cp.weftctl("get", "realization").stdout)
        # and each agent says it of itself
        status = lab.exec("hv1", [cp.binary("weftctl"), "--socket", lab.agent_socket("hv1"),
                                  "--json", "status"], check=True)
        self.assertEqual(json.loads(status.stdout).get("unrealized"), ["vlan-bridging"],
                         status.stdout)
        self.assertIn("uses what this agent does not realize: vlan-bridging",
                      lab.agents["hv1"].stderr())

        self.assertReaches("a1", "10.0.1.11", "a2")
        # a1 and a2 speak IPv6 to each other. Neighbor Discovery is answered
        # at their ports (bpf/lib/nd.h).
        answered = lab.counters("hv1").get("nd_reply", 0)
        for vm in ip6:
            lab.exec(vm, ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
                          "net.ipv6.conf.eth0.disable_ipv6=0"])
            self.addCleanup(lab.exec, vm, ["sysctl", "-q", "-w",
                                           "net.ipv6.conf.all.disable_ipv6=1"])
            lab.exec(vm, ["ip", "-6", "addr", "add", f"{ip6[vm]}/64", "dev", "eth0", "nodad"])
        # A router advertisement (the answer to a1's solicitation, or the
        # agent's unsolicited one, whichever comes first; the BPF tables test
        # each) gives a1 a default route via the gateway's link-local
        # address and the MTU the overlay carries.
        gateway_mac = _find(state["segments"], "a-web")["gateway_mac"]
        wait_for(lambda: f"via {_link_local(gateway_mac)} dev eth0" in lab.exec(
                     "a1", ["ip", "-6", "route", "show", "default"]).stdout,
                 timeout=20, what="a1's default route from Weft's router advertisement")
        self.assertEqual(lab.exec("a1", ["sysctl", "-n", "net.ipv6.conf.eth0.mtu"]).stdout.strip(),
                         "1450", "the advertised MTU: the underlay's 1500 less VXLAN's 50")
        # An unsolicited advertisement may come before a1 probes its
        # link-local address: the probe is waited for.
        wait_for(lambda: lab.counters("hv1").get("nd_dad", 0) > 0, timeout=10,
                 what="a1's duplicate address probe counted (and left unanswered)")
        # The agent advertises unsolicited too (agent/router_adverts.h): a
        # default route lost comes back without a solicitation from a1.
        # (That it counts nothing is tests/bpf/router_adverts_test.cc's: a1
        # may solicit its neighbours meanwhile.)
        lab.exec("a1", ["ip", "-6", "route", "del", "default"])
        wait_for(lambda: "default via" in lab.exec(
                     "a1", ["ip", "-6", "route", "show", "default"]).stdout,
                 timeout=15, what="a1's default route from an unsolicited advertisement")

        # a1's IPv6 reaches a2 on hv2 (VXLAN there, decapsulated to a2); the
        # gateway answers no echo (nor does IPv4's).
        sent, received = lab.counters("hv1").get("encap", 0), lab.counters("hv2").get("decap", 0)
        ping = lab.exec("a1", ["ping", "-6", "-c", "2", "-i", "0.2", "-W", "2", ip6["a2"]],
                        check=False)
        self.assertEqual(ping.returncode, 0, ping.stdout)
        self.assertGreaterEqual(lab.counters("hv1").get("encap", 0) - sent, 2)
        self.assertGreaterEqual(lab.counters("hv2").get("decap", 0) - received, 2)
        unknown = lab.counters("hv1").get("unknown_destination", 0)
        ping = lab.exec("a1", ["ping", "-6", "-c", "1", "-W", "1", "fd00:a:0:1::1"], check=False)
        self.assertNotEqual(ping.returncode, 0, ping.stdout)
        self.assertGreater(lab.counters("hv1").get("unknown_destination", 0), unknown)
        # ... after its neighbor solicitations were answered: a2's MAC (a2
        # is on hv2) and the gateway's, as a router.
        a2_mac = _find(state["endpoints"], "a2")["mac"]
        neighbors = lab.exec("a1", ["ip", "-6", "neigh", "show", "dev", "eth0"]).stdout
        self.assertRegex(neighbors, rf"{ip6['a2']} lladdr {a2_mac} (?!router)", neighbors)
        self.assertRegex(neighbors, rf"fd00:a:0:1::1 lladdr {gateway_mac} router", neighbors)
        self.assertGreater(lab.counters("hv1").get("nd_reply", 0), answered)
        # Routing would expire a hop limit of 1: the gateway says so (ICMPv6
        # Time Exceeded, whose checksum a1's kernel verifies).
        expired = lab.counters("hv1").get("icmp_error", 0)
        ping = lab.exec("a1", ["ping", "-6", "-c", "1", "-t", "1", "-W", "2", "2001:db8:66::1"],
                        check=False)
        self.assertIn("From fd00:a:0:1::1 icmp_seq=1 Time exceeded", ping.stdout, ping.stdout)
        self.assertGreater(lab.counters("hv1").get("icmp_error", 0), expired)
        # weftctl trace takes IPv6 packets: a1's, found by its IPv6 address
        trace = [cp.binary("weftctl"), "--socket", lab.agent_socket("hv1"), "--json", "trace",
                 "--tenant", "1", "--src", ip6["a1"], "--dst", "2001:db8:66::1"]
        t = json.loads(lab.exec("hv1", trace + ["--ttl", "1"], check=True).stdout)
        self.assertEqual((t["reason"], t["output"]["protocol"], t["output"]["icmp_type"]),
                         ("icmp_error", "icmpv6", 3), t)
        t = json.loads(lab.exec("hv1", trace + ["--proto", "udp", "--dport", "53"],
                                check=True).stdout)
        self.assertEqual((t["reason"], t["dropped"]), ("encap", False), t)
        # weftctl on the host shows what the datapath holds, both families
        local = lab.exec("hv1", [cp.binary("weftctl"), "--socket", lab.agent_socket("hv1"),
                                 "endpoints"], check=True).stdout
        self.assertRegex(local, rf"a2 .* 10\.0\.1\.11 {ip6['a2']} ", local)

    def test_4_weftctl_apply_until_the_file_changes(self):
        lab, cp = self.lab, self.cp
        before = self.write_controller_state_and_wait()
        self.assertReaches("a1", "10.0.2.11", "a4")

        # A bad file: refused by weftctl before anything is sent.
        bad = lab.topo.state_dict()
        _find(bad["segments"], "a-db").update(vni=0)
        bad_path = lab.write_state(bad, path=f"{cp.state_file}.bad.yaml")
        log_before = self.controller_log().count("ApplyState")
        r = cp.weftctl("apply", "-f", bad_path)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        for part in (bad_path, 'segment "a-db"', 'field "vni"'):
            self.assertIn(part, r.stderr)
        self.assertEqual(self.controller_log().count("ApplyState"), log_before,
                         "weftctl sent a file it should have refused")
        self.assertEqual(int(cp.realization()["controller_version"]), before)

        # A good one without a4: installed, a4 unreachable, and the state file
        # on disk is untouched.
        state = lab.topo.state_dict()
        state["endpoints"] = [e for e in state["endpoints"] if e["name"] != "a4"]
        path = lab.write_state(state, path=f"{cp.state_file}.apply.yaml")
        with open(cp.state_file) as f:
            on_disk = f.read()
        r = cp.weftctl("apply", "-f", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        applied = int(r.stdout.split()[-1])  # "applied: controller version N"
        self.assertGreater(applied, before)
        self.assertIn("ApplyState", self.controller_log())
        served = cp.admin("get", "state")["state"]
        self.assertEqual(int(served["version"]), applied)
        self.assertNotIn("a4", [e["name"] for e in served["endpoints"]])
        self.wait_enforced(applied)
        wait_for(lambda: not lab.ping("a1", "10.0.2.11", count=1, timeout=1).ok,
                 CONVERGE_SECONDS, what="a4 unreachable after weftctl apply")
        with open(cp.state_file) as f:
            self.assertEqual(f.read(), on_disk)
        table = cp.weftctl("get", "realization", str(applied))
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn(f"version {applied} enforced by 2 of 2 nodes (all)", table.stdout)
        self.assertRegex(table.stdout, r"(?m)^hv1\s+yes\s+")

        # The next change of the state file replaces the applied state.
        self.assertGreater(self.write_controller_state_and_wait(), applied)
        self.assertIn("a4", [e["name"] for e in cp.admin("get", "state")["state"]["endpoints"]])
        self.assertTrue(lab.wait_ping("a1", "10.0.2.11", timeout=CONVERGE_SECONDS).ok,
                        "a4 not reachable again after the state file changed")

    def test_5_controller_down_traffic_flows_restart_converges(self):
        lab = self.lab
        self.write_controller_state_and_wait()
        self.cp.kill()
        time.sleep(1.0)
        self.assertEqual(lab.check_agents_alive(), [])
        self.assertReaches("a1", "10.0.1.11", "a2")
        self.assertReaches("a2", "10.0.2.10", "a3")
        if any(v.name == "a5" for v in lab.topo.vms):  # test_2 ran
            self.assertReaches("a1", A5.ip, "a5")
        # a change made while the controller is down reaches the agents once
        # it is back
        lab.add_vm(copy.deepcopy(A6))
        lab.start_whoami(["a6"])
        self.write_controller_state()
        t0 = time.monotonic()
        self.cp.start()
        real = self.wait_enforced(timeout=15)
        print(f"\n  converged {time.monotonic() - t0:.2f}s after the restart", flush=True)
        self.assertTrue(all(n["connected"] for n in real["nodes"]), real)
        r = lab.wait_ping("a1", A6.ip, timeout=CONVERGE_SECONDS)
        self.assertTrue(r.ok, f"a6 not reachable after the controller restart:\n{r.output}")
        self.assertEqual(lab.whoami("a3", A6.ip), "a6")
        self.assertReaches("a1", "10.0.1.11", "a2")
        for node in ("hv1", "hv2"):
            self.assertGreaterEqual(lab.agents[node].stderr().count("connected as node"), 2,
                                    f"agent {node} did not reconnect")

    def test_6_identities(self):
        lab, cp = self.lab, self.cp
        version = self.write_controller_state_and_wait()
        state_before = cp.admin("get", "state")["state"]

        # An agent with hv1's certificate saying --node hv2, on a host of its
        # own on the underlay (its own pins): refused before any view is sent.
        imp = lab.ns("imp")
        lab._add_ns(imp)
        ip(lab.underlay_ns, "link", "add", "imp", "type", "veth", "peer", "name", "eth0",
           "netns", imp)
        ip_batch(lab.underlay_ns, ["link set imp master br0", "link set imp up"])
        ip_batch(imp, ["addr add 198.18.0.253/24 dev eth0", "link set eth0 up"])
        bpffs = os.path.join(lab.bpffs, "impostor")
        os.makedirs(bpffs, exist_ok=True)
        ready = os.path.join(lab.dir, "impostor.ready")
        argv = [lab.agent_path, "--controller", f"{CONTROLLER_IP}:{SYNC_PORT}",
                *cp.tls_flags("hv1"), "--node", "hv2", "--underlay", "eth0", "--bpffs", bpffs,
                "--ready_file", ready, "--api_socket", os.path.join(lab.dir, "impostor.sock")]
        if lab.underlay_hook:
            argv += ["--underlay_hook", lab.underlay_hook]
        proc, _, err = lab.spawn(imp, argv, f"impostor-{time.monotonic_ns()}")
        try:
            wait_for(lambda: 'may not speak for node "hv2"' in self.controller_log(), 10,
                     what="the controller to refuse hv1's certificate saying hv2")
            time.sleep(1.0)
            self.assertFalse(os.path.exists(ready), "the impostor got a view")
        finally:
            proc.kill()
            proc.wait(10)
        with open(err, errors="replace") as f:
            self.assertNotIn("connected as node", f.read())
        refusal = [l for l in self.controller_log().splitlines() if "may not speak" in l][-1]
        self.assertIn("the certificate of node hv1", refusal)
        real = self.wait_enforced(version)
        hv2 = _find_node(real, "hv2")
        self.assertTrue(hv2["connected"], real)
        self.assertEqual(lab.check_agents_alive(), [])

        # The Admin API: a node's certificate and the controller's own are
        # refused; a valid state with no endpoints (it would cut every VM
        # off) changes nothing.
        wipe = lab.topo.state_dict()
        wipe["endpoints"] = []
        empty = lab.write_state(wipe, path=f"{cp.state_file}.empty.yaml")
        for who in ("hv1", "controller"):
            for command in (("apply", "-f", empty), ("get", "state")):
                r = cp.weftctl(*command, who=who)
                self.assertNotEqual(r.returncode, 0, f"{who} {command}: {r.stdout}")
        r = cp.weftctl("apply", "-f", empty, who="hv1")
        self.assertIn("node hv1 may not call the Admin API", r.stderr)
        self.assertEqual(cp.admin("get", "state")["state"], state_before)
        self.assertEqual(int(cp.realization()["controller_version"]), version)
        self.assertReaches("a1", "10.0.2.11", "a4")

        # Start-up refusals: plaintext on the underlay address, and a key
        # others can read.
        ctl = [cp.binary("weft-controller"), "--state", cp.state_file]
        r = lab.exec(cp.ns_name, [*ctl, "--listen", f"{CONTROLLER_IP}:7100", "--insecure"],
                     timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not a loopback address", r.stderr)
        r = lab.exec(cp.ns_name, [*ctl, "--listen", "127.0.0.1:7100", "--admin_listen",
                                  f"{CONTROLLER_IP}:7101", "--insecure"], timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"{CONTROLLER_IP}:7101 is not a loopback address", r.stderr)
        loose = os.path.join(cp.tls_dir, "loose.key")
        shutil.copy(os.path.join(cp.tls_dir, "controller.key"), loose)
        os.chmod(loose, 0o644)
        flags = cp.tls_flags("controller")
        flags[flags.index("--tls_key") + 1] = loose
        r = lab.exec(cp.ns_name, [*ctl, "--listen", "127.0.0.1:7100", *flags], timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(f"--tls_key {loose}: the private key is accessible to others",
                      r.stderr)


def _find_node(realization, name):
    return next(n for n in realization["nodes"] if n["node"] == name)


if __name__ == "__main__":
    unittest.main()
