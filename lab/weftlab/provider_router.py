"""A provider's router for the edge's BGP tests and the lab: BIRD 2 in a
network namespace the caller made, eBGP sessions to the customers' edges,
each session in its customer's routing table (the provider's VRF for that
customer) or in BIRD's main table. Short timers, so a session comes up and
a lost one is noticed in seconds.

A routing context (`RoutingContext`) also forwards: this kernel has no VRF
devices, so a customer's BIRD table is exported into a kernel routing table
of its own, and the caller steers every link of that customer into it with
`ip rule iif <link> lookup <table>` (`customer_rules`)."""

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
    hold_time: int = 9
    keepalive: int = 3
    # BIRD's export clause: "all", or e.g. "where source = RTS_STATIC" (only
    # the customer's own routes, not what another of its edges announced)
    export: str = "all"


@dataclass
class RoutingContext:
    """One customer's routing context without VRF devices: BIRD table
    `table` (the customer's sessions name it), exported into kernel table
    `kernel_table` with equal routes merged (ECMP over the customer's
    edges); `static` routes of the customer's own (prefix -> next hop, e.g.
    its site's LAN via the site's router), announced to its edges; `links`:
    the provider's interfaces of this customer (uplinks' VLANs, site link),
    each steered into the kernel table by an ip rule, their subnets in the
    table as connected routes (never announced: the sessions of a context
    export its static routes only)."""
    table: str
    kernel_table: int
    links: list[str] = field(default_factory=list)
    static: dict[str, str] = field(default_factory=dict)


def bird_config(router_id: str, sessions: list[BgpSession],
                contexts: list[RoutingContext] = ()) -> str:
    # protocol times (`show protocols` "Since") as epoch seconds with ms
    lines = [f"router id {router_id};", 'timeformat protocol "%s.%3f";', "protocol device { }"]
    tables = {s.table for s in sessions if s.table} | {c.table for c in contexts}
    for table in sorted(tables):
        lines.append(f"ipv4 table {table};")
    for c in contexts:
        # the links' own subnets too (transits, site link), as a VRF has them
        lines.append(f"protocol kernel kernel_{c.table} {{ ipv4 {{ table {c.table}; "
                     f"import none; export all; }}; kernel table {c.kernel_table}; "
                     f"merge paths on; }}")
        if c.links:
            links = ", ".join(f'"{link}"' for link in c.links)
            lines.append(f"protocol direct direct_{c.table} {{ ipv4 {{ table {c.table}; }}; "
                         f"interface {links}; }}")
        if c.static:
            routes = " ".join(f"route {p} via {nh};" for p, nh in c.static.items())
            lines.append(f"protocol static static_{c.table} {{ ipv4 {{ table {c.table}; }}; "
                         f"{routes} }}")
    for s in sessions:
        channel_table = f"table {s.table}; " if s.table else ""
        if s.exports:
            routes = " ".join(f"route {p} blackhole;" for p in s.exports)
            lines.append(f"protocol static {s.name}_own {{ ipv4 {{ {channel_table}}}; {routes} }}")
        lines.append(
            f"protocol bgp {s.name} {{\n"
            f"  local {s.local} as {s.local_as};\n"
            f"  neighbor {s.neighbor} as {s.neighbor_as};\n"
            f"  hold time {s.hold_time}; keepalive time {s.keepalive}; connect retry time 1;\n"
            # a session lost to an error (an edge's hold timer expired) is
            # retried after 1 s, not BIRD's default 60 s: the lab's edges
            # come back within seconds
            f"  error wait time 1, 5;\n"
            f"  ipv4 {{ {channel_table}import all; export {s.export}; }};\n"
            f"}}")
    return "\n".join(lines) + "\n"


def customer_rules(context: RoutingContext, pref: int = 1000) -> list[str]:
    """`ip -batch` commands steering the context's links into its kernel
    table, and an unreachable default there, so a customer's packets never
    fall through to the main table (where every customer's transits live)."""
    cmds = [f"rule add iif {link} lookup {context.kernel_table} pref {pref}"
            for link in context.links]
    cmds.append(f"route add unreachable default metric 4294967295 table {context.kernel_table}")
    return cmds


class ProviderRouter:
    """BIRD in namespace `ns`, its configuration and control socket under
    `workdir`, answering once constructed. stop() (idempotent) ends it; the
    caller deletes the namespace."""

    def __init__(self, ns: str, workdir: str, router_id: str, sessions: list[BgpSession],
                 contexts: list[RoutingContext] = ()):
        self.ns = ns
        self.sessions = sessions
        self.conf = os.path.join(workdir, f"bird-{ns}.conf")
        self.socket = os.path.join(workdir, f"bird-{ns}.ctl")
        with open(self.conf, "w") as f:
            f.write(bird_config(router_id, sessions, contexts))
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

    def established(self) -> dict[str, bool]:
        """{session name: BGP state is Established} (`birdc show protocols`)."""
        names = {s.name for s in self.sessions}
        out = {name: False for name in names}
        for line in self.birdc("show", "protocols").splitlines():
            words = line.split()
            if words and words[0] in names:
                out[words[0]] = "Established" in words
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
