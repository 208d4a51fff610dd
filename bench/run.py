#!/usr/bin/python3
"""Weft benchmarks, one command, one run, every figure beside its baseline:

    sudo bench/run.py --build-dir build --out docs/BENCHMARKS.md [--only PARTS]

PARTS (comma list; default all): prog, tcp, fw, sync, ns, or single parts:
  prog                 BPF_PROG_TEST_RUN ns/packet of the datapath (1.)
  tcp                  bare, kernel, kernel_nofw, weft_tc, weft_tc_fw, weft_xdp (2.)
  fw                   fwprog + kernel, kernel_fw10k, kernel_fwset, weft_tc_fw10,
                       weft_tc_fw10k (3.)
  sync                 bench/sync_scale.py (4.)
  replicas             bench/replicas.py (6.)
  ns                   ns_kernel, ns_kernel_nofw, ns_weft_tc (5.)
  underlay6            prog6, kernel6, weft_tc6 (7.)
  tenants6             kernel_t6, weft_tc_fw_t6, weft_tc_t6, weft_xdp_t6, kernel_t6u6,
                       weft_tc_fw_t6u6, weft_tc_t6u6 (8.)

  1. BPF_PROG_TEST_RUN ns/packet of the datapath programs against an empty
     XDP/TC program (build/weft_bench_prog, bench/prog_ns.cc);
  2. on four topologies built in network namespaces, one after the other:
       bare veth pair            two namespaces, one veth pair (the ceiling)
       kernel path               bench/kernel_path.py: vxlan + bridge + per-tenant
                                 tables + nftables conntrack firewall (zones)
       kernel path, no firewall  the same without nftables
       Weft, TC decap            weft-agent --underlay_hook tc
       Weft, XDP decap           weft-agent --underlay_hook xdp
     cross-host routed (c1 on hv1 -> r1 on hv2) and same-host routed (c1 -> l1):
       iperf3 TCP throughput (--duration s, median of --reps),
       TCP request/response (bench/rr.py, 1-byte messages, --rr-seconds s),
       ping -i 0.002 RTT (200 echoes) as a secondary latency figure.
  3. firewall: fwprog = weft_bench_prog --suite firewall (ns/packet of a new
     and an established flow at 10..10,000 rules compiled by the agent's
     compiler); and the same measurements as 2. on the kernel path with
     10,000 nftables rules (linear; as one set) and Weft TC with 10 and
     10,000 rules, every rule set built so the measured flow is decided by
     its last rule (bench/kernel_path.py big_firewall_ruleset,
     weft_many_rules_state); measured interleaved with the rows of 2.;
  4. control plane: bench/sync_scale.py (full sync of 100k endpoints, 10k
     routes, 10k rules to one agent's maps; agent memory; propagation of one
     change to 100 sync clients).
  5. north-south through one edge (bench/north_south.py): a VM on hv1 to
     and from a host behind edge1's uplink, Weft (both agents, TC hooks)
     against hv1's kernel path with edge1 as a Linux router; the same
     measurements as 2., interleaved with whatever else runs.
  6. controller replicas on etcd (bench/replicas.py): one change to 1,000
     sync clients spread over 3 replicas on a 3-member etcd, beside the
     file-backed controller, and the control plane's part of it from the
     controllers' logs, also with small views; a replica's cold start on
     100k endpoints, split by its log lines.
  7. an IPv6-only underlay: weft_bench_prog --suite underlay6 (decap and
     encap over IPv6 beside 1.'s IPv4 rows, in one run), and the
     measurements of 2. on the kernel path with
     vxlan devices over IPv6 (udp6zerocsumtx/rx, as Weft sends) and on Weft
     TC, both with VMs at MTU 1430 (the IPv4 underlay's rows are 2.'s).
  8. IPv6 tenants: the topology of 2. with dual-stack VMs (fd00:0:0:<n>::/64
     beside 10.0.<n>.0/24), on the IPv4 underlay (MTU 1450) and on the IPv6
     one (MTU 1430, as 7.): the measurements of 2., cross-host only, to r1's
     IPv6 address on the kernel path (its firewall with the same rules for
     ip6) and on Weft TC (with and without the firewall policy, the same
     for IPv6 peers) and XDP (IPv4 underlay); and to r1's IPv4 address on
     the kernel path and Weft TC + policy of the same topologies, as the
     reference of the same run.

Writes the figures between the markers <!-- bench:begin --> and
<!-- bench:end --> of --out (prog and tcp), <!-- bench:begin fw --> ...
<!-- bench:end fw --> (fw), <!-- bench:begin sync --> ... (sync) and
<!-- bench:begin ns --> ... (ns), <!-- bench:begin replicas --> ... (replicas),
<!-- bench:begin underlay6 --> ... (underlay6), <!-- bench:begin tenants6 --> ...
(tenants6); a block
whose parts did not run is left as it was, text outside the blocks is kept
(the file is created when absent). Every namespace has a unique name and is removed on success,
failure, Ctrl-C, SIGTERM and when the --budget (seconds) runs out.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "lab"))
sys.path.insert(0, HERE)

import weftlab  # noqa: E402
from weftlab import Lab, LabError  # noqa: E402
from weftlab.ns import (IP, cleanup_stale, delete_netns, ip, ip_batch, ns_argv,  # noqa: E402
                        ns_run, run, run_dir, wait_for)

import kernel_path as kp  # noqa: E402
import north_south  # noqa: E402

IPERF_PORT = 5201
RR_PORT = 7000
RR = os.path.join(HERE, "rr.py")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- the bare veth pair --------------------------------------------------------------

class BareVeth:
    """Two namespaces joined by one veth pair, MTU 1450 like the VMs."""

    def __init__(self):
        self.prefix = weftlab.new_prefix()
        self.a, self.b = f"{self.prefix}va", f"{self.prefix}vb"
        self.dir = run_dir(self.prefix)
        self.log_dir = self.dir
        self._namespaces: list[str] = []
        self._procs: list[subprocess.Popen] = []

    def __enter__(self):
        try:
            os.makedirs(self.dir, exist_ok=True)
            for ns in (self.a, self.b):
                run([IP, "netns", "add", ns])
                self._namespaces.append(ns)
                ns_run(ns, ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"])
                ip(ns, "link", "set", "lo", "up")
            ip(self.a, "link", "add", "eth0", "mtu", str(kp.VM_MTU), "type", "veth",
               "peer", "name", "eth0", "netns", self.b)
            ip_batch(self.a, ["addr add 10.0.1.10/24 dev eth0", "link set eth0 up"])
            ip_batch(self.b, [f"link set eth0 mtu {kp.VM_MTU}", "addr add 10.0.1.11/24 dev eth0",
                              "link set eth0 up"])
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for p in self._procs:
            stop(p)
        for ns in self._namespaces:
            delete_netns(ns)
        self._namespaces = []
        cleanup_stale(self.prefix)
        return False

    def spawn(self, ns, argv, name):
        out = os.path.join(self.log_dir, f"{name}.out")
        with open(out, "w") as fo:
            p = subprocess.Popen(ns_argv(ns, argv), stdout=fo, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
        self._procs.append(p)
        return p, out, out


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(3)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(3)


# --- measurements ----------------------------------------------------------------------

def wait_listening(ns: str, port: int) -> None:
    wait_for(lambda: ns_run(ns, ["ss", "-Hltn", f"sport = :{port}"], check=False).stdout.strip(),
             10, what=f"port {port} listening in {ns}")


class Target:
    """One measured path: client and server namespaces of one topology, with
    an iperf3 server and an rr.py server running for the whole run."""

    def __init__(self, topo: str, path: str, env, cns: str, sns: str, dst: str):
        self.topo, self.path, self.env = topo, path, env
        self.cns, self.sns, self.dst = cns, sns, dst
        self.iperf_runs: list[dict] = []
        self.rr1: list[dict] = []
        self.rr2: list[dict] = []
        self.ping: dict = {}
        self.error: str | None = None
        self.idle_seen: list[int] = []  # CPU idle % just before each measurement

    def start_servers(self) -> None:
        tag = f"{self.sns}-{time.monotonic_ns()}"
        self.env.spawn(self.sns, ["iperf3", "-s", "-p", str(IPERF_PORT)], f"iperf3-{tag}")
        self.rr_server, _, _ = self.env.spawn(
            self.sns, ["/usr/bin/python3", RR, "server", str(RR_PORT)], f"rr-{tag}")
        wait_listening(self.sns, IPERF_PORT)
        wait_listening(self.sns, RR_PORT)

    def iperf(self, duration: int, affinity: str) -> dict:
        cp = ns_run(self.cns, ["iperf3", "-c", self.dst, "-p", str(IPERF_PORT), "-t",
                               str(duration), "-J", "--connect-timeout", "3000",
                               *(["-A", affinity] if affinity else [])],
                    check=False, timeout=duration + 30)
        try:
            j = json.loads(cp.stdout)
        except ValueError:
            raise LabError(f"iperf3 -> {self.dst}: {(cp.stdout + cp.stderr)[-300:]}")
        if "error" in j:
            raise LabError(f"iperf3 -> {self.dst}: {j['error']}")
        end = j["end"]
        cpu = end.get("cpu_utilization_percent", {})
        r = {"gbps": end["sum_received"]["bits_per_second"] / 1e9,
             "retransmits": end["sum_sent"].get("retransmits", 0),
             "cpu_sender": cpu.get("host_total") or 0.0,
             "cpu_receiver": cpu.get("remote_total") or 0.0}
        self.iperf_runs.append(r)
        return r

    def rr(self, seconds: float, cpus: tuple[int, int]) -> dict:
        """rr.py, client pinned to cpus[0], the (running) server to cpus[1]."""
        os.sched_setaffinity(self.rr_server.pid, {cpus[1]})  # ip netns exec execs: same pid
        cp = ns_run(self.cns, ["taskset", "-c", str(cpus[0]), "/usr/bin/python3", RR, "client",
                               self.dst, str(RR_PORT), str(seconds)], check=False,
                    timeout=seconds + 30)
        try:
            r = json.loads(cp.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise LabError(f"rr -> {self.dst}: {(cp.stdout + cp.stderr)[-300:]}")
        (self.rr1 if cpus[0] == cpus[1] else self.rr2).append(r)
        return r

    def ping_rtt(self) -> None:
        cp = ns_run(self.cns, ["ping", "-n", "-q", "-c", "200", "-i", "0.002", "-W", "1",
                               self.dst], check=False, timeout=30)
        m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", cp.stdout)
        loss = re.search(r"([\d.]+)% packet loss", cp.stdout)
        self.ping = {"avg_us": float(m.group(2)) * 1000 if m else None,
                     "loss": float(loss.group(1)) if loss else None}

    def summary(self) -> dict:
        med = statistics.median
        def rrsum(rs):
            return {k: med(r[k] for r in rs) for k in ("tps", "p50_us", "p99_us")} if rs else None
        it = self.iperf_runs
        return {"iperf": {"gbps": med(r["gbps"] for r in it), "runs": [r["gbps"] for r in it],
                          "retransmits": [r["retransmits"] for r in it],
                          "cpu_sender": med(r["cpu_sender"] for r in it),
                          "cpu_receiver": med(r["cpu_receiver"] for r in it)} if it else None,
                "rr": rrsum(self.rr1), "rr2": rrsum(self.rr2), "ping": self.ping,
                "error": self.error, "idle_seen": self.idle_seen}


def lab_targets(key: str, lab: Lab) -> list[Target]:
    t = lab.topo
    return [Target(key, "cross-host", lab, lab.ns(kp.CLIENT), lab.ns(kp.CROSS_HOST),
                   t.vm(kp.CROSS_HOST).ip),
            Target(key, "same-host", lab, lab.ns(kp.CLIENT), lab.ns(kp.SAME_HOST),
                   t.vm(kp.SAME_HOST).ip)]


def check_reach(lab: Lab, vms=(kp.CROSS_HOST, kp.SAME_HOST)) -> None:
    for vm in vms:
        for addr in lab.topo.vm(vm).addresses():
            r = lab.wait_ping(kp.CLIENT, addr, timeout=10)
            if not r.ok:
                raise LabError(f"{kp.CLIENT} cannot reach {vm} {addr}: {r.output[-300:]}")


def tenants6_targets(key: str, lab: Lab) -> list[Target]:
    """Cross-host to r1's IPv6 address; and, on TENANTS6_V4 rows, to its
    IPv4 address (the same servers: one pair per VM, both families)."""
    c, r = lab.ns(kp.CLIENT), lab.ns(kp.CROSS_HOST)
    vm = lab.topo.vm(kp.CROSS_HOST)
    ts = [Target(key, "cross-host6", lab, c, r, vm.ip6)]
    if key in TENANTS6_V4:
        ts.append(Target(key, "cross-host", lab, c, r, vm.ip))
    return ts


def build_tenants6(key: str, args, stack: contextlib.ExitStack) -> tuple[Lab, list[Target]]:
    """The tenants6 rows: kp.tenants6_topology on either underlay."""
    topo = kp.tenants6_topology(underlay6=key.endswith("_t6u6"))
    if key.startswith("kernel"):
        lab = stack.enter_context(kp.kernel_lab(topology=topo))
    else:
        lab = stack.enter_context(Lab(topo, mode="weft", build_dir=args.build_dir,
                                      underlay_hook="xdp" if "_xdp" in key else "tc"))
        if "_fw_" in key:
            lab.write_state(kp.weft_firewall_state(lab.topo))
        lab.start_agents()
    check_reach(lab, (kp.CROSS_HOST,))
    return lab, tenants6_targets(key, lab)


def build_topology(key: str, args, stack: contextlib.ExitStack) -> tuple[object, list[Target]]:
    """Builds one topology (torn down when `stack` closes) and its targets."""
    if key == "bare":
        b = stack.enter_context(BareVeth())
        return b, [Target(key, "bare", b, b.a, b.b, "10.0.1.11")]
    if key in north_south.KEYS:
        lab = north_south.build(key, args, stack)
        return lab, north_south.targets(key, lab, Target)
    if key in GROUPS["tenants6"]:
        return build_tenants6(key, args, stack)
    if key in ("kernel", "kernel_nofw"):
        lab = stack.enter_context(kp.kernel_lab(firewall=key == "kernel"))
    elif key == "kernel6":
        lab = stack.enter_context(kp.kernel_lab(topology=kp.underlay6_topology()))
    elif key == "weft_tc6":
        lab = stack.enter_context(Lab(kp.underlay6_topology(), mode="weft",
                                      build_dir=args.build_dir, underlay_hook="tc"))
        lab.start_agents()
    elif key in ("kernel_fw10k", "kernel_fwset"):
        lab = stack.enter_context(kp.kernel_lab(
            rules=args.fw_rules, kind="linear" if key == "kernel_fw10k" else "set"))
    elif key in ("weft_tc_fw10", "weft_tc_fw10k"):
        lab = stack.enter_context(Lab(kp.bench_topology(), mode="weft",
                                      build_dir=args.build_dir, underlay_hook="tc"))
        lab.write_state(kp.weft_many_rules_state(
            lab.topo, 10 if key == "weft_tc_fw10" else args.fw_rules))
        lab.start_agents(timeout=60)
    else:
        hook = key.split("_")[1]
        lab = stack.enter_context(Lab(kp.bench_topology(), mode="weft",
                                      build_dir=args.build_dir, underlay_hook=hook))
        if key.endswith("_fw"):
            lab.write_state(kp.weft_firewall_state(lab.topo))
        # XDP hook: weftlab itself turns on GRO in the VMs and transmit
        # checksumming off on the hypervisors' eth0 (docs/BENCHMARKS.md)
        lab.start_agents()
    check_reach(lab)
    targets = lab_targets(key, lab)
    if key in FW_KEYS and key != "kernel":
        # the firewall rows: --fw-paths only (cross-host by default: the run's length)
        targets = [t for t in targets if t.path in args.fw_paths.split(",")]
    return lab, targets


def wait_quiet(args, t: "Target") -> None:
    """Waits (at most --gate seconds) until the CPUs are >= 85% idle over a
    0.3 s sample: other users of this shared machine would otherwise bias
    whichever row runs beside their build. Records what it saw."""
    start = time.monotonic()
    deadline = start + min(args.gate, args.gate_left)
    while True:
        idle = cpu_idle(0.3)
        if idle >= 85 or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    args.gate_left = max(0.0, args.gate_left - (time.monotonic() - start))
    t.idle_seen.append(round(idle))


def topology_notes(key: str, env) -> dict | None:
    if key in north_south.KEYS:
        return north_south.notes(key, env)
    if key in ("kernel", "kernel_t6", "kernel_t6u6"):
        return {n.name: kp.firewall_counters(env, n.name) for n in env.topo.nodes}
    if key in ("kernel_fw10k", "kernel_fwset"):
        return {n.name: kp.firewall_counters(env, n.name, big=True) for n in env.topo.nodes}
    if key.startswith("weft"):
        dead = env.check_agents_alive()
        notes = {n.name: env.drop_counters(n.name) for n in env.topo.nodes}
        if key in ("weft_tc_fw10", "weft_tc_fw10k"):
            # the rule set really is in the maps: entries of weft_pol_rules (both slots)
            for n in env.topo.nodes:
                cp = run(["bpftool", "-j", "map", "dump", "pinned",
                          os.path.join(env.pin_dir(n.name), "weft_pol_rules")],
                         check=False, timeout=120)
                try:
                    notes[f"{n.name} weft_pol_rules entries"] = len(json.loads(cp.stdout))
                except ValueError:
                    pass
        if dead:
            notes["agents died"] = dead
        return notes
    return None


def run_network(keys: list[str], args, results: dict, errors: dict) -> None:
    """Builds every topology, then measures them interleaved: repetition i of
    every path runs before repetition i+1 of any, so drift (other users of
    the machine) spreads over all rows instead of biasing one."""
    with contextlib.ExitStack() as stack:
        envs, targets = {}, []
        for key in keys:
            log(f"building {key}")
            try:
                env, ts = build_topology(key, args, stack)
                servers: dict[str, Target] = {}
                for t in ts:
                    if t.sns in servers:  # another family's target of the same VM
                        t.rr_server = servers[t.sns].rr_server
                    else:
                        t.start_servers()
                        servers[t.sns] = t
                envs[key] = env
                targets += ts
            except (LabError, subprocess.SubprocessError, OSError) as e:
                log(f"{key} FAILED: {e}")
                errors[key] = " ".join(str(e).split())

        def each(what, fn, order=None):
            for t in (order or targets):
                if t.error:
                    continue
                try:
                    wait_quiet(args, t)
                    fn(t)
                except (LabError, subprocess.SubprocessError, OSError, KeyError) as e:
                    log(f"{t.topo}/{t.path} {what} FAILED: {e}")
                    t.error = " ".join(str(e).split())

        for rep in range(args.reps):
            # serpentine order: no row always runs first or last in a repetition
            order = targets if rep % 2 == 0 else list(reversed(targets))
            log(f"repetition {rep + 1}/{args.reps}: iperf3 {args.duration}s x {len(targets)}")
            each("iperf3", lambda t: t.iperf(args.duration, args.iperf_affinity), order)
            log(f"repetition {rep + 1}/{args.reps}: request/response {args.rr_seconds}s x "
                f"{len(targets)} x 2")
            each("rr", lambda t: (t.rr(args.rr_seconds, (0, 0)), t.rr(args.rr_seconds, (0, 1))),
                 order)
        each("ping", lambda t: t.ping_rtt())
        for key, env in envs.items():
            try:
                notes = topology_notes(key, env)
            except (LabError, subprocess.SubprocessError, OSError) as e:
                notes = {"error": str(e)}
            results.setdefault(key, {})["notes"] = notes
        for t in targets:
            summ = t.summary()
            if t.error and not t.iperf_runs:
                errors[f"{t.topo}/{t.path}"] = t.error
            paths = ["cross-host", "same-host"] if t.path == "bare" else [t.path]
            for p in paths:
                results[t.topo][p] = summ
            if summ["iperf"] and summ["rr"]:
                log(f"{t.topo}/{t.path}: {summ['iperf']['gbps']:.2f} Gbit/s "
                    f"{[round(x, 1) for x in summ['iperf']['runs']]}, rr p50 "
                    f"{summ['rr']['p50_us']:.1f} us")


def bench_prog(args) -> dict:
    exe = os.path.join(args.build_dir, "weft_bench_prog")
    cp = run([exe, "--json", "--iterations", str(args.prog_iterations)], timeout=300)
    return json.loads(cp.stdout)


def bench_prog6(args) -> dict:
    exe = os.path.join(args.build_dir, "weft_bench_prog")
    cp = run([exe, "--json", "--suite", "underlay6", "--iterations",
              str(args.prog_iterations)], timeout=300)
    return json.loads(cp.stdout)


def bench_fwprog(args) -> dict:
    exe = os.path.join(args.build_dir, "weft_bench_prog")
    cp = run([exe, "--json", "--suite", "firewall", "--iterations", str(args.prog_iterations),
              "--fw-rules", args.fw_prog_rules], timeout=600)
    return json.loads(cp.stdout)


def bench_script(script: str, budget: int, extra: str, args) -> dict:
    """bench/<script> --json in a process of its own (its memory, its budget)."""
    argv = ["/usr/bin/python3", os.path.join(HERE, script), "--build-dir",
            args.build_dir, "--json", "--budget", str(budget)] + extra.split()
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=budget + 60)
    sys.stderr.write(cp.stderr[-4000:])
    try:
        return json.loads(cp.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise LabError(f"{script} exit {cp.returncode}: {(cp.stdout + cp.stderr)[-500:]}")


def bench_sync(args) -> dict:
    return bench_script("sync_scale.py", args.sync_budget, args.sync_args, args)


def bench_replicas(args) -> dict:
    return bench_script("replicas.py", args.replicas_budget, args.replicas_args, args)


# --- report ----------------------------------------------------------------------------

TOPOLOGIES = [
    ("bare", "bare veth pair"),
    ("kernel", "kernel path (vxlan+bridge+tables+nft ct)"),
    ("kernel_nofw", "kernel path, no firewall"),
    ("weft_tc", "Weft, TC decap hook"),
    ("weft_tc_fw", "Weft, TC hook + firewall policy"),
    ("weft_xdp", "Weft, XDP decap hook"),
    ("kernel_fw10k", "kernel path, nftables 10,000 linear rules"),
    ("kernel_fwset", "kernel path, nftables 10,000 rules as one set"),
    ("weft_tc_fw10", "Weft TC, 10 rules"),
    ("weft_tc_fw10k", "Weft TC, 10,000 rules"),
    ("kernel6", "kernel path, IPv6 underlay (vxlan6+bridge+tables+nft ct)"),
    ("weft_tc6", "Weft, TC decap hook, IPv6 underlay"),
    ("kernel_t6", "kernel path (vxlan+bridge+tables+nft ct, ip and ip6 rules)"),
    ("weft_tc_fw_t6", "Weft, TC hook + firewall policy"),
    ("weft_tc_t6", "Weft, TC decap hook"),
    ("weft_xdp_t6", "Weft, XDP decap hook"),
    ("kernel_t6u6", "kernel path, IPv6 underlay (vxlan6+bridge+tables+nft ct, ip and ip6 rules)"),
    ("weft_tc_fw_t6u6", "Weft, TC hook + firewall policy, IPv6 underlay"),
    ("weft_tc_t6u6", "Weft, TC decap hook, IPv6 underlay"),
] + [(k, north_south.NAMES[k]) for k in north_south.KEYS]
TCP_KEYS = ["bare", "kernel", "kernel_nofw", "weft_tc", "weft_tc_fw", "weft_xdp"]
FW_KEYS = ["kernel", "kernel_fw10k", "kernel_fwset", "weft_tc_fw10", "weft_tc_fw10k"]
GROUPS = {"tcp": TCP_KEYS, "fw": ["fwprog"] + FW_KEYS, "prog": ["prog"], "sync": ["sync"],
          "ns": north_south.KEYS, "replicas": ["replicas"],
          "underlay6": ["prog6", "kernel6", "weft_tc6"],
          "tenants6": ["kernel_t6", "weft_tc_fw_t6", "weft_tc_t6", "weft_xdp_t6",
                       "kernel_t6u6", "weft_tc_fw_t6u6", "weft_tc_t6u6"]}
# tenants6 rows also measured to r1's IPv4 address: the like-for-like pair
TENANTS6_V4 = ["kernel_t6", "weft_tc_fw_t6", "kernel_t6u6", "weft_tc_fw_t6u6"]
PATH_TITLES = {"cross-host": "Cross-host routed (c1 on hv1 → r1 on hv2, tenant A)",
               "same-host": "Same-host routed (c1 → l1, both on hv1, tenant A)",
               **north_south.PATH_TITLES}


def fmt(v, spec=".2f", none="–"):
    return none if v is None else format(v, spec)


def run_header(meta: dict) -> list[str]:
    L = []
    L.append(f"Run {meta['date']} on `{meta['host']}`: {meta['nproc']} CPUs ({meta['cpu']}), "
             f"kernel {meta['kernel']}, commit `{meta['commit']}`; {meta['elapsed']:.0f} s.")
    L.append("")
    L.append(f"Machine load: CPU idle {meta['idle_before']:.0f}% in the 2 s before the run "
             f"(others share this machine); load average {meta['load_before']} before, "
             f"{meta['load_after']} after.")
    L.append("")
    L.append("```")
    L.append(meta["command"])
    L.append("```")
    L.append("")
    if meta.get("busy_label"):
        L.append(meta["busy_label"])
        L.append("")
    return L


def report(results: dict, prog: dict | None, meta: dict, errors: dict,
           keys: list[str] | None = None, targets: bool = True) -> str:
    """The network tables of `keys` (default TCP_KEYS) and the prog table."""
    keys = keys or TCP_KEYS
    topologies = [(k, n) for k, n in TOPOLOGIES if k in keys]
    L = run_header(meta)
    if not any(k in results or k in errors for k in keys):
        topologies = []
    if topologies:
        L += network_tables(results, meta, errors, topologies, targets)
    if prog:
        L += prog_table(prog)
    elif "prog" in errors:
        L.append(f"weft_bench_prog failed: {errors['prog']}")
        L.append("")
    return "\n".join(L)


def method_line(meta: dict, mtu: str) -> str:
    return (f"iperf3 TCP: {meta['duration']} s, median of {meta['reps']} (each run's rate "
            f"in brackets), client/server pinned to CPUs `{meta['affinity'] or 'unpinned'}`; "
            "retransmits per run. Request/response: bench/rr.py, 1-byte request and "
            f"response, one in flight, {meta['rr_seconds']} s, client and server pinned to "
            "one CPU (0/0: the path's own cost) and to two CPUs (0/1: adds the cross-CPU "
            f"wake-up). ping: 200 echoes, 0.002 s apart, average RTT. VM MTU {mtu}, underlay "
            "MTU 1500 everywhere.")


def network_tables(results: dict, meta: dict, errors: dict, topologies: list,
                   targets: bool, paths=("cross-host", "same-host"),
                   base_key: str = "kernel", vm_mtu: int = 1450,
                   titles: dict | None = None, intro: bool = True) -> list[str]:
    """One table per path; the "×" column is relative to row base_key.
    titles: the paths' headings (default PATH_TITLES); intro: the method line."""
    L = []
    if intro:
        L.append(method_line(meta, str(vm_mtu)))
        L.append("")
    for path in paths:
        L.append(f"#### {(titles or PATH_TITLES)[path]}")
        L.append("")
        L.append(f"| topology | TCP Gbit/s | × {dict(TOPOLOGIES)[base_key].split(' (')[0]} | "
                 "retransmits | sender / receiver "
                 "CPU % | RR 1 CPU trans/s | RR 1 CPU p50 / p99 µs | RR 2 CPUs trans/s | "
                 "RR 2 CPUs p50 / p99 µs | ping avg µs |")
        L.append("| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |")
        base = results.get(base_key, {}).get(path)
        for key, name in topologies:
            if key in errors:
                L.append(f"| {name} | failed: {errors[key][:80]} | | | | | | | | |")
                continue
            r = results.get(key, {}).get(path)
            if r is None:
                continue
            if not r["iperf"] or not r["rr"] or not r["rr2"]:
                L.append(f"| {name} | failed: {(r.get('error') or '?')[:80]} | | | | | | | | |")
                continue
            ip_, r1, r2, pg = r["iperf"], r["rr"], r["rr2"], r["ping"]
            ratio = (f"{ip_['gbps'] / base['iperf']['gbps']:.2f}×" if base else "–")
            runs = ", ".join(f"{x:.1f}" for x in ip_["runs"])
            extra = " (same pair)" if key == "bare" and path == "same-host" else ""
            L.append(f"| {name}{extra} | **{ip_['gbps']:.2f}** [{runs}] | {ratio} | "
                     f"{', '.join(str(x) for x in ip_['retransmits'])} | "
                     f"{ip_['cpu_sender']:.0f} / {ip_['cpu_receiver']:.0f} | "
                     f"{r1['tps']:.0f} | **{r1['p50_us']:.1f}** / {r1['p99_us']:.1f} | "
                     f"{r2['tps']:.0f} | {r2['p50_us']:.1f} / {r2['p99_us']:.1f} | "
                     f"{fmt(pg.get('avg_us'), '.0f')} |")
        L.append("")
    busy = []
    for key, name in topologies:
        for path in paths:
            r = results.get(key, {}).get(path)
            if not r or (key == "bare" and path == "same-host"):
                continue
            seen = r.get("idle_seen") or []
            n = sum(1 for x in seen if x < 85)
            if n:
                label = name if key == "bare" else f"{name} {path}"
                busy.append(f"{label}: {n} of {len(seen)}")
    L.append("Measurements that started while other users kept the CPUs busy (idle < 85% "
             f"after waiting up to {meta['gate']:.0f} s): " + ("; ".join(busy) if busy else "none")
             + ".")
    L.append("")
    # targets
    k = results.get("kernel")
    for wkey, wname in (("weft_tc_fw", "Weft TC + firewall policy"), ("weft_tc", "Weft TC")):
        w = results.get(wkey)
        if not (k and w and targets):
            continue
        kc, wc = k.get("cross-host"), w.get("cross-host")
        if not (kc and wc and kc["iperf"] and wc["iperf"] and kc["rr"] and wc["rr"]):
            continue
        tr = wc["iperf"]["gbps"] / kc["iperf"]["gbps"]
        L.append(f"Targets, {wname} vs kernel path, cross-host: TCP {tr:.2f}× (target ≥ 1.0, "
                 "aim 1.25: "
                 f"{'met' if tr >= 1.25 else ('≥ 1.0, short of 1.25' if tr >= 1.0 else 'NOT met')}); "
                 f"RR p50 (1 CPU) {wc['rr']['p50_us']:.1f} vs {kc['rr']['p50_us']:.1f} µs "
                 f"({'met' if wc['rr']['p50_us'] <= kc['rr']['p50_us'] else 'NOT met'}), "
                 f"(2 CPUs) {wc['rr2']['p50_us']:.1f} vs {kc['rr2']['p50_us']:.1f} µs "
                 f"({'met' if wc['rr2']['p50_us'] <= kc['rr2']['p50_us'] else 'NOT met'}).")
        L.append("")
    notes = []
    for key, name in topologies:
        n = results.get(key, {}).get("notes")
        if n:
            notes.append(f"- {name}: " + "; ".join(
                f"{node}: {json.dumps(v) if v else 'none'}" for node, v in n.items()))
    if notes:
        L.append("Counters after the run (kernel path: nft forward-chain rule counters; Weft: "
                 "non-zero drop reasons):")
        L.append("")
        L += notes
        L.append("")
    return L


