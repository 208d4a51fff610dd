"""The lab itself, without any agent: the topology is what the tests assume
(namespaces, veths, addresses, MTUs, the plain Linux vxlan host), the kernel
reference mode reaches what the matrix expects (the IPv6 rows of run_lab's
dual-stack matrix too), captures count, the state file matches the
topology, and teardown leaves nothing behind."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import unittest

from netns_common import LabTestCase, require_lab, unmet, weftlab
from weftlab import (Lab, LabError, Tenant, Topology, VM, default_topology, north_south,
                     with_dual_stack)
from weftlab.topology import link_local_of, overlapping_segments
from weftlab import ns as wns


def root_ns_snapshot() -> dict:
    """Links, addresses, routes and rules of the root namespace, and the
    mount table (what the lab must never change)."""
    out = {}
    for key, argv in {"links": ["ip", "-o", "link", "show"],
                      "addrs": ["ip", "-o", "addr", "show"],
                      "routes": ["ip", "route", "show", "table", "all"],
                      "rules": ["ip", "rule", "show"]}.items():
        text = wns.run(argv, check=False).stdout
        # counters and timers are not state
        text = re.sub(r"(valid_lft|preferred_lft) \S+", "", text)
        out[key] = sorted(text.splitlines())
    with open("/proc/self/mounts") as f:
        out["mounts"] = sorted(l for l in f.read().splitlines() if "/weft-wft" in l)
    return out


class KernelTopologyTest(LabTestCase):
    """Kernel reference mode: every host a plain Linux vxlan/bridge host,
    with an anycast gateway and per-tenant tables (no Weft), for tenants
    with dual stack (the lab run's topology)."""

    MODE = "kernel"
    NEEDS_AGENT = False

    @classmethod
    def make_topology(cls):
        return with_dual_stack(default_topology())

    def vm_ip_json(self, vm, *args):
        return json.loads(self.lab.exec(vm, ["ip", "-j", *args], check=True).stdout)

    def test_names_carry_the_run_prefix(self):
        self.assertRegex(self.lab.prefix, r"^wft[0-9a-f]{6}-$")
        ours = [n for n in weftlab.list_netns() if n.startswith(self.lab.prefix)]
        want = {self.lab.ns(x) for x in ["ul"] + [n.name for n in self.lab.topo.nodes]
                + [v.name for v in self.lab.topo.vms]}
        self.assertEqual(set(ours), want)

    def test_vm_interfaces(self):
        topo = self.lab.topo
        for vm in topo.vms:
            seg = topo.segment(vm.segment)
            with self.subTest(vm=vm.name):
                link = self.vm_ip_json(vm.name, "link", "show", "eth0")[0]
                self.assertEqual(link["address"], vm.mac)
                self.assertEqual(link["mtu"], vm.mtu)
                self.assertIn("UP", link["flags"])
                addrs = self.vm_ip_json(vm.name, "-4", "addr", "show", "eth0")[0]["addr_info"]
                self.assertEqual([(a["local"], a["prefixlen"]) for a in addrs],
                                 [(vm.ip, seg.prefixlen)])
                routes = self.vm_ip_json(vm.name, "route", "show", "default")
                self.assertEqual(routes[0]["gateway"], seg.gateway)
                # IPv6 on eth0 only: its global address (no DAD), the
                # link-local one, a static default route via the gateway6
                v6 = self.lab.exec(vm.name, ["sysctl", "-n", "net.ipv6.conf.lo.disable_ipv6",
                                             "net.ipv6.conf.eth0.disable_ipv6",
                                             "net.ipv6.conf.eth0.accept_ra"])
                self.assertEqual(v6.stdout.split(), ["1", "0", "0"])
                addrs = self.vm_ip_json(vm.name, "-6", "addr", "show", "eth0")[0]["addr_info"]
                self.assertEqual(sorted((a["local"], a["prefixlen"]) for a in addrs),
                                 sorted([(vm.ip6, 64), (link_local_of(vm.mac),
                                                        64)]))
                self.assertFalse([a for a in addrs if a.get("tentative")], addrs)
                routes = self.vm_ip_json(vm.name, "-6", "route", "show", "default")
                self.assertEqual([r["gateway"] for r in routes], [seg.gateway6])
                host = json.loads(wns.ip(self.lab.ns(vm.node), "-j", "link", "show",
                                         vm.interface).stdout)[0]
                self.assertIn("UP", host["flags"])
                self.assertIn("LOWER_UP", host["flags"])

    def test_underlay(self):
        for node in self.lab.topo.nodes:
            addrs = json.loads(wns.ip(self.lab.ns(node.name), "-j", "-4", "addr", "show",
                                      "eth0").stdout)[0]
            self.assertEqual(addrs["mtu"], 1500)
            self.assertEqual(addrs["addr_info"][0]["local"], node.vtep)
        p = self.lab.exec("hv1", ["ping", "-c", "1", "-W", "2", "198.18.0.2"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = self.lab.exec("hv2", ["ping", "-c", "1", "-W", "2", "198.18.0.3"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_linux_vxlan_host(self):
        lx = self.lab.ns("lx1")
        d = json.loads(wns.ip(lx, "-d", "-j", "link", "show", "vxlan1001").stdout)[0]
        info = d["linkinfo"]["info_data"]
        self.assertEqual(info["id"], 1001)
        self.assertEqual(info["port"], 4789)
        self.assertEqual(info["local"], "198.18.0.3")
        self.assertFalse(info.get("learning", True))
        self.assertEqual(d["master"], "br1001")
        fdb = wns.run(["bridge", "-n", lx, "fdb", "show", "dev", "vxlan1001"]).stdout
        a1, a2 = self.lab.topo.vm("a1"), self.lab.topo.vm("a2")
        self.assertRegex(fdb, rf"{a1.mac} dst 198\.18\.0\.1 ")
        self.assertRegex(fdb, rf"{a2.mac} dst 198\.18\.0\.2 ")
        self.assertRegex(fdb, r"00:00:00:00:00:00 dst 198\.18\.0\.1 ")
        self.assertRegex(fdb, r"00:00:00:00:00:00 dst 198\.18\.0\.2 ")

    def test_kernel_paths(self):
        self.assertReaches("a1", "10.0.1.11", "a2")   # cross-host L2
        self.assertReaches("a1", "10.0.2.10", "a3")   # same-host routed
        self.assertReaches("a1", "10.0.2.11", "a4")   # cross-host routed, b2 has the IP on hv1
        self.assertReaches("b1", "10.0.2.11", "b2")
        self.assertReaches("b1", "10.0.2.10", "b3")
        self.assertReaches("alx", "10.0.1.10", "a1")  # Linux host interop
        self.assertReaches("a2", "10.0.1.30", "alx")
        self.assertReaches("alx", "10.0.2.11", "a4")
        self.assertNoAnswer("a1", "10.0.2.20")        # only tenant B has it

    def test_kernel_paths_ipv6_rows_of_the_lab_run(self):
        """run_lab's IPv6 rows against the kernel reference: they must hold
        there as they must with Weft (same-host and cross-host, switched
        and routed, the Linux host, tenants with identical prefixes)."""
        import run_lab
        rows = run_lab.run_matrix(self.lab, run_lab.MATRIX6)
        failed = [r for r in rows if not r["ok"]]
        self.assertEqual(failed, [], "\n".join(f"{r['src']} -> {r['dst']} ({r['kind']}): "
                                               f"{r['result']}, tcp: {r['tcp_error']}"
                                               for r in failed))
        # the routed rows crossed a router: hop limit 63 on the replies
        p = self.lab.ping("a1", "fd00:0:0:2::11", count=1)
        self.assertRegex(p.output, r"ttl=63\b", p.output)

    def test_capture_counts_vxlan(self):
        with self.lab.capture("hv1", "eth0", "udp port 4789") as cap:
            self.assertTrue(self.lab.ping("a1", "10.0.1.11", count=3).ok)
        self.assertGreaterEqual(cap.count, 6, cap.lines)
        self.assertTrue(any("vni 1001" in l for l in cap.lines), cap.lines)
        # warm: ARP for the gateway floods (BUM) in the kernel reference
        self.assertTrue(self.lab.ping("a1", "10.0.2.10", count=1).ok)
        with self.lab.capture("hv1", "eth0", "udp port 4789") as cap:
            self.assertTrue(self.lab.ping("a1", "10.0.2.10", count=3).ok)
        # The kernel reference floods the VMs' own multicast (IGMP reports)
        # to every VTEP at any time; the pings must not be there.
        echoes = [l for l in cap.lines if "ICMP echo" in l]
        self.assertEqual(echoes, [], cap.lines)

    def test_iperf(self):
        r = self.lab.iperf("a1", "a2", nbytes="5M")
        self.assertTrue(r["ok"], r["error"])
        # iperf3 -n stops after the block that reaches the count.
        self.assertGreaterEqual(r["bytes"], 5 * 1024 * 1024)

    def test_run_lab_classify(self):
        import run_lab
        topo = self.lab.topo
        self.assertEqual(run_lab.classify(topo, "a1", "10.0.2.10"), ("same-host routed", "a3"))
        self.assertEqual(run_lab.classify(topo, "a1", "10.0.1.11"), ("cross-host L2", "a2"))
        self.assertEqual(run_lab.classify(topo, "a1", "10.0.2.11"), ("cross-host routed", "a4"))
        self.assertEqual(run_lab.classify(topo, "alx", "10.0.1.10"),
                         ("Linux vxlan interop (L2)", "a1"))
        self.assertEqual(run_lab.classify(topo, "a1", "10.0.2.20"), ("cross-tenant", None))
        # IPv6: tenant B has the same prefixes, b2 the same address as a4
        self.assertEqual(run_lab.classify(topo, "a1", "fd00:0:0:2::11"),
                         ("IPv6 cross-host routed", "a4"))
        self.assertEqual(run_lab.classify(topo, "b1", "fd00::2:0:0:0:11"),
                         ("IPv6 same-host routed", "b2"))
        self.assertEqual(run_lab.classify(topo, "a1", "fd00:0:0:1::11"),
                         ("IPv6 cross-host L2", "a2"))
        self.assertEqual(run_lab.classify(topo, "a1", "fd00:0:0:2::20"),
                         ("IPv6 cross-tenant", None))


class WeftModeBuildTest(LabTestCase):
    """Weft mode without starting agents: bpffs, state file, Linux host FDB
    pointing the gateway at hv1."""

    MODE = "weft"
    NEEDS_AGENT = False
    START_AGENTS = False
    WHOAMI = False

    def test_bpffs_mounted(self):
        self.assertIn(self.lab.bpffs, wns.mounts_under(self.lab.dir))
        st = os.statvfs(self.lab.bpffs)
        self.assertIsNotNone(st)

    def test_state_file_matches_topology(self):
        with open(self.lab.state_file) as f:
            text = f.read()
        try:
            import yaml
        except ImportError:
            self.skipTest("python3-yaml not installed")
        self.assertEqual(yaml.safe_load(text), self.lab.topo.state_dict())
        state = yaml.safe_load(text)
        self.assertEqual(state["version"], 1)
        segs = {s["name"]: s for s in state["segments"]}
        self.assertEqual(segs["a-web"]["subnet"], segs["b-web"]["subnet"])
        self.assertNotEqual(segs["a-web"]["vni"], segs["b-web"]["vni"])
        for ep in state["endpoints"]:
            seg = segs[ep["segment"]]
            self.assertIn(ipaddress.ip_address(ep["ip"]), ipaddress.ip_network(seg["subnet"]))
            node = next(n for n in state["nodes"] if n["name"] == ep["node"])
            self.assertEqual("interface" in ep, not node.get("foreign", False))

    def test_linux_host_gateway_fdb(self):
        fdb = wns.run(["bridge", "-n", self.lab.ns("lx1"), "fdb", "show", "dev",
                       "vxlan1001"]).stdout
        gw = self.lab.topo.segment("a-web").gateway_mac
        self.assertRegex(fdb, rf"{gw} dst 198\.18\.0\.1 ")
        # Weft hosts have no kernel vxlan devices
        links = wns.ip(self.lab.ns("hv1"), "-o", "link", "show").stdout
        self.assertNotIn("vxlan", links)

    def test_vm_hosts_are_plain_veths(self):
        link = json.loads(wns.ip(self.lab.ns("hv1"), "-j", "-d", "link", "show", "va1").stdout)[0]
        self.assertNotIn("master", link)
        self.assertEqual(link["linkinfo"]["info_kind"], "veth")


class NorthSouthPlumbingTest(LabTestCase):
    """The lab's north-south part without agents (lab/README.md): the
    provider's routing contexts keep the customers apart although their
    sites share an address. The uplinks' addresses are put on by the lab's
    stand-in (the agent's job), and each edge reaches the site over the
    customer's uplink, as the edge datapath's packets do."""

    MODE = "weft"
    NEEDS_AGENT = False
    START_AGENTS = False
    WHOAMI = False

    @staticmethod
    def make_topology(static_site_routes: bool = False):
        tenants = [Tenant("A", 1), Tenant("B", 2)]
        return north_south.add_north_south(
            Topology([], tenants, overlapping_segments(tenants), vms=[]),
            static_site_routes=static_site_routes)

    @classmethod
    def prepare(cls, lab):
        if north_south.missing_tools():
            unmet("missing tools: " + " ".join(north_south.missing_tools()))
        cls.ns = north_south.NorthSouth(lab)
        cls.ns.build()
        cls.ns.ensure_uplinks(grace=0)
        lab.start_whoami([c.host for c in cls.ns.customers])

    def test_state_has_edges_uplinks_and_site_routes(self):
        state = self.lab.topo.state_dict()
        self.assertEqual([n["name"] for n in state["nodes"] if n.get("role") == "edge"],
                         ["edge1", "edge2"])
        self.assertEqual(sorted((u["tenant"], u["node"]) for u in state["uplinks"]),
                         [("A", "edge1"), ("A", "edge2"), ("B", "edge1"), ("B", "edge2")])
        # the hypervisors' routes to the sites are learned (through the controller) ...
        self.assertEqual([r for r in state["routes"] if r["prefix"] == north_south.SITE_LAN], [])
        # ... or, for agents without a controller, static ones on the transit segment
        static = self.make_topology(static_site_routes=True).state_dict()
        self.assertEqual({(r["tenant"], r["segment"], tuple(r["nodes"])) for r in static["routes"]
                          if r["prefix"] == north_south.SITE_LAN},
                         {("A", "a-web", ("edge1", "edge2")), ("B", "b-web", ("edge1", "edge2"))})

    def test_each_uplink_reaches_its_own_customers_site(self):
        for c in self.ns.customers:
            for i, (edge, _, _) in enumerate(north_south.EDGES):
                _, provider_addr, edge_addr = north_south.transit(c, i)
                with self.subTest(tenant=c.tenant, edge=edge):
                    # what the edge datapath does: out of the uplink to the peer
                    table = str(200 + c.tenant_id)
                    wns.ip(self.lab.ns(edge), "route", "replace", north_south.SITE_LAN, "via",
                           provider_addr, "dev", self.ns.uplink_device(c), "table", table)
                    wns.ip(self.lab.ns(edge), "rule", "add", "from", edge_addr, "lookup", table,
                           check=False)
                    cp = self.lab.exec(edge, ["/usr/bin/python3", "-c", _WHOAMI_FROM,
                                              edge_addr, north_south.SITE_HOST,
                                              str(weftlab.WHOAMI_PORT)])
                    self.assertEqual(cp.stdout.strip(), c.host, cp.stderr)

    def test_customer_tables(self):
        rules = self.lab.exec(north_south.PROVIDER_NS, ["ip", "rule"]).stdout
        for c in self.ns.customers:
            with self.subTest(tenant=c.tenant):
                routes = self.lab.exec(north_south.PROVIDER_NS, [
                    "ip", "route", "show", "table", str(c.kernel_table)]).stdout
                self.assertIn(f"{north_south.SITE_LAN} via {c.site_link[1]}", routes)
                self.assertIn("unreachable default", routes)
                for far in ("e1", "e2"):
                    self.assertIn(f"iif {self.ns.provider_device(c, far)} lookup "
                                  f"{c.kernel_table}", rules)
        self.assertTrue(self.ns.established(), "BIRD lists the four sessions")


# TCP to the site host's responder from a given source address: its name.
_WHOAMI_FROM = r"""
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
s.settimeout(3)
s.connect((sys.argv[2], int(sys.argv[3])))
print(s.recv(64).decode().strip())
"""


class TeardownTest(unittest.TestCase):
    """Teardown removes everything and touches nothing else."""

    @classmethod
    def setUpClass(cls):
        require_lab(agent=False)

    def assertRootNamespaceClean(self, lab, snap):
        """Nothing of the lab in the root namespace: no lab interface, no
        underlay/tenant address or route (other work on this machine may
        change the root namespace meanwhile, so look for ours only)."""
        names = {"br0", *(n.name for n in lab.topo.nodes),
                 *(v.interface for v in lab.topo.vms)}
        for line in snap["links"]:
            m = re.match(r"\d+: ([^:@]+)", line)
            self.assertFalse(m and m.group(1) in names, f"lab link in root ns: {line}")
        for key in ("addrs", "routes"):
            for line in snap[key]:
                self.assertNotRegex(line, r"\b198\.18\.0\.|\b10\.0\.[12]\.|\bfd00:0:0:",
                                    f"lab {key[:-1]} in root ns: {line}")
        self.assertEqual([m for m in snap["mounts"] if lab.prefix.rstrip("-") in m], [])

    def test_teardown_leaves_nothing_and_root_ns_untouched(self):
        lab = Lab(with_dual_stack(default_topology()), mode="weft")
        with lab:
            self.assertTrue(any(n.startswith(lab.prefix) for n in weftlab.list_netns()))
            self.assertTrue(os.path.ismount(lab.bpffs))
            lab.start_whoami(["a1"])
            during = root_ns_snapshot()
        self.assertEqual([n for n in weftlab.list_netns() if n.startswith(lab.prefix)], [])
        self.assertFalse(os.path.exists(lab.dir))
        self.assertRootNamespaceClean(lab, root_ns_snapshot())
        during["mounts"] = []  # the run's own bpffs is expected while it runs
        self.assertRootNamespaceClean(lab, during)

    def test_teardown_on_exception(self):
        lab = Lab(default_topology(), mode="kernel")
        with self.assertRaises(ZeroDivisionError):
            with lab:
                lab.start_whoami(["a1"])
                pid = lab._whoami["a1"].pid
                1 / 0
        self.assertEqual([n for n in weftlab.list_netns() if n.startswith(lab.prefix)], [])
        self.assertFalse(os.path.exists(f"/proc/{pid}/cmdline") and
                         "python3" in open(f"/proc/{pid}/cmdline").read())

    def test_failed_build_cleans_up(self):
        topo = default_topology()
        # a second VM named like a node: the namespace exists -> build fails midway
        topo.vms.append(VM("zz", "a-web", "10.0.1.99", "02:00:00:01:01:63", "hv1"))
        lab = Lab(topo, mode="kernel")
        orig = lab._build_vm

        def failing(vm):
            if vm.name == "zz":
                raise LabError("injected failure")
            orig(vm)
        lab._build_vm = failing
        with self.assertRaises(LabError):
            lab.build()
        self.assertEqual([n for n in weftlab.list_netns() if n.startswith(lab.prefix)], [])
        self.assertFalse(os.path.exists(lab.dir))

    def test_cleanup_stale_only_touches_its_prefix(self):
        mine, other = weftlab.new_prefix(), weftlab.new_prefix()
        wns.run(["ip", "netns", "add", mine + "x"])
        wns.run(["ip", "netns", "add", other + "x"])
        try:
            self.assertEqual(weftlab.cleanup_stale(mine), [mine + "x"])
            names = weftlab.list_netns()
            self.assertNotIn(mine + "x", names)
            self.assertIn(other + "x", names)
            for bad in ("wft", "", "wft12345-", "wftzzzzzz-", "wft123456"):
                with self.assertRaises(ValueError):
                    weftlab.cleanup_stale(bad)
        finally:
            wns.run(["ip", "netns", "del", mine + "x"], check=False)
            wns.run(["ip", "netns", "del", other + "x"], check=False)


class StateYamlTest(unittest.TestCase):
    """No root needed."""

    def test_dual_stack_state(self):
        """with_dual_stack: a /64 and gateway6 per segment, the same in both
        tenants, an ip6 per VM; none of it in the default topology's state."""
        plain = default_topology().state_dict()
        self.assertFalse([s for s in plain["segments"] if "subnet6" in s or "gateway6" in s])
        self.assertFalse([e for e in plain["endpoints"] if "ip6" in e])
        topo = with_dual_stack(default_topology())
        state = topo.state_dict()
        segs = {s["name"]: s for s in state["segments"]}
        self.assertEqual((segs["a-web"]["subnet6"], segs["a-web"]["gateway6"]),
                         ("fd00:0:0:1::/64", "fd00:0:0:1::1"))
        self.assertEqual(segs["a-db"]["subnet6"], segs["b-db"]["subnet6"])
        self.assertEqual(segs["a-web"]["subnet6"], segs["b-web"]["subnet6"])
        ep = {e["name"]: e for e in state["endpoints"]}
        self.assertEqual(ep["a4"]["ip6"], "fd00:0:0:2::11")
        self.assertEqual(ep["a4"]["ip6"], ep["b2"]["ip6"])   # identical across tenants
        self.assertEqual(len(ep), len([e for e in ep.values() if "ip6" in e]))
        for e in ep.values():
            self.assertIn(ipaddress.ip_address(e["ip6"]),
                          ipaddress.ip_network(segs[e["segment"]]["subnet6"]))
        self.assertEqual(topo.segment("a-web").gateway6_link_local, "fe80::fe:ff:fe00:101")
        self.assertEqual([v.name for v in topo.vms_at("B", "fd00:0:0:2::11")], ["b2"])
        try:
            import yaml
        except ImportError:
            self.skipTest("python3-yaml not installed")
        self.assertEqual(yaml.safe_load(topo.state_yaml()), state)

    def test_run_lab_ipv6_rows(self):
        """The lab run's IPv6 rows cover what they promise: same-host and
        cross-host, switched and routed, across tenants (no answer), and a
        firewall allowing, denying and rejecting IPv6 flows."""
        import run_lab
        topo = with_dual_stack(default_topology())
        kinds = {run_lab.classify(topo, src, dst)[0] for src, dst in run_lab.MATRIX6}
        for kind in ("same-host routed", "cross-host L2", "cross-host routed", "cross-tenant"):
            self.assertIn("IPv6 " + kind, kinds)
        self.assertTrue(all(":" in dst for _, dst in run_lab.MATRIX6))
        expected = {e for _, _, _, e, _ in run_lab.FIREWALL_MATRIX6}
        self.assertLessEqual({None, "refused", "a4", "a3"}, expected)
        rows = [{"kind": "IPv6 x", "ok": True}, {"kind": "y", "ok": False}]
        self.assertEqual(run_lab.summary(rows, 1.0),
                         "1 passed, 1 failed (IPv6 rows: 1 passed, 0 failed) (1.0s)")

    def test_yaml_quotes_macs_and_roundtrips(self):
        topo = default_topology()
        text = topo.state_yaml()
        self.assertIn('mac: "02:00:00:01:01:0a"', text)
        self.assertIn("foreign: true", text)
        try:
            import yaml
        except ImportError:
            self.skipTest("python3-yaml not installed")
        self.assertEqual(yaml.safe_load(text), topo.state_dict())

    def test_reasons_parsed_from_abi(self):
        labels = [l for _, l in weftlab.reasons()]
        self.assertEqual(labels[0], "pass_host")
        self.assertIn("spoofed", labels)
        self.assertIn("spoofed", weftlab.drop_labels())
        self.assertNotIn("encap", weftlab.drop_labels())

    def test_percpu_parse(self):
        from weftlab.counters import parse_percpu_counters
        raw = [{"key": ["0x01", "0x00", "0x00", "0x00"],
                "values": [{"cpu": 0, "value": ["0x05"] + ["0x00"] * 7 + ["0x64"] + ["0x00"] * 7},
                           {"cpu": 1, "value": ["0x02"] + ["0x00"] * 7 + ["0x10"] + ["0x00"] * 7}]}]
        self.assertEqual(parse_percpu_counters(raw), {1: (7, 116)})
        fmt = [{"formatted": {"key": 3, "values": [{"cpu": 0, "value": {"packets": 4, "bytes": 9}},
                                                   {"cpu": 1, "value": {"packets": 1, "bytes": 1}}]}}]
        self.assertEqual(parse_percpu_counters(fmt), {3: (5, 10)})


if __name__ == "__main__":
    unittest.main()
