"""weftctl against live agents in the lab (root; fails under CI without it,
skips elsewhere): the local API's socket, status, endpoints, routes,
counters, conntrack, trace (real program, live maps, nothing changed) and
monitor (a spoofed ping's drop event)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
import unittest

from netns_common import LabTestCase, unmet
import weftlab

A, B = 1, 2  # tenant ids of the default topology


class WeftctlTest(LabTestCase):
    @classmethod
    def prepare(cls, lab):
        cls.weftctl_path = os.path.join(weftlab.default_build_dir(), "weftctl")
        if not os.access(cls.weftctl_path, os.X_OK):
            unmet(f"no weftctl at {cls.weftctl_path} (build target weftctl)")
        # lab.agent_socket: in a directory the agent has to create, inside the run dir
        cls.sockets = {n.name: lab.agent_socket(n.name) for n in lab.topo.weft_nodes()}

    def ctl(self, node: str, *args: str, check: bool = True, as_json: bool = True):
        argv = [self.weftctl_path, "--socket", self.sockets[node]]
        if as_json:
            argv.append("--json")
        cp = subprocess.run(argv + list(args), capture_output=True, text=True, timeout=20)
        if check and cp.returncode != 0:
            self.fail(f"weftctl {' '.join(args)}: exit {cp.returncode}: {cp.stderr}")
        if not as_json:
            return cp
        return json.loads(cp.stdout) if cp.returncode == 0 else cp

    def counters(self, node: str) -> dict[str, int]:
        return {c["reason"]: int(c["packets"]) for c in self.ctl(node, "counters")["counters"]}

    def ct_stats(self, node: str) -> dict[str, int]:
        return {c["name"]: int(c["count"]) for c in self.ctl(node, "counters")["ct_stats"]}

    # --- the socket ---------------------------------------------------------
    def test_socket_is_root_only(self):
        st = os.stat(self.sockets["hv1"])
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_uid, 0)

    # --- state ----------------------------------------------------------------
    def test_status_shows_attached_programs(self):
        s = self.ctl("hv1", "status")
        self.assertEqual(s["node"], "hv1")
        self.assertEqual(s["mode"], "standalone")
        progs = {p["interface"]: p for p in s["programs"]}
        self.assertEqual(progs["eth0"]["program"], "weft_underlay_tc")
        for vm in self.lab.topo.vms_on("hv1"):
            self.assertEqual(progs[vm.interface]["program"], "weft_vm_ingress", progs)
            self.assertGreater(int(progs[vm.interface]["prog_id"]), 0)
        self.assertGreater(int(progs["eth0"]["prog_id"]), 0)
        # the same ids tc shows
        self.assertIn(f"id {progs['va1']['prog_id']}", self.lab.tc_filters("hv1", "va1"))
        slot, gen = self.lab.policy_ctl("hv1")
        self.assertEqual((s["policy_slot"], s["policy_generation"]), (slot, gen))
        human = self.ctl("hv1", "status", as_json=False).stdout
        self.assertRegex(human, r"va1\s+\d+\s+tc\s+weft_vm_ingress\s+\d+")

    def test_endpoints_match_the_state(self):
        eps = self.ctl("hv1", "endpoints")["endpoints"]
        got = {(e["tenant_id"], e["ip"]): e for e in eps}
        topo = self.lab.topo
        want = {(topo.tenant_of(v).id, v.ip): v for v in topo.vms}
        self.assertEqual(set(got), set(want))
        for key, vm in want.items():
            e = got[key]
            self.assertEqual(e["name"], vm.name)
            self.assertEqual(e["mac"], vm.mac)
            self.assertEqual(e["local"], vm.node == "hv1", e)
            if vm.node == "hv1":
                self.assertEqual(e["interface"], vm.interface)
            else:
                self.assertEqual(e["vtep"], topo.node(vm.node).vtep)
        only_b = self.ctl("hv1", "endpoints", "--tenant", str(B))["endpoints"]
        self.assertEqual({e["tenant_id"] for e in only_b}, {B})

    def test_routes_match_the_state(self):
        routes = self.ctl("hv1", "routes")["routes"]
        got = {(r["tenant_id"], r["prefix"]): r for r in routes}
        for seg in self.lab.topo.segments:
            r = got[(self.lab.topo.tenant(seg.tenant).id, seg.subnet)]
            self.assertEqual((r["kind"], r["vni"], r["segment"]), ("connected", seg.vni, seg.name))
        self.assertEqual(got[(A, "10.66.0.0/16")]["kind"], "blackhole")
        human = self.ctl("hv1", "routes", as_json=False).stdout
        self.assertRegex(human, r"A\(1\)\s+10\.66\.0\.0/16\s+blackhole")

    # --- traffic --------------------------------------------------------------
    def test_counters_rise_with_traffic(self):
        before = self.counters("hv1")["encap"]
        self.assertTrue(self.lab.ping("a1", "10.0.1.11", count=3).ok)
        self.assertGreaterEqual(self.counters("hv1")["encap"], before + 3)

    def test_conntrack_lists_flows_with_both_directions(self):
        self.assertTrue(self.lab.ping("a1", "10.0.2.11", count=2).ok)
        self.assertEqual(self.lab.whoami("a1", "10.0.2.11"), "a4")
        ct = self.ctl("hv1", "conntrack", "--tenant", str(A), "--addr", "10.0.2.11")
        flows = {(e["protocol"], e["src"], e["dst"], e["dport"]): e for e in ct["entries"]}
        tcp = flows.get(("tcp", "10.0.1.10", "10.0.2.11", weftlab.WHOAMI_PORT))
        self.assertIsNotNone(tcp, ct)
        self.assertGreater(int(tcp["packets_orig"]), 0)
        self.assertGreater(int(tcp["packets_reply"]), 0)
        self.assertIn("egress", tcp["flags"])
        icmp = [e for e in ct["entries"] if e["protocol"] == "icmp" and e["src"] == "10.0.1.10"]
        self.assertTrue(icmp and int(icmp[0]["packets_reply"]) > 0, ct)
        # filters: another tenant, another port
        other = self.ctl("hv1", "conntrack", "--tenant", str(B), "--addr", "10.0.2.11",
                         "--port", str(weftlab.WHOAMI_PORT))
        self.assertEqual([e for e in other["entries"] if e["src"] == "10.0.1.10"], [])
        human = self.ctl("hv1", "conntrack", "--port", str(weftlab.WHOAMI_PORT),
                         as_json=False).stdout
        self.assertIn(f"10.0.2.11:{weftlab.WHOAMI_PORT}", human)

    def test_a_bad_option_value_is_a_usage_error(self):
        for args, named in ((["monitor", "--count", "x"], "--count x"),
                            (["monitor", "--timeout", "soon"], "--timeout soon"),
                            (["endpoints", "--tenant", "-1"], "--tenant -1"),
                            (["trace", "--tenant", "1", "--src", "10.0.1.10", "--dst",
                              "10.0.1.11", "--ttl", "1000"], "--ttl 1000")):
            cp = self.ctl("hv1", *args, check=False, as_json=False)
            self.assertEqual(cp.returncode, 2, f"{args}: {cp.stderr}")
            self.assertIn(f"weftctl: {named}", cp.stderr)
            self.assertIn("usage: weftctl", cp.stderr)

    # --- trace ----------------------------------------------------------------
    def trace(self, *args):
        return self.ctl("hv1", "trace", *args)

    def test_trace_cross_host_encapsulates_to_the_right_vtep(self):
        t = self.trace("--ingress-iface", "va1", "--src", "10.0.1.10", "--dst", "10.0.2.11",
                       "--proto", "tcp", "--dport", "7777", "--tcp-flags", "S")
        self.assertEqual(t["reason"], "encap", t)
        self.assertFalse(t["dropped"])
        self.assertTrue(t["encapsulated"], t)
        self.assertEqual(t["outer"]["dst"], "198.18.0.2")   # a4 lives on hv2
        self.assertEqual(t["outer"]["src"], "198.18.0.1")
        self.assertEqual(t["outer_vni"], 1002)              # a-db's VNI: routed at the sender
        self.assertEqual((t["route"], t["vni"], t["vtep"]), ("connected", 1002, "198.18.0.2"))
        self.assertEqual(t["output"]["dst_mac"], self.lab.topo.vm("a4").mac)
        self.assertEqual(t["output"]["ttl"], 63)
        self.assertEqual(t["conntrack"], "miss")
        self.assertTrue(t["policy_judged"])
        self.assertEqual(t["policy_action"], "allow")
        human = self.ctl("hv1", "trace", "--ingress-iface", "va1", "--src", "10.0.1.10",
                         "--dst", "10.0.2.11", as_json=False).stdout
        self.assertIn("VXLAN VNI 1002 to VTEP 198.18.0.2", human)

    def test_trace_by_tenant_and_from_the_underlay(self):
        t = self.trace("--tenant", str(B), "--src", "10.0.2.11", "--dst", "10.0.1.10")
        self.assertEqual(t["ingress_iface"], "vb2")
        self.assertEqual((t["reason"], t["egress_iface"]), ("deliver_local", "vb1"), t)
        u = self.trace("--tenant", str(A), "--from-underlay", "--src", "10.0.1.11",
                       "--dst", "10.0.1.10")
        self.assertEqual(u["program"], "weft_underlay_tc")
        self.assertEqual((u["reason"], u["egress_iface"]), ("decap", "va1"), u)

    def test_trace_of_a_spoofed_packet(self):
        t = self.trace("--ingress-iface", "va1", "--src", "10.0.1.99", "--dst", "10.0.1.11")
        self.assertEqual(t["reason"], "spoofed", t)
        self.assertTrue(t["dropped"])
        self.assertTrue(t["summary"].startswith("DROP (spoofed)"), t["summary"])

    def test_trace_changes_nothing(self):
        port = "9"  # no flow on it
        args = ("--ingress-iface", "va1", "--src", "10.0.1.10", "--dst", "10.0.2.11",
                "--proto", "tcp", "--dport", port)
        c0, s0 = self.counters("hv1"), self.ct_stats("hv1")
        for _ in range(3):
            self.assertEqual(self.trace(*args)["reason"], "encap")
            self.assertEqual(self.trace("--ingress-iface", "va1", "--src", "10.0.1.99",
                                        "--dst", "10.0.1.11")["reason"], "spoofed")
        c1, s1 = self.counters("hv1"), self.ct_stats("hv1")
        ct = self.ctl("hv1", "conntrack", "--port", port)
        self.assertEqual(ct["entries"], [], "a trace created a conntrack entry")
        for reason in ("encap", "spoofed"):
            self.assertEqual(c1[reason], c0[reason], f"a trace bumped {reason}")
        self.assertEqual(s1, s0, "a trace changed weft_ct_stats")
        # a hit on a live flow leaves its counters alone too
        self.assertEqual(self.lab.whoami("a1", "10.0.2.11"), "a4")
        live = self.ctl("hv1", "conntrack", "--port", str(weftlab.WHOAMI_PORT),
                        "--addr", "10.0.2.11")["entries"]
        t = self.trace("--ingress-iface", "va1", "--src", "10.0.1.10", "--dst", "10.0.2.11",
                       "--proto", "tcp", "--dport", str(weftlab.WHOAMI_PORT), "--sport",
                       str(live[-1]["sport"]), "--tcp-flags", "A")
        self.assertEqual(t["conntrack"], "hit", t)
        after = self.ctl("hv1", "conntrack", "--port", str(live[-1]["sport"]))["entries"]
        self.assertEqual(after[0]["packets_orig"], live[-1]["packets_orig"])

    # --- monitor --------------------------------------------------------------
    def test_monitor_shows_a_spoofed_drop(self):
        argv = [self.weftctl_path, "--socket", self.sockets["hv1"], "--json", "monitor",
                "--reason", "spoofed", "--tenant", str(A), "--count", "1", "--timeout", "20"]
        mon = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = mon.stderr.readline()  # subscribed
            self.assertIn("monitoring", line)
            self.lab.exec("a1", ["ip", "addr", "add", "10.0.1.99/24", "dev", "eth0"], check=True)
            try:
                deadline = time.monotonic() + 10
                while mon.poll() is None and time.monotonic() < deadline:
                    self.lab.ping("a1", "10.0.1.11", count=1, timeout=1, src="10.0.1.99")
            finally:
                self.lab.exec("a1", ["ip", "addr", "del", "10.0.1.99/24", "dev", "eth0"])
            out, err = mon.communicate(timeout=15)
        finally:
            if mon.poll() is None:
                mon.kill()
                mon.wait()
        self.assertEqual(mon.returncode, 0, err)
        ev = json.loads(out.splitlines()[0])
        self.assertEqual((ev["type"], ev["reason"], ev["tenant_id"]), ("drop", "spoofed", A), ev)
        self.assertEqual(ev["src"], "10.0.1.99")
        self.assertEqual(ev["interface"], "va1")



class WeftctlLargeStateTest(LabTestCase):
    """An answer longer than gRPC's 4 MiB default message: hv1 knows
    100,000 endpoints more (of tenant A, on the foreign node lx1), and weftctl
    lists them all, as text and as JSON (the agent streams them in messages
    of 1 MiB)."""

    START_AGENTS = False
    WHOAMI = False
    EXTRA_ENDPOINTS = 100_000

    @classmethod
    def prepare(cls, lab):
        cls.weftctl_path = os.path.join(weftlab.default_build_dir(), "weftctl")
        if not os.access(cls.weftctl_path, os.X_OK):
            unmet(f"no weftctl at {cls.weftctl_path} (build target weftctl)")
        state = lab.topo.state_dict()
        state["segments"].append({"name": "a-big", "tenant": "A", "vni": 1900,
                                  "subnet": "10.128.0.0/14", "gateway": "10.128.0.1",
                                  "gateway_mac": "02:fe:00:00:19:00"})
        base = (10 << 24) | (128 << 16)
        for k in range(cls.EXTRA_ENDPOINTS):
            ip = base + 2 + k
            state["endpoints"].append({
                "name": f"big{k}", "segment": "a-big",
                "ip": f"{ip >> 24}.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}",
                "mac": f"02:10:00:{(k >> 16) & 255:02x}:{(k >> 8) & 255:02x}:{k & 255:02x}",
                "node": "lx1"})
        state_file = lab.write_state(state, path=os.path.join(lab.dir, "big-state.yaml"))
        cls.socket = lab.agent_socket("hv1")
        lab.start_agent("hv1", state_file=state_file, timeout=120)

    def ctl(self, *args: str) -> str:
        cp = subprocess.run([self.weftctl_path, "--socket", self.socket] + list(args),
                            capture_output=True, text=True, timeout=60)
        self.assertEqual(cp.returncode, 0, f"weftctl {' '.join(args)}: {cp.stderr}")
        return cp.stdout

    def test_endpoints_lists_them_all(self):
        eps = json.loads(self.ctl("--json", "endpoints"))["endpoints"]
        big = {e["ip"] for e in eps if e["segment"] == "a-big"}
        self.assertEqual(len(big), self.EXTRA_ENDPOINTS)
        self.assertIn("10.129.134.161", big)  # the last: 10.128.0.2 + 99,999
        text = self.ctl("endpoints").splitlines()
        self.assertTrue(text[0].startswith("TENANT"), text[0])
        self.assertEqual(len(text) - 1, len(eps))  # one line each, under the header
        self.assertEqual(sum(" a-big " in line for line in text), self.EXTRA_ENDPOINTS)


if __name__ == "__main__":
    unittest.main()