def prog_table(prog: dict) -> list[str]:
    L = []
    if prog:
        L.append(f"#### BPF_PROG_TEST_RUN, ns per packet ({prog['iterations']} calls of "
                 f"repeat=1 each, pinned to CPU {prog['cpu']})")
        L.append("")
        L.append("| program / packet | hook | bytes | p10 | p50 | p90 | p50 − empty | "
                 "repeat=10000 |")
        L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in prog["results"]:
            am = "–" if r["amortised"] < 0 else f"{r['amortised']:.0f}"
            L.append(f"| {r['name']} | {r['hook']} | {r['bytes']} | {r['p10']:.0f} | "
                 f"**{r['p50']:.0f}** | {r['p90']:.0f} | {r['net_p50']:.0f} | {am} |")
        L.append("")
    return L


def gbps(results: dict, key: str, path: str = "cross-host"):
    r = results.get(key, {}).get(path)
    return r["iperf"]["gbps"] if r and r.get("iperf") else None


def rr_p50(results: dict, key: str, path: str = "cross-host"):
    r = results.get(key, {}).get(path)
    return r["rr"]["p50_us"] if r and r.get("rr") else None


def report_fw(results: dict, fwprog: dict | None, meta: dict, errors: dict) -> str:
    L = run_header(meta)
    if fwprog:
        L.append(f"#### Firewall: BPF_PROG_TEST_RUN ns per packet ({fwprog['iterations']} calls "
                 f"of repeat=1 each, pinned to CPU {fwprog['cpu']}; empty TC program p50 "
                 f"{fwprog['empty_tc_p50']:.0f} ns)")
        L.append("")
        L.append("VM program, vm1 → r1 on hv2 (encapsulated), TCP to 5201, judged by vm1's "
                 "egress policy. N rules compiled by `BuildPolicyTables` and installed by "
                 "`ApplyPolicy`; the flow is decided by the last rule (bit N − 1, checked). "
                 "New flow: a SYN, its conntrack entry deleted before every call (untimed); "
                 "established: an ACK hitting its entry.")
        L.append("")
        L.append("| rules | policy map entries | compile ms | ApplyPolicy ms | new flow p10 / "
                 "**p50** / p90 | new − empty | established p10 / **p50** / p90 | "
                 "established − empty |")
        L.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        fw = fwprog.get("firewall", [])
        for f in fw:
            n, e = f["new"], f["established"]
            L.append(f"| {f['rules']:,} | {f['entries']:,} | {f['build_ms']:.1f} | "
                     f"{f['apply_ms']:.1f} | {n['p10']:.0f} / **{n['p50']:.0f}** / "
                     f"{n['p90']:.0f} | {n['net_p50']:.0f} | {e['p10']:.0f} / "
                     f"**{e['p50']:.0f}** / {e['p90']:.0f} | {e['net_p50']:.0f} |")
        L.append("")
        by = {f["rules"]: f for f in fw}
        if 10 in by and 10000 in by:
            r = by[10000]["new"]["p50"] / by[10]["new"]["p50"]
            rn = (by[10000]["new"]["net_p50"] / by[10]["new"]["net_p50"]
                  if by[10]["new"]["net_p50"] > 0 else float("nan"))
            es = [by[k]["established"]["p50"] for k in sorted(by)]
            L.append(f"Targets: new flow at 10,000 rules / at 10 rules = {r:.2f}× "
                     f"(net of the harness {rn:.2f}×; target ≤ 2×: "
                     f"{'met' if r <= 2 else 'NOT met'}); established p50 from "
                     f"{min(es):.0f} to {max(es):.0f} ns over "
                     f"{', '.join(f'{k:,}' for k in sorted(by))} rules (target: flat).")
            L.append("")
    elif "fwprog" in errors:
        L.append(f"weft_bench_prog --suite firewall failed: {errors['fwprog']}")
        L.append("")
    topologies = [(k, n) for k, n in TOPOLOGIES if k in FW_KEYS and
                  (k in results or k in errors)]
    if topologies:
        paths = [p for p in ("cross-host", "same-host")
                 if any(results.get(k, {}).get(p) for k, _ in topologies if k != "kernel")]
        L += network_tables(results, meta, errors, topologies, targets=False,
                            paths=paths or ["cross-host"])
        w, ks = gbps(results, "weft_tc_fw10k"), gbps(results, "kernel_fwset")
        wl, kl = rr_p50(results, "weft_tc_fw10k"), rr_p50(results, "kernel_fwset")
        if w and ks:
            L.append(f"Target, Weft TC 10,000 rules vs nftables set-based, cross-host: TCP "
                     f"{w / ks:.2f}× (target ≥ 1.0: {'met' if w >= ks else 'NOT met'})"
                     + (f"; RR p50 (1 CPU) {wl:.1f} vs {kl:.1f} µs "
                        f"({'met' if wl <= kl else 'NOT met'})" if wl and kl else "") + ".")
            L.append("")
    return "\n".join(L)


