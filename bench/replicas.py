#!/usr/bin/python3
"""Controller replicas on etcd at fleet scale (docs/BENCHMARKS.md "Controller
replicas on etcd"):

    sudo bench/replicas.py --build-dir build [--json] [--only fanout,file,small,cold]

fanout  --clients (1,000) simulated agents (weft_bench_sync fanout: one
        weft::SyncClient per node, no datapath, each validating its view as
        an agent does; one TCP connection each, from its own loopback
        address) spread evenly over 3 weft-controller --store replicas on a
        3-member etcd cluster. --changes (5) endpoint changes, each written
        with `weftctl apply` through the next replica (every node's view
        changes: a tenant has an endpoint on every node, and the change adds
        one to it). Per change: the time from weftctl's start until each
        client applied the new version (it acks right after), p50/p99/max
        over all arrivals and the time until the last of the clients; the
        CPU time of each replica and of the etcd members per change
        (/proc/<pid>/stat).
        From the controllers' own log lines (1 ms, CLOCK_REALTIME, as the
        bench's clock): weftctl returned → each replica installed the
        version ("version V from ..."), and → each node's "sent version V"
        (the control plane's part, without the clients' validation).
file    The same clients, state and changes against one file-backed
        weft-controller (--state, changes through the same `weftctl apply`),
        in the same run.
small   As fanout, with small views: the nodes and nothing else (every view
        holds the node list); each change adds a node.
cold    A fleet of --endpoints (100,000) endpoints seeded into etcd with
        `weftctl store seed` (timed), then a replica started cold on it:
        spawn until its health service answers SERVING, and its RSS; the
        start split by its log lines (store read and decoded, validated,
        views built, listening); the file-backed controller's start on the
        same state beside it.

Everything runs in one network namespace with a unique name
(wft<6 hex>-sync): etcd on its loopback with data on a tmpfs, removed with
everything in it on success, failure, Ctrl-C/SIGTERM and when --budget runs
out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "lab"))
sys.path.insert(0, HERE)

import weftlab  # noqa: E402
from weftlab import LabError  # noqa: E402
from weftlab.etcd_cluster import EtcdCluster, missing_etcd  # noqa: E402
from weftlab.ns import ns_argv, run, wait_for  # noqa: E402
from sync_scale import (Env, big_state, cpu_seconds, fanout_state, ip4, ip_of, mac,  # noqa: E402
                        proc_mem, q, stop, tail, write_atomic)

REPLICAS = 3
REPLICA_SYNC, REPLICA_ADMIN, REPLICA_HEALTH = 17100, 17101, 17102  # + 10 * index
FILE_SYNC, FILE_ADMIN, FILE_HEALTH = 17200, 17201, 17202
COLD_SYNC, COLD_ADMIN, COLD_HEALTH = 17300, 17301, 17302
BIG_PREFIX = "/weft/big/"
SMALL_PREFIX = "/weft/small/"


def log(msg: str) -> None:
    print(f"[replicas {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- the controllers' own logs ---------------------------------------------------------
# common/base/log.h: "2026-12-07T06:09:01.123Z INFO ..." (UTC, CLOCK_REALTIME
# through absl::Now(), truncated to the millisecond), compared with the
# bench's time.time() (CLOCK_REALTIME too).
LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z \w+ (.*)$")
INSTALLED = re.compile(r"^version (\d+) from (.*?): .*\((\d+) ms\)$")
SENT = re.compile(r"^node (\S+): sent version (\d+) ")
READ = re.compile(r"^store revision (\d+) read from the store")
SERVING = re.compile(r"^serving version ")


def log_lines(path: str):
    """(realtime seconds, message) of each line of a controller's log."""
    with open(path, errors="replace") as f:
        for line in f:
            m = LOG_LINE.match(line.rstrip("\n"))
            if m:
                t = datetime.datetime.strptime(m[1], "%Y-%m-%dT%H:%M:%S.%f")
                yield t.replace(tzinfo=datetime.timezone.utc).timestamp(), m[2]


