"""The control plane in a lab: weft-controller in its own namespace, one
more port on the underlay bridge (198.18.0.254), serving the lab's state
file over mutual TLS with a throwaway CA (one certificate per node, one for
the operator); agents started with --controller.

Used by the lab runner (its default mode) and the control-plane tests."""

from __future__ import annotations

import json
import os
import subprocess
import time

from .lab import Agent, Lab, enable_ipv6_underlay
from .ns import LabError, ip, ip_batch, run, wait_for

CONTROLLER_IP = "198.18.0.254"
CONTROLLER_IP6 = "2001:db8:1::c612:fe"  # on an IPv6-only underlay
SYNC_PORT = 7000
ADMIN = "127.0.0.1:7001"  # inside the controller's namespace only


class ControlPlane:
    def __init__(self, lab: Lab):
        self.lab = lab
        self.ns_name = "ctl"
        self.ns = lab.ns(self.ns_name)
        self.state_file = os.path.join(lab.dir, "controller-state.yaml")
        self.tls_dir = os.path.join(lab.dir, "tls")
        self.proc = None
        self.stderr_path = None
        # On the underlay, of its family (the lab's VTEPs say which).
        self.ipv6 = any(":" in n.vtep for n in lab.topo.nodes)
        self.ip = CONTROLLER_IP6 if self.ipv6 else CONTROLLER_IP
        # Another controller on the same state file (replicas) sets its own.
        self.sync_address = (f"[{self.ip}]:{SYNC_PORT}" if self.ipv6
                             else f"{self.ip}:{SYNC_PORT}")
        self.admin_address = ADMIN

    def binary(self, name: str) -> str:
        return os.path.join(os.path.dirname(self.lab.agent_path), name)

    def missing_binaries(self) -> list[str]:
        return [b for b in ("weft-controller", "weftctl")
                if not os.access(self.binary(b), os.X_OK)]

    def build(self) -> None:
        """The controller's host on the underlay, its TLS material and state."""
        lab = self.lab
        lab._add_ns(self.ns)
        ip(lab.underlay_ns, "link", "add", "ctl", "type", "veth", "peer", "name",
           "eth0", "netns", self.ns)
        ip_batch(lab.underlay_ns, ["link set ctl master br0", "link set ctl up"])
        if self.ipv6:
            enable_ipv6_underlay(self.ns)
            ip_batch(self.ns, [f"addr add {self.ip}/64 dev eth0 nodad", "link set eth0 up"])
        else:
            ip_batch(self.ns, [f"addr add {self.ip}/24 dev eth0", "link set eth0 up"])
        self._make_tls()
        lab.write_state(path=self.state_file)
        lab.publish_state = lambda state=None: lab.write_state(state, path=self.state_file)

    def _make_tls(self) -> None:
        """A throwaway CA; the controller's server certificate (serverAuth,
        its addresses); one client certificate per Weft node, named by the
        URI SAN spiffe://weft/node/<name>; an operator's for weftctl,
        spiffe://weft/admin/lab. The commands are those of
        docs/OPERATIONS.md ("Identities and certificates")."""
        d = self.tls_dir
        os.makedirs(d)
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "1", "-subj", "/CN=weft-lab-ca",
             "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem"])
        self.mint_cert("controller", f"IP:{self.ip},IP:127.0.0.1", "serverAuth")
        for node in self.lab.topo.weft_nodes():
            self.mint_cert(node.name, f"URI:spiffe://weft/node/{node.name}", "clientAuth")
        self.mint_cert("admin", "URI:spiffe://weft/admin/lab", "clientAuth")

    def mint_cert(self, who: str, san: str, usage: str) -> None:
        """{who}.pem and {who}.key (mode 0600) in the lab's TLS dir, signed by
        its CA, with subjectAltName `san` and extendedKeyUsage `usage`."""
        d = self.tls_dir
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-subj", f"/CN={who}", "-keyout", f"{d}/{who}.key", "-out", f"{d}/{who}.csr"])
        with open(f"{d}/{who}.ext", "w") as f:
            f.write(f"subjectAltName={san}\nextendedKeyUsage={usage}\n")
        run(["openssl", "x509", "-req", "-in", f"{d}/{who}.csr", "-CA", f"{d}/ca.pem",
             "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-days", "1",
             "-extfile", f"{d}/{who}.ext", "-out", f"{d}/{who}.pem"])
        os.chmod(f"{d}/{who}.key", 0o600)

    def tls_flags(self, who: str) -> list[str]:
        d = self.tls_dir
        return ["--tls_cert", f"{d}/{who}.pem", "--tls_key", f"{d}/{who}.key",
                "--tls_ca", f"{d}/ca.pem"]

    def start(self, timeout: float = 15.0) -> None:
        # Edits of the state file reach the controller through inotify alone
        # (the backstop poll is an hour): a broken wake-up fails the tests that
        # edit the file instead of hiding behind the poll.
        argv = [self.binary("weft-controller"), "--state", self.state_file,
                "--listen", self.sync_address, "--admin_listen", self.admin_address,
                "--poll_ms", "3600000", *self.tls_flags("controller")]
        self.proc, _, self.stderr_path = self.lab.spawn(
            self.ns, argv, f"controller-{time.monotonic_ns()}")
        wait_for(lambda: self.proc.poll() is not None or self.realization() != {},
                 timeout, what="weft-controller's Admin service")
        if self.proc.poll() is not None:
            raise LabError(f"weft-controller exited {self.proc.returncode}:\n{self.log()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log(self) -> str:
        if not self.stderr_path:
            return ""
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def weftctl(self, *command, who: str = "admin") -> subprocess.CompletedProcess:
        """weftctl against the controller's Admin API, with the operator's
        certificate (or `who`'s), from the controller's namespace (ADMIN is
        on its loopback)."""
        return self.lab.exec(self.ns_name, [self.binary("weftctl"), "--controller",
                                            self.admin_address,
                                            *self.tls_flags(who), *command], timeout=15)

    def admin(self, *command) -> dict | None:
        """`weftctl --json COMMAND` (get state, get realization V, apply -f F)
        parsed; None on failure."""
        cp = self.weftctl("--json", *command)
        if cp.returncode != 0:
            return None
        return json.loads(cp.stdout)

    def start_agent(self, node: str, timeout: float = 30.0,
                    controllers: list[str] | None = None,
                    extra: list[str] | None = None) -> Agent:
        """weft-agent --controller (this controller, or the list
        `controllers`) in node's namespace, with `extra` flags; ready on its
        first applied snapshot. The lab's teardown stops it."""
        lab = self.lab
        ready = os.path.join(lab.dir, f"{node}.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        argv = [lab.agent_path, "--controller", ",".join(controllers or [self.sync_address]),
                *self.tls_flags(node), "--ready_file", ready,
                *lab.agent_node_flags(node, extra)]
        proc, out, err = lab.spawn(lab.ns(node), argv, f"agent-{node}-{time.monotonic_ns()}")
        agent = lab.agents[node] = Agent(node, proc, ready, out, err, argv)
        wait_for(lambda: os.path.exists(ready) or proc.poll() is not None, timeout,
                 what=f"agent {node} ready (first snapshot applied)")
        if proc.poll() is not None:
            raise LabError(f"agent {node} exited {proc.returncode}:\n{agent.stderr()}")
        return agent

    def start_agents(self, extra: list[str] | None = None) -> None:
        for node in self.lab.topo.weft_nodes():
            self.start_agent(node.name, extra=extra)

    def realization(self, version: int = 0) -> dict:
        return self.admin("get", "realization", str(version)) or {}