def report_ns(results: dict, meta: dict, errors: dict) -> str:
    """The north-south tables (bench/north_south.py), relative to the kernel."""
    topologies = [(k, n) for k, n in TOPOLOGIES if k in north_south.KEYS and
                  (k in results or k in errors)]
    L = run_header(meta)
    L += network_tables(results, meta, errors, topologies, targets=False,
                        paths=list(north_south.PATH_TITLES), base_key="ns_kernel")
    return "\n".join(L)


def report_underlay6(results: dict, prog6: dict | None, meta: dict, errors: dict) -> str:
    """IPv6 underlay rows, relative to the kernel path over IPv6."""
    topologies = [(k, n) for k, n in TOPOLOGIES if k in GROUPS["underlay6"] and
                  (k in results or k in errors)]
    L = run_header(meta)
    if prog6:
        L += prog_table(prog6)
    elif "prog6" in errors:
        L.append(f"weft_bench_prog --suite underlay6 failed: {errors['prog6']}")
        L.append("")
    L += network_tables(results, meta, errors, topologies, targets=False,
                        paths=["cross-host", "same-host"], base_key="kernel6",
                        vm_mtu=kp.LINUX_VXLAN6_MTU)
    return "\n".join(L)


def report_tenants6(results: dict, meta: dict, errors: dict) -> str:
    """IPv6 tenants over each underlay, relative to the kernel path on the
    same underlay; the IPv4 rows of the same topologies; IPv6 ÷ IPv4."""
    L = run_header(meta)
    L.append(method_line(meta, f"{kp.VM_MTU} on the IPv4 underlay, {kp.LINUX_VXLAN6_MTU} on "
                               "the IPv6 one"))
    L.append("")
    keys = GROUPS["tenants6"]
    c1 = "c1 fd00:0:0:1::10 on hv1 → r1 fd00:0:0:2::11 on hv2"
    r1 = "c1 10.0.1.10 → r1 10.0.2.11"
    for underlay, base, mtu in (("IPv4 underlay", "kernel_t6", kp.VM_MTU),
                                ("IPv6 underlay", "kernel_t6u6", kp.LINUX_VXLAN6_MTU)):
        mine = [k for k in keys if k.endswith("_t6u6") == (base == "kernel_t6u6")]
        topologies = [(k, n) for k, n in TOPOLOGIES if k in mine and
                      (k in results or k in errors)]
        if not topologies:
            continue
        titles = {"cross-host6": f"{underlay}: IPv6 tenants, cross-host routed ({c1}, "
                                 "tenant A)",
                  "cross-host": f"{underlay}: IPv4, the same VMs ({r1}), the reference"}
        paths = [p for p in titles if any(results.get(k, {}).get(p) for k, _ in topologies)]
        L += network_tables(results, meta, errors, topologies, targets=False,
                            paths=paths or ["cross-host6"], base_key=base, vm_mtu=mtu,
                            titles=titles, intro=False)
    rows = []
    for k, name in TOPOLOGIES:
        r6 = results.get(k, {}).get("cross-host6")
        r4 = results.get(k, {}).get("cross-host")
        if k not in keys or not (r6 and r4 and r6["iperf"] and r4["iperf"] and r6["rr"] and
                                 r4["rr"] and r6["rr2"] and r4["rr2"]):
            continue
        rows.append(f"| {name} | {r6['iperf']['gbps']:.2f} / {r4['iperf']['gbps']:.2f} | "
                    f"**{r6['iperf']['gbps'] / r4['iperf']['gbps']:.2f}×** | "
                    f"{r6['rr']['p50_us']:.1f} / {r4['rr']['p50_us']:.1f} | "
                    f"{r6['rr2']['p50_us']:.1f} / {r4['rr2']['p50_us']:.1f} |")
    if rows:
        L.append("#### IPv6 against IPv4, the same topology and VMs, the same run (cross-host)")
        L.append("")
        L.append("| topology | TCP Gbit/s IPv6 / IPv4 | IPv6 ÷ IPv4 | "
                 "RR 1 CPU p50 µs IPv6 / IPv4 | RR 2 CPUs p50 µs IPv6 / IPv4 |")
        L.append("| --- | ---: | ---: | ---: | ---: |")
        L += rows
        L.append("")
    return "\n".join(L)


