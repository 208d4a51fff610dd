"""A Weft lab: hypervisors, VMs and an underlay built from network namespaces.

    topo = default_topology()
    with Lab(topo, build_dir="build") as lab:     # builds; tears down on exit
        lab.start_agents()
        lab.start_whoami()
        assert lab.ping("a1", "10.0.2.11").ok
        assert lab.whoami("a1", "10.0.2.11") == "a4"

Layout (every name starts with the run's prefix "wft<6 hex>-"):
  <p>ul            underlay: bridge br0, one port per hypervisor (named after it)
  <p><node>        hypervisor: eth0 = VTEP/24 on the underlay, MTU 1500;
                   v<vm> = host side of each local VM's veth
  <p><vm>          VM: eth0 with the endpoint's MAC and IP, default route
                   via the segment's gateway; with an ip6 (dual stack) also
                   IPv6 on eth0 only: the ip6/64 (nodad) and a default route
                   via the segment's gateway6 (see enable_ipv6_vm)
Foreign nodes (plain Linux) get per VNI a kernel vxlan device vxlan<vni>
enslaved to bridge br<vni> with the VMs' host sides, and a static FDB.
mode="kernel" builds every node that way (plus an anycast gateway on each
bridge and per-tenant routing tables): the agent-free reference the lab tests
itself against.

Teardown is idempotent and runs on `with` exit, on exceptions, on SIGINT
(KeyboardInterrupt) and SIGTERM (turned into an exception by
install_signal_handlers), and at interpreter exit for any lab still up.
"""

from __future__ import annotations

import atexit
import ipaddress
import json
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass, field

from . import counters as _counters
from .ns import (IP, LabError, cleanup_stale, delete_netns, ip, ip_batch,
                 kill_netns_processes, mounts_under, ns_argv, ns_run, run,
                 run_dir, unmount_all_under, wait_for)
from .topology import VM, Node, Topology

WHOAMI_PORT = 7777
# conntrack tables (docs/FIREWALL.md): IPv4 flows, IPv6 flows
CT_TABLES = ("weft_ct", "weft_ct_pending")
CT6_TABLES = ("weft_ct6", "weft_ct6_pend")
IPERF_PORT = 5201
UNDERLAY_PREFIXLEN = 24
UNDERLAY6_PREFIXLEN = 64
UNDERLAY_MTU = 1500


def _is_ipv6(address: str) -> bool:
    return ":" in address


def enable_ipv6_underlay(ns: str) -> None:
    """IPv6 on the interfaces a namespace has now (lo, eth0: the underlay's
    sockets and addresses), not on those created later (VMs' veths: the
    lab's tenants have none). Writing "all" writes "default" too: set back."""
    ns_run(ns, ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
                "net.ipv6.conf.default.disable_ipv6=1"])


def enable_ipv6_vm(ns: str) -> None:
    """IPv6 on a dual-stack VM's eth0 (before it goes up; the namespace's
    other interfaces keep it off). Deterministic: no duplicate address
    detection (the link-local address is usable at once, and no probe is
    sent), and router advertisements ignored: the default route is the
    lab's static one via the segment's gateway6 and the IPv6 MTU stays the
    link's, so neither depends on when an advertisement arrives (the agent
    sends them; a test may turn accept_ra on to see one). What the VM still
    sends by itself: MLD reports, dropped at its port as `broadcast`."""
    ns_run(ns, ["sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=0",
                "net.ipv6.conf.eth0.accept_ra=0", "net.ipv6.conf.eth0.disable_ipv6=0"])


_WHOAMI_SERVER = r"""
import socket, sys
name = (sys.argv[1] + "\n").encode()
if len(sys.argv) > 3 and sys.argv[3] == "dual":
    # IPv6 and IPv4 (as mapped addresses) on one socket
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", int(sys.argv[2])))
else:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sys.argv[2])))
s.listen(64)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    try:
        c.sendall(name)
    except OSError:
        pass
    c.close()
"""

_WHOAMI_CLIENT = r"""
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    s.settimeout(float(sys.argv[3]))
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(256)
        if not chunk:
            break
        data += chunk
    print("OK " + data.decode(errors="replace").strip())
except Exception as e:
    print("ERR %s: %s" % (type(e).__name__, e))
"""

_live_labs: "weakref.WeakSet[Lab]" = weakref.WeakSet()


@atexit.register
def _teardown_all():
    for lab in list(_live_labs):
        try:
            lab.teardown()
        except Exception as e:  # pragma: no cover - last resort
            print(f"weftlab: teardown at exit failed: {e}", file=sys.stderr)


