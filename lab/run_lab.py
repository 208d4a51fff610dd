#!/usr/bin/python3
"""Weft lab, the main job: builds two Weft hypervisors and a plain Linux vxlan
host in network namespaces, starts an agent on each Weft host, sends real
traffic (ping + a TCP "whoami" that proves WHICH VM answered) between two
tenants' VMs with identical subnets, prints what reached what and the agents'
drop counters, and tears everything down.

The tenants are dual stack (weftlab.with_dual_stack: every segment also has
an IPv6 /64, identical in both tenants, and every VM an IPv6 address), and
the matrix has IPv6 rows beside the IPv4 ones: ping -6 and the TCP whoami
over IPv6, same-host and cross-host, switched and routed, across tenants
(must not reach), and, with the firewall, IPv6 flows allowed, denied and
rejected. --no-ipv6 leaves the tenants IPv4-only, as the lab was before.

Then (Weft only) the north-south rows (docs/NORTH_SOUTH.md "Lab"): two
edges carry tenants A and B to a provider's router (BIRD 2, one routing
context per customer) and to one site per customer whose hosts share an
address; the BGP sessions, each customer's table on the provider, the
hypervisors' routes to the sites (learned by both edges over BGP and
distributed by the controller; static in the state with --standalone), VMs
reaching their own tenant's site host only, and a segment with a VM added
to A in the controller's state and removed again, timed until the
provider's table and the site host see it (and stop seeing it).

Then (Weft only) it puts a firewall in force the way an operator does in
standalone mode -- tenant A default deny, groups web/db, a policy letting web
open TCP 7777 and ping towards db and rejecting TCP 7101 -- by rewriting the
state file and sending SIGHUP, waits until every agent's rule set generation
changed, and checks a few firewall rows (docs/FIREWALL.md).

Exit status: 0 iff every row matched its expectation.

    sudo lab/run_lab.py --build-dir build
    sudo lab/run_lab.py --kernel        # agent-free kernel reference (no Weft)
    sudo lab/run_lab.py --no-firewall   # no firewall rows
    sudo lab/run_lab.py --no-north-south  # no edges, provider, sites
    sudo lab/run_lab.py --ipv6-underlay   # every VTEP and the controller on IPv6 only
    sudo lab/run_lab.py --no-ipv6         # IPv4-only tenants, no IPv6 rows
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import weftlab  # noqa: E402
from north_south_rows import NorthSouthRows  # noqa: E402
from weftlab import (ControlPlane, Group, Lab, LabError, Policy, Rule, Topology,  # noqa: E402
                     default_topology, north_south, with_dual_stack, with_ipv6_underlay)

# (source VM, destination IP); path kind and expectation come from the topology.
MATRIX = [
    ("a1", "10.0.2.10"),   # same-host routed           -> a3 (b3 has it in B, on hv2)
    ("b1", "10.0.2.11"),   # same-host routed           -> b2 (a4 has it in A, on hv2)
    ("a1", "10.0.1.11"),   # cross-host L2              -> a2
    ("a2", "10.0.1.10"),   # cross-host L2              -> a1 (b1 has it in B, on hv1)
    ("a1", "10.0.2.11"),   # cross-host routed          -> a4 (b2 has it in B, on hv1)
    ("a4", "10.0.1.10"),   # cross-host routed          -> a1
    ("b1", "10.0.2.10"),   # cross-host routed          -> b3 (a3 has it in A, on hv1)
    ("b1", "10.0.2.20"),   # cross-host routed          -> b4
    ("alx", "10.0.1.10"),  # Linux vxlan interop, L2    -> a1
    ("a2", "10.0.1.30"),   # Linux vxlan interop, L2    -> alx
    ("alx", "10.0.2.10"),  # Linux interop, routed      -> a3 via the gateway on hv1
    ("a3", "10.0.1.30"),   # Linux interop, routed      -> alx
    ("alx", "10.0.2.11"),  # Linux interop, routed      -> a4 (on hv2)
    ("a1", "10.0.2.20"),   # cross-tenant: only B has it -> nothing
    ("b1", "10.0.1.11"),   # cross-tenant: only A has it -> nothing
    ("b1", "10.0.1.30"),   # cross-tenant: A's Linux VM  -> nothing
]

# The same over IPv6 (with_dual_stack: 10.0.<n>.<h> has the twin
# fd00:0:0:<n>::<h>, and tenant B the very same prefixes as A).
MATRIX6 = [
    ("a1", "fd00:0:0:2::10"),  # same-host routed           -> a3 (b3 has it in B, on hv2)
    ("b1", "fd00:0:0:2::11"),  # same-host routed           -> b2 (a4 has it in A, on hv2)
    ("a1", "fd00:0:0:1::11"),  # cross-host L2              -> a2
    ("a2", "fd00:0:0:1::10"),  # cross-host L2              -> a1 (b1 has it in B, on hv1)
    ("a1", "fd00:0:0:2::11"),  # cross-host routed          -> a4 (b2 has it in B, on hv1)
    ("a4", "fd00:0:0:1::10"),  # cross-host routed          -> a1
    ("b1", "fd00:0:0:2::10"),  # cross-host routed          -> b3 (a3 has it in A, on hv1)
    # alx resolves them by ND, answered through the tunnel
    ("alx", "fd00:0:0:1::10"),  # Linux vxlan interop, L2   -> a1
    ("a2", "fd00:0:0:1::30"),  # Linux vxlan interop, L2    -> alx
    ("alx", "fd00:0:0:2::10"),  # Linux interop, routed     -> a3 via the gateway on hv1
    ("alx", "fd00:0:0:2::11"),  # Linux interop, routed     -> a4 (on hv2)
    ("a1", "fd00:0:0:2::20"),  # cross-tenant: only B has it -> nothing
    ("b1", "fd00:0:0:1::11"),  # cross-tenant: only A has it -> nothing
]


# (source VM, destination IP, TCP port, expected answer, path kind) once the
# firewall of add_firewall() is in force. Expected: a VM name (ping and whoami
# answer), "refused" (TCP RST at once, no ping) or None (nothing answers).
REJECT_PORT = 7101
FIREWALL_MATRIX = [
    ("a1", "10.0.2.11", weftlab.WHOAMI_PORT, "a4", "fw: web -> db allowed, cross-host"),
    ("a1", "10.0.2.10", weftlab.WHOAMI_PORT, "a3", "fw: web -> db allowed, same-host"),
    ("a4", "10.0.1.10", weftlab.WHOAMI_PORT, None, "fw: db -> web, default deny"),
    ("a2", "10.0.1.10", weftlab.WHOAMI_PORT, None, "fw: web -> web, no ingress rule"),
    ("a1", "10.0.2.11", REJECT_PORT, "refused", "fw: reject tcp, egress"),
    ("b1", "10.0.2.11", weftlab.WHOAMI_PORT, "b2", "fw: tenant B untouched (allow)"),
]

# The same policies over IPv6: their group peers hold the members' IPv6
# addresses too, a rule without peers is any peer of either family, and
# ICMPv6 echo is allowed by add_firewall's ICMP rules with IPv6 peers. A
# rejected IPv6 TCP connection gets a RST, as over IPv4.
FIREWALL_MATRIX6 = [
    ("a1", "fd00:0:0:2::11", weftlab.WHOAMI_PORT, "a4", "fw: web -> db allowed, cross-host"),
    ("a1", "fd00:0:0:2::10", weftlab.WHOAMI_PORT, "a3", "fw: web -> db allowed, same-host"),
    ("a4", "fd00:0:0:1::10", weftlab.WHOAMI_PORT, None, "fw: db -> web, default deny"),
    ("a1", "fd00:0:0:2::11", REJECT_PORT, "refused", "fw: reject tcp, egress"),
    ("b1", "fd00:0:0:2::11", weftlab.WHOAMI_PORT, "b2", "fw: tenant B untouched (allow)"),
]

# What a refused connect() raises: a TCP RST, over either family.
REFUSALS = {"refused": "ConnectionRefusedError"}


# TCP connect: prints the outcome (connected or the exception's name) and
# how long it took, in seconds.
_CONNECT = r"""
import socket, sys, time
t0 = time.monotonic()
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    r = "connected"
except Exception as e:
    r = type(e).__name__