def report_sync(sync: dict | None, meta: dict, errors: dict) -> str:
    L = run_header(meta)
    if not sync:
        L.append(f"sync_scale.py failed: {errors.get('sync', '?')}")
        return "\n".join(L)
    full, bd, fan = sync.get("full"), sync.get("breakdown"), sync.get("fanout")
    if full:
        z = full["sizes"]
        L.append(f"#### Full sync: {z['endpoints']:,} endpoints, {z['routes']:,} routes, "
                 f"{z['rules']:,} rules, {z['nodes']:,} nodes, {z['tenants']} tenants, "
                 f"{z['segments']} segments ({z['file_mib']:.1f} MiB of state file) → one agent")
        L.append("")
        am, ctl = full.get("agent_mem_mib", {}), full.get("controller_mem_mib_after", {})
        L.append("| what | figure | target |")
        L.append("| --- | ---: | --- |")
        L.append(f"| controller start → serving (load YAML, validate, {z['nodes']:,} node views) | "
                 f"{full['controller_load_s']:.2f} s | |")
        L.append(f"| agent start → Ack at the controller (load programs, connect, "
                 f"{full.get('chunks') or '?'} chunks, validate, build, map writes) | "
                 f"**{full['agent_sync_s']:.2f} s** | ≤ 2 s: "
                 f"{'met' if full['agent_sync_s'] <= 2 else 'NOT met'} |")
        L.append(f"| controller start → Ack (the two above) | {full['total_s']:.2f} s | |")
        L.append(f"| agent VmRSS / VmHWM, {full.get('settle', 3):.0f} s after the Ack | "
                 f"**{am.get('VmRSS', 0):.0f}** / {am.get('VmHWM', 0):.0f} MiB | RSS ≤ 100 MiB: "
                 f"{'met' if am.get('VmRSS', 1e9) <= 100 else 'NOT met'} |")
        L.append(f"| controller VmRSS / VmHWM | {ctl.get('VmRSS', 0):.0f} / "
                 f"{ctl.get('VmHWM', 0):.0f} MiB | |")
        L.append(f"| map entries after the sync | "
                 + ", ".join(f"{k} {v if v is not None else '?'}"
                             for k, v in full.get("map_entries", {}).items()) + " | |")
        L.append("")
        L.append("From the agent's start (log timestamps, 1 ms): " + "; ".join(
            f"{k} {v:.3f} s" for k, v in full["stamps_s"].items() if v is not None) + ".")
        L.append("")
    elif "full" in sync.get("errors", {}):
        L.append(f"Full sync failed: {sync['errors']['full']}")
        L.append("")
    if bd:
        L.append(f"Stage by stage, one single-threaded process (`weft_bench_sync breakdown`; "
                 f"view {bd['view_bytes'] / 2**20:.1f} MiB in {bd['chunks']} chunks, "
                 f"{bd['policy_entries']:,} policy map entries, peak RSS "
                 f"{bd['vm_hwm_kb'] / 1024:.0f} MiB):")
        L.append("")
        L.append("| stage | ms |")
        L.append("| --- | ---: |")
        for name, ms in bd["stages"]:
            L.append(f"| {name} | {ms:.0f} |")
        L.append("")
    if fan:
        L.append(f"#### Propagation of one change to {fan['clients']} sync clients")
        L.append("")
        L.append(f"{fan['clients']} `weft::SyncClient`s in one process (weft_bench_sync "
                 f"fanout, no datapath; each validates its view as an agent does), one TCP "
                 f"connection each; state: {fan['endpoints']:,} endpoints in "
                 f"{fan['tenants']} tenants, a tenant with an endpoint on every node whose "
                 f"policy each change extends by one rule (every view changes); "
                 f"{fan['changes']} changes, the controller woken by inotify on the "
                 f"file's directory (backstop poll every {fan['poll_ms']} ms). Latency "
                 f"per client and change:")
        L.append("")
        L.append("| from | arrivals | p50 ms | p99 ms | max ms | target |")
        L.append("| --- | ---: | ---: | ---: | ---: | --- |")
        for key, what in (("from_write", "the state file's replacement"),
                          ("from_accept", "the controller's accept (its log, 1 ms)")):
            f = fan.get(key)
            if f:
                L.append(f"| {what} | {f['n']} | {f['p50_ms']:.0f} | **{f['p99_ms']:.0f}** | "
                         f"{f['max_ms']:.0f} | p99 ≤ 100 ms: "
                         f"{'met' if f['p99_ms'] <= 100 else 'NOT met'} |")
        L.append("")
        c = fan.get("cpu_ms_per_change")
        if c:
            L.append(f"CPU time per change: controller {c['controller']:.0f} ms, the "
                     f"{fan['clients']} clients together {c['clients']:.0f} ms. Every client "
                     "and the controller share this machine's 2 CPUs, where real agents would "
                     "each validate on their own host: arrivals here queue behind one another.")
            L.append("")
    elif "fanout" in sync.get("errors", {}):
        L.append(f"Propagation failed: {sync['errors']['fanout']}")
        L.append("")
    for k, v in sync.get("errors", {}).items():
        if k not in ("full", "fanout"):
            L.append(f"{k} failed: {v}")
            L.append("")
    return "\n".join(L)


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def start_split(ph: dict) -> str:
    """A controller's start, from its own log lines (ms since spawn)."""
    parts = []
    if "read_ms" in ph:
        parts.append(f"spawn → store read and decoded {ph['read_ms']:.0f} ms")
    if "installed_ms" in ph:
        views_start = ph["installed_ms"] - ph["views_ms"]
        before = ph.get("read_ms")
        parts.append(f"→ validated {views_start - before:.0f} ms" if before is not None
                     else f"spawn → read, parsed, validated {views_start:.0f} ms")
        parts.append(f"→ views built {ph['views_ms']:.0f} ms")
    if "listening_ms" in ph and "installed_ms" in ph:
        parts.append(f"→ listening {ph['listening_ms'] - ph['installed_ms']:.0f} ms")
    return " ".join(parts)


