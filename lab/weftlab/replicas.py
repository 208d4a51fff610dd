"""Controller replicas on etcd in a lab: the control plane's namespace (as
ControlPlane builds it: 198.18.0.254 on the underlay, the throwaway CA)
holds a 3-member etcd cluster on its loopback (etcd_cluster.py) and N
weft-controller replicas with --store, each on its own Sync port of
198.18.0.254 and its own Admin port on the namespace's loopback. The state
is seeded into etcd with `weftctl store seed` (from the lab's state file);
agents get every replica's address (--controller r0,r1,r2).

Nothing listens in the root namespace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from .control import CONTROLLER_IP, ControlPlane
from .etcd_cluster import EtcdCluster, missing_etcd
from .lab import Agent, Lab
from .ns import LabError, wait_for

SYNC_BASE, ADMIN_BASE, METRICS_BASE = 7000, 7001, 7002  # + 10 * replica index
ETCD_BASE = 23790


class Replica:
    def __init__(self, index: int):
        self.index = index
        self.name = f"r{index}"
        self.sync = f"{CONTROLLER_IP}:{SYNC_BASE + 10 * index}"
        self.admin = f"127.0.0.1:{ADMIN_BASE + 10 * index}"
        self.metrics = f"127.0.0.1:{METRICS_BASE + 10 * index}"
        self.proc: subprocess.Popen | None = None
        self.stderr_path = ""
        self.logs: list[str] = []  # every run's log, the current one last

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        text = []
        for path in self.logs:
            try:
                with open(path, errors="replace") as f:
                    text.append(f.read())
            except OSError:
                pass
        return "".join(text)


class ReplicatedControlPlane(ControlPlane):
    """cp = ReplicatedControlPlane(lab); cp.build(); cp.start(); cp.start_agents()."""

    def __init__(self, lab: Lab, *, replicas: int = 3, lease_ttl_s: int = 2):
        super().__init__(lab)
        self.lease_ttl_s = lease_ttl_s
        self.replicas = [Replica(i) for i in range(replicas)]
        self.etcd = EtcdCluster(self.ns, os.path.join(lab.dir, "etcd"), lab.log_dir,
                                base_port=ETCD_BASE, token=lab.prefix.rstrip("-"))

    def missing_binaries(self) -> list[str]:
        return super().missing_binaries() + missing_etcd()

    def build(self) -> None:
        super().build()
        self.etcd.start()

    # --- the store ---------------------------------------------------------------
    def store_flags(self) -> list[str]:
        return ["--store", self.etcd.store_url()]

    def weftctl_store(self, *command: str) -> subprocess.CompletedProcess:
        """`weftctl store ...` in the control plane's namespace (etcd is on
        its loopback)."""
        return self.lab.exec(self.ns_name, [self.binary("weftctl"), "store", *command,
                                            *self.store_flags()], timeout=30)

    def seed(self, path: str | None = None) -> int:
        """The lab's state file (or `path`) into the store; its version."""
        cp = self.weftctl_store("seed", "-f", path or self.state_file)
        if cp.returncode != 0:
            raise LabError(f"weftctl store seed: exit {cp.returncode}: {cp.stderr}")
        return int(cp.stdout.split()[-1])

    # --- replicas ----------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> None:
        self.seed()
        for r in self.replicas:
            self.start_replica(r.index, timeout)
        # ControlPlane's own single-controller handle: replica 0.
        self.proc, self.stderr_path = self.replicas[0].proc, self.replicas[0].stderr_path

    def start_replica(self, index: int, timeout: float = 20.0) -> Replica:
        r = self.replicas[index]
        if r.alive():
            raise LabError(f"replica {r.name} is running")
        argv = [self.binary("weft-controller"), *self.store_flags(),
                "--replica_name", r.name, "--store_lease_ttl", f"{self.lease_ttl_s}s",
                "--listen", r.sync, "--admin_listen", r.admin,
                "--metrics_listen", r.metrics, *self.tls_flags("controller")]
        r.proc, _, r.stderr_path = self.lab.spawn(self.ns, argv,
                                                  f"replica-{r.name}-{time.monotonic_ns()}")
        r.logs.append(r.stderr_path)
        wait_for(lambda: not r.alive() or self.realization(replica=index) != {}, timeout,
                 what=f"replica {r.name}'s Admin service")
        if not r.alive():
            raise LabError(f"replica {r.name} exited {r.proc.returncode}:\n{r.log()[-3000:]}")
        return r

    def kill_replica(self, index: int) -> None:
        """kill -9."""
        r = self.replicas[index]
        if r.alive():
            r.proc.send_signal(signal.SIGKILL)
            r.proc.wait(10)

    def kill(self) -> None:
        for r in self.replicas:
            self.kill_replica(r.index)

    def log(self) -> str:
        return "".join(f"--- replica {r.name}\n{r.log()[-4000:]}" for r in self.replicas)

    # --- weftctl through one replica -------------------------------------------------
    def weftctl(self, *command, who: str = "admin", replica: int = 0,
                timeout: float = 15) -> subprocess.CompletedProcess:
        return self.lab.exec(self.ns_name, [self.binary("weftctl"), "--controller",
                                            self.replicas[replica].admin,
                                            *self.tls_flags(who), *command], timeout=timeout)

    def weftctl_argv(self, *command, replica: int = 0) -> list[str]:
        """The argv of weftctl through `replica`, for a caller that runs
        several at once (lab.ns(...) + ns_argv)."""
        return [self.binary("weftctl"), "--controller", self.replicas[replica].admin,
                *self.tls_flags("admin"), *command]

    def admin(self, *command, replica: int = 0) -> dict | None:
        cp = self.weftctl("--json", *command, replica=replica)
        if cp.returncode != 0:
            return None
        return json.loads(cp.stdout)

    def realization(self, version: int = 0, replica: int = 0) -> dict:
        return self.admin("get", "realization", str(version), replica=replica) or {}

    # --- agents ---------------------------------------------------------------------
    def start_agent(self, node: str, timeout: float = 30.0,
                    extra: list[str] | None = None) -> Agent:
        """weft-agent with every replica's address (--controller r0,r1,r2)."""
        return super().start_agent(node, timeout, controllers=[r.sync for r in self.replicas],
                                   extra=extra)

    def agent_status(self, node: str) -> dict:
        """`weftctl status --json` of the node's agent ({} when it does not answer)."""
        cp = self.lab.exec(node, [self.binary("weftctl"), "--socket", self.lab.agent_socket(node),
                                  "--json", "status"], timeout=10)
        return json.loads(cp.stdout) if cp.returncode == 0 else {}

    def replica_of(self, node: str, replica: int = 0) -> list[str]:
        """The replicas holding node's stream, as the realization read
        through `replica` says (from the store's leased keys)."""
        for n in self.realization(replica=replica).get("nodes", []):
            if n["node"] == node:
                return list(n.get("replicas", []))
        return []

    def stop(self) -> None:
        self.kill()
        self.etcd.stop()
