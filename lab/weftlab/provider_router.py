"""A provider's router for the edge's BGP tests: BIRD 2 in a network
namespace the caller made, one eBGP session per customer, each session in
its own routing table (the provider's VRF for that customer) or in BIRD's
main table. Short timers, so a session comes up and a lost one is noticed in
seconds."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field


@dataclass
class BgpSession:
    name: str            # the BIRD protocol's name (not a table's: one namespace)
    local: str           # the provider's address on the link
    local_as: int
    neighbor: str        # the edge's address on the link
    neighbor_as: int
    table: str | None = None  # None: BIRD's main table (master4)
    # prefixes this router announces on the session (blackholes of its own)
    exports: list[str] = field(default_factory=list)


def bird_config(router_id: str, sessions: list[BgpSession]) -> str:
    lines = [f"router id {router_id};", "protocol device { }"]
    for s in sessions:
        if s.table:
            lines.append(f"ipv4 table {s.table};")
    for s in sessions:
        channel_table = f"table {s.table}; " if s.table else ""
        if s.exports:
            routes = " ".join(f"route {p} blackhole;" for p in s.exports)
            lines.append(f"protocol static {s.name}_own {{ ipv4 {{ {channel_table}}}; {routes} }}")
        lines.append(
            f"protocol bgp {s.name} {{\n"
            f"  local {s.local} as {s.local_as};\n"
            f"  neighbor {s.neighbor} as {s.neighbor_as};\n"
            f"  hold time 9; keepalive time 3; connect retry time 1;\n"
            f"  ipv4 {{ {channel_table}import all; export all; }};\n"
            f"}}")
    return "\n".join(lines) + "\n"


class ProviderRouter:
    """BIRD in namespace `ns`, its configuration and control socket under
    `workdir`, answering once constructed. stop() (idempotent) ends it; the
    caller deletes the namespace."""

    def __init__(self, ns: str, workdir: str, router_id: str, sessions: list[BgpSession]):
        self.ns = ns
        self.sessions = sessions
        self.conf = os.path.join(workdir, f"bird-{ns}.conf")
        self.socket = os.path.join(workdir, f"bird-{ns}.ctl")
        with open(self.conf, "w") as f:
            f.write(bird_config(router_id, sessions))
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "bird", "-f", "-c", self.conf, "-s", self.socket],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.wait_ready()

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Polls until BIRD answers on its socket; RuntimeError with its
        output if it exits (a bad configuration) or stays silent."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bird exited with {self.proc.returncode}: "
                                   f"{self.proc.stderr.read()}\nconfig:\n{open(self.conf).read()}")
            if os.path.exists(self.socket) and self._birdc("show", "status").returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"bird silent on {self.socket} for {timeout:.0f}s")
            time.sleep(0.05)  # poll interval

    def _birdc(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.ns, "birdc", "-s", self.socket, *args],
                              capture_output=True, text=True, timeout=20)

    def birdc(self, *args: str) -> str:
        result = self._birdc(*args)
        if result.returncode != 0:
            raise RuntimeError(f"birdc {' '.join(args)}: {result.stdout}{result.stderr}")
        return result.stdout

    def routes(self, *, table: str | None = None, protocol: str | None = None) -> str:
        """`birdc show route`, of one table and/or one session's routes."""
        args = ["show", "route"]
        if table:
            args += ["table", table]
        if protocol:
            args += ["protocol", protocol]
        return self.birdc(*args)

    def prefixes(self, table: str) -> set[str]:
        """The prefixes in `table` (BIRD prints each as the line's first word)."""
        out = set()
        for line in self.routes(table=table).splitlines():
            word = line.split(" ", 1)[0]
            if "/" in word:
                out.add(word)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stderr:
            self.proc.stderr.close()