def report_control_plane(fan: dict | None, file: dict | None, small: dict | None) -> list[str]:
    """The control plane's own part, from the controllers' log lines."""
    L = ["#### The control plane's part, from the controllers' own logs", "",
         "The write is acknowledged when the controller it went through logs that it "
         "installed the version (its Apply answers right after). From then: each other "
         "replica's line installing it, and each connected node's \"sent version\" line "
         "(log timestamps: 1 ms, CLOCK_REALTIME like the bench's; negative: before the "
         "acknowledgment). The clients' validation is not in these, but their CPU competes "
         "with the controllers' on this machine.", "",
         "| control plane, state | weftctl start → written, ms per change | other replicas "
         "installed: p50 / max ms | sent: p50 / p99 / max ms (per node and change) | last "
         "node sent per change, ms | clients' own p99 ms |",
         "| --- | --- | --- | --- | --- | ---: |"]
    for res, what in ((fan, "3 replicas, the issue's state"),
                      (file, "file-backed controller, the issue's state"),
                      (small, "3 replicas, small views: nodes only, each change adds a node")):
        cp = res and res.get("control_plane")
        if not cp:
            continue
        inst, sent = cp["installed_after_ack"], cp["sent_after_ack"]
        fmt = (lambda d, *ks: " / ".join(f"{d[k]:.0f}" for k in ks) if d.get("n") else "–")
        L.append(f"| {what} ({res['clients']:,} clients, {res['endpoints']:,} endpoints) | "
                 + ", ".join(f"{x:.0f}" for x in cp["write_ms"]) + " | "
                 f"{fmt(inst, 'p50_ms', 'max_ms')} | {fmt(sent, 'p50_ms', 'p99_ms', 'max_ms')}"
                 + (f" ({cp['unsent']} not sent)" if cp.get("unsent") else "") + " | "
                 + ", ".join(f"{x:.0f}" for x in cp["last_sent_after_ack_ms"]) + " | "
                 f"{res['latency']['p99_ms']:.0f} |")
    L.append("")
    if small and small.get("cpu_ms_per_change"):
        L.append("CPU time per change (replicas, small views): " + ", ".join(
            f"{k} {v:.0f} ms" for k, v in small["cpu_ms_per_change"].items()) + ".")
        L.append("")
    return L


