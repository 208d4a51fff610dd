"""Faults in the datapath, with real traffic in the lab (issue #10):

- a conntrack flood: a1 opens far more new flows to a4 than the pending
  table (weft_ct_pending) holds, while a1's established flows to a4 carry
  data. The flood evicts only pending entries: the established flows keep
  their entries in weft_ct on both hosts, no packet of theirs meets the
  firewall as new, and the pressure shows in the agent's metrics.
- policy flapping: two rule sets flipped through the state file and SIGHUP
  (the operator's path) while three classes of traffic flow; nothing that
  neither version allows arrives, and what both allow is never lost.

Topology: test_firewall's (tenant A default deny: a1 and a5 web on hv1, a4
db on hv2), its base policies plus the policies below.
"""

from __future__ import annotations

import json
import signal
import sys
import time

from netns_common import LabTestCase
from test_firewall import base_policies, firewall_topology
from weftlab import Policy, Rule, wait_for

A1, A4, A5 = "10.0.1.10", "10.0.2.11", "10.0.1.12"
METRICS = "127.0.0.1:9464"

# --- the flood ------------------------------------------------------------------
ECHO_TCP = 7301       # established TCP flows, echoed by a4
ECHO_UDP = 7302       # established UDP flows, echoed by a4
FLOOD_PORTS = list(range(7400, 7408))
FLOOD_FLOWS = 320000  # past both tables' sizes: 5x weft_ct_pending, 1.2x weft_ct
FLOOD_SECONDS = 60    # the flood's bound in time, whatever the machine's speed
PENDING_CAPACITY = 65536  # WEFT_MAX_CT_PENDING
TCP_FLOWS = 4

# --- the flapping ----------------------------------------------------------------
PORT_BOTH, PORT_ONE, PORT_NONE = 7501, 7502, 7503
FLIPS = 50
FLIP_SECONDS = 120    # bound of the flip loop
SEND_GAP = 0.003      # seconds between two rounds of the senders


def _read(path: str) -> str:
    with open(path, errors="replace") as f:
        return f.read()


def flood_policy() -> Policy:
    """a1 -> a4: the echo flows and the flood's ports, both ends."""
    udp = [ECHO_UDP] + FLOOD_PORTS
    return Policy("a-ctflood", "A", applied_to_endpoints=["a1", "a4"], rules=[
        Rule("egress", "allow", "tcp", ports=[ECHO_TCP], peer_cidrs=[f"{A4}/32"]),
        Rule("egress", "allow", "udp", ports=udp, peer_cidrs=[f"{A4}/32"]),
        Rule("ingress", "allow", "tcp", ports=[ECHO_TCP], peer_cidrs=[f"{A1}/32"]),
        Rule("ingress", "allow", "udp", ports=udp, peer_cidrs=[f"{A1}/32"]),
    ])


def flap_policy(version: str) -> Policy:
    """a1 and a5 may send the three ports to a4 (egress, hv1); a4's ingress
    (hv2) decides: both versions admit PORT_BOTH from a1, version A PORT_ONE
    from a1 and version B from a5 (a peer change). Nothing admits PORT_NONE,
    nor PORT_BOTH from a5 (tenant default deny)."""
    one = A1 if version == "A" else A5
    return Policy("a-flap", "A", applied_to_endpoints=["a1", "a5", "a4"], rules=[
        Rule("egress", "allow", "udp", ports=[PORT_BOTH, PORT_ONE, PORT_NONE],
             peer_cidrs=[f"{A4}/32"]),
        Rule("ingress", "allow", "udp", ports=[PORT_BOTH], peer_cidrs=[f"{A1}/32"]),
        Rule("ingress", "allow", "udp", ports=[PORT_ONE], peer_cidrs=[f"{one}/32"]),
    ])


# (sender VM, its address, destination port) -> class
FLAP_CLASSES = {
    ("a1", A1, PORT_BOTH): "both",
    ("a1", A1, PORT_ONE): "A only",
    ("a5", A5, PORT_ONE): "B only",
    ("a1", A1, PORT_NONE): "neither",
    ("a5", A5, PORT_NONE): "neither",
    ("a5", A5, PORT_BOTH): "neither",
}


# --- programs run inside the VMs ----------------------------------------------------

