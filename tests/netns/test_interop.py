"""A plain Linux host (lx1: kernel vxlan device + bridge, static FDB, no
agent) is a valid peer of Weft hosts: L2 on a shared VNI both ways, and
routing to the tenant's other segments through Weft's anycast gateway."""

from __future__ import annotations

import unittest

from netns_common import LabTestCase


class LinuxVxlanInteropTest(LabTestCase):

    def test_linux_vm_to_weft_vm_same_segment(self):
        self.assertReaches("alx", "10.0.1.10", "a1")  # on hv1 (b1 has the IP in B)
        self.assertReaches("alx", "10.0.1.11", "a2")  # on hv2

    def test_weft_vm_to_linux_vm_same_segment(self):
        self.assertReaches("a1", "10.0.1.30", "alx")
        self.assertReaches("a2", "10.0.1.30", "alx")

    def test_arp_from_linux_host_answered(self):
        """ARP broadcasts from lx1 arrive over VXLAN (BUM to every Weft
        VTEP); Weft answers for its local endpoints and for the gateway."""
        self.lab.exec("alx", ["ip", "neigh", "flush", "dev", "eth0"], check=True)
        base = self.counter("hv1", "arp_reply") + self.counter("hv2", "arp_reply")
        self.assertTrue(self.lab.ping("alx", "10.0.1.11", count=1).ok)
        self.assertTrue(self.lab.ping("alx", "10.0.2.10", count=1).ok)
        neigh = self.lab.exec("alx", ["ip", "neigh", "show", "dev", "eth0"]).stdout
        self.assertIn(self.lab.topo.vm("a2").mac, neigh)
        self.assertIn(self.lab.topo.segment("a-web").gateway_mac, neigh)
        self.assertGreaterEqual(
            self.counter("hv1", "arp_reply") + self.counter("hv2", "arp_reply") - base, 2)

    def test_linux_vm_routed_through_gateway_same_host(self):
        # to a3 on hv1, the Weft host lx1's FDB sends the gateway MAC to
        self.assertReaches("alx", "10.0.2.10", "a3")
        self.assertReaches("a3", "10.0.1.30", "alx")

    def test_linux_vm_routed_through_gateway_other_host(self):
        # to a4 on hv2: hv1 routes (gateway) and must send it on to hv2
        self.assertReaches("alx", "10.0.2.11", "a4")
        self.assertReaches("a4", "10.0.1.30", "alx")

    def test_linux_vm_stays_in_its_tenant(self):
        self.assertNoAnswer("alx", "10.0.2.20")  # b4's, only in tenant B
        self.assertNoAnswer("b1", "10.0.1.30")   # B cannot reach A's Linux VM
        # and 10.0.2.10 from alx is A's a3, never B's b3
        self.assertEqual(self.lab.whoami("alx", "10.0.2.10"), "a3")

    def test_tcp_bulk_from_linux_host(self):
        r = self.lab.iperf("alx", "a2", nbytes="10M", timeout=15)
        self.assertTrue(r["ok"], f"alx -> a2 10 MB: {r['error']}")
        r = self.lab.iperf("a1", "alx", nbytes="10M", timeout=15)
        self.assertTrue(r["ok"], f"a1 -> alx 10 MB: {r['error']}")


if __name__ == "__main__":
    unittest.main()