def report_replicas(rep: dict | None, meta: dict, errors: dict) -> str:
    """Propagation over 3 replicas beside the file-backed controller, and a
    replica's cold start on a large fleet (bench/replicas.py)."""
    L = run_header(meta)
    if not rep:
        L.append(f"replicas.py failed: {errors.get('replicas', '?')}")
        return "\n".join(L)
    fan, file, cold = rep.get("fanout"), rep.get("file"), rep.get("cold")
    if fan or file:
        any_ = fan or file
        L.append(f"#### One endpoint change → {any_['clients']:,} sync clients")
        L.append("")
        L.append(f"{any_['clients']:,} `weft::SyncClient`s in one process (weft_bench_sync "
                 f"fanout, no datapath; each validates its view as an agent does and acks), one "
                 f"TCP connection each; {any_['endpoints']:,} endpoints in {any_['tenants']} "
                 f"tenants, one of which has an endpoint on every node: each change adds an "
                 f"endpoint to it, so every view changes. {any_['changes']} changes, each "
                 f"written with `weftctl apply`; latency from weftctl's start to each client's "
                 f"apply (p50/p99/max over every arrival), and until the last client per change.")
        L.append("")
        L.append("| control plane | arrivals | p50 ms | p99 ms | max ms | last client per change, "
                 "ms | weftctl apply, ms | p50 / p99 ms after weftctl returned | target |")
        L.append("| --- | ---: | ---: | ---: | ---: | --- | --- | --- | --- |")
        for res, what in ((fan, "3 replicas on a 3-member etcd (clients spread evenly; writes "
                                "through each replica in turn)"),
                          (file, "one file-backed controller (--state)")):
            if not res:
                continue
            lat, after = res["latency"], res.get("after_ack", {})
            L.append(f"| {what} | {lat['n']:,} | {lat['p50_ms']:.0f} | **{lat['p99_ms']:.0f}** | "
                     f"{lat['max_ms']:.0f} | "
                     + ", ".join(f"{x:.0f}" for x in res["all_clients_ms"]) + " | "
                     + ", ".join(f"{x:.0f}" for x in res.get("apply_ms", [])) + " | "
                     + (f"{after['p50_ms']:.0f} / {after['p99_ms']:.0f}" if after else "–")
                     + (f" | p99 ≤ 250 ms: {met(lat['p99_ms'] <= 250)} |" if res is fan else
                        " | |"))
        L.append("")
        for res, what in ((fan, "replicas"), (file, "file-backed controller")):
            if res and res.get("cpu_ms_per_change"):
                L.append(f"CPU time per change ({what}): " + ", ".join(
                    f"{k} {v:.0f} ms" for k, v in res["cpu_ms_per_change"].items()) + ".")
                L.append("")
        if fan:
            L.append(f"The state went into etcd with `weftctl store seed` in "
                     f"{fan['seed_s']:.2f} s. Every process shares this machine's 2 CPUs.")
            L.append("")
    small = rep.get("small")
    if fan or file or small:
        L.extend(report_control_plane(fan, file, small))
    for part in ("fanout", "file", "small"):
        if part in rep.get("errors", {}):
            L.append(f"{part} failed: {rep['errors'][part]}")
            L.append("")
    if cold:
        z = cold["sizes"]
        runs = cold["replica_serving_s"]
        worst = max(runs)
        mem, fmem = cold.get("replica_mem_mib", {}), cold.get("file_mem_mib", {})
        L.append(f"#### A replica's cold start: {z['endpoints']:,} endpoints, {z['routes']:,} "
                 f"routes, {z['rules']:,} rules, {z['nodes']:,} nodes in etcd")
        L.append("")
        L.append("| what | figure | target |")
        L.append("| --- | ---: | --- |")
        L.append(f"| `weftctl store seed` of the {z['file_mib']:.1f} MiB file (validate, "
                 f"write in staged transactions) | {cold['seed_s']:.1f} s | |")
        L.append(f"| replica spawn → health SERVING ({len(runs)} starts: "
                 + ", ".join(f"{x:.2f}" for x in runs) + f" s) | **{worst:.2f} s** (worst) | "
                 f"≤ 3 s: {met(worst <= 3)} |")
        phases_of = cold.get("replica_phases_ms") or []
        worst_start = phases_of[runs.index(worst)] if len(phases_of) == len(runs) else None
        for phases, what in ((worst_start, "replica (its slowest start)"),
                             (cold.get("file_phases_ms"), "file-backed controller")):
            if phases:
                L.append(f"| {what}: its start from its own log | " + start_split(phases)
                         + " | |")
        L.append(f"| replica VmRSS / VmHWM when serving | **{mem.get('VmRSS', 0):.0f}** / "
                 f"{mem.get('VmHWM', 0):.0f} MiB | |")
        if "file_serving_s" in cold:
            L.append(f"| file-backed controller, same state: spawn → SERVING; VmRSS | "
                     f"{cold['file_serving_s']:.2f} s; {fmem.get('VmRSS', 0):.0f} MiB | |")
        if cold.get("store_mib") is not None:
            L.append(f"| etcd database size (both fleets) | {cold['store_mib']:.0f} MiB | |")
        L.append("")
    elif "cold" in rep.get("errors", {}):
        L.append(f"cold start failed: {rep['errors']['cold']}")
        L.append("")
    return "\n".join(L)