# a4: TCP and UDP echo; UDP sockets on the flood ports that read nothing (so
# the flood meets no port unreachable); SIGUSR1 sends "push" to every UDP
# client seen, the server speaking first on an established flow.
_ECHO_SERVER = r"""
import select, signal, socket, sys
tcp_port, udp_port, flood = int(sys.argv[1]), int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", tcp_port))
ls.listen(64)
us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
us.bind(("0.0.0.0", udp_port))
sinks = []
for p in flood:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", p))
    sinks.append(s)
clients, conns, push = set(), [], [False]
signal.signal(signal.SIGUSR1, lambda *_: push.__setitem__(0, True))
print("ready", flush=True)
while True:
    if push[0]:
        push[0] = False
        for c in clients:
            us.sendto(b"push", c)
        print("pushed", len(clients), flush=True)
    try:
        r, _, _ = select.select([ls, us] + conns, [], [], 0.2)
    except InterruptedError:
        continue
    for s in r:
        if s is ls:
            conns.append(ls.accept()[0])
        elif s is us:
            data, addr = us.recvfrom(2048)
            clients.add(addr)
            us.sendto(data, addr)
        else:
            data = s.recv(65536)
            if not data:
                conns.remove(s)
                s.close()
            else:
                s.sendall(data)
"""

# a1: N TCP connections and one active UDP flow carrying data every 20 ms,
# one idle UDP flow (a hello, then quiet: it only waits for the server's
# push). Prints "established" once all answered; on SIGTERM a JSON summary.
_ESTABLISHED_CLIENT = r"""
import json, select, signal, socket, sys, time
dst, tcp_port, udp_port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
stop = [False]
signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
tcp = [socket.create_connection((dst, tcp_port), timeout=5) for _ in range(n)]
active = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
active.connect((dst, udp_port))
idle = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
idle.connect((dst, udp_port))
for u in (active, idle):
    u.settimeout(5)
    u.send(b"hello")
    u.recv(64)
    u.setblocking(False)
print("established", flush=True)
out = {"tcp_rounds": 0, "tcp_bytes": 0, "tcp_errors": [], "udp_sent": 0, "udp_echoed": 0,
       "pushes": 0}
chunk = b"x" * 512
deadline = time.monotonic() + 300
while not stop[0] and time.monotonic() < deadline:
    for s in tcp:
        try:
            s.sendall(chunk)
            got = b""
            while len(got) < len(chunk):
                part = s.recv(len(chunk) - len(got))
                if not part:
                    raise OSError("closed by the server")
                got += part
            out["tcp_bytes"] += len(got)
        except OSError as e:
            out["tcp_errors"].append(str(e))
    out["tcp_rounds"] += 1
    active.send(b"data")
    out["udp_sent"] += 1
    r, _, _ = select.select([active, idle], [], [], 0.02)
    for u in r:
        while True:
            try:
                data = u.recv(64)
            except BlockingIOError:
                break
            if data == b"push":  # the server pushes to both flows; the idle one counts
                out["pushes"] += u is idle
                print("push", flush=True)
            else:
                out["udp_echoed"] += 1
t_end = time.monotonic() + 1.0
while time.monotonic() < t_end:
    r, _, _ = select.select([active], [], [], 0.1)
    for u in r:
        try:
            while u.recv(64) == b"data":
                out["udp_echoed"] += 1
        except BlockingIOError:
            pass
print(json.dumps(out), flush=True)
"""

# a1: the flood. UDP from one port pair per flow (raw socket: any source
# port), bounded by count and time. Prints {"sent": n, "seconds": t}.
_FLOOD = r"""
import json, socket, struct, sys, time
dst, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ports = [int(p) for p in sys.argv[4:]]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
t0 = time.monotonic()
sent = 0
per_port = (count + len(ports) - 1) // len(ports)
for sport in range(20000, 20000 + per_port):
    for dport in ports:
        if sent == count:
            break
        # UDP header, checksum 0 (none; allowed in IPv4), 8 bytes of payload
        try:
            s.sendto(struct.pack("!HHHH", sport, dport, 16, 0) + b"flood..!", (dst, 0))
            sent += 1
        except OSError:  # a full queue: the flow is simply not sent
            pass
    if sent == count or time.monotonic() - t0 > seconds:
        break
print(json.dumps({"sent": sent, "seconds": time.monotonic() - t0}))
"""