def install_signal_handlers():
    """SIGTERM/SIGHUP raise KeyboardInterrupt so `with`/finally teardown runs
    (SIGINT already does)."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, handler)


def new_prefix() -> str:
    return f"wft{secrets.token_hex(3)}-"


REQUIRED_TOOLS = ("ip", "bridge", "tc", "ss", "ping", "tcpdump", "iperf3", "ethtool",
                  "sysctl", "timeout", "mount", "bpftool")


def missing_tools() -> list[str]:
    """Commands the lab needs that are not installed (ping is iputils-ping)."""
    path = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
    return [t for t in REQUIRED_TOOLS if shutil.which(t, path=path) is None]


def default_build_dir() -> str:
    return os.environ.get("WEFT_BUILD_DIR") or os.path.join(_counters.REPO_ROOT, "build")


@dataclass
class PingResult:
    ok: bool            # at least one reply
    transmitted: int
    received: int
    loss: float         # percent
    output: str
    frag_needed_mtu: int | None = None  # from "Frag needed ... (mtu = N)" / "mtu=N"

    def __bool__(self):
        return self.ok


@dataclass
class Agent:
    node: str
    proc: subprocess.Popen
    ready_file: str
    stdout_path: str
    stderr_path: str
    argv: list[str] = field(default_factory=list)

    def stderr(self) -> str:
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stdout(self) -> str:
        try:
            with open(self.stdout_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Capture:
    """tcpdump on an interface of a namespace, bounded in time. Use as a
    context manager: the capture is listening when __enter__ returns, and
    `count` holds the number of captured packets after __exit__ (or stop())."""

    def __init__(self, lab: "Lab", ns: str, iface: str, bpf_filter: str,
                 max_seconds: float = 30.0):
        self.lab, self.ns, self.iface, self.filter = lab, ns, iface, bpf_filter
        self.max_seconds = max_seconds
        self.count: int | None = None
        self.lines: list[str] = []
        self.proc: subprocess.Popen | None = None
        self._out = None
        self._stderr = ""

    def start(self) -> "Capture":
        path = os.path.join(self.lab.log_dir, f"tcpdump-{time.monotonic_ns()}.txt")
        self._out_path = path
        self._out = open(path, "w")
        # `timeout` bounds the capture even if we die; it forwards SIGINT.
        argv = ns_argv(self.ns, ["timeout", "-s", "INT", str(int(self.max_seconds) + 1),
                                 "tcpdump", "-i", self.iface, "-nn", "-l", "-p",
                                 "--immediate-mode", *self.filter.split()])
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        self.lab._procs.append(self.proc)
        deadline = time.monotonic() + 10
        buf = ""
        while "listening on" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise LabError(f"tcpdump on {self.ns}/{self.iface} did not start: {buf.strip()}")
            r, _, _ = select.select([self.proc.stderr], [], [], left)
            if r:
                chunk = os.read(self.proc.stderr.fileno(), 4096).decode(errors="replace")
                if not chunk:
                    continue
                buf += chunk
        self._stderr = buf
        return self

    def stop(self) -> int:
        if self.proc is None:
            return self.count or 0
        if self.proc.poll() is None:
            # let in-flight packets reach the socket before stopping
            time.sleep(0.2)
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        self._stderr += err or ""
        self._out.close()
        with open(self._out_path, errors="replace") as f:
            self.lines = [l for l in f.read().splitlines() if l.strip()]
        m = re.search(r"(\d+) packets? captured", self._stderr)
        self.count = int(m.group(1)) if m else len(self.lines)
        self.proc = None
        return self.count

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class Lab:
    def __init__(self, topo: Topology, *, mode: str = "weft", build_dir: str | None = None,
                 agent_path: str | None = None, underlay_hook: str | None = None,
                 prefix: str | None = None, verbose: bool = False):
        if mode not in ("weft", "kernel"):
            raise ValueError(f"mode must be weft or kernel, not {mode!r}")
        topo.validate()
        self.topo = topo
        self.mode = mode
        self.build_dir = build_dir or default_build_dir()
        self.agent_path = agent_path or os.path.join(self.build_dir, "weft-agent")
        self.underlay_hook = underlay_hook
        self.prefix = prefix or new_prefix()
        self.verbose = verbose
        self.dir = run_dir(self.prefix)
        self.bpffs = os.path.join(self.dir, "bpffs")
        self.log_dir = os.path.join(self.dir, "logs")
        self.state_file = os.path.join(self.dir, "state.yaml")
        self.agents: dict[str, Agent] = {}
        # How a new state reaches the agents: by default the state file and
        # SIGHUP; a ControlPlane makes it the controller's file instead.
        self.publish_state = self._publish_to_agents
        self._procs: list[subprocess.Popen] = []
        self._whoami: dict[str, subprocess.Popen] = {}
        self._namespaces: list[str] = []
        self._built = False
        self._torn_down = False

    # --- names -------------------------------------------------------------
    @property
    def underlay_ns(self) -> str:
        return f"{self.prefix}ul"

    def ns(self, name: str) -> str:
        """Namespace of a node or VM (by topology name)."""
        return f"{self.prefix}{name}"

    def pin_dir(self, node: str) -> str:
        return os.path.join(self.bpffs, "weft", node)

    def log(self, msg: str) -> None:
        if self.verbose:
            print(f"[weftlab {self.prefix}] {msg}", file=sys.stderr, flush=True)

    # --- lifecycle -----------------------------------------------------------
    def __enter__(self):
        try:
            self.build()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False

    def build(self) -> "Lab":
        """Creates namespaces, links, addresses; mounts the run's bpffs and
        writes the state file (weft mode). On failure, everything created so
        far is removed before the exception propagates."""
        missing = missing_tools()
        if missing:
            raise LabError(f"lab tools missing: {' '.join(missing)} "
                           "(Debian: iputils-ping iproute2 tcpdump iperf3 ethtool bpftool)")
        _live_labs.add(self)
        try:
            cleanup_stale(self.prefix)
            os.makedirs(self.log_dir, exist_ok=True)
            self._build_underlay()
            for node in self.topo.nodes:
                self._build_node(node)
            for node in self.topo.nodes:
                if self._is_linux_node(node):
                    self._build_linux_bridges(node)
            for vm in self.topo.vms:
                self._build_vm(vm)
            for node in self.topo.nodes:
                if self._is_linux_node(node):
                    self._program_linux_node(node)
            if self.mode == "weft":
                os.makedirs(self.bpffs, exist_ok=True)
                run(["mount", "-t", "bpf", "bpf", self.bpffs])
                self.write_state()
            self._built = True
        except BaseException:
            self.teardown()
            raise
        return self

    def teardown(self) -> None:
        """Stops agents (SIGTERM, then SIGKILL), every process the lab
        started, deletes the namespaces, unmounts the bpffs and removes the
        run directory. Safe to call more than once."""
        if self._torn_down:
            return
        self._torn_down = True
        for node in list(self.agents):
            try:
                self.stop_agent(node, timeout=5)
            except Exception as e:
                print(f"weftlab: stopping agent {node}: {e}", file=sys.stderr)
        for p in self._procs:
            _terminate(p)
        for ns in reversed(self._namespaces):
            kill_netns_processes(ns, grace=1.0)
        for ns in reversed(self._namespaces):
            delete_netns(ns)
        keep = os.environ.get("WEFT_LAB_KEEP_LOGS")
        if keep and os.path.isdir(self.log_dir):
            dst = os.path.join(keep, self.prefix.rstrip("-"))
            shutil.copytree(self.log_dir, dst, dirs_exist_ok=True)
        cleanup_stale(self.prefix)
        _live_labs.discard(self)

    # --- building ------------------------------------------------------------
    def _is_linux_node(self, node: Node) -> bool:
        return node.foreign or self.mode == "kernel"

    def _add_ns(self, ns: str) -> None:
        run([IP, "netns", "add", ns])
        self._namespaces.append(ns)
        # no IPv6 in the lab (keeps counters clean), but on an IPv6
        # underlay's interfaces (_build_node) and a dual-stack VM's eth0
        # (_build_vm)
        ns_run(ns, ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                    "net.ipv6.conf.default.disable_ipv6=1"])
        ip(ns, "link", "set", "lo", "up")

    def _build_underlay(self) -> None:
        ul = self.underlay_ns
        self._add_ns(ul)
        ip_batch(ul, ["link add br0 type bridge",
                      "link set br0 type bridge forward_delay 0 stp_state 0",
                      "link set br0 up"])

    def _build_node(self, node: Node) -> None:
        hv = self.ns(node.name)
        self._add_ns(hv)
        # underlay port in the underlay namespace, eth0 in the hypervisor
        ip(self.underlay_ns, "link", "add", node.name, "mtu", str(UNDERLAY_MTU),
           "type", "veth", "peer", "name", "eth0", "netns", hv)
        ip_batch(self.underlay_ns, [f"link set {node.name} master br0",
                                    f"link set {node.name} up"])
        if self.mode == "weft" and self.underlay_hook == "xdp" and not node.foreign:
            # XDP_TX out of eth0 lands on this port: it needs NAPI (GRO) on veth
            self._gro_on(self.underlay_ns, node.name)
        if _is_ipv6(node.vtep):
            enable_ipv6_underlay(hv)
            # nodad: usable at once (every address of the lab is unique).
            address = f"addr add {node.vtep}/{UNDERLAY6_PREFIXLEN} dev eth0 nodad"
        else:
            address = f"addr add {node.vtep}/{UNDERLAY_PREFIXLEN} dev eth0"
        ip_batch(hv, [f"link set eth0 mtu {UNDERLAY_MTU}", address, "link set eth0 up"])
        if self.mode == "weft" and self.underlay_hook == "xdp" and not node.foreign:
            # A NIC fills in the checksums a local sender left partial; a
            # veth passes them on unfilled, and XDP on the receiving host
            # loses the skb's "partial" mark. Make eth0 fill them, as a NIC.
            ns_run(hv, ["ethtool", "-K", "eth0", "tx", "off"])
        sysctls = ["net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"]
        if self.mode == "kernel" and not node.foreign:
            sysctls.append("net.ipv4.ip_forward=1")
        ns_run(hv, ["sysctl", "-q", "-w", *sysctls])

    def _linux_vnis(self, node: Node) -> list[int]:
        """VNIs a Linux node carries: its VMs' segments; in kernel mode a
        non-foreign node carries every segment of every tenant it serves
        (it routes between them)."""
        vnis = set(self.topo.vnis_on(node.name))
        if self.mode == "kernel" and not node.foreign:
            tenants = {self.topo.segment(v.segment).tenant for v in self.topo.vms_on(node.name)}
            vnis |= {s.vni for s in self.topo.segments if s.tenant in tenants}
        return sorted(vnis)

    def _build_linux_bridges(self, node: Node) -> None:
        hv = self.ns(node.name)
        cmds = []
        # Weft sends VXLAN over IPv6 with a zero UDP checksum (RFC 6935), which
        # the kernel's vxlan drops unless told otherwise, and sends it so too:
        # like its IPv4 default, the inner checksums are then complete on the
        # wire (docs/DATAPATH.md "IPv6 underlay").
        zero_csum = " udp6zerocsumtx udp6zerocsumrx" if _is_ipv6(node.vtep) else ""
        for vni in self._linux_vnis(node):
            cmds += [
                f"link add vxlan{vni} type vxlan id {vni} dstport 4789 "
                f"local {node.vtep} dev eth0 nolearning{zero_csum}",
                f"link add br{vni} type bridge",
                f"link set br{vni} type bridge forward_delay 0 stp_state 0",
                f"link set vxlan{vni} master br{vni}",
                f"link set vxlan{vni} up",
                f"link set br{vni} up",
            ]
        if cmds:
            ip_batch(hv, cmds)

    def _build_vm(self, vm: VM) -> None:
        node = self.topo.node(vm.node)
        seg = self.topo.segment(vm.segment)
        hv, vns = self.ns(node.name), self.ns(vm.name)
        self._add_ns(vns)
        ip(hv, "link", "add", vm.interface, "mtu", str(vm.mtu), "type", "veth",
           "peer", "name", "eth0", "netns", vns)
        host_cmds = []
        if self._is_linux_node(node):
            host_cmds.append(f"link set {vm.interface} master br{seg.vni}")
        host_cmds.append(f"link set {vm.interface} up")
        ip_batch(hv, host_cmds)
        if self._is_linux_node(node):
            # local VMs known from the start: no unknown-unicast flooding
            run(["bridge", "-n", hv, "fdb", "replace", vm.mac, "dev", vm.interface,
                 "master", "static"])
        if vm.ip6:
            enable_ipv6_vm(vns)
        ip_batch(vns, [f"link set eth0 address {vm.mac}",
                       f"link set eth0 mtu {vm.mtu}",
                       f"addr add {vm.ip}/{seg.prefixlen} dev eth0",
                       # nodad: usable at once (the state makes it unique)
                       *([f"addr add {vm.ip6}/{seg.prefixlen6} dev eth0 nodad"]
                         if vm.ip6 else []),
                       "link set eth0 up",
                       f"route add default via {seg.gateway} dev eth0",
                       *([f"route add ::/0 via {seg.gateway6} dev eth0"] if vm.ip6 else [])])
        if self.mode == "weft" and self.underlay_hook == "xdp":
            # XDP_REDIRECT into a veth needs GRO (NAPI) on the receiving end
            self._gro_on(vns, "eth0")

    def _gro_on(self, ns: str, dev: str) -> None:
        ns_run(ns, ["ethtool", "-K", dev, "gro", "on"])
        feats = ns_run(ns, ["ethtool", "-k", dev]).stdout
        if not re.search(r"^generic-receive-offload: on", feats, re.M):
            raise LabError(f"could not enable GRO on {ns}/{dev}")

    def _program_linux_node(self, node: Node) -> None:
        """Static FDB for a plain Linux vxlan host (and, in kernel mode, the
        anycast gateway, per-tenant tables and static neighbours)."""
        hv = self.ns(node.name)
        # edges carry no segment: no flooding to them
        weft = [n for n in self.topo.nodes if not n.foreign and n.role != "edge"]
        fdb, ipcmds, ip6cmds, sysctls = [], [], [], []
        for vni in self._linux_vnis(node):
            seg = self.topo.segment_by_vni(vni)
            dev = f"vxlan{vni}"
            remote_vms = [v for v in self.topo.vms_in(seg.name) if v.node != node.name]
            for v in remote_vms:
                fdb.append(f"fdb add {v.mac} dev {dev} dst {self.topo.node(v.node).vtep} "
                           "self permanent")
            # BUM: every other node carrying the VNI (all Weft nodes in weft mode)
            bum = {self.topo.node(v.node).vtep for v in remote_vms}
            if self.mode == "weft":
                bum |= {n.vtep for n in weft if n.name != node.name}
                if weft:
                    # the anycast gateway lives on every Weft host; hv1 it is
                    fdb.append(f"fdb add {seg.gateway_mac} dev {dev} dst {weft[0].vtep} "
                               "self permanent")
            elif not node.foreign:
                bum |= {n.vtep for n in self.topo.nodes
                        if n.name != node.name and not n.foreign
                        and vni in self._linux_vnis(n)}
            for vtep in sorted(bum):
                fdb.append(f"fdb append 00:00:00:00:00:00 dev {dev} dst {vtep} self permanent")
            if self.mode == "kernel" and not node.foreign:
                table = 100 + self.topo.tenant(seg.tenant).id
                br = f"br{vni}"
                ipcmds += [f"link set {br} address {seg.gateway_mac}",
                           f"addr add {seg.gateway}/{seg.prefixlen} dev {br} noprefixroute",
                           f"route add {seg.subnet} dev {br} table {table}",
                           f"rule add iif {br} lookup {table} pref 100"]
                for v in self.topo.vms_in(seg.name):
                    ipcmds.append(f"neigh replace {v.ip} lladdr {v.mac} dev {br} nud permanent")
                if seg.subnet6:
                    # the IPv6 side of the gateway, as the IPv4 one
                    sysctls += [f"net.ipv6.conf.{br}.accept_dad=0",
                                f"net.ipv6.conf.{br}.disable_ipv6=0"]
                    ip6cmds += [f"addr add {seg.gateway6}/{seg.prefixlen6} dev {br} nodad "
                                "noprefixroute",
                                f"route add {seg.subnet6} dev {br} table {table}",
                                f"rule add iif {br} lookup {table} pref 100"]
                    ip6cmds += [f"neigh replace {v.ip6} lladdr {v.mac} dev {br} nud permanent"
                                for v in self.topo.vms_in(seg.name) if v.ip6]
        if self.mode == "kernel" and not node.foreign:
            tables = {100 + self.topo.tenant(self.topo.segment_by_vni(v).tenant).id
                      for v in self._linux_vnis(node)}
            for t in sorted(tables):
                ipcmds.append(f"route add unreachable default table {t}")
                if ip6cmds:
                    ip6cmds.append(f"route add unreachable default table {t}")
            if ip6cmds:
                sysctls.append("net.ipv6.conf.all.forwarding=1")
        if fdb:
            run(["bridge", "-n", hv, "-batch", "-"], input="\n".join(fdb) + "\n")
        if ipcmds:
            ip_batch(hv, ipcmds)
        if sysctls:
            # "all.forwarding" sets every interface's: after the bridges
            ns_run(hv, ["sysctl", "-q", "-w", *sysctls])
        if ip6cmds:
            ip_batch(hv, ip6cmds, family="-6")

    # --- state file ------------------------------------------------------------
    def write_state(self, state: dict | str | None = None, path: str | None = None) -> str:
        """Writes the state file (from the topology unless given a dict or
        YAML text). Atomic (rename), so a reload never sees half a file."""
        from .topology import dump_state_yaml
        if state is None:
            text = self.topo.state_yaml()
        elif isinstance(state, dict):
            text = dump_state_yaml(state)
        else:
            text = state
        path = path or self.state_file
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
        return path

    # --- processes ---------------------------------------------------------------
    def spawn(self, ns: str, argv: list[str], name: str) -> tuple[subprocess.Popen, str, str]:
        """Starts argv in namespace ns in the background, output to log files.
        Returns (process, stdout path, stderr path); teardown stops it."""
        out = os.path.join(self.log_dir, f"{name}.out")
        err = os.path.join(self.log_dir, f"{name}.err")
        with open(out, "w") as fo, open(err, "w") as fe:
            p = subprocess.Popen(ns_argv(ns, argv), stdout=fo, stderr=fe,
                                 stdin=subprocess.DEVNULL)
        self._procs.append(p)
        return p, out, err

    def exec(self, name: str, argv: list[str], **kw) -> subprocess.CompletedProcess:
        """Runs argv in the namespace of node/VM `name` (check=False by default)."""
        kw.setdefault("check", False)
        return ns_run(self.ns(name), argv, **kw)

    # --- agents -----------------------------------------------------------------
    def agent_socket(self, node: str) -> str:
        """Node's agent's local API socket (weftctl's): in the run directory,
        never the host's /run/weft, which labs side by side (with the same
        node names) would share."""
        return os.path.join(self.dir, "api", f"{node}.sock")

    def agent_node_flags(self, node: str, extra: list[str] | None = None) -> list[str]:
        """What every lab agent of `node` is started with, whatever its
        source of state, followed by `extra` (which may name its own
        --api_socket)."""
        extra = list(extra or [])
        flags = ["--node", node, "--underlay", "eth0", "--bpffs", self.bpffs]
        if self.underlay_hook:
            flags += ["--underlay_hook", self.underlay_hook]
        if "--api_socket" not in extra:
            flags += ["--api_socket", self.agent_socket(node)]
        return flags + extra

    def agent_argv(self, node: str, *, state_file: str | None = None,
                   ready_file: str | None = None, extra: list[str] | None = None) -> list[str]:
        argv = [self.agent_path, "--state", state_file or self.state_file]
        if ready_file:
            argv += ["--ready_file", ready_file]
        return argv + self.agent_node_flags(node, extra)

    def start_agent(self, node: str, *, timeout: float = 30.0, extra: list[str] | None = None,
                    state_file: str | None = None) -> Agent:
        """Starts weft-agent in node's namespace and polls its --ready_file.
        Raises LabError (with the agent's stderr) if it exits or is not ready
        in time."""
        if self.mode != "weft":
            raise LabError("agents run only in weft mode")
        if not os.access(self.agent_path, os.X_OK):
            raise LabError(f"no agent binary at {self.agent_path}")
        if node in self.agents:
            raise LabError(f"agent {node} already running")
        ready = os.path.join(self.dir, f"{node}.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        argv = self.agent_argv(node, state_file=state_file, ready_file=ready, extra=extra)
        tag = f"agent-{node}-{time.monotonic_ns()}"
        proc, out, err = self.spawn(self.ns(node), argv, tag)
        agent = Agent(node, proc, ready, out, err, argv)
        self.agents[node] = agent
        self.log(f"started agent {node}: {' '.join(argv)}")
        try:
            wait_for(lambda: os.path.exists(ready) or proc.poll() is not None,
                     timeout, what=f"agent {node} ready file")
        except LabError:
            self.stop_agent(node, timeout=5)
            raise LabError(f"agent {node} not ready after {timeout}s; stderr:\n"
                           f"{_tail(agent.stderr())}")
        if proc.poll() is not None:
            del self.agents[node]
            raise LabError(f"agent {node} exited with {proc.returncode} before ready; "
                           f"stderr:\n{_tail(agent.stderr())}")
        return agent

    def start_agents(self, timeout: float = 30.0) -> None:
        for n in self.topo.weft_nodes():
            self.start_agent(n.name, timeout=timeout)

    def stop_agent(self, node: str, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait (SIGKILL after timeout). Returns the exit status
        (negative: killed by that signal)."""
        agent = self.agents.pop(node, None)
        if agent is None:
            return None
        p = agent.proc
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"weftlab: agent {node} ignored SIGTERM for {timeout}s; killing",
                      file=sys.stderr)
                p.kill()
                p.wait()
        self.last_agent_exit = (node, p.returncode, agent)
        return p.returncode

    def reload_agent(self, node: str) -> None:
        agent = self.agents[node]
        if agent.proc.poll() is not None:
            raise LabError(f"agent {node} is not running (exit {agent.proc.returncode}): "
                           f"{_tail(agent.stderr())}")
        agent.proc.send_signal(signal.SIGHUP)

    def reload_agents(self) -> None:
        for node in list(self.agents):
            self.reload_agent(node)

    def check_agents_alive(self) -> list[str]:
        """Names of agents that have exited (with their status and stderr tail)."""
        dead = []
        for node, a in self.agents.items():
            if a.proc.poll() is not None:
                dead.append(f"{node} (exit {a.proc.returncode}): {_tail(a.stderr(), 5)}")
        return dead

    def counters(self, node: str) -> dict[str, int]:
        """weft_stats of node's agent: {reason label: packets}, summed over CPUs."""
        return _counters.read_counters(os.path.join(self.pin_dir(node), "weft_stats"))

    # --- firewall ------------------------------------------------------------------
    def ct_stats(self, node: str) -> dict[str, int]:
        """weft_ct_stats of node's agent: {label: count}, summed over CPUs."""
        return _counters.read_ct_stats(os.path.join(self.pin_dir(node), "weft_ct_stats"))

    def policy_ctl(self, node: str) -> tuple[int, int]:
        """(active slot, generation) from node's pinned weft_pol_ctl."""
        dump = _counters.bpftool_dump(os.path.join(self.pin_dir(node), "weft_pol_ctl"))
        for entry in dump:
            v = entry.get("formatted", entry).get("value")
            if isinstance(v, dict):
                return int(v["active_slot"]), int(v["generation"])
            if isinstance(v, list):  # raw bytes, no BTF
                raw = bytes(int(b, 16) for b in v)
                return (int.from_bytes(raw[0:4], "little"),
                        int.from_bytes(raw[4:8], "little"))
        raise LabError(f"{node}: weft_pol_ctl has no entry 0")

    def policy_generation(self, node: str) -> int:
        return self.policy_ctl(node)[1]

    def _publish_to_agents(self, state: dict | str | None = None) -> None:
        self.write_state(state)
        self.reload_agents()

    def apply_state(self, nodes: list[str] | None = None, timeout: float = 15.0,
                    state: dict | str | None = None) -> dict[str, int]:
        """Rewrites the state file (from the topology unless given), sends
        SIGHUP to every running agent and polls until the firewall rule set
        generation (weft_pol_ctl) of each node in `nodes` (default: every
        running agent) has changed, i.e. the new rule set is in force there.
        The new state must change those nodes' policy tables, or this times
        out. Returns {node: new generation}."""
        nodes = list(self.agents) if nodes is None else list(nodes)
        before = {n: self.policy_generation(n) for n in nodes}
        self.publish_state(state)
        after: dict[str, int] = {}

        def changed():
            dead = self.check_agents_alive()
            if dead:
                raise LabError("agent(s) died: " + "; ".join(dead))
            for n in nodes:
                if n not in after:
                    g = self.policy_generation(n)
                    if g != before[n]:
                        after[n] = g
            return len(after) == len(nodes)

        try:
            wait_for(changed, timeout, interval=0.01, what="a new firewall generation on "
                     + ", ".join(n for n in nodes if n not in after))
        except LabError as e:
            tails = "\n".join(f"{n}: {_tail(self.agents[n].stderr(), 5)}" for n in nodes
                              if n in self.agents)
            raise LabError(f"{e}\nagent logs:\n{tails}") from None
        return after

    def ct_entries(self, node: str,
                   tables: tuple[str, ...] = CT_TABLES) -> list[dict]:
        """node's conntrack tables (confirmed flows in weft_ct, those seen one
        way only in weft_ct_pending; CT6_TABLES: weft_ct6 and weft_ct6_pend,
        IPv6 flows), one dict per entry: table, tenant, protocol,
        addr_lo/addr_hi (IPv4 dotted, IPv6 compressed), port_lo/port_hi (host
        order), state (name), flags (int), packets/bytes
        ([initiator->responder, reply]), policy_generation, rule_index,
        last_seen_ns."""
        out = []
        for table, entry in ((t, e) for t in tables for e in
                             _counters.bpftool_dump(os.path.join(self.pin_dir(node), t))):
            fmt = entry.get("formatted", entry)  # bpftool -j: BTF view under "formatted"
            k, v = fmt.get("key"), fmt.get("value")
            if not isinstance(k, dict) or not isinstance(v, dict):
                raise LabError(f"{node}: {table} dump without BTF: {entry}")
            if "addr_lo" in k:  # struct weft_ct6_key: 16-byte addresses
                lo, hi = _bytes_to_ip6(k["addr_lo"]), _bytes_to_ip6(k["addr_hi"])
            else:
                lo, hi = _be32_to_ip(k["addr_lo_be"]), _be32_to_ip(k["addr_hi_be"])
            out.append({
                "table": table,
                "tenant": int(k["tenant_id"]),
                "protocol": int(k["protocol"]),
                "addr_lo": lo,
                "addr_hi": hi,
                "port_lo": _be16_to_int(k["port_lo_be"]),
                "port_hi": _be16_to_int(k["port_hi_be"]),
                "state": CT_STATES.get(int(v["state"]), str(v["state"])),
                "flags": int(v["flags"]),
                "packets": [int(x) for x in v["packets"]],
                "bytes": [int(x) for x in v["bytes"]],
                "policy_generation": int(v["policy_generation"]),
                "rule_index": int(v["rule_index"]),
                "last_seen_ns": int(v["last_seen_ns"]),
            })
        return out

    def ct_find(self, node: str, tenant: int, protocol: int, a: str, b: str,
                port_a: int | None = None, port_b: int | None = None,
                tables: tuple[str, ...] | None = None) -> list[dict]:
        """Entries of node's conntrack tables for the flow between a and b
        (either order), with the given ports where not None. The tables are
        those of a's family unless given (CT_TABLES, CT6_TABLES)."""
        found = []
        if tables is None:
            tables = CT6_TABLES if _is_ipv6(a) else CT_TABLES
        a, b = str(ipaddress.ip_address(a)), str(ipaddress.ip_address(b))
        for e in self.ct_entries(node, tables):
            if e["tenant"] != tenant or e["protocol"] != protocol:
                continue
            for (x, px), (y, py) in (((e["addr_lo"], e["port_lo"]), (e["addr_hi"], e["port_hi"])),
                                     ((e["addr_hi"], e["port_hi"]), (e["addr_lo"], e["port_lo"]))):
                if x == a and y == b and port_a in (None, px) and port_b in (None, py):
                    found.append(e)
                    break
        return found

    def route_next_hops(self, node: str, tenant_id: int, prefix: str) -> list[str] | None:
        """The next hops (VTEPs, sorted) of node's weft_routes entry for
        exactly `prefix` in the tenant, or None without that entry."""
        net = ipaddress.ip_network(prefix)
        for entry in _counters.bpftool_dump(os.path.join(self.pin_dir(node), "weft_routes")):
            fmt = entry.get("formatted", entry)
            k, v = fmt.get("key"), fmt.get("value")
            if not isinstance(k, dict) or not isinstance(v, dict):
                raise LabError(f"{node}: weft_routes dump without BTF: {entry}")
            if (int(k["prefixlen"]) - 32 == net.prefixlen
                    and _be32_to_int(k["tenant_id_be"]) == tenant_id
                    and _be32_to_ip(k["addr_be"]) == str(net.network_address)):
                hops = v["nhops_be"][:int(v["nhop_count"])]
                return sorted(_be32_to_ip(h) for h in hops)
        return None

    def drop_counters(self, node: str) -> dict[str, int]:
        """Non-zero drop reasons of node's agent."""
        c = self.counters(node)
        return {k: v for k, v in c.items() if k in _counters.drop_labels() and v}

    def pinned(self, node: str | None = None) -> list[str]:
        """Objects pinned under <bpffs>/weft (or under node's pin dir), as
        paths relative to the bpffs. (The kernel's own maps.debug and
        progs.debug at the bpffs root are not pins.)"""
        base = self.pin_dir(node) if node else os.path.join(self.bpffs, "weft")
        out = []
        for root, dirs, files in os.walk(base):
            for f in files:
                out.append(os.path.relpath(os.path.join(root, f), self.bpffs))
        return sorted(out)

    def tc_filters(self, name: str, dev: str, direction: str = "ingress") -> str:
        """`tc filter show dev DEV ingress|egress` in node name's namespace."""
        cp = self.exec(name, ["tc", "filter", "show", "dev", dev, direction])
        return cp.stdout.strip()

    # --- traffic -------------------------------------------------------------------
    def ping(self, vm: str, dst: str, *, count: int = 3, timeout: float = 5.0,
             interval: float = 0.2, size: int | None = None, df: bool = False,
             src: str | None = None, ttl: int | None = None) -> PingResult:
        """ping from VM `vm` (IPv4 or IPv6 by dst); ok = at least one reply.
        ttl: the TTL (IPv6: hop limit) sent."""
        argv = ["ping", "-n", "-c", str(count), "-i", str(interval), "-W", "1",
                "-w", str(max(1, int(timeout)))]
        if size is not None:
            argv += ["-s", str(size)]
        if ttl is not None:
            argv += ["-t", str(ttl)]
        if df:
            argv += ["-M", "do"]
        if src:
            argv += ["-I", src]
        cp = self.exec(vm, argv + [dst], timeout=timeout + 5)
        return parse_ping(cp.stdout + cp.stderr)

    def wait_ping(self, vm: str, dst: str, timeout: float = 10.0) -> PingResult:
        """Pings once at a time until a reply or timeout; returns the last result."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.ping(vm, dst, count=1, timeout=1)
            if r.ok or time.monotonic() >= deadline:
                return r

    def start_whoami(self, vms: list[str] | None = None, timeout: float = 10.0) -> None:
        """A TCP server per VM on WHOAMI_PORT answering the VM's name."""
        names = vms or [v.name for v in self.topo.vms]
        started = []
        for name in names:
            if name in self._whoami and self._whoami[name].poll() is None:
                continue
            # site hosts (north_south) are no VMs of the topology
            vm = next((v for v in self.topo.vms if v.name == name), None)
            family = ["dual"] if vm is not None and vm.ip6 else []
            p, out, _ = self.spawn(self.ns(name), ["/usr/bin/python3", "-c", _WHOAMI_SERVER,
                                                   name, str(WHOAMI_PORT), *family],
                                   f"whoami-{name}")
            self._whoami[name] = p
            started.append((name, p, out))
        for name, p, out in started:
            def ready(p=p, out=out):
                if p.poll() is not None:
                    raise LabError(f"whoami server in {name} exited: {p.returncode}")
                with open(out) as f:
                    return "ready" in f.read()
            wait_for(ready, timeout, what=f"whoami server in {name}")

    def whoami(self, vm: str, dst: str, timeout: float = 3.0) -> str | None:
        """Connects from VM `vm` to dst:WHOAMI_PORT; the name that answered,
        or None (with the error in self.last_whoami_error)."""
        cp = self.exec(vm, ["/usr/bin/python3", "-c", _WHOAMI_CLIENT, dst, str(WHOAMI_PORT),
                            str(timeout)], timeout=timeout * 2 + 5)
        out = cp.stdout.strip()
        if out.startswith("OK "):
            self.last_whoami_error = None
            return out[3:].strip() or None
        self.last_whoami_error = out or cp.stderr.strip()
        return None

    def capture(self, name: str, iface: str, bpf_filter: str = "",
                max_seconds: float = 30.0) -> Capture:
        """tcpdump on iface in node/VM name's namespace; see Capture."""
        return Capture(self, self.ns(name), iface, bpf_filter, max_seconds)

    def wait_listening(self, name: str, port: int, timeout: float = 10.0) -> None:
        def listening():
            cp = self.exec(name, ["ss", "-Hltn", f"sport = :{port}"])
            return bool(cp.stdout.strip())
        wait_for(listening, timeout, what=f"TCP port {port} listening in {name}")

    def iperf(self, src: str, dst_vm: str, *, nbytes: str = "20M", dst_ip: str | None = None,
              timeout: float = 60.0, extra: list[str] | None = None) -> dict:
        """iperf3 from src to dst_vm (-n nbytes). Returns {"ok", "bytes",
        "bps", "retransmits", "error", "raw"}."""
        dst_ip = dst_ip or self.topo.vm(dst_vm).ip
        server, _, serr = self.spawn(self.ns(dst_vm), ["iperf3", "-s", "-1", "-p",
                                                       str(IPERF_PORT)],
                                     f"iperf3-server-{dst_vm}-{time.monotonic_ns()}")
        try:
            self.wait_listening(dst_vm, IPERF_PORT)
            cp = self.exec(src, ["timeout", str(int(timeout)), "iperf3", "-c", dst_ip,
                                 "-p", str(IPERF_PORT), "-n", nbytes, "-J",
                                 "--connect-timeout", "3000", *(extra or [])],
                           timeout=timeout + 10)
            result = {"ok": False, "bytes": 0, "bps": 0.0, "retransmits": None,
                      "error": None, "raw": cp.stdout}
            try:
                j = json.loads(cp.stdout)
            except ValueError:
                result["error"] = (f"iperf3 exit {cp.returncode}: "
                                   f"{(cp.stdout + cp.stderr).strip()[-500:]}")
                return result
            if "error" in j:
                result["error"] = j["error"]
            end = j.get("end", {})
            recv = end.get("sum_received", {})
            sent = end.get("sum_sent", {})
            # with -n, iperf3's receiver summary can lag the sender's
            result["bytes"] = int(sent.get("bytes", 0))
            result["bytes_received"] = int(recv.get("bytes", 0))
            result["bps"] = float(sent.get("bits_per_second", 0.0))
            result["retransmits"] = sent.get("retransmits")
            result["ok"] = cp.returncode == 0 and "error" not in j and result["bytes"] > 0
            return result
        finally:
            _terminate(server)

    def add_vm(self, vm: VM) -> None:
        """Adds a VM to the topology and builds it (namespace, veth,
        addresses; FDB on Linux nodes is not updated). Write the state and
        reload the agents to make Weft serve it."""
        self.topo.vms.append(vm)
        self.topo.validate()
        self._build_vm(vm)


