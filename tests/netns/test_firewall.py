"""The distributed firewall end to end (docs/ARCHITECTURE.md §4, docs/FIREWALL.md): real
traffic between VMs of two hypervisors whose agents enforce groups and
policies from the state file. Policy changes are made as an operator makes
them in standalone mode: rewrite the state file, SIGHUP the agents, and poll
each node's weft_pol_ctl until its rule set generation changed.

Topology: weftlab.default_topology() plus a5 (tenant A, web, hv1) so that a
same-host flow can be refused by the destination's ingress policy, dual
stack (weftlab.with_dual_stack): every VM also has the IPv6 twin of its
address (10.0.2.11 -> fd00:0:0:2::11), in IPv6 prefixes identical in both
tenants.

  tenant A (id 1), default deny:
    group web: a1 (hv1 10.0.1.10), a2 (hv2 10.0.1.11), a5 (hv1 10.0.1.12)
    group db:  a3 (hv1 10.0.2.10), a4 (hv2 10.0.2.11)
  tenant B (id 2), default allow: b1 (hv1 10.0.1.10),
    group db: b2 (hv1 10.0.2.11), b3 (hv2 10.0.2.10), b4 (hv2 10.0.2.20)

The IPv6 datapath end to end is tested here rather than in a module of its
own (docs/design/DUAL_STACK.md §7, suite budget): the tests named
test_ipv6_* send real IPv6 packets through switching, routing, the
encapsulation's MTU and the firewall of the same lab (tenant B, default
allow, for the datapath alone; tenant A for the policies).

BASE_POLICIES (below) is the rule set in force between tests; tests that
change it restore it.
"""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import time
import unittest

from netns_common import LabTestCase
import weftlab
from weftlab import (VM, Group, LabError, Policy, Rule, default_topology, wait_for,
                     with_dual_stack)

TCP, UDP, ICMP, ICMPV6 = 6, 17, 1, 58
WHOAMI = 7777
IPERF = 5201
EGRESS_REJECT = 7101    # web egress rejects it (the VM program answers)
INGRESS_REJECT = 7102   # web egress allows it, db ingress rejects it
RELATED_UDP = 7103      # allowed both ways, nobody listens: port unreachable
FLAP_X, FLAP_Y, FLAP_Z = 7201, 7202, 7203
TENANT_SPORT = 40777    # one source port: the same 5-tuple in two tenants
SLACK = 0.05            # flapping: seconds a datagram may lag the checks it passed
DWELL = 5               # flapping: datagrams each version must pass before the next flip

A_WEB = "10.0.1.0/24"
A_WEB6, A_DB6 = "fd00:0:0:1::/64", "fd00:0:0:2::/64"   # with_dual_stack's, in A and B
A2_IP6 = "fd00:0:0:1::11"


def _read(path: str) -> str:
    with open(path, errors="replace") as f:
        return f.read()


def base_policies() -> list[Policy]:
    """The TCP and UDP rules judge IPv6 flows alike: a rule without peers
    is any peer of either family, a peer group holds its members' ip6 too.
    ICMP rules with a type are IPv4's; ICMPv6 has the rules for icmp
    without a type whose peers are IPv6 prefixes only (no IPv4 flow
    matches them): the IPv6 twins of the ICMP rules."""
    return [
        Policy("a-web-out", "A", applied_to_groups=["web"], rules=[
            Rule("egress", "reject", "icmp", icmp_type=8, peer_cidrs=["10.0.1.11/32"]),
            Rule("egress", "reject", "icmp", peer_cidrs=[A2_IP6 + "/128"]),
            Rule("egress", "reject", "tcp", ports=[EGRESS_REJECT]),
            Rule("egress", "reject", "udp", ports=[EGRESS_REJECT]),
            Rule("egress", "allow", "tcp", ports=[WHOAMI, INGRESS_REJECT]),
            Rule("egress", "allow", "udp", ports=[INGRESS_REJECT, RELATED_UDP]),
            Rule("egress", "allow", "icmp", icmp_type=8),
            Rule("egress", "allow", "icmp", peer_cidrs=[A_WEB6, A_DB6]),
        ]),
        Policy("a-web-in", "A", applied_to_groups=["web"], rules=[
            Rule("ingress", "reject", "tcp", ports=[INGRESS_REJECT]),
            Rule("ingress", "allow", "icmp", peer_cidrs=[A_WEB6]),
        ]),
        Policy("a-db-in", "A", applied_to_groups=["db"], rules=[
            Rule("ingress", "reject", "tcp", ports=[INGRESS_REJECT]),
            Rule("ingress", "reject", "udp", ports=[INGRESS_REJECT]),
            Rule("ingress", "allow", "tcp", ports=[WHOAMI], peer_groups=["web"]),
            Rule("ingress", "allow", "udp", ports=[RELATED_UDP], peer_groups=["web"]),
            Rule("ingress", "allow", "icmp", icmp_type=8, peer_groups=["web"]),
            Rule("ingress", "allow", "icmp", peer_cidrs=[A_WEB6]),
        ]),
        # iperf3 a1 -> a4 (both ends), removed by the revocation test
        Policy("a-iperf", "A", applied_to_endpoints=["a1", "a4"], rules=[
            Rule("egress", "allow", "tcp", ports=[IPERF], peer_cidrs=["10.0.2.11/32"]),
            Rule("ingress", "allow", "tcp", ports=[IPERF], peer_cidrs=["10.0.1.10/32"]),
        ]),
        # tenant B allows by default; only its db's whoami is closed
        Policy("b-db-in", "B", applied_to_groups=["db"], rules=[
            Rule("ingress", "deny", "tcp", ports=[WHOAMI]),
        ]),
    ]


def flap_policy(port: int) -> Policy:
    """Allows UDP `port` from a1 to a4 (egress at a1, ingress at a4) only."""
    return Policy("a-flap", "A", applied_to_endpoints=["a1", "a4"], rules=[
        Rule("egress", "allow", "udp", ports=[port], peer_cidrs=["10.0.2.11/32"]),
        Rule("ingress", "allow", "udp", ports=[port], peer_cidrs=["10.0.1.10/32"]),
    ])


