"""The lab's fleet on an IPv6-only underlay (docs/DATAPATH.md "IPv6
underlay"): hv1 and hv2 run agents whose VTEPs are IPv6 addresses, lx1 is a
plain Linux vxlan host over IPv6 (udp6zerocsumrx), and the tenants' traffic
of both families (the tenants are dual stack) crosses it in VXLAN over IPv6,
L2 and routed, with the path MTU left by the larger outer header."""

from __future__ import annotations

import json
import os
import subprocess
import unittest

import weftlab
from netns_common import LabTestCase, unmet
from weftlab import Capture


class Ipv6UnderlayTest(LabTestCase):

    @classmethod
    def make_topology(cls):
        return weftlab.with_dual_stack(weftlab.with_ipv6_underlay(weftlab.default_topology()))

    def test_the_underlay_carries_no_ipv4(self):
        for node in ("hv1", "hv2", "lx1"):
            v4 = self.lab.exec(node, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout
            self.assertEqual(v4.strip(), "", f"{node}'s eth0 has IPv4: {v4}")
        self.assertUnderlayProgram("hv1")

    def test_same_segment_across_hosts_in_vxlan_over_ipv6(self):
        # the packets between the hypervisors are VXLAN in IPv6, nothing in IPv4
        with Capture(self.lab, self.lab.underlay_ns, "hv1",
                     "ip6 and udp dst port 4789", max_seconds=15) as v6, \
                Capture(self.lab, self.lab.underlay_ns, "hv1", "ip", max_seconds=15) as v4:
            self.assertReaches("a1", "10.0.1.11", "a2")
        self.assertGreater(v6.count, 0, "no VXLAN over IPv6 from hv1")
        self.assertEqual(v4.count, 0, "IPv4 on the underlay: " + "\n".join(v4.lines[:5]))

    def test_routed_across_hosts(self):
        self.assertReaches("a1", "10.0.2.11", "a4")
        self.assertReaches("a4", "10.0.1.10", "a1")

    def test_identical_addresses_of_two_tenants_stay_apart(self):
        self.assertEqual(self.lab.whoami("a1", "10.0.2.10"), "a3")
        self.assertEqual(self.lab.whoami("b2", "10.0.2.10"), "b3")
        self.assertNoAnswer("b1", "10.0.1.11")  # a2's address, tenant A only

    def test_linux_vxlan_peer_over_ipv6(self):
        self.assertReaches("alx", "10.0.1.11", "a2")   # L2, to hv2
        self.assertReaches("a1", "10.0.1.30", "alx")   # L2, from hv1
        # routed by hv1's gateway and sent on to hv2, re-addressed over IPv6
        self.assertReaches("alx", "10.0.2.11", "a4")
        r = self.lab.iperf("alx", "a4", nbytes="10M", timeout=30)
        self.assertTrue(r["ok"], f"alx -> a4 10 MB: {r['error']}")

    def test_ipv6_tenants_across_hosts_l2_and_routed(self):
        a2, a4 = "fd00:0:0:1::11", "fd00:0:0:2::11"
        with Capture(self.lab, self.lab.underlay_ns, "hv1", "ip", max_seconds=15) as v4:
            for src, dst, hops in (("a1", a2, 64), ("a1", a4, 63), ("a4", "fd00:0:0:1::10", 63)):
                p = self.lab.ping(src, dst, count=2)
                self.assertTrue(p.ok, f"{src} -> {dst}: {p.output}")
                self.assertIn(f"ttl={hops}", p.output, f"{src} -> {dst}: hop limit")
        self.assertEqual(v4.count, 0, "IPv4 on the underlay: " + "\n".join(v4.lines[:5]))
        self.assertNoAnswer("b1", a2)  # tenant A's address, B has no such VM

    def test_ipv6_tenant_through_the_linux_vxlan_peer(self):
        # alx is behind the Linux host: L2 to a2, and routed by hv1, which
        # re-addresses it to hv2 over the IPv6 underlay
        for dst in ("fd00:0:0:1::11", "fd00:0:0:2::11"):
            p = self.lab.ping("alx", dst, count=2)
            self.assertTrue(p.ok, f"alx -> {dst}: {p.output}")

    def test_ipv6_tenant_path_mtu_leaves_room_for_the_ipv6_header(self):
        a2 = "fd00:0:0:1::11"
        flush = ["ip", "-6", "route", "flush", "cache"]
        self.lab.exec("a1", flush)
        self.addCleanup(self.lab.exec, "a1", flush)
        # 1382 + 8 + 40 = 1430 = underlay MTU - 70: fits; one more byte gets
        # Packet Too Big with that MTU
        p = self.lab.ping("a1", a2, count=1, size=1382, df=True)
        self.assertTrue(p.ok, p.output)
        p = self.lab.ping("a1", a2, count=1, size=1383, df=True, timeout=2)
        self.assertFalse(p.ok, p.output)
        self.assertEqual(p.frag_needed_mtu, 1430, p.output)

    def test_path_mtu_leaves_room_for_the_ipv6_header(self):
        self.lab.exec("a1", ["ip", "route", "flush", "cache"])
        self.addCleanup(self.lab.exec, "a1", ["ip", "route", "flush", "cache"])
        # 1402 + 28 = 1430 = underlay MTU - 70: fits
        p = self.lab.ping("a1", "10.0.1.11", count=2, size=1402, df=True)
        self.assertTrue(p.ok, p.output)
        p = self.lab.ping("a1", "10.0.1.11", count=2, size=1403, df=True, timeout=3)
        self.assertFalse(p.ok, p.output)
        self.assertEqual(p.frag_needed_mtu, 1430, p.output)

    def trace(self, *args: str) -> dict:
        weftctl = os.path.join(weftlab.default_build_dir(), "weftctl")
        if not os.access(weftctl, os.X_OK):
            unmet(f"no weftctl at {weftctl} (build target weftctl)")
        cp = subprocess.run([weftctl, "--socket", self.lab.agent_socket("hv1"), "--json",
                             "trace", *args], capture_output=True, text=True, timeout=20)
        self.assertEqual(cp.returncode, 0, f"weftctl trace {' '.join(args)}: {cp.stderr}")
        return json.loads(cp.stdout)

    def test_weftctl_trace_both_ways_over_the_ipv6_underlay(self):
        hv1, hv2 = (self.lab.topo.node(n).vtep for n in ("hv1", "hv2"))
        out = self.trace("--ingress-iface", "va1", "--src", "10.0.1.10", "--dst", "10.0.2.11")
        self.assertEqual(out["reason"], "encap", out)
        self.assertEqual((out["outer"]["src"], out["outer"]["dst"]), (hv1, hv2), out)
        self.assertEqual(out["outer"]["ethertype"], "ipv6")
        self.assertEqual(out["vtep"], hv2)
        # a2's packet from hv2 over IPv6, to a1: decapsulated and delivered
        into = self.trace("--tenant", "1", "--from-underlay", "--src", "10.0.1.11",
                          "--dst", "10.0.1.10")
        self.assertEqual(into["program"], "weft_underlay_tc")
        self.assertEqual((into["reason"], into["egress_iface"]), ("decap", "va1"), into)
        # from an address that is no VTEP of the fleet, and one of the wrong family
        stranger = self.trace("--tenant", "1", "--from-underlay", "--src", "10.0.1.11",
                              "--dst", "10.0.1.10", "--src-vtep", "2001:db8:1::99")
        self.assertEqual(stranger["reason"], "unknown_vtep", stranger)
        self.assertTrue(stranger["dropped"])
        with self.assertRaisesRegex(AssertionError, "this node's underlay is IPv6"):
            self.trace("--tenant", "1", "--from-underlay", "--src", "10.0.1.11",
                       "--dst", "10.0.1.10", "--src-vtep", "198.18.0.2")

    def test_tcp_bulk_across_hosts(self):
        r = self.lab.iperf("a1", "a4", nbytes="20M", timeout=30)
        self.assertTrue(r["ok"], f"a1 -> a4 20 MB: {r['error']}")


class Ipv6UnderlayXdpTest(Ipv6UnderlayTest):
    """The same between Weft hosts, decapsulated at XDP (--underlay_hook
    xdp). Not the Linux vxlan host: over XDP on a veth underlay its ARP is
    answered with XDP_TX, which never reaches the peer (docs/DATAPATH.md,
    known limits; test_datapath's XDP class leaves it out for IPv4 too)."""
    UNDERLAY_HOOK = "xdp"
    test_linux_vxlan_peer_over_ipv6 = None
    test_ipv6_tenant_through_the_linux_vxlan_peer = None


if __name__ == "__main__":
    unittest.main()