print(r, time.monotonic() - t0)
"""


def is_ipv6(address: str) -> bool:
    return ":" in address


def add_firewall(topo: Topology) -> None:
    """Tenant A: default deny; web (a1, a2, alx) may ping and open TCP 7777
    towards db (a3, a4); TCP 7101 out of web is rejected. The TCP rules
    judge IPv6 flows alike (peer groups: their members' ip6 too); ICMP
    rules with a type are IPv4's, so ICMPv6 (echo) gets rules of its own,
    for protocol icmp without a type towards the segments' IPv6 prefixes
    only (no IPv4 peer: they judge no IPv4 flow)."""
    db6 = [s.subnet6 for s in topo.segments if s.name == "a-db" and s.subnet6]
    web6 = [s.subnet6 for s in topo.segments if s.name == "a-web" and s.subnet6]
    topo.tenant("A").default_action = "deny"
    topo.groups = [Group("web", "A"), Group("db", "A")]
    for v in topo.vms:
        if topo.tenant_of(v).name == "A":
            v.groups = ["web" if v.segment == "a-web" else "db"]
    topo.set_policies([
        Policy("web-out", "A", applied_to_groups=["web"], rules=[
            Rule("egress", "reject", "tcp", ports=[REJECT_PORT]),
            Rule("egress", "allow", "tcp", ports=[weftlab.WHOAMI_PORT],
                 peer_groups=["db"]),
            Rule("egress", "allow", "icmp", icmp_type=8, peer_groups=["db"]),
            *([Rule("egress", "allow", "icmp", peer_cidrs=db6)] if db6 else []),
        ]),
        Policy("db-in", "A", applied_to_groups=["db"], rules=[
            Rule("ingress", "allow", "tcp", ports=[weftlab.WHOAMI_PORT],
                 peer_groups=["web"]),
            Rule("ingress", "allow", "icmp", icmp_type=8, peer_groups=["web"]),
            *([Rule("ingress", "allow", "icmp", peer_cidrs=web6)] if web6 else []),
        ]),
    ])


def run_firewall_matrix(lab: Lab, matrix=FIREWALL_MATRIX) -> list[dict]:
    rows = []
    for src, dst_ip, port, expect, kind in matrix:
        if is_ipv6(dst_ip):
            kind = "IPv6 " + kind
        p = lab.ping(src, dst_ip, count=2, timeout=2)
        who = lab.whoami(src, dst_ip, timeout=1.5) if port == weftlab.WHOAMI_PORT else None
        err = lab.last_whoami_error if port == weftlab.WHOAMI_PORT else None
        if port != weftlab.WHOAMI_PORT:
            cp = lab.exec(src, ["/usr/bin/python3", "-c", _CONNECT, dst_ip, str(port)],
                          timeout=10)
            err, _, secs = cp.stdout.strip().partition(" ")
            refused_ms = float(secs or 0) * 1000
        if expect in REFUSALS:
            ok = err == REFUSALS[expect]
            result = f"{expect} in {refused_ms:.1f} ms" if ok else f"tcp: {err}"
        elif expect is None:
            ok = not p.ok and who is None
            result = "no answer" if ok else f"REACHED {who or '(ping)'}"
        else:
            ok = p.ok and who == expect
            result = ", ".join([f"ping {p.received}/{p.transmitted}",
                                f"tcp {who}" if who else "tcp failed"])
        dst = f"[{dst_ip}]:{port}" if is_ipv6(dst_ip) else f"{dst_ip}:{port}"
        rows.append({"src": src, "dst": dst, "kind": kind,
                     "expected": expect or "no answer", "result": result, "ok": ok,
                     "tcp_error": None if who else err})
    return rows


def classify(topo: Topology, src_name: str, dst_ip: str) -> tuple[str, str | None]:
    """(path kind, expected VM name or None for 'no answer'); an IPv6
    destination's kind starts with "IPv6 "."""
    family = "IPv6 " if is_ipv6(dst_ip) else ""
    src = topo.vm(src_name)
    tenant = topo.tenant_of(src).name
    dsts = topo.vms_at(tenant, dst_ip)
    if not dsts:
        others = topo.vms_with(dst_ip)
        return family + ("cross-tenant" if others else "no such VM"), None
    dst = dsts[0]
    same_seg = dst.segment == src.segment
    layer = "L2" if same_seg else "routed"
    if topo.node(src.node).foreign or topo.node(dst.node).foreign:
        return f"{family}Linux vxlan interop ({layer})", dst.name
    if dst.node == src.node:
        return f"{family}same-host {layer}", dst.name
    return f"{family}cross-host {layer}", dst.name


def run_matrix(lab: Lab, matrix=MATRIX) -> list[dict]:
    rows = []
    for src, dst_ip in matrix:
        kind, expect = classify(lab.topo, src, dst_ip)
        if expect is None:
            p = lab.ping(src, dst_ip, count=2, timeout=2)
            who = lab.whoami(src, dst_ip, timeout=1.5)
        else:
            p = lab.ping(src, dst_ip, count=3, timeout=4)
            who = lab.whoami(src, dst_ip, timeout=3)
        if expect is None:
            ok = not p.ok and who is None
            result = "no answer" if ok else f"REACHED {who or '(ping)'}"
        else:
            ok = p.ok and who == expect
            parts = [f"ping {p.received}/{p.transmitted}",
                     f"tcp {who}" if who else "tcp failed"]
            result = ", ".join(parts)
        rows.append({"src": src, "dst": dst_ip, "kind": kind,
                     "expected": expect or "no answer", "result": result, "ok": ok,
                     "tcp_error": None if who else lab.last_whoami_error})
    return rows


def summary(rows: list[dict], seconds: float) -> str:
    """The run's last line: rows passed and failed, and of them the IPv6 rows."""
    bad = [r for r in rows if not r["ok"]]
    v6 = [r for r in rows if r["kind"].startswith("IPv6 ")]
    v6_bad = [r for r in v6 if not r["ok"]]
    text = f"{len(rows) - len(bad)} passed, {len(bad)} failed"
    if v6:
        text += f" (IPv6 rows: {len(v6) - len(v6_bad)} passed, {len(v6_bad)} failed)"
    return f"{text} ({seconds:.1f}s)"


def print_table(rows: list[dict], out=sys.stdout) -> None:
    hdr = ("source", "destination", "path kind", "expected", "result", "")
    table = [hdr] + [(r["src"], r["dst"], r["kind"], r["expected"], r["result"],
                      "ok" if r["ok"] else "MISMATCH") for r in rows]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(hdr))]
    for n, row in enumerate(table):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