CT_STATES = {0: "new", 1: "syn_sent", 2: "syn_recv", 3: "established", 4: "fin_wait",
             5: "closing"}  # enum weft_ct_state


def _be32_to_int(v: int) -> int:
    """A __be32 as bpftool prints it (the host-order integer of its bytes)."""
    return int.from_bytes(int(v).to_bytes(4, sys.byteorder), "big")


def _be32_to_ip(v: int) -> str:
    return str(ipaddress.IPv4Address(_be32_to_int(v)))


def _bytes_to_ip6(v) -> str:
    """A __u8[16] as bpftool prints it (ints, or hex strings without BTF)."""
    return str(ipaddress.IPv6Address(bytes(int(x, 0) if isinstance(x, str) else int(x)
                                           for x in v)))


def _be16_to_int(v: int) -> int:
    return int.from_bytes(int(v).to_bytes(2, sys.byteorder), "big")


def parse_ping(text: str) -> PingResult:
    m = re.search(r"(\d+) packets transmitted, (\d+) (?:packets )?received", text)
    tx, rx = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    lm = re.search(r"([\d.]+)% packet loss", text)
    loss = float(lm.group(1)) if lm else 100.0
    mtu = None
    mm = re.search(r"mtu\s*=\s*(\d+)", text)
    if mm:
        mtu = int(mm.group(1))
    return PingResult(ok=rx > 0, transmitted=tx, received=rx, loss=loss, output=text,
                      frag_needed_mtu=mtu)


def _terminate(p: subprocess.Popen, timeout: float = 3.0) -> None:
    if p.poll() is not None:
        return
    try:
        p.terminate()
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        try:
            p.wait(3)
        except subprocess.TimeoutExpired:
            pass
    except OSError:
        pass


def _tail(text: str, n: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-n:])