def control_plane_times(logs: list[str]) -> tuple[dict, dict]:
    """From the controllers' logs: {version: {index in logs: time that
    controller installed it}} and {version: {node: first time a controller
    logged it sent}}."""
    installed: dict[int, dict[int, float]] = {}
    sent: dict[int, dict[str, float]] = {}
    for i, path in enumerate(logs):
        for t, msg in log_lines(path):
            if m := INSTALLED.match(msg):
                installed.setdefault(int(m[1]), {}).setdefault(i, t)
            elif m := SENT.match(msg):
                sent.setdefault(int(m[2]), {}).setdefault(m[1], t)
    return installed, sent


def start_phases(path: str, spawned: float) -> dict:
    """A controller's start split by its own log lines, in ms from spawn:
    the store read and decoded (etcd mode), the state installed (its line
    carries the ms of building views: validation ran before them), Sync
    listening."""
    out: dict = {}
    for t, msg in log_lines(path):
        if READ.match(msg) and "read_ms" not in out:
            out["read_ms"] = (t - spawned) * 1e3
        elif (m := INSTALLED.match(msg)) and "installed_ms" not in out:
            out["installed_ms"] = (t - spawned) * 1e3
            out["views_ms"] = float(m[3])
        elif SERVING.match(msg) and "listening_ms" not in out:
            out["listening_ms"] = (t - spawned) * 1e3
    return out


