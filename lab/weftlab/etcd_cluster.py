"""A local etcd cluster for the replica tests and benchmarks: N members
(3 by default) inside one network namespace the caller created, each on
127.0.0.1 with its own client and peer ports, data on a tmpfs mounted under
the caller's run directory (etcd fsyncs every commit; on tmpfs that costs
nothing, so the figures measure Weft, not the disk).

    cluster = EtcdCluster(ns, os.path.join(run_dir, "etcd"), log_dir)
    cluster.start()                     # all members, awaited (endpoint health)
    url = cluster.store_url()           # etcd://127.0.0.1:p1,127.0.0.1:p2,...
    leader = cluster.leader()           # member index, from endpoint status
    cluster.kill(leader)                # kill -9
    cluster.restart(leader)             # same data dir: it rejoins
    cluster.stop()                      # every member, the tmpfs, the data

Nothing listens outside the namespace: the members bind its loopback, which
is also what the controller accepts for a plaintext store.
Debian: etcd-server and etcd-client (etcd 3.4)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time

from .ns import LabError, mounts_under, ns_argv, run, unmount_all_under, wait_for

HOST = "127.0.0.1"
# Faster than etcd's defaults (100 ms, 1 s), so that a killed leader is
# replaced within about a second; fine on one machine's loopback.
HEARTBEAT_MS = 50
ELECTION_MS = 500


def missing_etcd() -> list[str]:
    return [t for t in ("etcd", "etcdctl") if shutil.which(t) is None]


class EtcdMember:
    def __init__(self, index: int, client_port: int, peer_port: int, data_dir: str):
        self.index = index
        self.name = f"m{index}"
        self.client_port = client_port
        self.peer_port = peer_port
        self.data_dir = data_dir
        self.proc: subprocess.Popen | None = None
        self.log_path = ""

    @property
    def client_url(self) -> str:
        return f"http://{HOST}:{self.client_port}"

    @property
    def endpoint(self) -> str:
        return f"{HOST}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{HOST}:{self.peer_port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class EtcdCluster:
    """`base_port` + 2i is member i's client port, + 2i + 1 its peer port."""

    def __init__(self, ns: str, data_root: str, log_dir: str, *, members: int = 3,
                 base_port: int = 23790, token: str = "weft-test"):
        self.ns = ns
        self.data_root = data_root
        self.log_dir = log_dir
        self.token = token
        self.members = [EtcdMember(i, base_port + 2 * i, base_port + 2 * i + 1,
                                   os.path.join(data_root, f"m{i}"))
                        for i in range(members)]
        self._mounted = False

    # --- addresses -------------------------------------------------------------
    def endpoints(self, alive_only: bool = False) -> list[str]:
        return [m.endpoint for m in self.members if not alive_only or m.alive()]

    def store_url(self) -> str:
        """What weft-controller --store and weftctl store take."""
        return "etcd://" + ",".join(self.endpoints())

    def initial_cluster(self) -> str:
        return ",".join(f"{m.name}={m.peer_url}" for m in self.members)

    # --- lifecycle ---------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> "EtcdCluster":
        """Mounts the tmpfs, starts every member and waits until each
        answers healthy (a quorum read through it). On failure everything
        started is stopped before the error propagates."""
        missing = missing_etcd()
        if missing:
            raise LabError(f"missing {' '.join(missing)} (Debian: etcd-server etcd-client)")
        try:
            os.makedirs(self.data_root, exist_ok=True)
            os.makedirs(self.log_dir, exist_ok=True)
            run(["mount", "-t", "tmpfs", "-o", "size=1g,mode=0700", "tmpfs", self.data_root])
            self._mounted = True
            for m in self.members:
                self._spawn(m)
            for m in self.members:
                self.wait_healthy(m.index, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, m: EtcdMember) -> None:
        argv = ["etcd", "--name", m.name, "--data-dir", m.data_dir,
                "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
                "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", self.initial_cluster(),
                "--initial-cluster-state", "new", "--initial-cluster-token", self.token,
                "--heartbeat-interval", str(HEARTBEAT_MS),
                "--election-timeout", str(ELECTION_MS),
                "--logger", "zap", "--log-level", "warn"]
        m.log_path = os.path.join(self.log_dir, f"etcd-{m.name}-{time.monotonic_ns()}.log")
        with open(m.log_path, "w") as f:
            m.proc = subprocess.Popen(ns_argv(self.ns, argv), stdout=f, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)

    def etcdctl(self, *args: str, endpoints: list[str] | None = None, check: bool = True,
                timeout: float = 10.0, input: str | None = None) -> subprocess.CompletedProcess:
        """etcdctl (v3 API) in the namespace, against `endpoints` (default:
        the members alive)."""
        eps = endpoints or self.endpoints(alive_only=True)
        argv = ns_argv(self.ns, ["etcdctl", "--endpoints", ",".join(eps),
                                 "--dial-timeout", "2s", "--command-timeout", "5s", *args])
        env_argv = ["env", "ETCDCTL_API=3", *argv]
        return run(env_argv, check=check, timeout=timeout, input=input)

    def healthy(self, index: int) -> bool:
        m = self.members[index]
        if not m.alive():
            return False
        cp = self.etcdctl("endpoint", "health", endpoints=[m.endpoint], check=False)
        return cp.returncode == 0 and "is healthy" in (cp.stdout + cp.stderr)

    def wait_healthy(self, index: int, timeout: float = 20.0) -> None:
        m = self.members[index]
        try:
            wait_for(lambda: not m.alive() or self.healthy(index), timeout,
                     what=f"etcd member {m.name} healthy")
        except LabError as e:
            raise LabError(f"{e}\n{self.log_tail(index)}") from None
        if not m.alive():
            raise LabError(f"etcd member {m.name} exited {m.proc.returncode}:\n"
                           f"{self.log_tail(index)}")

    def status(self) -> list[dict]:
        """`endpoint status -w json` of the members alive: each entry has
        Endpoint and Status.header.member_id, Status.leader, raft_index..."""
        cp = self.etcdctl("endpoint", "status", "-w", "json", check=False)
        try:
            return json.loads(cp.stdout) if cp.stdout.strip() else []
        except ValueError:
            return []

    def leader(self, timeout: float = 10.0) -> int:
        """The index of the member that leads, as the members alive agree."""
        def find():
            by_id = {}
            leaders = set()
            for s in self.status():
                by_id[s["Status"]["header"]["member_id"]] = s["Endpoint"]
                leaders.add(s["Status"]["leader"])
            if len(leaders) != 1:
                return None
            endpoint = by_id.get(leaders.pop())
            for m in self.members:
                if endpoint and endpoint.endswith(m.endpoint):
                    return m
            return None
        return wait_for(find, timeout, what="an etcd leader the members agree on").index

    def kill(self, index: int) -> None:
        """kill -9 the member."""
        m = self.members[index]
        if m.alive():
            m.proc.send_signal(signal.SIGKILL)
            m.proc.wait(10)

    def restart(self, index: int, timeout: float = 20.0) -> None:
        """Starts a killed member again on its data dir; it rejoins."""
        m = self.members[index]
        if m.alive():
            raise LabError(f"etcd member {m.name} is running")
        self._spawn(m)
        self.wait_healthy(index, timeout)

    def stop(self) -> None:
        """Kills every member, unmounts the tmpfs (the data goes with it) and
        removes the data root. Safe to call more than once."""
        for m in self.members:
            if m.proc is not None and m.proc.poll() is None:
                m.proc.kill()
                try:
                    m.proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass
        if self._mounted or mounts_under(self.data_root):
            unmount_all_under(self.data_root)
            self._mounted = False
        if os.path.isdir(self.data_root) and not mounts_under(self.data_root):
            shutil.rmtree(self.data_root, ignore_errors=True)

    def log_tail(self, index: int, n: int = 15) -> str:
        try:
            with open(self.members[index].log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    # --- keys --------------------------------------------------------------------
    def get_prefix(self, prefix: str) -> dict[str, bytes]:
        """Every key under `prefix` and its value (etcdctl -w json: base64)."""
        import base64
        cp = self.etcdctl("get", "--prefix", prefix, "-w", "json")
        kvs = json.loads(cp.stdout).get("kvs", [])
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", ""))
                for kv in kvs}

    def put(self, key: str, value: bytes) -> None:
        """Writes `value` (any bytes: etcdctl reads it from stdin) at `key`,
        bypassing whatever would validate it."""
        argv = ["env", "ETCDCTL_API=3", *ns_argv(self.ns, [
            "etcdctl", "--endpoints", ",".join(self.endpoints(alive_only=True)),
            "--dial-timeout", "2s", "--command-timeout", "5s", "put", key])]
        cp = subprocess.run(argv, input=value, capture_output=True, timeout=10)
        if cp.returncode != 0:
            raise LabError(f"etcdctl put {key}: {cp.stderr.decode(errors='replace')}")

    def revision(self) -> int:
        cp = self.etcdctl("get", "--prefix", "/", "--keys-only", "--limit", "1", "-w", "json")
        return int(json.loads(cp.stdout)["header"]["revision"])