# a4: counts arrivals per (source address, port); "ready" first, on SIGTERM
# (after reading what is queued) a JSON {"addr port": count}.
_FLAP_RECEIVER = r"""
import json, select, signal, socket, sys
stop = [False]
signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
socks = []
for p in sys.argv[1:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 21)
    s.bind(("0.0.0.0", int(p)))
    s.setblocking(False)
    socks.append(s)
counts = {}
print("ready", flush=True)
def drain(s):
    while True:
        try:
            _, (addr, _) = s.recvfrom(64)
        except BlockingIOError:
            return
        key = "%s %d" % (addr, s.getsockname()[1])
        counts[key] = counts.get(key, 0) + 1
while not stop[0]:
    try:
        r, _, _ = select.select(socks, [], [], 0.2)
    except InterruptedError:
        continue
    for s in r:
        drain(s)
for s in socks:
    drain(s)
print(json.dumps(counts), flush=True)
"""

# a1 or a5: one socket (one flow) per port, round robin, one datagram per
# port every `gap` seconds; on SIGTERM a JSON {"port": sent}.
_FLAP_SENDER = r"""
import json, signal, socket, sys, time
dst, gap, ports = sys.argv[1], float(sys.argv[2]), [int(p) for p in sys.argv[3:]]
stop = [False]
signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
socks = {}
for p in ports:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((dst, p))
    socks[p] = s
sent = {p: 0 for p in ports}
next_t = time.monotonic()
deadline = next_t + 300
while not stop[0] and time.monotonic() < deadline:
    for p, s in socks.items():
        try:
            s.send(b"flap")
            sent[p] += 1
        except OSError:  # an ICMP error of an earlier datagram: not sent
            pass
    next_t += gap
    d = next_t - time.monotonic()
    if d > 0:
        time.sleep(d)
print(json.dumps({str(p): n for p, n in sent.items()}), flush=True)
"""