DOC_HEAD = """# Weft benchmarks

Figures are written by `bench/run.py` between the markers below; the text
outside the markers is kept across runs.

"""


def write_doc(path: str, block: str, name: str = "") -> None:
    """Replaces the block `name` ("" is the main one) of `path`."""
    begin, end = (f"<!-- bench:begin {name} -->", f"<!-- bench:end {name} -->") if name \
        else (BEGIN, END)
    text = open(path).read() if os.path.exists(path) else DOC_HEAD + f"{begin}\n{end}\n"
    if begin not in text or end not in text:
        text = text.rstrip("\n") + f"\n\n{begin}\n{end}\n"
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{begin}\n{block}\n{end}{tail}"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)


def cpu_idle(seconds: float = 2.0) -> float:
    """Percent of all CPUs' time idle over the next `seconds` (/proc/stat)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[3] + v[4], sum(v)
    i0, t0 = snap()
    time.sleep(seconds)
    i1, t1 = snap()
    return 100.0 * (i1 - i0) / max(1, t1 - t0)


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def machine(args, started: float) -> dict:
    def sh(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, cwd=REPO).stdout.strip()
        except OSError:
            return "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1).strip() if m else "?"
    except OSError:
        pass
    commit = sh(["git", "rev-parse", "--short", "HEAD"])
    if sh(["git", "status", "--porcelain", "--untracked-files=no"]):
        commit += " (+ local changes)"
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "host": platform.node(), "nproc": os.cpu_count(), "cpu": cpu,
            "kernel": platform.release(), "commit": commit,
            "command": "sudo " + shlex.join(["bench/run.py"] + sys.argv[1:]),
            "duration": args.duration, "reps": args.reps, "affinity": args.iperf_affinity, "gate": args.gate, "rr_seconds": args.rr_seconds,
            "elapsed": time.monotonic() - started, "idle_before": args.idle_before,
            "load_before": args.load_before, "load_after": loadavg()}


class Budget(BaseException):
    """The run's time budget ran out (a BaseException so nothing swallows it)."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    ap.add_argument("--out", default=None, help="markdown file to update (else stdout only)")
    ap.add_argument("--duration", type=int, default=5, help="iperf3 seconds per run")
    ap.add_argument("--reps", type=int, default=3, help="iperf3 runs per path (median)")
    ap.add_argument("--rr-seconds", type=float, default=2,
                    help="request/response seconds per repetition and pinning")
    ap.add_argument("--iperf-affinity", default="0,1",
                    help="iperf3 -A client,server CPUs ('' to leave it to the scheduler)")
    ap.add_argument("--prog-iterations", type=int, default=20000)
    ap.add_argument("--only", default=None,
                    help="comma list of groups (" + ", ".join(GROUPS) + ") or parts (prog, "
                    "fwprog, sync, " + ", ".join(k for k, _ in TOPOLOGIES) + "); default all")
    ap.add_argument("--fw-rules", type=int, default=10000,
                    help="rules of the kernel_fw10k/kernel_fwset/weft_tc_fw10k rows")
    ap.add_argument("--fw-paths", default="cross-host",
                    help="paths measured on the firewall rows (cross-host,same-host)")
    ap.add_argument("--fw-prog-rules", default="10,100,1000,10000",
                    help="rule counts of the fwprog part")
    ap.add_argument("--sync-budget", type=int, default=300, help="seconds for the sync part")
    ap.add_argument("--sync-args", default="",
                    help="extra arguments of bench/sync_scale.py, e.g. '--changes 3'")
    ap.add_argument("--replicas-budget", type=int, default=300,
                    help="seconds for the replicas part")
    ap.add_argument("--replicas-args", default="",
                    help="extra arguments of bench/replicas.py, e.g. '--clients 300'")
    ap.add_argument("--label", default="",
                    help="a line put in bold at the top of every block written, e.g. "
                    "'PROVISIONAL: short run on a busy machine'")
    ap.add_argument("--no-build", action="store_true", help="skip the cmake build step")
    ap.add_argument("--wait-idle", type=int, default=90,
                    help="seconds to wait for the machine to be >= 80%% idle before measuring")
    ap.add_argument("--gate", type=float, default=8,
                    help="seconds to wait, before each measurement, for the CPUs to be idle")
    ap.add_argument("--gate-total", type=float, default=90,
                    help="at most this many seconds of such waiting in the whole run")
    ap.add_argument("--budget", type=int, default=1200, help="seconds for the whole run")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    args.gate_left = args.gate_total
    if os.geteuid() != 0:
        print("bench/run.py needs root (network namespaces, BPF)", file=sys.stderr)
        return 2
    missing = weftlab.missing_tools() + [t for t in ("nft",) if not _which(t)]
    if missing:
        print(f"missing tools: {' '.join(missing)}", file=sys.stderr)
        return 2

    weftlab.install_signal_handlers()

    def on_alarm(signum, frame):
        raise Budget(f"time budget of {args.budget}s exhausted")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.budget)
    started = time.monotonic()
    only = None
    if args.only:
        only = set()
        for part in args.only.split(","):
            only |= set(GROUPS.get(part, [part]))
        single_parts = {"prog", "prog6", "fwprog", "sync", "replicas"}
        unknown = only - single_parts - {k for k, _ in TOPOLOGIES}
        if unknown:
            print(f"--only: unknown parts {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
    want = lambda k: only is None or k in only  # noqa: E731

    if not args.no_build:
        log("building weft-agent, weft-controller, weftctl, weft-health-probe, weft_bench_prog, "
            "weft_bench_sync (-j2)")
        run(["cmake", "-S", REPO, "-B", args.build_dir], timeout=300)
        run(["cmake", "--build", args.build_dir, "-j2", "--target", "weft-agent",
             "weft-controller", "weftctl", "weft-health-probe", "weft_bench_prog",
             "weft_bench_sync"], timeout=1200)

    deadline = time.monotonic() + args.wait_idle
    while True:
        args.load_before = loadavg()
        args.idle_before = cpu_idle()
        if args.idle_before >= 80 or time.monotonic() >= deadline:
            break
        log(f"machine busy (CPU idle {args.idle_before:.0f}%), waiting up to "
            f"{deadline - time.monotonic():.0f}s more for it to settle")
        time.sleep(3)
    log(f"CPU idle {args.idle_before:.0f}%, load average {args.load_before}")
    results, errors, prog, fwprog, sync, replicas = {}, {}, None, None, None, None
    part_idle: dict[str, int] = {}  # CPU idle % seen just before each single-shot part

    def single(part, fn):
        """prog, fwprog, sync: one measurement each, behind the same load gate."""
        probe = Target(part, part, None, "", "", "")
        wait_quiet(args, probe)
        part_idle[part] = probe.idle_seen[-1]
        log(f"{part} (CPU idle {part_idle[part]}%)")
        try:
            return fn(args)
        except (subprocess.SubprocessError, OSError, ValueError, LabError) as e:
            log(f"{part} FAILED: {e}")
            errors[part] = " ".join(str(e).split())
            return None

    if want("prog"):
        prog = single("prog", bench_prog)
    if want("fwprog"):
        fwprog = single("fwprog", bench_fwprog)
    prog6 = single("prog6", bench_prog6) if want("prog6") else None
    keys = [k for k, _ in TOPOLOGIES if want(k)]
    if keys:
        run_network(keys, args, results, errors)
    if want("sync"):
        sync = single("sync", bench_sync)
        if sync and sync.get("errors"):
            errors["sync"] = "; ".join(f"{k}: {v}" for k, v in sync["errors"].items())
    if want("replicas"):
        replicas = single("replicas", bench_replicas)
        if replicas and replicas.get("errors"):
            errors["replicas"] = "; ".join(f"{k}: {v}" for k, v in replicas["errors"].items())
    signal.alarm(0)

    meta = machine(args, started)

    def with_label(parts):
        m = dict(meta)
        lines = [f"**{args.label}**"] if args.label else []
        busy = [f"{p} started at CPU idle {part_idle[p]}%" for p in parts
                if p in part_idle and part_idle[p] < 85]
        if busy:
            lines.append("Taken while other users kept the CPUs busy (idle < 85% after "
                         f"waiting up to {args.gate:.0f} s): " + "; ".join(busy) +
                         ". Treat these figures as provisional.")
        m["busy_label"] = "\n\n".join(lines)
        return m

    blocks = []
    if prog or "prog" in errors or any(k in keys for k in TCP_KEYS if k != "kernel") or \
            (keys and set(keys) <= set(TCP_KEYS)):
        blocks.append(("", report(results, prog, with_label(["prog"]), errors)))
    if fwprog or "fwprog" in errors or any(k in keys for k in FW_KEYS if k != "kernel"):
        blocks.append(("fw", report_fw(results, fwprog, with_label(["fwprog"]), errors)))
    if want("sync"):
        blocks.append(("sync", report_sync(sync, with_label(["sync"]), errors)))
    if any(k in keys for k in north_south.KEYS):
        blocks.append(("ns", report_ns(results, with_label([]), errors)))
    if want("replicas"):
        blocks.append(("replicas", report_replicas(replicas, with_label(["replicas"]), errors)))
    if prog6 or "prog6" in errors or any(k in keys for k in GROUPS["underlay6"]):
        blocks.append(("underlay6", report_underlay6(results, prog6, with_label(["prog6"]),
                                                     errors)))
    if any(k in keys for k in GROUPS["tenants6"]):
        blocks.append(("tenants6", report_tenants6(results, with_label([]), errors)))
    for name, block in blocks:
        print(block)
        print()
        if args.out:
            write_doc(args.out, block, name)
    if args.out:
        log(f"wrote {args.out} (blocks: {', '.join(n or 'main' for n, _ in blocks)})")
    raw = os.path.join(args.build_dir, "bench-results.json")
    with open(raw, "w") as f:
        json.dump({"results": results, "prog": prog, "prog6": prog6, "fwprog": fwprog,
                   "sync": sync,
                   "replicas": replicas,
                   "part_idle": part_idle, "errors": errors}, f, indent=1)
    log(f"raw figures: {raw}")
    return 1 if errors else 0


def _which(tool: str) -> bool:
    import shutil
    return shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is not None


if __name__ == "__main__":
    sys.exit(main())