def firewall_topology():
    topo = default_topology()
    topo.vms.append(VM("a5", "a-web", "10.0.1.12", "02:00:00:01:01:0c", "hv1"))
    topo.tenant("A").default_action = "deny"
    topo.groups = [Group("web", "A"), Group("db", "A"), Group("db", "B")]
    for name, groups in {"a1": ["web"], "a2": ["web"], "a5": ["web"], "a3": ["db"],
                         "a4": ["db"], "b2": ["db"], "b3": ["db"], "b4": ["db"]}.items():
        topo.vm(name).groups = groups
    topo.policies = base_policies()
    return with_dual_stack(topo)


# --- programs run inside the VMs ------------------------------------------------

# TCP connect (IPv4 or IPv6 by dst): prints {"result": "connected"|errno
# name|"timeout", "seconds": s}
_TCP_CONNECT = r"""
import errno, json, socket, sys, time
dst, port, timeout, sport = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
v6 = ":" in dst
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if sport:
    s.bind(("::" if v6 else "0.0.0.0", sport))
s.settimeout(timeout)
t0 = time.monotonic()
try:
    s.connect((dst, port))
    r = "connected"
    try:
        data = s.recv(64).decode(errors="replace").strip()
    except OSError as e:
        data = "recv: " + (errno.errorcode.get(e.errno, str(e)) if e.errno else str(e))
except socket.timeout:
    r, data = "timeout", ""
except OSError as e:
    r, data = errno.errorcode.get(e.errno, str(e)), ""
print(json.dumps({"result": r, "seconds": time.monotonic() - t0, "data": data}))
"""

# UDP to a connected socket, then wait for an answer or an ICMP error.
_UDP_PROBE = r"""
import errno, json, socket, sys, time
dst, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, socket.SOCK_DGRAM)
s.connect((dst, port))
s.settimeout(timeout)
t0 = time.monotonic()
r = "timeout"
try:
    for _ in range(3):
        s.send(b"probe")
        try:
            s.recv(64)
            r = "answered"
            break
        except socket.timeout:
            continue
except OSError as e:
    r = errno.errorcode.get(e.errno, str(e))
print(json.dumps({"result": r, "seconds": time.monotonic() - t0}))
"""

# One crafted TCP segment (IP_HDRINCL): src, dst, sport, dport, flags.
_RAW_TCP = r"""
import socket, struct, sys
src, dst, sport, dport, flags = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5], 0)
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000, 5 << 4, flags, 8192, 0, 0)
pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0,
                 socket.inet_aton(src), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for _ in range(int(sys.argv[6])):
    s.sendto(ip + tcp, (dst, 0))
"""

# A router solicitation out of eth0, from its link-local address, with the
# source link-layer option (the VM's MAC, argv[1]); the kernel sums it.
_ROUTER_SOLICITATION = r"""
import socket, struct, sys
ifindex = socket.if_nametoindex("eth0")
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
s.sendto(struct.pack("!BBHI", 133, 0, 0, 0) + bytes([1, 1]) + mac, ("ff02::2", 0, 0, ifindex))
"""

# Flap receiver: one socket per port; prints "<port> <kernel rx time>" per
# datagram (SO_TIMESTAMPNS, CLOCK_REALTIME), "ready" first.
_FLAP_RECEIVER = r"""
import select, socket, struct, sys
SO_TIMESTAMPNS = 35  # = SCM_TIMESTAMPNS (asm-generic/socket.h); not in Python's socket
socks = {}
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("0.0.0.0", int(p)))
    socks[s.fileno()] = (s, int(p))
print("ready", flush=True)
while True:
    r, _, _ = select.select(list(socks), [], [])
    for fd in r:
        s, p = socks[fd]
        _, anc, _, _ = s.recvmsg(64, 64)
        ts = 0.0
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", data[:16])
                ts = sec + nsec / 1e9
        print(p, "%.6f" % ts, flush=True)
"""

# Flap sender: round robin over the ports, one datagram per `gap` seconds.
_FLAP_SENDER = r"""
import socket, sys, time
dst, gap, ports = sys.argv[1], float(sys.argv[2]), [int(p) for p in sys.argv[3:]]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0
next_t = time.monotonic()
while True:
    for p in ports:
        try:
            s.sendto(b"flap %d" % n, (dst, p))
        except OSError:
            pass
        n += 1
    next_t += gap
    d = next_t - time.monotonic()
    if d > 0:
        time.sleep(d)
"""


class FirewallStateTest(unittest.TestCase):
    """The lab's state generation for the firewall (no root needed)."""

    def test_yaml_round_trip(self):
        try:
            import yaml
        except ImportError:
            self.skipTest("python3-yaml not installed")
        topo = firewall_topology()
        topo.set_policies(base_policies() + [flap_policy(FLAP_X)])
        self.assertEqual(yaml.safe_load(topo.state_yaml()), topo.state_dict())
        state = topo.state_dict()
        self.assertEqual(state["tenants"][0]["default_action"], "deny")
        self.assertEqual(state["policies"][0]["applied_to"], {"groups": ["web"]})

    def test_no_firewall_no_keys(self):
        state = default_topology().state_dict()
        self.assertNotIn("groups", state)
        self.assertNotIn("policies", state)
        self.assertNotIn("default_action", state["tenants"][0])
        self.assertNotIn("groups", state["endpoints"][0])