# One TCP connection and one echo; fails (exit status) otherwise.
_CONNECT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.settimeout(5)
s.sendall(b"new")
assert s.recv(16) == b"new"
"""

# Inside a node's namespace: the agent's metrics page.
_GET = r"""
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    sys.stdout.write(r.read().decode())
"""


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


class DatapathFaultTest(LabTestCase):
    """Both agents serve their metrics inside their node's namespace."""

    START_AGENTS = False
    WHOAMI = False

    @classmethod
    def make_topology(cls):
        return firewall_topology()

    @classmethod
    def prepare(cls, lab):
        for node in ("hv1", "hv2"):
            lab.start_agent(node, extra=["--metrics_listen", METRICS])

    # --- helpers -----------------------------------------------------------------
    def metrics(self, node: str) -> dict[str, float]:
        r = self.lab.exec(node, [sys.executable, "-c", _GET, f"http://{METRICS}/metrics"],
                          timeout=30)
        self.assertEqual(r.returncode, 0, f"metrics of {node}: {r.stderr}")
        return _samples(r.stdout)

    def set_policies(self, extra: list[Policy]) -> None:
        self.lab.topo.set_policies(base_policies() + extra)
        self.lab.apply_state(nodes=["hv1", "hv2"])

    def restore_base(self) -> None:
        self.set_policies([])

    def spawn(self, vm: str, program: str, args: list, what: str):
        """Starts a program in vm; killed at the end of the test if still running."""
        p, out, err = self.lab.spawn(self.lab.ns(vm), [sys.executable, "-u", "-c", program]
                                     + [str(a) for a in args], f"{what}-{time.monotonic_ns()}")
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p, out, err

    def summary(self, p, out: str, err: str, what: str) -> dict:
        """SIGTERM, then the JSON the program prints last."""
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
        try:
            return json.loads(_read(out).strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.fail(f"{what}: no summary: {_read(out)}{_read(err)}")

    def established_entries(self) -> dict:
        """{node: {(protocol, a1's port): entry}} of the a1 <-> a4 echo flows in
        weft_ct (the confirmed table only: a dump of the pending one is big)."""
        out = {}
        for node in ("hv1", "hv2"):
            found = {}
            for proto, port in ((6, ECHO_TCP), (17, ECHO_UDP)):
                for e in self.lab.ct_find(node, 1, proto, A1, A4, None, port,
                                          tables=("weft_ct",)):
                    client = e["port_lo"] if e["addr_lo"] == A1 else e["port_hi"]
                    found[(proto, client)] = e
            out[node] = found
        return out

    # --- conntrack under a new-flow flood -------------------------------------------
    def test_new_flow_flood_keeps_established_flows(self):
        self.addCleanup(self.restore_base)
        self.set_policies([flood_policy()])
        lab = self.lab
        server, sout, serr = self.spawn("a4", _ECHO_SERVER, [ECHO_TCP, ECHO_UDP] + FLOOD_PORTS,
                                        "echo-server")
        wait_for(lambda: "ready" in _read(sout), 10, what="echo server")
        client, cout, cerr = self.spawn("a1", _ESTABLISHED_CLIENT,
                                        [A4, ECHO_TCP, ECHO_UDP, TCP_FLOWS], "established")
        wait_for(lambda: "established" in _read(cout) or client.poll() is not None, 15,
                 what="established flows")
        self.assertIsNone(client.poll(), f"client ended: {_read(cout)}{_read(cerr)}")
        # the handshakes and first echoes confirmed the flows into weft_ct
        wait_for(lambda: all(len(v) == TCP_FLOWS + 2
                             for v in self.established_entries().values()),
                 5, what=f"{TCP_FLOWS} TCP and 2 UDP flows in weft_ct on both nodes")
        before = self.established_entries()
        c0 = {n: lab.counters(n) for n in ("hv1", "hv2")}
        s0 = {n: lab.ct_stats(n) for n in ("hv1", "hv2")}

        r = lab.exec("a1", [sys.executable, "-c", _FLOOD, A4, str(FLOOD_FLOWS),
                            str(FLOOD_SECONDS)] + [str(p) for p in FLOOD_PORTS],
                     timeout=FLOOD_SECONDS + 30)
        self.assertEqual(r.returncode, 0, r.stderr)
        flood = json.loads(r.stdout.strip().splitlines()[-1])

        m = {n: self.metrics(n) for n in ("hv1", "hv2")}
        s1 = {n: lab.ct_stats(n) for n in ("hv1", "hv2")}
        created = s1["hv1"]["created"] - s0["hv1"]["created"]
        pending = m["hv1"]["weft_conntrack_pending_entries"]
        print(f"\n  flood: {flood['sent']} new flows in {flood['seconds']:.1f} s; hv1 created "
              f"{created}, pending {pending:.0f}/{PENDING_CAPACITY}, weft_ct "
              f"{m['hv1']['weft_conntrack_entries']:.0f}; hv2 created "
              f"{s1['hv2']['created'] - s0['hv2']['created']}, pending "
              f"{m['hv2']['weft_conntrack_pending_entries']:.0f}", end="", flush=True)
        # the pressure: more new flows than the pending table holds, and it shows
        self.assertGreater(created, PENDING_CAPACITY, f"the flood did not fill the table: {flood}")
        self.assertGreater(m["hv1"]['weft_map_fill_ratio{map="weft_ct_pending"}'], 0.9)
        self.assertEqual(m["hv1"]['weft_map_capacity{map="weft_ct_pending"}'], PENDING_CAPACITY)
        self.assertGreater(m["hv1"]['weft_conntrack_events_total{event="created"}'], created - 1)
        # ... and none of it in the table of the established flows
        self.assertLess(m["hv1"]["weft_conntrack_entries"], 100)

        # the server speaks first on the idle UDP flow: under default deny only
        # its entry lets it out of a4 (hv2) and into a1 (hv1)
        server.send_signal(signal.SIGUSR1)
        wait_for(lambda: "push" in _read(cout), 5,
                 what="the server's datagram on the idle established UDP flow")
        after = self.established_entries()
        summary = self.summary(client, cout, cerr, "established client")
        c1 = {n: lab.counters(n) for n in ("hv1", "hv2")}
        s2 = {n: lab.ct_stats(n) for n in ("hv1", "hv2")}

        kept = {n: sum(1 for k, e in before[n].items() if k in after[n]
                       and after[n][k]["packets"][0] >= e["packets"][0]) for n in before}
        lost = summary["udp_sent"] - summary["udp_echoed"]
        print(f"\n  established: {TCP_FLOWS} TCP + 2 UDP flows, kept hv1 {kept['hv1']} hv2 "
              f"{kept['hv2']}; TCP {summary['tcp_rounds']} rounds, {summary['tcp_bytes']} B "
              f"echoed, errors {len(summary['tcp_errors'])}; UDP {summary['udp_sent']} sent, "
              f"{lost} not echoed; pushes {summary['pushes']}", end="", flush=True)
        for node in ("hv1", "hv2"):
            # the same entries (their counters went on), no flow picked up again
            self.assertEqual(kept[node], TCP_FLOWS + 2, f"{node}: {before[node]} -> {after[node]}")
            self.assertEqual(s2[node]["picked_up"] - s0[node]["picked_up"], 0, node)
            for reason in ("conntrack_invalid", "policy_denied", "policy_revoked"):
                self.assertEqual(c1[node].get(reason, 0) - c0[node].get(reason, 0), 0,
                                 f"{node}: {reason}")
        self.assertEqual(summary["tcp_errors"], [])
        self.assertGreater(summary["tcp_rounds"], 0)
        self.assertEqual(summary["pushes"], 1)

        # a new flow is still admitted after the flood (its entry evicts a stale one)
        r = lab.exec("a1", [sys.executable, "-c", _CONNECT, A4, str(ECHO_TCP)], timeout=30)
        self.assertEqual(r.returncode, 0, f"a new connection after the flood: {r.stderr}")

    # --- policy flapping -----------------------------------------------------------
    def test_flapping_policy_passes_nothing_neither_version_allows(self):
        self.addCleanup(self.restore_base)
        self.set_policies([flap_policy("A")])
        recv, rout, rerr = self.spawn("a4", _FLAP_RECEIVER, [PORT_BOTH, PORT_ONE, PORT_NONE],
                                      "flap-receiver")
        wait_for(lambda: "ready" in _read(rout), 10, what="flap receiver")
        senders = {vm: self.spawn(vm, _FLAP_SENDER, [A4, SEND_GAP, PORT_BOTH, PORT_ONE,
                                                     PORT_NONE], f"flap-sender-{vm}")
                   for vm in ("a1", "a5")}
        flips, deadline = 0, time.monotonic() + FLIP_SECONDS
        while flips < FLIPS and time.monotonic() < deadline:
            self.set_policies([flap_policy("B" if flips % 2 == 0 else "A")])
            flips += 1
            time.sleep(0.05)  # each version in force for a while
        sent = {vm: self.summary(*p, f"sender {vm}") for vm, p in senders.items()}
        time.sleep(0.5)  # the last datagrams reach a4's sockets
        got = self.summary(recv, rout, rerr, "receiver")

        by_class: dict[str, list[int]] = {}  # class -> [sent, arrived]
        for (vm, addr, port), cls in FLAP_CLASSES.items():
            c = by_class.setdefault(cls, [0, 0])
            c[0] += sent[vm][str(port)]
            c[1] += got.get(f"{addr} {port}", 0)
        checked = sum(got.values()) + by_class["neither"][0]
        print(f"\n  flapping: {flips} flips; sent/arrived "
              + ", ".join(f"{k} {s}/{a}" for k, (s, a) in by_class.items())
              + f"; {checked} packets checked", end="", flush=True)
        self.assertEqual(flips, FLIPS, "the flips did not finish in time")
        self.assertEqual(by_class["neither"][1], 0, "a class neither version allows arrived")
        self.assertGreater(by_class["neither"][0], 0)
        both_sent, both_got = by_class["both"]
        self.assertGreater(both_sent, 0)
        self.assertEqual(both_got, both_sent, "a flow both versions allow lost datagrams")
        self.assertGreater(by_class["A only"][1], 0, "version A never in force")
        self.assertGreater(by_class["B only"][1], 0, "version B never in force")
        unknown = set(got) - {f"{addr} {port}" for (_, addr, port) in FLAP_CLASSES}
        self.assertEqual(unknown, set(), "arrivals from no class")