class Fleet:
    """The processes of one part: etcd's members are the Env's for the run."""

    def __init__(self, args, env: Env, etcd: EtcdCluster):
        self.args, self.env, self.etcd = args, env, etcd

    def weftctl(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return run(ns_argv(self.env.ns, [self.env.bin("weftctl"), *argv]), check=False,
                   timeout=timeout)

    def seed(self, path: str, prefix: str | None = None) -> float:
        """weftctl store seed; its seconds."""
        extra = ["--store_prefix", prefix] if prefix else []
        t = time.monotonic()
        cp = self.weftctl("store", "seed", "--store", self.etcd.store_url(), "-f", path, *extra,
                          timeout=self.args.timeout)
        if cp.returncode != 0:
            raise LabError(f"weftctl store seed: {cp.stderr.strip()[-1000:]}")
        return time.monotonic() - t

    def replica(self, name: str, sync_port: int, admin_port: int, health_port: int,
                prefix: str | None = None) -> tuple[subprocess.Popen, str]:
        argv = [self.env.bin("weft-controller"), "--store", self.etcd.store_url(),
                "--replica_name", name, "--admin_listen", f"127.0.0.1:{admin_port}",
                "--health_listen", f"127.0.0.1:{health_port}", "--insecure",
                "--listen", f"0.0.0.0:{sync_port}", "--insecure_listen_any"]
        if prefix:
            argv += ["--store_prefix", prefix]
        return self.env.spawn(argv, f"replica-{name}")

    def file_controller(self, path: str, sync_port: int, admin_port: int,
                        health_port: int) -> tuple[subprocess.Popen, str]:
        argv = [self.env.bin("weft-controller"), "--state", path,
                "--admin_listen", f"127.0.0.1:{admin_port}",
                "--health_listen", f"127.0.0.1:{health_port}", "--insecure",
                "--listen", f"0.0.0.0:{sync_port}", "--insecure_listen_any"]
        return self.env.spawn(argv, f"file-controller-{admin_port}")

    def serving(self, health_port: int) -> bool:
        cp = run(ns_argv(self.env.ns, [self.env.bin("weft-health-probe"), "--addr",
                                       f"127.0.0.1:{health_port}", "--timeout_ms", "500"]),
                 check=False, timeout=10)
        return cp.returncode == 0

    def wait_serving(self, proc: subprocess.Popen, out: str, health_port: int) -> float:
        """Seconds from now until SERVING (polled every 10 ms)."""
        t = time.monotonic()
        wait_for(lambda: proc.poll() is not None or self.serving(health_port),
                 self.args.timeout, 0.01, f"health SERVING on {health_port}")
        if proc.poll() is not None:
            raise LabError(f"controller exited {proc.returncode}: {tail(out)}")
        return time.monotonic() - t


# --- propagation -----------------------------------------------------------------------

def add_endpoint(st: dict, c: int, clients: int) -> None:
    """Change c: one more endpoint in the tenant every node has one in."""
    st["endpoints"].append({"name": f"probe{c}", "segment": "infra-s",
                            "ip": ip4(ip_of("10.250.128.0") + c + 2), "mac": mac(c + 1, 0x0a),
                            "node": f"f{c % clients:03d}", "interface": f"probe{c}"})


def nodes_state(clients: int) -> dict:
    """Small views: `clients` Weft nodes and nothing else. Every view holds
    the node list, so adding a node changes every view."""
    st = fanout_state(clients, 0, 1, 0)
    return {k: v if k in ("version", "nodes") else [] for k, v in st.items()}


def add_node(st: dict, c: int, clients: int) -> None:
    """Change c of the small shape: one more Weft node (no client runs it)."""
    st["nodes"].append({"name": f"extra{c}", "vtep": f"198.21.{c // 250}.{c % 250 + 1}"})


def propagate(args, fleet: Fleet, st: dict, ports: list[int], admin_ports: list[int],
              pids: dict[str, int], logs: list[str], change=add_endpoint) -> dict:
    """The clients on `ports`, --changes changes through weftctl apply on
    admin_ports in turn; latencies and CPU per change of `pids`; from the
    controllers' `logs`, when each installed a change and sent it."""
    env = fleet.env
    nodes = [n["name"] for n in st["nodes"]]
    connected = set(nodes)
    argv = [env.bin("weft_bench_sync"), "fanout", "--nodes", ",".join(nodes),
            "--controller_base", "127.0.0.2", "--controller_port", ",".join(map(str, ports))]
    fan, fan_log = env.spawn(argv, f"fanout-{ports[0]}", stdout=subprocess.PIPE,
                             stdin=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()

    def reader():
        for line in fan.stdout:
            lines.put(line.split())
        lines.put(None)
    threading.Thread(target=reader, daemon=True).start()
    version = {n: 0 for n in nodes}
    arrivals: dict[int, dict[str, float]] = {}

    def pump(until: float, pred) -> bool:
        while not pred():
            left = until - time.time()
            if left <= 0:
                return False
            try:
                f = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if f is None:
                raise LabError(f"fanout exited: {tail(fan_log)}")
            if f and f[0] == "applied":
                node, v, t = f[1], int(f[2]), int(f[3]) / 1e9
                if v > version[node]:
                    version[node] = v
                    arrivals.setdefault(v, {})[node] = t
        return True

    try:
        t0 = time.time()
        if not pump(t0 + args.timeout, lambda: all(v > 0 for v in version.values())):
            raise LabError(f"not every client got a first state in {args.timeout}s "
                           f"({sum(1 for v in version.values() if v)}/{len(nodes)})")
        connect_s = time.time() - t0
        log(f"{len(nodes)} clients synced in {connect_s:.2f} s")
        path = os.path.join(env.dir, f"change-{ports[0]}.json")
        all_lat, all_after, per_change = [], [], []
        cpu0 = {k: cpu_seconds(p) for k, p in pids.items()}
        cpu0["clients"] = cpu_seconds(fan.pid)
        for c in range(args.changes):
            time.sleep(args.change_gap)
            change(st, c, len(nodes))
            write_atomic(path, st)
            before = max(version.values())
            admin = admin_ports[c % len(admin_ports)]
            t_write = time.time()
            cp = fleet.weftctl("--controller", f"127.0.0.1:{admin}", "--insecure", "apply",
                               "-f", path, timeout=30)
            t_done = time.time()
            if cp.returncode != 0:
                raise LabError(f"change {c + 1}: weftctl apply: {cp.stderr.strip()}")
            v = int(cp.stdout.split()[-1])
            ok = pump(t_write + args.change_timeout, lambda: all(x >= v for x in version.values()))
            arr = {n: t for n, t in arrivals.get(v, {}).items()}
            lat = sorted(t - t_write for t in arr.values())
            if not lat:
                raise LabError(f"change {c + 1}: no client got version {v}")
            all_lat += lat
            # from weftctl's exit: the write acknowledged (negative: the
            # client applied it before weftctl was done exiting)
            all_after += [t - t_done for t in arr.values()]
            per_change.append({"version": v, "clients": len(arr), "complete": ok,
                               "t_write": t_write, "t_done": t_done,
                               "apply_ms": (t_done - t_write) * 1e3,
                               "p50_ms": q(lat, .5) * 1e3, "p99_ms": q(lat, .99) * 1e3,
                               "all_ms": lat[-1] * 1e3})
            log(f"change {c + 1}/{args.changes} through :{admin}: version {v} at "
                f"{len(arr)}/{len(nodes)} clients; weftctl {(t_done - t_write) * 1e3:.0f} ms, "
                f"p50 {q(lat, .5) * 1e3:.0f} ms, all {lat[-1] * 1e3:.0f} ms")
        cpu1 = {k: cpu_seconds(p) for k, p in pids.items()}
        cpu1["clients"] = cpu_seconds(fan.pid)
    finally:
        if fan.stdin:
            fan.stdin.close()
        try:
            fan.wait(10)
        except subprocess.TimeoutExpired:
            pass
        stop(fan)
    def summary(values):
        xs = sorted(values)
        if not xs:
            return {"n": 0}
        return {"n": len(xs), "p50_ms": q(xs, .5) * 1e3, "p99_ms": q(xs, .99) * 1e3,
                "max_ms": xs[-1] * 1e3}

    # The control plane's part, from its own log lines (1 ms resolution,
    # each written right after the event). The write is acknowledged when
    # the controller weftctl wrote through installed the version: its Apply
    # answers right after (etcd mode: it awaits its own watch's install;
    # file mode: it installs, then answers); weftctl's exit comes tens of
    # ms later, and its start ~0.35 s before (namespace entry, process
    # start, reading the file), reported apart. From the acknowledgment:
    # → each other controller
    # installed the version; → each connected node's "sent version V" (the
    # update handed to gRPC on its stream).
    installed, sent = control_plane_times(logs)
    to_ack, all_installed, all_sent, unsent = [], [], [], 0
    for i, c in enumerate(per_change):
        v, t_write = c["version"], c.pop("t_write")
        c.pop("t_done")
        at = installed.get(v, {})
        writer = i % len(logs)  # admin ports in the order of logs
        if writer not in at:
            raise LabError(f"version {v}: no install line in {logs[writer]}")
        ack = at[writer]
        to_ack.append(ack - t_write)
        inst = [t - ack for j, t in at.items() if j != writer]
        sends = [t - ack for n, t in sent.get(v, {}).items() if n in connected]
        unsent += len(connected) - len(sends)
        all_installed += inst
        all_sent += sends
        c["write_ms"] = (ack - t_write) * 1e3
        c["installed_after_ack_ms"] = sorted(x * 1e3 for x in inst)
        c["last_sent_after_ack_ms"] = max(sends) * 1e3 if sends else None
    last_sent = [c["last_sent_after_ack_ms"] for c in per_change
                 if c["last_sent_after_ack_ms"] is not None]
    control_plane = {"controllers": len(logs),
                     "write_ms": sorted(x * 1e3 for x in to_ack),
                     "installed_after_ack": summary(all_installed),
                     "sent_after_ack": summary(all_sent),
                     "last_sent_after_ack_ms": last_sent,
                     "unsent": unsent}
    return {"control_plane": control_plane, "clients": len(nodes),
            "endpoints": len(st["endpoints"]), "tenants": len(st["tenants"]), "changes": args.changes, "connect_s": connect_s,
            "latency": summary(all_lat), "after_ack": summary(all_after),
            "apply_ms": sorted(c["apply_ms"] for c in per_change),
            "all_clients_ms": sorted(c["all_ms"] for c in per_change),
            "per_change": per_change,
            # user + system CPU of each process, all threads, per change (the
            # --change-gap pauses included: idle watches and keepalives)
            "cpu_ms_per_change": {k: (cpu1[k] - cpu0[k]) * 1e3 / args.changes for k in cpu1}}


def part_fanout(args, fleet: Fleet, st: dict, tag: str, prefix: str | None = None,
                change=add_endpoint) -> dict:
    path = os.path.join(fleet.env.dir, f"{tag}.json")
    write_atomic(path, st)
    seed_s = fleet.seed(path, prefix)
    procs, logs = [], []
    try:
        for i in range(REPLICAS):
            p, out = fleet.replica(f"{tag}-r{i}", REPLICA_SYNC + 10 * i, REPLICA_ADMIN + 10 * i,
                                   REPLICA_HEALTH + 10 * i, prefix)
            procs.append(p)
            logs.append(out)
            fleet.wait_serving(p, out, REPLICA_HEALTH + 10 * i)
        pids = {f"r{i}": p.pid for i, p in enumerate(procs)}
        pids.update({f"etcd {m.name}": m.proc.pid for m in fleet.etcd.members})
        res = propagate(args, fleet, st, [REPLICA_SYNC + 10 * i for i in range(REPLICAS)],
                        [REPLICA_ADMIN + 10 * i for i in range(REPLICAS)], pids, logs, change)
        res["seed_s"] = seed_s
        res["replica_mem_mib"] = {f"r{i}": proc_mem(p.pid) for i, p in enumerate(procs)}
        return res
    finally:
        for p in procs:
            stop(p)


def part_file(args, fleet: Fleet, st: dict, tag: str, change=add_endpoint) -> dict:
    path = os.path.join(fleet.env.dir, f"{tag}.json")
    write_atomic(path, st)
    p, out = fleet.file_controller(path, FILE_SYNC, FILE_ADMIN, FILE_HEALTH)
    try:
        fleet.wait_serving(p, out, FILE_HEALTH)
        res = propagate(args, fleet, st, [FILE_SYNC], [FILE_ADMIN], {"controller": p.pid},
                        [out], change)
        res["controller_mem_mib"] = proc_mem(p.pid)
        return res
    finally:
        stop(p)


def part_cold(args, fleet: Fleet) -> dict:
    st = big_state(args.endpoints, args.routes, args.rules, args.remote_nodes, args.tenants,
                   10, 10)
    path = os.path.join(fleet.env.dir, "big.json")
    write_atomic(path, st)
    sizes = {"endpoints": len(st["endpoints"]), "routes": len(st["routes"]),
             "rules": sum(len(p["rules"]) for p in st["policies"]), "nodes": len(st["nodes"]),
             "file_mib": os.path.getsize(path) / 2**20}
    del st
    res: dict = {"sizes": sizes}
    res["seed_s"] = fleet.seed(path, BIG_PREFIX)
    log(f"{sizes['endpoints']:,} endpoints seeded in {res['seed_s']:.1f} s")
    runs, phases = [], []
    for trial in range(args.cold_trials):
        spawned = time.time()
        p, out = fleet.replica(f"cold{trial}", COLD_SYNC, COLD_ADMIN, COLD_HEALTH, BIG_PREFIX)
        try:
            runs.append(fleet.wait_serving(p, out, COLD_HEALTH))
            phases.append(start_phases(out, spawned))
            time.sleep(args.settle)
            mem = proc_mem(p.pid)
        finally:
            stop(p)
        log(f"cold replica {trial + 1}: serving after {runs[-1]:.2f} s, "
            f"RSS {mem.get('VmRSS', 0):.0f} MiB")
    res["replica_serving_s"] = runs
    res["replica_phases_ms"] = phases
    res["replica_mem_mib"] = mem
    spawned = time.time()
    p, out = fleet.file_controller(path, COLD_SYNC, COLD_ADMIN, COLD_HEALTH)
    try:
        res["file_serving_s"] = fleet.wait_serving(p, out, COLD_HEALTH)
        res["file_phases_ms"] = start_phases(out, spawned)
        time.sleep(args.settle)
        res["file_mem_mib"] = proc_mem(p.pid)
    finally:
        stop(p)
    res["store_mib"] = etcd_db_mib(fleet.etcd)
    return res


def etcd_db_mib(etcd: EtcdCluster) -> float | None:
    status = etcd.status()
    return status[0]["Status"]["dbSize"] / 2**20 if status else None


class Budget(BaseException):
    pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    ap.add_argument("--only", default="fanout,file,small,cold",
                    help="fanout/file: the issue's state shape through the replicas/the "
                    "file-backed controller; small: through the replicas, small views "
                    "(--small-clients nodes and nothing else, each change adds a node); "
                    "cold: the large fleet's cold start")
    ap.add_argument("--small-clients", type=int, default=None,
                    help="clients of the small part (default: --clients)")
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--fanout-endpoints", type=int, default=2000)
    ap.add_argument("--fanout-tenants", type=int, default=10)
    ap.add_argument("--infra-rules", type=int, default=0,
                    help="rules of the policy on the tenant every node has (its group: "
                    "every node's endpoint)")
    ap.add_argument("--changes", type=int, default=5)
    ap.add_argument("--change-gap", type=float, default=1.0)
    ap.add_argument("--change-timeout", type=float, default=20.0)
    ap.add_argument("--endpoints", type=int, default=100_000)
    ap.add_argument("--routes", type=int, default=10_000)
    ap.add_argument("--rules", type=int, default=10_000)
    ap.add_argument("--remote-nodes", type=int, default=100)
    ap.add_argument("--tenants", type=int, default=10)
    ap.add_argument("--cold-trials", type=int, default=3)
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds after SERVING before the memory is read")
    ap.add_argument("--timeout", type=float, default=120.0, help="per wait")
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if os.geteuid() != 0:
        print("replicas.py needs root (namespaces, tmpfs)", file=sys.stderr)
        return 2
    if missing_etcd():
        print(f"missing {' '.join(missing_etcd())} (Debian: etcd-server etcd-client)",
              file=sys.stderr)
        return 2
    only = set(args.only.split(","))
    weftlab.install_signal_handlers()

    def on_alarm(signum, frame):
        raise Budget(f"time budget of {args.budget}s exhausted")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.budget)
    out: dict = {"errors": {}}
    try:
        with Env(args.build_dir) as env:
            etcd = EtcdCluster(env.ns, os.path.join(env.dir, "etcd"), env.dir,
                               token=env.prefix.rstrip("-"))
            try:
                etcd.start()
                fleet = Fleet(args, env, etcd)
                st = fanout_state(args.clients, args.fanout_endpoints, args.fanout_tenants,
                                  args.infra_rules)
                small = nodes_state(args.small_clients or args.clients)
                for part, fn in (("fanout", lambda: part_fanout(args, fleet, json.loads(
                                     json.dumps(st)), "fanout")),
                                 ("file", lambda: part_file(args, fleet, json.loads(
                                     json.dumps(st)), "fanout-file")),
                                 ("small", lambda: part_fanout(args, fleet, small, "small",
                                                               SMALL_PREFIX, add_node)),
                                 ("cold", lambda: part_cold(args, fleet))):
                    if part not in only:
                        continue
                    try:
                        out[part] = fn()
                    except (LabError, subprocess.SubprocessError, OSError, ValueError) as e:
                        log(f"{part} FAILED: {e}")
                        out["errors"][part] = " ".join(str(e).split())[:2000]
            finally:
                etcd.stop()
    except Budget as e:
        out["errors"]["budget"] = str(e)
    finally:
        signal.alarm(0)
    print(json.dumps(out) if args.json else json.dumps(out, indent=1))
    return 1 if out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
