#!/usr/bin/python3
"""Control-plane scale benchmark (docs/BENCHMARKS.md "Control plane"):

    sudo bench/sync_scale.py --build-dir build [--json] [--only full,breakdown,fanout]

full       Full sync of a large fleet state (default 100,000 endpoints, 10,000
           routes, 10,000 rules) from weft-controller to the BPF maps of one
           real weft-agent (node hv1, datapath loaded, in a network namespace
           of its own; its VM interfaces are absent, which the agent skips:
           the maps are filled by the endpoints of the other nodes). hv1 has
           an endpoint in every tenant, so its view is the whole state and
           its maps hold every endpoint, route and rule. Measured: the
           controller's load (spawn until it serves: YAML parse, validation,
           one view per Weft node), then from the agent's spawn to its Ack
           at the controller, split at the log lines of both (connected, sent,
           applied, acked; log timestamps have 1 ms resolution); the agent's
           VmRSS/VmHWM (/proc) after the Ack, and the controller's.
breakdown  The same sync, stage by stage, in one single-threaded process
           (build/weft_bench_sync breakdown): where the time goes.
fanout     Propagation of one change to --clients (100) connected agents:
           weft_bench_sync fanout runs one weft::SyncClient per node in one
           process, without datapath (each update is received, converted and
           validated for its node exactly as the agent does, then the time is
           taken). Every client connects from its own loopback address
           (127.0.0.x), so each has its own TCP connection. A shared "infra"
           tenant has an endpoint on every node and a policy; each change
           appends one rule to that policy (every node's view changes), the
           state file is replaced atomically, and the latency of each client
           is measured from the moment the file was replaced (the controller
           is woken by inotify; --poll-ms is its backstop poll) and from the
           controller's accept (its log line). --changes changes, p50/p99/max over all arrivals.

All processes run in one network namespace with a unique name
(wft<6 hex>-sync), removed with everything in it on success, failure,
Ctrl-C/SIGTERM and when --budget runs out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "lab"))

import weftlab  # noqa: E402
from weftlab.ns import IP, cleanup_stale, ip_batch, ns_argv, run, run_dir, wait_for  # noqa: E402
from weftlab import LabError  # noqa: E402

SYNC_PORT, ADMIN_PORT = 17000, 17001
PORTS = [22, 53, 80, 443, 3306, 5432, 6379, 8080, 8443, 9090, 9200, 27017]


def log(msg: str) -> None:
    print(f"[sync {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def mac(k: int, top: int = 0x02) -> str:
    return f"{top:02x}:{(k >> 32) & 0xff:02x}:{(k >> 24) & 0xff:02x}:{(k >> 16) & 0xff:02x}:" \
           f"{(k >> 8) & 0xff:02x}:{k & 0xff:02x}"


def ip4(v: int) -> str:
    return ".".join(str((v >> s) & 0xff) for s in (24, 16, 8, 0))


def ip_of(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return a << 24 | b << 16 | c << 8 | d


# --- the big state -------------------------------------------------------------------

def big_state(endpoints: int, routes: int, rules: int, remote_nodes: int, tenants: int,
              segments_per_tenant: int, local_per_tenant: int) -> dict:
    """hv1 (the measured agent) plus `remote_nodes` Weft nodes; remote node r
    hosts only tenant r % tenants, hv1 has `local_per_tenant` endpoints in
    every tenant (so hv1's view is everything). Segments are /20 subnets
    10.<s+1>.0.0/20, the same in every tenant (overlapping, as tenants
    may). Routes: per tenant, /24s of 172.16.0.0/12 to two of the tenant's
    nodes (ECMP). Rules: one policy per tenant, applied to the group "web"
    (hv1's endpoints), rules with /28 peers of 172.16/12 or the group
    "admin", TCP/UDP ports of a short list, ingress and egress, allow and
    deny (none of the maps' capacities is near: peers are CIDRs)."""
    per_seg = -(-endpoints // (tenants * segments_per_tenant))
    if per_seg + 2 > 4094:
        raise SystemExit("too many endpoints per /20 segment: raise --tenants")
    nodes = [{"name": "hv1", "vtep": "198.18.0.1"}]
    by_tenant: dict[int, list[str]] = {t: [] for t in range(tenants)}
    for r in range(remote_nodes):
        name = f"n{r:04d}"
        nodes.append({"name": name, "vtep": f"198.19.{r // 250}.{r % 250 + 1}"})
        by_tenant[r % tenants].append(name)
    if any(not v for v in by_tenant.values()):
        raise SystemExit("--remote-nodes must be >= --tenants")
    st = {"version": 1, "nodes": nodes, "tenants": [], "segments": [], "endpoints": [],
          "routes": [], "groups": [], "policies": []}
    k = 0
    for t in range(tenants):
        tname = f"t{t:02d}"
        st["tenants"].append({"name": tname, "id": t + 1})
        st["groups"] += [{"name": "web", "tenant": tname}, {"name": "admin", "tenant": tname}]
        remote = by_tenant[t]
        ri = 0
        for s in range(segments_per_tenant):
            seg = f"{tname}-s{s:02d}"
            st["segments"].append({"name": seg, "tenant": tname, "vni": (t + 1) * 1000 + s + 1,
                                   "subnet": f"10.{s + 1}.0.0/20", "gateway": f"10.{s + 1}.0.1",
                                   "gateway_mac": "02:fe:00:00:00:01"})
            base = ip_of(f"10.{s + 1}.0.0")
            for j in range(per_seg):
                if k >= endpoints:
                    break
                local = s == 0 and j < local_per_tenant
                node = "hv1" if local else remote[ri % len(remote)]
                if not local:
                    ri += 1
                ep = {"name": f"e{k}", "segment": seg, "ip": ip4(base + j + 2), "mac": mac(k + 1),
                      "node": node, "interface": f"v{k}"}
                if local:
                    ep["groups"] = ["web"]
                elif j < 8:
                    ep["groups"] = ["admin"]
                st["endpoints"].append(ep)
                k += 1
        per_t = routes // tenants + (1 if t < routes % tenants else 0)
        for j in range(per_t):
            st["routes"].append({"tenant": tname,
                                 "prefix": f"172.{16 + j // 256}.{j % 256}.0/24",
                                 "nodes": [remote[j % len(remote)],
                                           remote[(j + 1) % len(remote)]][:min(2, len(remote))],
                                 "segment": f"{tname}-s00"})
        per_t = rules // tenants + (1 if t < rules % tenants else 0)
        rl = []
        for j in range(per_t):
            r = {"direction": "ingress" if j % 2 else "egress",
                 "protocol": "udp" if j % 7 == 3 else "tcp",
                 "ports": [str(PORTS[j % len(PORTS)])],
                 "action": "deny" if j % 5 == 4 else "allow"}
            if j % 50 == 0:
                r["peer"] = {"groups": ["admin"]}
            else:
                r["peer"] = {"cidrs": [f"{ip4(ip_of('172.16.0.0') + 16 * j)}/28"]}
            rl.append(r)
        if rl:
            st["policies"].append({"name": f"{tname}-fw", "tenant": tname,
                                   "applied_to": {"groups": ["web"]}, "rules": rl})
    return st


# --- the fan-out state -----------------------------------------------------------------

def fanout_state(clients: int, endpoints: int, tenants: int, infra_rules: int) -> dict:
    """`clients` Weft nodes f000..; tenant "infra" with one endpoint on every
    node (group "mon") and a policy of `infra_rules` rules applied to it; the
    other endpoints in `tenants` tenants, each on clients/tenants nodes."""
    nodes = [{"name": f"f{i:03d}", "vtep": f"198.20.{i // 250}.{i % 250 + 1}"}
             for i in range(clients)]
    st = {"version": 1, "nodes": nodes,
          "tenants": [{"name": "infra", "id": 1}],
          "segments": [{"name": "infra-s", "tenant": "infra", "vni": 100,
                        "subnet": "10.250.0.0/16", "gateway": "10.250.0.1",
                        "gateway_mac": "02:fe:00:00:00:01"}],
          "endpoints": [], "routes": [], "groups": [{"name": "mon", "tenant": "infra"}],
          "policies": []}
    for i in range(clients):
        st["endpoints"].append({"name": f"mon{i}", "segment": "infra-s",
                                "ip": ip4(ip_of("10.250.0.0") + i + 2), "mac": mac(i + 1, 0x06),
                                "node": f"f{i:03d}", "interface": "mon0", "groups": ["mon"]})
    per_t = -(-endpoints // tenants)
    k = 0
    for t in range(tenants):
        tname = f"ft{t:02d}"
        st["tenants"].append({"name": tname, "id": t + 2})
        st["segments"].append({"name": f"{tname}-s", "tenant": tname, "vni": 200 + t,
                               "subnet": "10.1.0.0/16", "gateway": "10.1.0.1",
                               "gateway_mac": "02:fe:00:00:00:01"})
        hosts = [i for i in range(clients) if i % tenants == t] or [t % clients]
        for j in range(per_t):
            if k >= endpoints:
                break
            st["endpoints"].append({"name": f"x{k}", "segment": f"{tname}-s",
                                    "ip": ip4(ip_of("10.1.0.0") + j + 2), "mac": mac(k + 1),
                                    "node": f"f{hosts[j % len(hosts)]:03d}",
                                    "interface": f"v{k}"})
            k += 1
    set_infra_rules(st, infra_rules)
    return st


def set_infra_rules(st: dict, n: int) -> None:
    rules = [{"direction": "ingress", "protocol": "tcp", "ports": [str(9100 + j % 800)],
              "peer": {"cidrs": [f"10.250.{j // 256 % 256}.{j % 256}/32"]}, "action": "allow"}
             for j in range(n)]
    st["policies"] = [{"name": "infra-mon", "tenant": "infra", "applied_to": {"groups": ["mon"]},
                       "rules": rules}]


def write_atomic(path: str, st: dict) -> float:
    """Writes JSON (which the YAML reader takes as is); returns the time
    (time.time()) at which the new file replaced the old."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(st, f, separators=(",", ":"))
    os.replace(tmp, path)
    return time.time()


# --- environment ---------------------------------------------------------------------

class Env:
    """One network namespace (wft<6 hex>-sync), a scratch directory with a
    bpffs mount, and the processes started in it; everything removed on
    exit, also on failure and signals."""

    def __init__(self, build_dir: str):
        self.build_dir = build_dir
        self.prefix = weftlab.new_prefix()
        self.ns = f"{self.prefix}sync"
        self.dir = run_dir(self.prefix)
        self.bpffs = os.path.join(self.dir, "bpffs")
        self.procs: list[subprocess.Popen] = []

    def __enter__(self):
        try:
            os.makedirs(self.bpffs, exist_ok=True)
            run(["mount", "-t", "bpf", "bpf", self.bpffs])
            run([IP, "netns", "add", self.ns])
            ip_batch(self.ns, ["link set lo up",
                               "link add eth0 type veth peer name eth0p",
                               "link set eth0p up", "link set eth0 up",
                               "addr add 198.18.0.1/24 dev eth0"])
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            stop(p)
        self.procs = []
        cleanup_stale(self.prefix)  # the namespace (and anything left in it), bpffs, dir
        return False

    def bin(self, name: str) -> str:
        path = os.path.join(self.build_dir, name)
        if not os.access(path, os.X_OK):
            raise LabError(f"no {path}: build it first")
        return path

    def spawn(self, argv: list[str], name: str, **kw) -> tuple[subprocess.Popen, str]:
        out = os.path.join(self.dir, f"{name}.log")
        fo = open(out, "w")
        kw.setdefault("stdout", fo)
        p = subprocess.Popen(ns_argv(self.ns, argv), stderr=fo, stdin=kw.pop("stdin", subprocess.DEVNULL),
                             **kw)
        fo.close()
        self.procs.append(p)
        return p, out

    def controller(self, state_path: str, poll_ms: int, tag: str):
        return self.spawn([self.bin("weft-controller"), "--state", state_path,
                           "--listen", f"0.0.0.0:{SYNC_PORT}",
                           "--admin_listen", f"127.0.0.1:{ADMIN_PORT}", "--insecure",
                           "--insecure_listen_any",  # the bench's own namespace
                           "--poll_ms", str(poll_ms)], f"controller-{tag}")


def stop(p: subprocess.Popen, timeout: float = 5) -> None:
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


LOG_TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z (\w+) (.*)$")


def log_lines(path: str) -> list[tuple[float, str]]:
    """(unix time, message) of each timestamped line of a weft log."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = LOG_TS.match(line.strip())
                if m:
                    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
                        tzinfo=datetime.timezone.utc).timestamp()
                    out.append((t, m.group(3)))
    except OSError:
        pass
    return out


def first_log(path: str, pattern: str, after: float = 0.0) -> float | None:
    rx = re.compile(pattern)
    for t, msg in log_lines(path):
        if t >= after - 0.002 and rx.search(msg):
            return t
    return None


def proc_mem(pid: int) -> dict:
    """VmRSS, VmHWM and the RSS split into anonymous memory and file
    mappings (smaps_rollup), MiB."""
    out = {}
    for path, keys in ((f"/proc/{pid}/status", ("VmRSS", "VmHWM", "Threads")),
                       (f"/proc/{pid}/smaps_rollup", ("Anonymous", "Rss"))):
        try:
            with open(path) as f:
                for line in f:
                    k = line.split(":")[0]
                    if k in keys:
                        v = int(line.split()[1])
                        out[k if k != "Rss" else "RssRollup"] = v if k == "Threads" else v / 1024.0
        except OSError:
            pass
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its threads (/proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def tail(path: str, n: int = 8) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# --- full sync -------------------------------------------------------------------------

def full_sync(args, env: Env, state_path: str, sizes: dict) -> dict:
    res: dict = {"sizes": sizes}
    t_spawn = time.time()
    ctl, ctl_log = env.controller(state_path, args.poll_ms, "full")
    wait_for(lambda: first_log(ctl_log, r"^serving version") or ctl.poll() is not None,
             args.timeout, 0.02, "controller serving")
    if ctl.poll() is not None:
        raise LabError(f"controller exited {ctl.returncode}: {tail(ctl_log)}")
    t_serving = first_log(ctl_log, r"^serving version")
    res["controller_load_s"] = t_serving - t_spawn
    res["controller_mem_mib"] = proc_mem(ctl.pid)
    log(f"controller serving after {res['controller_load_s']:.2f} s "
        f"(RSS {res['controller_mem_mib'].get('VmRSS', 0):.0f} MiB)")

    ready = os.path.join(env.dir, "hv1.ready")
    t_agent = time.time()
    env_vars = dict(os.environ)
    for kv in args.agent_env:
        k, _, v = kv.partition("=")
        env_vars[k] = v
    agent, agent_log = env.spawn([env.bin("weft-agent"), "--controller", f"127.0.0.1:{SYNC_PORT}",
                                  "--insecure", "--node", "hv1", "--underlay", "eth0",
                                  "--bpffs", env.bpffs, "--ready_file", ready], "agent-hv1",
                                 env=env_vars)
    acked = lambda: first_log(ctl_log, r"^node hv1 acked version", t_agent)  # noqa: E731
    wait_for(lambda: acked() or agent.poll() is not None or
             first_log(ctl_log, r"^node hv1 refused", t_agent),
             args.timeout, 0.02, "agent hv1's Ack")
    if not acked():
        raise LabError(f"agent did not ack: agent: {tail(agent_log)} controller: {tail(ctl_log)}")
    t_ack = acked()
    # RSS right after the Ack, and again after a few periodic resyncs
    res["agent_mem_mib_at_ack"] = proc_mem(agent.pid)
    stamps = {
        "agent spawned": t_agent,
        "agent: programs loaded": first_log(agent_log, r"programs loaded", t_agent),
        "controller: stream opened": first_log(ctl_log, r"^node hv1: stream from", t_agent),
        "agent: first chunk received": first_log(agent_log, r"connected as node hv1", t_agent),
        "controller: all chunks written": first_log(ctl_log, r"^node hv1: sent version", t_agent),
        "agent: applied": first_log(agent_log, r"applied state version", t_agent),
        "controller: Ack received": t_ack,
    }
    res["stamps_s"] = {k: (None if v is None else round(v - t_agent, 3)) for k, v in stamps.items()}
    res["agent_sync_s"] = t_ack - t_agent
    res["total_s"] = t_ack - t_spawn
    m = re.search(r"sent version \d+ \(nonce \S+, (\d+) chunks\)",
                  "\n".join(msg for _, msg in log_lines(ctl_log)))
    res["chunks"] = int(m.group(1)) if m else None
    time.sleep(args.settle)
    res["agent_mem_mib"] = proc_mem(agent.pid)
    res["controller_mem_mib_after"] = proc_mem(ctl.pid)
    res["agent_alive"] = agent.poll() is None
    res["settle"] = args.settle
    res["agent_env"] = args.agent_env
    # what the maps hold (bpftool counts the pinned maps' entries)
    pin = os.path.join(env.bpffs, "weft", "hv1")
    counts = {}
    for name in ("weft_ep_by_ip", "weft_routes", "weft_pol_peer", "weft_pol_rules"):
        cp = run(["bpftool", "-j", "map", "dump", "pinned", os.path.join(pin, name)],
                 check=False, timeout=120)
        try:
            counts[name] = len(json.loads(cp.stdout))
        except ValueError:
            counts[name] = None
    res["map_entries"] = counts
    log(f"agent acked after {res['agent_sync_s']:.2f} s (total {res['total_s']:.2f} s); "
        f"agent RSS {res['agent_mem_mib'].get('VmRSS', 0):.0f} MiB, HWM "
        f"{res['agent_mem_mib'].get('VmHWM', 0):.0f} MiB; maps {counts}")
    stop(agent, 15)
    stop(ctl)
    return res


def breakdown(args, env: Env, state_path: str) -> dict:
    cp = run(ns_argv(env.ns, [env.bin("weft_bench_sync"), "breakdown", "--state", state_path,
                              "--node", "hv1"]), timeout=args.timeout)
    return json.loads(cp.stdout.strip().splitlines()[-1])


# --- fan-out ---------------------------------------------------------------------------

def fanout(args, env: Env) -> dict:
    st = fanout_state(args.clients, args.fanout_endpoints, args.fanout_tenants, args.infra_rules)
    path = os.path.join(env.dir, "fanout.json")
    write_atomic(path, st)
    ctl, ctl_log = env.controller(path, args.poll_ms, "fanout")
    wait_for(lambda: first_log(ctl_log, r"^serving version") or ctl.poll() is not None,
             args.timeout, 0.02, "controller serving")
    if ctl.poll() is not None:
        raise LabError(f"controller exited {ctl.returncode}: {tail(ctl_log)}")
    nodes = [n["name"] for n in st["nodes"]]
    # one loopback source address per client: 127.0.0.2.. (own TCP connection each)
    argv = [env.bin("weft_bench_sync"), "fanout", "--nodes", ",".join(nodes),
            "--controller_base", "127.0.0.2", "--controller_port", str(SYNC_PORT)]
    fan, fan_log = env.spawn(argv, "fanout", stdout=subprocess.PIPE, stdin=subprocess.PIPE,
                             text=True)
    lines: queue.Queue = queue.Queue()

    def reader():
        for line in fan.stdout:
            lines.put((time.time(), line.split()))
        lines.put(None)
    threading.Thread(target=reader, daemon=True).start()

    version = {n: 0 for n in nodes}

    def pump(until: float, pred) -> bool:
        while not pred():
            left = until - time.time()
            if left <= 0:
                return False
            try:
                item = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if item is None:
                raise LabError(f"fanout exited: {tail(fan_log)}")
            _, f = item
            if f and f[0] == "applied":
                node, v, t = f[1], int(f[2]), int(f[3]) / 1e9
                if v > version[node]:
                    version[node] = v
                    arrivals.setdefault(v, {})[node] = t
        return True

    arrivals: dict[int, dict[str, float]] = {}
    t0 = time.time()
    if not pump(t0 + args.timeout, lambda: all(v > 0 for v in version.values())):
        raise LabError(f"not every client got the first state in {args.timeout}s "
                       f"({sum(1 for v in version.values() if v)}/{len(nodes)}): {tail(fan_log)}")
    connect_s = time.time() - t0
    log(f"fanout: {len(nodes)} clients synced in {connect_s:.2f} s")
    from_write, from_accept, per_change = [], [], []
    cpu0 = (cpu_seconds(ctl.pid), cpu_seconds(fan.pid))
    for c in range(args.changes):
        time.sleep(args.change_gap)
        set_infra_rules(st, args.infra_rules + c + 1)
        before = max(version.values())
        t_write = write_atomic(path, st)
        ok = pump(t_write + args.change_timeout, lambda: all(v > before for v in version.values()))
        got = [v for v in version.values() if v > before]
        if not got:
            raise LabError(f"change {c + 1}: no client got it: {tail(ctl_log)}")
        v = min(got)
        t_accept = first_log(ctl_log, rf"^version {v} from", t_write)
        arr = arrivals.get(v, {})
        lat = sorted(t - t_write for t in arr.values())
        from_write += lat
        if t_accept:
            from_accept += [t - t_accept for t in arr.values()]
        per_change.append({"version": v, "clients": len(arr), "complete": ok,
                           "accept_ms": None if t_accept is None else (t_accept - t_write) * 1e3,
                           "p50_ms": q(lat, .5) * 1e3, "max_ms": lat[-1] * 1e3})
        log(f"change {c + 1}/{args.changes}: version {v} at {len(arr)}/{len(nodes)} clients, "
            f"p50 {q(lat, .5) * 1e3:.0f} ms, max {lat[-1] * 1e3:.0f} ms from the file's replacement")
    cpu1 = (cpu_seconds(ctl.pid), cpu_seconds(fan.pid))
    fan.stdin.close()
    try:
        fan.wait(10)
    except subprocess.TimeoutExpired:
        pass
    stop(fan)
    stop(ctl)

    def summ(xs):
        xs = sorted(xs)
        return {"n": len(xs), "p50_ms": q(xs, .5) * 1e3, "p99_ms": q(xs, .99) * 1e3,
                "max_ms": xs[-1] * 1e3} if xs else None
    return {"clients": len(nodes), "endpoints": len(st["endpoints"]),
            "tenants": len(st["tenants"]), "infra_rules": args.infra_rules,
            "changes": args.changes, "poll_ms": args.poll_ms, "connect_s": connect_s,
            # CPU time per change (user + system, all threads; the controller's
            # includes its idle polling over the --change-gap pauses)
            "cpu_ms_per_change": {"controller": (cpu1[0] - cpu0[0]) * 1e3 / args.changes,
                                  "clients": (cpu1[1] - cpu0[1]) * 1e3 / args.changes},
            "from_write": summ(from_write), "from_accept": summ(from_accept),
            "per_change": per_change}


def q(xs: list[float], p: float) -> float:
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


# --- main ------------------------------------------------------------------------------

class Budget(BaseException):
    pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    ap.add_argument("--only", default="full,breakdown,fanout")
    ap.add_argument("--endpoints", type=int, default=100_000)
    ap.add_argument("--routes", type=int, default=10_000)
    ap.add_argument("--rules", type=int, default=10_000)
    ap.add_argument("--remote-nodes", type=int, default=100)
    ap.add_argument("--tenants", type=int, default=10)
    ap.add_argument("--segments-per-tenant", type=int, default=10)
    ap.add_argument("--local-per-tenant", type=int, default=10)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--fanout-endpoints", type=int, default=2000)
    ap.add_argument("--fanout-tenants", type=int, default=10)
    ap.add_argument("--infra-rules", type=int, default=20)
    ap.add_argument("--changes", type=int, default=5)
    ap.add_argument("--change-gap", type=float, default=1.0)
    ap.add_argument("--change-timeout", type=float, default=20.0)
    ap.add_argument("--poll-ms", type=int, default=1000,
                    help="the controller's backstop poll of the state file (its default; "
                    "changes wake it through inotify)")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds after the Ack before the agent's memory is read again")
    ap.add_argument("--timeout", type=float, default=180.0, help="per wait")
    ap.add_argument("--agent-env", action="append", default=[], metavar="KEY=VALUE",
                    help="environment of the agent (e.g. MALLOC_ARENA_MAX=2, to see where "
                    "its memory goes)")
    ap.add_argument("--budget", type=int, default=600)
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if os.geteuid() != 0:
        print("sync_scale.py needs root (namespaces, BPF)", file=sys.stderr)
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
            if only & {"full", "breakdown"}:
                t = time.time()
                st = big_state(args.endpoints, args.routes, args.rules, args.remote_nodes,
                               args.tenants, args.segments_per_tenant, args.local_per_tenant)
                path = os.path.join(env.dir, "big.json")
                write_atomic(path, st)
                sizes = {"endpoints": len(st["endpoints"]), "routes": len(st["routes"]),
                         "rules": sum(len(p["rules"]) for p in st["policies"]),
                         "nodes": len(st["nodes"]), "tenants": len(st["tenants"]),
                         "segments": len(st["segments"]),
                         "local_endpoints": sum(1 for e in st["endpoints"] if e["node"] == "hv1"),
                         "file_mib": os.path.getsize(path) / 2**20}
                del st
                log(f"state generated in {time.time() - t:.1f} s: {sizes}")
                for part, fn in (("full", lambda: full_sync(args, env, path, sizes)),
                                 ("breakdown", lambda: breakdown(args, env, path))):
                    if part not in only:
                        continue
                    try:
                        out[part] = fn()
                    except (LabError, subprocess.SubprocessError, OSError, ValueError) as e:
                        log(f"{part} FAILED: {e}")
                        out["errors"][part] = " ".join(str(e).split())[:2000]
            if "fanout" in only:
                try:
                    out["fanout"] = fanout(args, env)
                except (LabError, subprocess.SubprocessError, OSError, ValueError) as e:
                    log(f"fanout FAILED: {e}")
                    out["errors"]["fanout"] = " ".join(str(e).split())[:2000]
    except Budget as e:
        out["errors"]["budget"] = str(e)
    finally:
        signal.alarm(0)
    if args.json:
        print(json.dumps(out))
    else:
        print(json.dumps(out, indent=1))
    return 1 if out["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