def print_counters(lab: Lab, out=sys.stdout) -> None:
    drops = set(weftlab.drop_labels())
    for node in lab.topo.weft_nodes():
        try:
            c = lab.counters(node.name)
        except LabError as e:
            print(f"  {node.name}: counters unavailable: {e}", file=out)
            continue
        fwd = ", ".join(f"{k}={v}" for k, v in c.items() if v and k not in drops) or "none"
        drp = ", ".join(f"{k}={v}" for k, v in c.items() if v and k in drops) or "none"
        print(f"  {node.name}: verdicts: {fwd}", file=out)
        print(f"  {node.name}: drops:    {drp}", file=out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=None,
                    help="CMake build dir holding weft-agent (default: $WEFT_BUILD_DIR or build)")
    ap.add_argument("--agent", default=None, help="path of weft-agent (overrides --build-dir)")
    ap.add_argument("--underlay-hook", choices=("tc", "xdp"), default=None,
                    help="pass --underlay_hook to the agents")
    ap.add_argument("--kernel", action="store_true",
                    help="no Weft: every host is a plain Linux vxlan/bridge/routing host "
                         "(the kernel reference the matrix must also pass)")
    ap.add_argument("--keep-logs", metavar="DIR",
                    help="copy the run's logs (agents, servers) to DIR before teardown")
    ap.add_argument("--cleanup", metavar="PREFIX",
                    help="only remove what the run with this prefix (wft<6 hex>-) left "
                         "behind (namespaces, bpffs, run dir), then exit")
    ap.add_argument("--standalone", action="store_true",
                    help="agents read the state file themselves (no weft-controller)")
    ap.add_argument("--no-firewall", action="store_true",
                    help="skip the firewall rows (Weft only; see docs/FIREWALL.md)")
    ap.add_argument("--no-north-south", action="store_true",
                    help="no edges, provider router or sites (Weft only; docs/NORTH_SOUTH.md)")
    ap.add_argument("--ipv6-underlay", action="store_true",
                    help="an IPv6-only underlay: every VTEP (and the controller) its IPv6 "
                         "twin, the Linux host's vxlan over IPv6 (docs/DATAPATH.md)")
    ap.add_argument("--no-ipv6", action="store_true",
                    help="IPv4-only tenants: no IPv6 in the VMs, no IPv6 rows")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.cleanup:
        try:
            gone = weftlab.cleanup_stale(args.cleanup)
        except ValueError as e:
            print(f"run_lab: {e}", file=sys.stderr)
            return 2
        print(f"removed {len(gone)} namespaces: {' '.join(gone) or '-'}")
        return 0

    if os.geteuid() != 0:
        print("run_lab: needs root (network namespaces, bpffs)", file=sys.stderr)
        return 2
    if args.keep_logs:
        os.environ["WEFT_LAB_KEEP_LOGS"] = os.path.abspath(args.keep_logs)
    weftlab.install_signal_handlers()
    build_dir = os.path.abspath(args.build_dir) if args.build_dir else None
    topo = default_topology()
    mode = "kernel" if args.kernel else "weft"
    ns_rows, ns_unmet = mode == "weft" and not args.no_north_south, []
    if ns_rows:
        ns_unmet = north_south.missing_tools()
        ns_rows = not ns_unmet
    if ns_rows:
        # no controller: nothing learned reaches the hypervisors
        north_south.add_north_south(topo, static_site_routes=args.standalone)
    if args.ipv6_underlay:
        topo = with_ipv6_underlay(topo)
    if not args.no_ipv6:
        topo = with_dual_stack(topo)
    t0 = time.monotonic()
    try:
        with Lab(topo, mode=mode, build_dir=build_dir, agent_path=args.agent,
                 underlay_hook=args.underlay_hook, verbose=args.verbose) as lab:
            hosts = [n for n in topo.weft_nodes() if n.role != "edge"]
            print(f"lab {lab.prefix} ({mode}"
                  + (", IPv6-only underlay" if args.ipv6_underlay else "") + f"): {len(hosts)} Weft hosts, "
                  f"{len(topo.foreign_nodes())} Linux vxlan host, {len(topo.vms)} VMs, "
                  f"tenants {', '.join(t.name for t in topo.tenants)}"
                  + (" (dual stack)" if topo.dual_stack() else "")
                  + (f"; {len(topo.edges())} edges, a provider router (BIRD), "
                     "one site per tenant" if ns_rows else ""))
            ns = north_south.NorthSouth(lab) if ns_rows else None
            agents_started = time.time()
            if mode == "weft" and args.standalone:
                if ns:
                    ns.build()
                agents_started = time.time()
                lab.start_agents()
                print(f"agents ready (standalone, state file): {', '.join(lab.agents)}")
            elif mode == "weft":
                cp = ControlPlane(lab)
                missing = cp.missing_binaries()
                if missing:
                    raise LabError(f"no {' '.join(missing)} next to the agent")
                cp.build()
                cp.start()
                if ns:
                    ns.build()
                agents_started = time.time()
                cp.start_agents()
                real = cp.realization()
                print(f"weft-controller at {cp.state_file} (mTLS): version "
                      f"{real.get('controller_version')} enforced by "
                      + (", ".join(real.get("enforcing", [])) or "no node yet"))
            if ns:
                by = ns.ensure_uplinks()
                print("uplinks: " + ("VLANs 101 (A), 102 (B) of each edge's trunk" if ns.vlans
                                     else "an untagged link each (no 802.1Q in this kernel)")
                      + "; devices and transit addresses made by "
                      + ("the agents" if by == "agent" else
                         "the lab: these agents do not configure uplinks"))
            lab.start_whoami()
            rows = run_matrix(lab)
            if topo.dual_stack():
                rows += run_matrix(lab, MATRIX6)
            if ns:
                rows += NorthSouthRows(lab, ns, agents_started).run()
            elif ns_unmet:
                rows.append({"src": "-", "dst": "-", "kind": "ns: north-south rows",
                             "expected": "run", "result": "not run: missing "
                             + " ".join(ns_unmet), "ok": False, "tcp_error": None})
            if mode == "weft" and not args.no_firewall:
                add_firewall(lab.topo)
                # edges enforce no firewall: wait for the hypervisors' rule sets
                gens = lab.apply_state(nodes=[n.name for n in hosts])
                print("firewall in force: rule set generation "
                      + ", ".join(f"{n}={g}" for n, g in gens.items()))
                rows += run_firewall_matrix(lab)
                if topo.dual_stack():
                    rows += run_firewall_matrix(lab, FIREWALL_MATRIX6)
            print()
            print_table(rows)
            dead = lab.check_agents_alive() if mode == "weft" else []
            if mode == "weft":
                print("\nagent counters (packets):")
                print_counters(lab)
            for d in dead:
                print(f"agent died: {d}")
            bad = [r for r in rows if not r["ok"]]
            for r in bad:
                if r["tcp_error"] and r["expected"] != "no answer":
                    print(f"  {r['src']} -> {r['dst']}: tcp: {r['tcp_error']}")
            print("\n" + summary(rows, time.monotonic() - t0))
            return 0 if not bad and not dead else 1
    except KeyboardInterrupt:
        print("run_lab: interrupted; lab torn down", file=sys.stderr)
        return 130
    except LabError as e:
        print(f"run_lab: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