class FirewallTest(LabTestCase):

    @classmethod
    def make_topology(cls):
        return firewall_topology()

    # --- helpers ---------------------------------------------------------------
    def tcp_connect(self, src: str, dst: str, port: int, timeout: float = 2.0,
                    sport: int = 0) -> dict:
        cp = self.lab.exec(src, ["/usr/bin/python3", "-c", _TCP_CONNECT, dst, str(port),
                                 str(timeout), str(sport)], timeout=timeout + 10)
        try:
            return json.loads(cp.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.fail(f"tcp probe {src} -> {dst}:{port} failed: {cp.stdout} {cp.stderr}")

    def udp_probe(self, src: str, dst: str, port: int, timeout: float = 0.5) -> dict:
        cp = self.lab.exec(src, ["/usr/bin/python3", "-c", _UDP_PROBE, dst, str(port),
                                 str(timeout)], timeout=timeout * 3 + 10)
        try:
            return json.loads(cp.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.fail(f"udp probe {src} -> {dst}:{port} failed: {cp.stdout} {cp.stderr}")

    def counters(self) -> dict:
        return {n: self.lab.counters(n) for n in ("hv1", "hv2")}

    def ct_stats(self) -> dict:
        return {n: self.lab.ct_stats(n) for n in ("hv1", "hv2")}

    @staticmethod
    def delta(after: dict, before: dict, node: str, label: str) -> int:
        return after[node].get(label, 0) - before[node].get(label, 0)

    def set_policies(self, policies: list[Policy]) -> dict:
        self.lab.topo.set_policies(policies)
        return self.lab.apply_state(nodes=["hv1", "hv2"])

    def restore_base(self) -> None:
        names = [p.name for p in self.lab.topo.policies]
        if names != [p.name for p in base_policies()]:
            self.set_policies(base_policies())

    # --- admission by policy -----------------------------------------------------
    def test_allowed_tcp_and_replies_pass_cross_and_same_host(self):
        before = self.counters()
        # cross-host routed: egress of a1 judged on hv1, ingress of a4 on hv2
        self.assertEqual(self.lab.whoami("a1", "10.0.2.11"), "a4", self.lab.last_whoami_error)
        # same host: both ends judged on hv1
        self.assertEqual(self.lab.whoami("a1", "10.0.2.10"), "a3", self.lab.last_whoami_error)
        after = self.counters()
        self.assertEqual(self.delta(after, before, "hv1", "policy_denied"), 0)
        self.assertEqual(self.delta(after, before, "hv2", "policy_denied"), 0)
        # the replies passed by conntrack: a4 and a3 may not open anything
        self.assertEqual(self.tcp_connect("a4", "10.0.1.10", WHOAMI, 1)["result"], "timeout")
        self.assertEqual(self.tcp_connect("a3", "10.0.1.10", WHOAMI, 1)["result"], "timeout")

    def test_denied_by_default_egress_at_source_host(self):
        before = self.counters()
        # no rule lets a4 (db) open anything: dropped by hv2 at a4's egress
        r = self.tcp_connect("a4", "10.0.1.10", WHOAMI, 1)
        self.assertEqual(r["result"], "timeout", r)
        # no rule allows tcp 7778 out of web
        r = self.tcp_connect("a1", "10.0.2.11", WHOAMI + 1, 1)
        self.assertEqual(r["result"], "timeout", r)
        after = self.counters()
        self.assertGreater(self.delta(after, before, "hv2", "policy_denied"), 0)
        self.assertGreater(self.delta(after, before, "hv1", "policy_denied"), 0)
        self.assertEqual(self.delta(after, before, "hv1", "decap"), 0,
                         "hv1 received something though a4's SYNs were denied at hv2")

    def test_denied_by_ingress_at_destination_host(self):
        # web egress allows 7777 to anyone; web has no ingress rule
        before = self.counters()
        r = self.tcp_connect("a1", "10.0.1.11", WHOAMI, 1)   # a2, on hv2
        self.assertEqual(r["result"], "timeout", r)
        mid = self.counters()
        self.assertGreater(self.delta(mid, before, "hv1", "encap"), 0,
                           "hv1 should send the SYN: a1's egress allows it")
        self.assertGreater(self.delta(mid, before, "hv2", "policy_denied"), 0,
                           "hv2 should drop it at a2's ingress")
        # the SYN_SENT entry of a1's egress on hv1; none on hv2
        self.assertTrue(self.lab.ct_find("hv1", 1, TCP, "10.0.1.10", "10.0.1.11", None, WHOAMI))
        self.assertFalse(self.lab.ct_find("hv2", 1, TCP, "10.0.1.10", "10.0.1.11", None, WHOAMI))
        # same host: a1 -> a5, egress allowed, a5's ingress denied, both on hv1
        r = self.tcp_connect("a1", "10.0.1.12", WHOAMI, 1)
        self.assertEqual(r["result"], "timeout", r)
        after = self.counters()
        self.assertGreater(self.delta(after, mid, "hv1", "policy_denied"), 0)
        self.assertEqual(self.delta(after, mid, "hv1", "deliver_local"), 0)

    def test_icmp_echo_reply_passes_by_conntrack(self):
        before = self.ct_stats()
        p = self.lab.ping("a1", "10.0.2.11", count=3)   # a4, cross host
        self.assertEqual(p.received, 3, p.output)
        p = self.lab.ping("a1", "10.0.2.10", count=3)   # a3, same host
        self.assertEqual(p.received, 3, p.output)
        # the other way round no rule allows echo requests
        p = self.lab.ping("a4", "10.0.1.10", count=2, timeout=2)
        self.assertFalse(p.ok, p.output)
        e = self.lab.ct_find("hv2", 1, ICMP, "10.0.1.10", "10.0.2.11")
        self.assertTrue(e, "no ICMP echo entry on hv2")
        self.assertGreaterEqual(max(x["packets"][1] for x in e), 3, e)
        after = self.ct_stats()
        self.assertGreater(self.delta(after, before, "hv2", "created"), 0)

    def test_tenants_with_identical_addresses_have_independent_policies(self):
        """10.0.1.10:40777 -> 10.0.2.11:7777/tcp, both sent on hv1: allowed
        in A (a1 -> a4, cross host), denied in B (b1 -> b2, same host). A
        first, so a conntrack keyed without the tenant would let B pass."""
        r = self.tcp_connect("a1", "10.0.2.11", WHOAMI, 2, sport=TENANT_SPORT)
        self.assertEqual((r["result"], r["data"]), ("connected", "a4"), r)
        self.assertTrue(self.lab.ct_find("hv1", 1, TCP, "10.0.1.10", "10.0.2.11",
                                         TENANT_SPORT, WHOAMI))
        before = self.counters()
        r = self.tcp_connect("b1", "10.0.2.11", WHOAMI, 1, sport=TENANT_SPORT)
        self.assertEqual(r["result"], "timeout", r)
        after = self.counters()
        self.assertGreater(self.delta(after, before, "hv1", "policy_denied"), 0)
        self.assertFalse(self.lab.ct_find("hv1", 2, TCP, "10.0.1.10", "10.0.2.11",
                                          TENANT_SPORT, WHOAMI))
        # B's default allow still lets everything else through
        self.assertTrue(self.lab.ping("b1", "10.0.2.11", count=2).ok)

    def test_a_rule_with_ipv6_peers_only_matches_no_ipv4_flow(self):
        """Ahead of b-db-in's deny, an allow of whoami from IPv6 prefixes only:
        no IPv4 peer matches it (read as 'any peer' it would admit b1), so
        b1 -> b2 stays denied once the agents enforce the new rule set."""
        v6_only = Policy("b-v6-only", "B", priority=10, applied_to_groups=["db"], rules=[
            Rule("ingress", "allow", "tcp", ports=[WHOAMI], peer_cidrs=["2001:db8::/32"])])
        self.addCleanup(self.restore_base)
        self.set_policies(base_policies() + [v6_only])
        before = self.counters()
        r = self.tcp_connect("b1", "10.0.2.11", WHOAMI, 1)
        self.assertEqual(r["result"], "timeout", r)
        self.assertGreater(self.delta(self.counters(), before, "hv1", "policy_denied"), 0)

    # --- conntrack ------------------------------------------------------------------
    def test_ct_entry_counters_visible_with_bpftool(self):
        self.assertEqual(self.lab.whoami("a1", "10.0.2.10"), "a3")
        entries = self.lab.ct_find("hv1", 1, TCP, "10.0.1.10", "10.0.2.10", None, WHOAMI)
        self.assertTrue(entries, self.lab.ct_entries("hv1"))
        e = max(entries, key=lambda x: x["last_seen_ns"])
        # initiator -> responder: SYN, ACK, FIN (at least); reply: SYN+ACK, data, FIN
        self.assertGreaterEqual(e["packets"][0], 2, e)
        self.assertGreaterEqual(e["packets"][1], 2, e)
        self.assertGreater(e["bytes"][1], e["packets"][1] * 40, e)
        self.assertIn(e["state"], ("fin_wait", "closing", "established"), e)
        # judged at both ends on hv1 (same host): egress and ingress flags
        self.assertEqual(e["flags"] & 0x06, 0x06, e)
        self.assertEqual(e["policy_generation"], self.lab.policy_generation("hv1"), e)

    def test_related_icmp_error_passes(self):
        """a4 answers UDP to a closed port with port unreachable; a4 may not
        send anything of its own, but the error belongs to the tracked flow."""
        before = self.ct_stats()
        r = self.udp_probe("a1", "10.0.2.11", RELATED_UDP)
        self.assertEqual(r["result"], "ECONNREFUSED", r)
        after = self.ct_stats()
        self.assertGreater(self.delta(after, before, "hv2", "related"), 0)
        self.assertGreater(self.delta(after, before, "hv1", "related"), 0)

    def test_mid_stream_tcp_invalid_or_picked_up(self):
        # an ACK of no known connection that no policy admits either way
        base = self.counters()
        self.lab.exec("a4", ["/usr/bin/python3", "-c", _RAW_TCP, "10.0.2.11", "10.0.1.10",
                             "40000", "40001", "0x10", "3"], check=True)
        v = self.wait_counter_above("hv2", "conntrack_invalid",
                                    base["hv2"].get("conntrack_invalid", 0))
        self.assertEqual(v - base["hv2"].get("conntrack_invalid", 0), 3)
        # an ACK the policy admits as it stands: picked up, tracked
        st = self.ct_stats()
        self.lab.exec("a1", ["/usr/bin/python3", "-c", _RAW_TCP, "10.0.1.10", "10.0.2.11",
                             "40002", str(WHOAMI), "0x10", "1"], check=True)
        wait_for(lambda: self.lab.ct_stats("hv1")["picked_up"] > st["hv1"]["picked_up"],
                 3, what="picked_up on hv1")
        self.assertTrue(self.lab.ct_find("hv1", 1, TCP, "10.0.1.10", "10.0.2.11", 40002,
                                         WHOAMI))

    # --- reject ---------------------------------------------------------------------
    def assertRefused(self, dst: str, port: int, node: str, where: str):
        """a1's TCP connect to dst:port is refused (RST), not timed out, and
        `node` counted a reject."""
        before = self.counters()
        r = self.tcp_connect("a1", dst, port, timeout=3)
        after = self.counters()
        delta = {k: v - before[node].get(k, 0) for k, v in after[node].items()
                 if v != before[node].get(k, 0)}
        self.assertEqual(r["result"], "ECONNREFUSED", f"{where}: {r}; {node}: {delta}")
        print(f"\n  reject tcp, {where}: refused in {r['seconds'] * 1000:.1f} ms",
              end="", flush=True)
        self.assertGreater(delta.get("reject", 0), 0, f"{where}: {node}: {delta}")

    def test_reject_tcp_at_the_vm_program_is_refused_not_timed_out(self):
        # egress of the source (rejected at hv1 before it leaves)
        self.assertRefused("10.0.2.11", EGRESS_REJECT, "hv1", "egress at the source host")
        # same host: the destination's ingress, judged by the VM program
        self.assertRefused("10.0.2.10", INGRESS_REJECT, "hv1", "ingress, same host")

    def test_reject_tcp_at_remote_ingress_switched(self):
        """The RST is bounced back through the tunnel in place. The frame
        stays untrimmed when the kernel will not trim an skb still marked
        as encapsulated (a veth underlay): its headers give the lengths."""
        self.assertRefused("10.0.1.11", INGRESS_REJECT, "hv2", "ingress at hv2, switched")

    def test_reject_tcp_at_remote_ingress_routed(self):
        """Routed at the sender's host, the SYN came from the source
        segment's gateway MAC; the RST goes to this segment's gateway for
        the sender's host to route it back."""
        self.assertRefused("10.0.2.11", INGRESS_REJECT, "hv2", "ingress at hv2, routed")

    def test_reject_udp_and_icmp_at_the_vm_program(self):
        before = self.counters()
        # egress of the source: ICMP administratively prohibited from the gateway
        r = self.udp_probe("a1", "10.0.2.11", EGRESS_REJECT, timeout=2)
        self.assertEqual(r["result"], "EHOSTUNREACH", r)
        # same host, ingress of the destination: also the VM program
        r = self.udp_probe("a1", "10.0.2.10", INGRESS_REJECT, timeout=2)
        self.assertEqual(r["result"], "EHOSTUNREACH", r)
        # ping to a2 is rejected by web's first egress rule
        p = self.lab.ping("a1", "10.0.1.11", count=1, timeout=2)
        self.assertFalse(p.ok, p.output)
        self.assertRegex(p.output, r"(?i)packet filtered|administratively prohibited",
                         p.output)
        after = self.counters()
        self.assertGreaterEqual(self.delta(after, before, "hv1", "reject"), 3)

    def test_reject_non_tcp_at_destination_host_is_a_drop(self):
        """Documented limit: the underlay program cannot build an ICMP error,
        so a non-TCP flow rejected by a remote destination's ingress is
        dropped (counted policy_denied)."""
        before = self.counters()
        r = self.udp_probe("a1", "10.0.2.11", INGRESS_REJECT, timeout=0.5)
        self.assertEqual(r["result"], "timeout", r)
        after = self.counters()
        self.assertGreaterEqual(self.delta(after, before, "hv2", "policy_denied"), 3)
        self.assertEqual(self.delta(after, before, "hv2", "reject"), 0)

    # --- policy changes -------------------------------------------------------------
    def test_revoking_the_rule_cuts_a_running_iperf3_flow(self):
        self.addCleanup(self.restore_base)
        lab = self.lab
        server, _, _ = lab.spawn(lab.ns("a4"), ["iperf3", "-s", "-1", "-p", str(IPERF)],
                                 f"iperf3-server-revoke-{time.monotonic_ns()}")
        lab.wait_listening("a4", IPERF)
        client, out, err = lab.spawn(
            lab.ns("a1"), ["timeout", "30", "iperf3", "-c", "10.0.2.11", "-p", str(IPERF),
                           "-t", "10", "-i", "0.5", "--forceflush", "--connect-timeout",
                           "3000", "--snd-timeout", "2000"],
            f"iperf3-client-revoke-{time.monotonic_ns()}")
        self.addCleanup(lambda: client.poll() is None and client.kill())
        self.addCleanup(lambda: server.poll() is None and server.kill())

        unit = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}
        interval_re = re.compile(r"^\[\s*\d+\]\s+[\d.]+-[\d.]+\s+sec\s+\S+\s+\S+"
                                 r"\s+([\d.]+)\s+([KMG]?)bits/sec", re.M)

        def intervals():
            """iperf3's per-interval sender rates so far, bit/s."""
            return [float(m.group(1)) * unit[m.group(2)]
                    for m in interval_re.finditer(_read(out))]

        # the flow runs (two intervals with traffic)
        wait_for(lambda: len([x for x in intervals() if x > 1e6]) >= 2 or client.poll() is not None,
                 10, what="iperf3 flowing")
        self.assertIsNone(client.poll(), f"iperf3 ended early: {_read(out)}{_read(err)}")
        before, st0 = self.counters(), self.ct_stats()
        t_revoke = time.monotonic()
        self.set_policies([p for p in base_policies() if p.name != "a-iperf"])
        n_at_revoke = len(intervals())
        # iperf3 gives up (its send timeout) long before its 10 s are over
        wait_for(lambda: client.poll() is not None, 15, what="iperf3 to end")
        elapsed = time.monotonic() - t_revoke
        text = _read(out) + _read(err)
        after, st1 = self.counters(), self.ct_stats()
        revoked = self.delta(after, before, "hv1", "policy_revoked")
        self.assertGreater(revoked, 0, f"{after['hv1']}")
        self.assertGreater(self.delta(st1, st0, "hv1", "revoked"), 0)
        # after the revocation (one interval of slack) no interval carries data
        late = intervals()[n_at_revoke + 1:]
        self.assertTrue(all(x < 1e6 for x in late), f"traffic after revocation: {late}\n{text}")
        self.assertTrue(client.returncode != 0 or re.search(r"(?i)error", text),
                        f"iperf3 ended without an error:\n{text}")
        print(f"\n  revoked: iperf3 ended {elapsed:.1f} s after the rule went "
              f"(exit {client.returncode}); policy_revoked hv1={revoked} "
              f"hv2={self.delta(after, before, 'hv2', 'policy_revoked')}", end="", flush=True)

    def test_flapping_policy_never_admits_what_neither_version_allows(self):
        """P1 allows UDP X only, P2 UDP Y only (a1 -> a4, both ends); a1 sends
        to X, Y and Z throughout a bounded loop of flips. Z must never arrive,
        and X (Y) never while P2 (P1) alone is in force on both nodes."""
        self.addCleanup(self.restore_base)
        lab = self.lab
        recv, rout, _ = lab.spawn(lab.ns("a4"), ["/usr/bin/python3", "-u", "-c", _FLAP_RECEIVER,
                                                 str(FLAP_X), str(FLAP_Y), str(FLAP_Z)],
                                  f"flap-receiver-{time.monotonic_ns()}")
        self.addCleanup(lambda: recv.poll() is None and recv.kill())
        wait_for(lambda: "ready" in _read(rout), 10, what="flap receiver")

        got: list[tuple[int, float]] = []   # (port, kernel receive time)
        rfile = open(rout)
        self.addCleanup(rfile.close)

        partial = [""]

        def arrivals():
            *lines, partial[0] = (partial[0] + rfile.read()).split("\n")
            for line in lines:
                parts = line.split()
                if len(parts) == 2 and parts[0].isdigit():
                    got.append((int(parts[0]), float(parts[1])))
            return got

        sender, _, _ = lab.spawn(lab.ns("a1"), ["/usr/bin/python3", "-c", _FLAP_SENDER,
                                                "10.0.2.11", "0.003",
                                                str(FLAP_X), str(FLAP_Y), str(FLAP_Z)],
                                 f"flap-sender-{time.monotonic_ns()}")
        self.addCleanup(lambda: sender.poll() is None and sender.kill())
        windows = []  # (allowed port, signalled at, confirmed on both nodes at)
        deadline = time.monotonic() + 20
        flips = 0
        while flips < 40 and time.monotonic() < deadline:
            port = FLAP_X if flips % 2 == 0 else FLAP_Y
            t_sig = time.time()
            self.set_policies(base_policies() + [flap_policy(port)])
            t_conf = time.time()
            windows.append((port, t_sig, t_conf))
            flips += 1
            # dwell until the version just put in force let DWELL datagrams
            # through after the window's slack
            try:
                wait_for(lambda: sum(1 for p, ts in arrivals()[-100:]
                                     if p == port and ts > t_conf + SLACK) >= DWELL,
                         2, interval=0.01, what=f"datagrams on {port}")
            except LabError:
                pass  # every version must let some through: asserted below
        t_end = time.time()
        sender.kill()
        sender.wait()
        counts = [-1]

        def drained():
            counts.append(len(arrivals()))
            return counts[-1] == counts[-2]
        wait_for(drained, 3, interval=0.2, what="the flap receiver to drain")
        by_port = {p: sum(1 for q, _ in got if q == p) for p in (FLAP_X, FLAP_Y, FLAP_Z)}
        self.assertTrue(all(ts > 0 for _, ts in got), "no kernel receive timestamps")
        # Window i: version i alone is in force on both nodes from its
        # confirmation (plus SLACK for datagrams already past both checks)
        # until the next flip is signalled. The other port must not arrive.
        violations, served = [], 0
        for i, (port, t_sig, t_conf) in enumerate(windows):
            start = t_conf + SLACK
            end = windows[i + 1][1] if i + 1 < len(windows) else t_end
            other = FLAP_Y if port == FLAP_X else FLAP_X
            violations += [(other, ts) for p, ts in got if p == other and start < ts < end]
            served += any(p == port and start < ts < end for p, ts in got)
        print(f"\n  flapping: {flips} flips in {t_end - windows[0][1]:.1f} s, arrivals "
              f"X={by_port[FLAP_X]} Y={by_port[FLAP_Y]} Z={by_port[FLAP_Z]}, windows "
              f"that passed their port {served}/{len(windows)}, out-of-window "
              f"{len(violations)}", end="", flush=True)
        self.assertGreaterEqual(flips, 4)
        self.assertGreaterEqual(served, len(windows) * 0.9,
                                "versions in force did not let their port through")
        self.assertEqual(by_port[FLAP_Z], 0, "a port neither version allows got through")
        self.assertGreater(by_port[FLAP_X], 0)
        self.assertGreater(by_port[FLAP_Y], 0)
        self.assertEqual(violations, [], "datagrams admitted by neither version in force")


    # --- IPv6 (dual stack): the datapath end to end ------------------------------------
    def ip6(self, vm: str) -> str:
        return self.lab.topo.vm(vm).ip6

    def test_ipv6_ping_switched_and_routed_same_and_cross_host(self):
        """ping -6 along each path; a routed reply crossed the gateway once
        (hop limit 63 from Linux's 64), a switched one did not. Tenant A's
        pings pass its ICMPv6 rules, tenant B's its default allow."""
        cases = [  # source, destination VM, path, hop limit of the replies, node
            ("a1", "a5", "same-host switched", 64, "hv1"),
            ("b1", "b2", "same-host routed", 63, "hv1"),
            ("b2", "b4", "cross-host switched", 64, "hv1"),
            ("b1", "b3", "cross-host routed", 63, "hv1"),
            ("a1", "a4", "cross-host routed", 63, "hv1"),
        ]
        for src, dst, path, hops, node in cases:
            with self.subTest(src=src, dst=dst, path=path):
                before = self.counters()
                p = self.lab.ping(src, self.ip6(dst), count=3, interval=0.05)
                after = self.counters()
                self.assertEqual(p.received, 3, f"{p.output}\n{after[node]}")
                self.assertRegex(p.output, rf"ttl={hops}\b", p.output)
                if path.startswith("same-host"):
                    # request and reply both delivered on hv1
                    self.assertGreaterEqual(self.delta(after, before, node, "deliver_local"), 6)
                else:
                    self.assertGreaterEqual(self.delta(after, before, "hv1", "encap"), 3)
                    self.assertGreaterEqual(self.delta(after, before, "hv2", "decap"), 3)

    def test_ipv6_hop_limit_at_the_gateway(self):
        """Routed with hop limit 2: arrives with 1. With 1: the gateway
        answers Time Exceeded from the segment's gateway6. Switched, hop
        limit 1 is delivered: no router in between."""
        b3 = self.ip6("b3")
        p = self.lab.ping("b1", b3, count=1, ttl=2)
        self.assertEqual(p.received, 1, p.output)
        p = self.lab.ping("b1", b3, count=1, ttl=1, timeout=2)
        self.assertFalse(p.ok, p.output)
        self.assertRegex(p.output, r"From fd00:0:0:1::1 .*Time exceeded: Hop limit", p.output)
        p = self.lab.ping("b2", self.ip6("b4"), count=1, ttl=1)
        self.assertEqual(p.received, 1, p.output)

    def test_ipv6_tcp_bulk_cross_host_learns_the_mtu(self):
        """The VM's link says 1500, VXLAN over the IPv4 underlay leaves
        1450: the first full-size packets get Packet Too Big (mtu 1450) from
        the gateway, then TCP carries 20 MB in 1450-byte packets."""
        src, dst = "b1", "b3"   # routed, hv1 -> hv2, tenant B (default allow)
        flush = ["ip", "-6", "route", "flush", "cache"]
        self.lab.exec(src, flush)
        self.addCleanup(self.lab.exec, src, flush)
        # 1402 + 8 + 40 = 1450: fits; one byte more does not
        p = self.lab.ping(src, self.ip6(dst), count=1, size=1402, df=True)
        self.assertTrue(p.ok, p.output)
        base = self.counter("hv1", "icmp_error")
        p = self.lab.ping(src, self.ip6(dst), count=1, size=1403, df=True, timeout=2)
        self.assertFalse(p.ok, p.output)
        self.assertEqual(p.frag_needed_mtu, 1450, p.output)
        self.assertGreater(self.counter("hv1", "icmp_error"), base)
        self.lab.exec(src, flush)
        r = self.lab.iperf(src, dst, dst_ip=self.ip6(dst), nbytes="20M", timeout=15)
        self.assertTrue(r["ok"], f"20 MB {src} -> {dst} over IPv6: {r['error']}")
        self.assertGreaterEqual(r["bytes"], 20 * 1024 * 1024)
        route = self.lab.exec(src, ["ip", "-6", "route", "get", self.ip6(dst)]).stdout
        self.assertRegex(route, r"\bmtu 1450\b", route)
        print(f"\n  iperf3 {src} -> {dst} over IPv6 (cross-host routed): "
              f"{r['bps'] / 1e9:.2f} Gbit/s, {r['retransmits']} retransmits", end="", flush=True)

    def test_ipv6_router_advertisement(self):
        """The lab's VMs ignore advertisements (a static default route);
        one that takes them gets, for its solicitation, the default route
        via the gateway's link-local address (EUI-64 of its MAC) and the
        overlay's MTU, 1450."""
        vm = self.lab.topo.vm("b4")
        seg = self.lab.topo.segment(vm.segment)
        sysctl = "net.ipv6.conf.eth0."
        self.addCleanup(self.lab.exec, vm.name, ["sysctl", "-q", "-w", sysctl + "mtu=1500"])
        self.addCleanup(self.lab.exec, vm.name, ["ip", "-6", "route", "flush", "proto", "ra"])
        self.addCleanup(self.lab.exec, vm.name, ["sysctl", "-q", "-w", sysctl + "accept_ra=0"])
        self.lab.exec(vm.name, ["sysctl", "-q", "-w", sysctl + "accept_ra=1"], check=True)
        base = self.counter(vm.node, "nd_reply")
        self.lab.exec(vm.name, ["/usr/bin/python3", "-c", _ROUTER_SOLICITATION, vm.mac],
                      check=True)

        def learned():
            out = self.lab.exec(vm.name, ["ip", "-6", "route", "show", "default",
                                          "proto", "ra"]).stdout
            return seg.gateway6_link_local in out
        wait_for(learned, 3, interval=0.05, what="a default route from an advertisement")
        self.assertGreater(self.counter(vm.node, "nd_reply"), base)
        mtu = self.lab.exec(vm.name, ["sysctl", "-n", sysctl + "mtu"]).stdout.strip()
        self.assertEqual(mtu, "1450")

    # --- IPv6: the firewall --------------------------------------------------------------
    def test_ipv6_allowed_flows_and_replies_pass_by_conntrack(self):
        a1, a3, a4 = self.ip6("a1"), self.ip6("a3"), self.ip6("a4")
        before = self.counters()
        self.assertEqual(self.lab.whoami("a1", a4), "a4", self.lab.last_whoami_error)  # cross host
        self.assertEqual(self.lab.whoami("a1", a3), "a3", self.lab.last_whoami_error)  # same host
        p = self.lab.ping("a1", a4, count=3)
        self.assertEqual(p.received, 3, p.output)
        after = self.counters()
        self.assertEqual(self.delta(after, before, "hv1", "policy_denied"), 0)
        self.assertEqual(self.delta(after, before, "hv2", "policy_denied"), 0)
        # one entry per end, in the IPv6 tables, replies counted
        for node, flag in (("hv1", 0x02), ("hv2", 0x04)):
            with self.subTest(node=node):
                tcp = self.lab.ct_find(node, 1, TCP, a1, a4, None, WHOAMI)
                self.assertTrue(tcp, self.lab.ct_entries(node, weftlab.CT6_TABLES))
                e = max(tcp, key=lambda x: x["last_seen_ns"])
                self.assertEqual(e["flags"] & 0x06, flag, e)
                self.assertGreaterEqual(e["packets"][1], 2, e)
                echo = self.lab.ct_find(node, 1, ICMPV6, a1, a4)
                self.assertTrue(echo and max(x["packets"][1] for x in echo) >= 3, echo)
        # weftctl lists the IPv6 flow (when built: netns.test_weftctl requires it)
        weftctl = os.path.join(weftlab.default_build_dir(), "weftctl")
        if os.access(weftctl, os.X_OK):
            cp = subprocess.run([weftctl, "--socket", self.lab.agent_socket("hv1"), "--json",
                                 "conntrack", "--tenant", "1", "--addr", a4],
                                capture_output=True, text=True, timeout=20)
            self.assertEqual(cp.returncode, 0, cp.stderr)
            flows = {(e["protocol"], e["src"], e["dst"], e.get("dport")) for e in
                     json.loads(cp.stdout)["entries"]}
            self.assertIn(("tcp", a1, a4, WHOAMI), flows, cp.stdout)
        # the other way round no rule allows anything: the replies above
        # passed by conntrack
        before = self.counters()
        self.assertEqual(self.tcp_connect("a4", a1, WHOAMI, 1)["result"], "timeout")
        self.assertFalse(self.lab.ping("a4", a1, count=1, timeout=1).ok)
        self.assertGreater(self.delta(self.counters(), before, "hv2", "policy_denied"), 0)

    def test_ipv6_denied_at_the_source_and_at_the_destination(self):
        before = self.counters()
        # no rule allows tcp 7778 out of web: dropped at a1's egress on hv1
        r = self.tcp_connect("a1", self.ip6("a4"), WHOAMI + 1, 1)
        self.assertEqual(r["result"], "timeout", r)
        mid = self.counters()
        self.assertGreater(self.delta(mid, before, "hv1", "policy_denied"), 0)
        self.assertEqual(self.delta(mid, before, "hv1", "encap"), 0)
        # web egress allows 7777 to anyone, web has no ingress rule: hv2 drops it
        r = self.tcp_connect("a1", A2_IP6, WHOAMI, 1)
        self.assertEqual(r["result"], "timeout", r)
        after = self.counters()
        self.assertGreater(self.delta(after, mid, "hv1", "encap"), 0)
        self.assertGreater(self.delta(after, mid, "hv2", "policy_denied"), 0)
        self.assertTrue(self.lab.ct_find("hv1", 1, TCP, self.ip6("a1"), A2_IP6, None, WHOAMI))
        self.assertFalse(self.lab.ct_find("hv2", 1, TCP, self.ip6("a1"), A2_IP6, None, WHOAMI))

    def test_ipv6_reject_tcp_is_refused_at_once_at_either_host(self):
        """A RST, as over IPv4: from the VM program at the source host
        (egress, and a same-host destination's ingress), and bounced
        through the tunnel by a remote destination's ingress (routed at
        the sender's host, so the RST is routed back there)."""
        self.assertRefused(self.ip6("a4"), EGRESS_REJECT, "hv1", "IPv6 egress at the source host")
        self.assertRefused(self.ip6("a3"), INGRESS_REJECT, "hv1", "IPv6 ingress, same host")
        self.assertRefused(self.ip6("a4"), INGRESS_REJECT, "hv2", "IPv6 ingress at hv2, routed")

    def test_ipv6_reject_udp_and_icmp_at_the_source_host_is_administratively_prohibited(self):
        """ICMPv6 destination unreachable, administratively prohibited, from
        the gateway: a connected UDP socket fails with EACCES, ping says so."""
        before = self.counters()
        r = self.udp_probe("a1", self.ip6("a4"), EGRESS_REJECT, timeout=2)
        self.assertEqual(r["result"], "EACCES", r)
        p = self.lab.ping("a1", A2_IP6, count=1, timeout=2)   # a-web-out's ICMPv6 reject
        self.assertFalse(p.ok, p.output)
        self.assertRegex(p.output, r"From fd00:0:0:1::1 .*Administratively prohibited",
                         p.output)
        after = self.counters()
        self.assertGreaterEqual(self.delta(after, before, "hv1", "reject"), 2)

    def test_ipv6_reject_non_tcp_at_a_remote_destination_is_a_drop(self):
        before = self.counters()
        r = self.udp_probe("a1", self.ip6("a4"), INGRESS_REJECT, timeout=0.3)
        self.assertEqual(r["result"], "timeout", r)
        after = self.counters()
        self.assertGreaterEqual(self.delta(after, before, "hv2", "policy_denied"), 3)
        self.assertEqual(self.delta(after, before, "hv2", "reject"), 0)

    def test_ipv6_related_icmp_error_passes(self):
        """a4 answers UDP to a closed port with ICMPv6 port unreachable,
        which belongs to the tracked flow (a4 may send nothing of its own)."""
        before = self.ct_stats()
        r = self.udp_probe("a1", self.ip6("a4"), RELATED_UDP)
        self.assertEqual(r["result"], "ECONNREFUSED", r)
        after = self.ct_stats()
        self.assertGreater(self.delta(after, before, "hv2", "related"), 0)
        self.assertGreater(self.delta(after, before, "hv1", "related"), 0)

    def test_ipv6_tenants_with_identical_addresses_are_isolated(self):
        """[fd00:0:0:1::10]:40777 -> [fd00:0:0:2::11]:7777, both sent on
        hv1: allowed in A (a1 -> a4, cross host), denied in B (b1 -> b2,
        same host). A first, so a conntrack keyed without the tenant would
        let B pass. And an address only the other tenant has answers nothing."""
        web, db = "fd00:0:0:1::10", "fd00:0:0:2::11"
        r = self.tcp_connect("a1", db, WHOAMI, 2, sport=TENANT_SPORT)
        self.assertEqual((r["result"], r["data"]), ("connected", "a4"), r)
        self.assertTrue(self.lab.ct_find("hv1", 1, TCP, web, db, TENANT_SPORT, WHOAMI))
        before = self.counters()
        r = self.tcp_connect("b1", db, WHOAMI, 1, sport=TENANT_SPORT)
        self.assertEqual(r["result"], "timeout", r)
        self.assertGreater(self.delta(self.counters(), before, "hv1", "policy_denied"), 0)
        self.assertFalse(self.lab.ct_find("hv1", 2, TCP, web, db, TENANT_SPORT, WHOAMI))
        # b4's address exists in B only; a1 routes to A's a-db, where nobody has it
        before = self.counters()
        self.assertFalse(self.lab.ping("a1", self.ip6("b4"), count=1, timeout=1).ok)
        self.assertEqual(self.tcp_connect("a1", self.ip6("b4"), WHOAMI, 1)["result"], "timeout")
        self.assertGreater(self.delta(self.counters(), before, "hv1", "unknown_destination"), 0)

if __name__ == "__main__":
    unittest.main()
