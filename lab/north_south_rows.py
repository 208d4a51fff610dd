"""The lab's north-south rows (docs/NORTH_SOUTH.md "Lab"), in run_lab.py's
row format: the provider's BGP sessions, each customer's table, VMs reaching
their own tenant's site host (never the other tenant's: both sites' hosts
have the same address), then a segment with a VM added to tenant A and
removed again, with the time until the provider's table and the site host
see it, and stop seeing it.

A row whose prerequisite is missing (a session down, no uplink program on
an edge) is printed failed with the reason; nothing here raises for it."""

from __future__ import annotations

import time

import weftlab
from weftlab import VM, Lab, Segment, wait_for
from weftlab.north_south import (EDGES, SITE_HOST, SITE_LAN, NorthSouth, Pinger, wait_prefix)
from weftlab.topology import vm_mac

# A's new segment and VM (on hv2): nothing of B has 10.0.9.0/24.
NEW_SEGMENT = Segment("a-ns", "A", 1009, "10.0.9.0/24", "10.0.9.1", "02:fe:00:00:01:09")
NEW_VM = VM("a5", "a-ns", "10.0.9.10", vm_mac(1, 9, 10), "hv2")
# (source VM, its tenant): the site host that must answer is its tenant's.
SITE_MATRIX = [("a1", "A"), ("a4", "A"), ("b1", "B"), ("b3", "B")]
SESSIONS_TIMEOUT = 30.0  # BGP: connect retry 1 s on both sides
CONVERGENCE_TIMEOUT = 15.0
PING_GONE_AFTER = 1.5  # no reply for this long: the ping fails


def row(src, dst, kind, expected, result, ok) -> dict:
    return {"src": src, "dst": dst, "kind": kind, "expected": expected, "result": result,
            "ok": ok, "tcp_error": None}


def expected_prefixes(topo, tenant: str) -> set[str]:
    """What the tenant's edges announce: its segments and its routes marked advertise."""
    return ({s.subnet for s in topo.segments if s.tenant == tenant}
            | {r.prefix for r in topo.routes if r.tenant == tenant and r.advertise})


class NorthSouthRows:
    def __init__(self, lab: Lab, ns: NorthSouth, agents_started: float):
        self.lab, self.ns = lab, ns
        self.agents_started = agents_started  # wall clock (BIRD's times are)
        self.rows: list[dict] = []
        self.up: dict[str, bool] = {}

    def run(self) -> list[dict]:
        self.sessions()
        for c in self.ns.customers:
            self.table(c.tenant)
        for c in self.ns.customers:
            self.site_routes(c.tenant)
        self.lab.start_whoami([c.host for c in self.ns.customers])
        for vm, tenant in SITE_MATRIX:
            self.reach_site(vm, tenant)
        self.segment_added_and_removed()
        return self.rows

    # --- prerequisites ------------------------------------------------------------
    def tenant_down(self, tenant: str) -> str | None:
        down = [e for e, _, _ in EDGES if not self.up.get(self.ns.session_name(tenant, e))]
        return f"{tenant}'s session via {', '.join(down)} not established" if down else None

    def datapath_missing(self, tenant: str) -> str | None:
        c = self.ns.customer(tenant)
        missing = [e for e, _, _ in EDGES if not self.ns.uplink_program(e, c)]
        if missing:
            return (f"no uplink program on {', '.join(missing)} {self.ns.uplink_device(c)} "
                    "(edge datapath not in this build)")
        return None

    def not_run(self, *reasons) -> str | None:
        reasons = [r for r in reasons if r]
        return "not run: " + "; ".join(reasons) if reasons else None

    # --- rows -------------------------------------------------------------------------
    def sessions(self) -> None:
        try:
            wait_for(lambda: all(self.ns.established().values()), SESSIONS_TIMEOUT,
                     interval=0.1, what="every BGP session")
        except weftlab.LabError:
            pass
        self.up = self.ns.established()
        since = self.ns.session_since()
        n_up = sum(self.up.values())
        if n_up == len(self.up):
            last = max(since.values()) - self.agents_started
            result = f"{n_up}/{len(self.up)} Established, {last:.1f} s after the agents started"
        else:
            result = f"{n_up}/{len(self.up)} up; down: " + ", ".join(
                s for s, ok in sorted(self.up.items()) if not ok)
        self.rows.append(row("prov", "edge1, edge2", "ns: BGP sessions (hold 3 s)",
                             "all Established", result, n_up == len(self.up)))

    def table(self, tenant: str) -> None:
        c = self.ns.customer(tenant)
        want = expected_prefixes(self.lab.topo, tenant)
        kind = f"ns: {tenant}'s table {c.table} on the provider"
        reason = self.tenant_down(tenant)
        if reason:
            self.rows.append(row("prov", c.table, kind, "its segments from both edges",
                                 f"not run: {reason}", False))
            return

        def complete():
            return all(self.ns.learned_from(tenant, e) == want for e, _, _ in EDGES)
        try:
            wait_for(complete, CONVERGENCE_TIMEOUT, what=f"{c.table} complete")
        except weftlab.LabError:
            pass
        per_edge = {e: self.ns.learned_from(tenant, e) for e, _, _ in EDGES}
        hops = self.ns.kernel_nexthops(tenant, min(want))
        ok = all(p == want for p in per_edge.values()) and len(hops) == len(EDGES)
        if ok:
            result = f"{' '.join(sorted(want))} from both edges, kernel ECMP {len(hops)}"
        else:
            result = "; ".join(f"{e}: {' '.join(sorted(p)) or 'nothing'}"
                               for e, p in per_edge.items()) + f"; kernel next hops {hops}"
        self.rows.append(row("prov", c.table, kind, " ".join(sorted(want)), result, ok))

    def hypervisors(self, tenant: str) -> list[str]:
        """The Weft nodes hosting the tenant's VMs (not the plain Linux host)."""
        topo = self.lab.topo
        return sorted({vm.node for vm in topo.vms if topo.tenant_of(vm).name == tenant
                       and not topo.node(vm.node).foreign})

    def site_routes(self, tenant: str) -> None:
        """Each hypervisor of the tenant routes the site's LAN through both
        edges: the route the controller made of what they learned (or the
        static one without a controller)."""
        hvs, edges = self.hypervisors(tenant), [e for e, _, _ in EDGES]
        kind = f"ns: {tenant}'s route to {SITE_LAN} on hypervisors"
        reason = self.tenant_down(tenant)
        if reason:
            self.rows.append(row(", ".join(hvs), SITE_LAN, kind, "via " + ", ".join(edges),
                                 f"not run: {reason}", False))
            return

        def via():
            return {hv: self.ns.site_route_edges(hv, tenant) for hv in hvs}
        try:
            wait_for(lambda: all(e == edges for e in via().values()), CONVERGENCE_TIMEOUT,
                     what=f"{tenant}'s site routes")
        except weftlab.LabError:
            pass
        now = via()
        ok = all(e == edges for e in now.values())
        result = "; ".join(f"{hv}: via {', '.join(e) or 'nothing'}" for hv, e in now.items())
        self.rows.append(row(", ".join(hvs), SITE_LAN, kind, "via " + ", ".join(edges),
                             result, ok))

    def reach_site(self, vm: str, tenant: str) -> None:
        c = self.ns.customer(tenant)
        kind = f"ns: VM -> {tenant}'s site host"
        skip = self.not_run(self.tenant_down(tenant), self.datapath_missing(tenant))
        if skip:
            self.rows.append(row(vm, SITE_HOST, kind, c.host, skip, False))
            return
        p = self.lab.ping(vm, SITE_HOST, count=3, timeout=4)
        who = self.lab.whoami(vm, SITE_HOST, timeout=3)
        r = row(vm, SITE_HOST, kind, c.host,
                f"ping {p.received}/{p.transmitted}, tcp {who or 'failed'}",
                p.ok and who == c.host)
        r["tcp_error"] = None if who else self.lab.last_whoami_error
        self.rows.append(r)

    def segment_added_and_removed(self) -> None:
        topo, a = self.lab.topo, self.ns.customer("A")
        host_kind = f"ns: {a.host} -> new VM {NEW_VM.name}"
        skip_ping = self.not_run(self.tenant_down("A"), self.datapath_missing("A"))
        # added: the segment and its VM, nothing else changes
        topo.segments.append(NEW_SEGMENT)
        self.lab.add_vm(NEW_VM)
        topo.version += 1
        pinger = None if skip_ping else Pinger(self.lab, a.host, NEW_VM.ip)
        try:
            wall, start = time.time(), time.monotonic()
            self.lab.publish_state()
            t = wait_prefix(self.ns, "A", NEW_SEGMENT.subnet, True, start, CONVERGENCE_TIMEOUT)
            leaked = NEW_SEGMENT.subnet in self.ns.table("B")
            self.rows.append(row(
                "state", a.table, f"ns: segment {NEW_SEGMENT.name} added to A's state",
                f"{NEW_SEGMENT.subnet} in {a.table} only",
                (f"in {a.table} after {t:.2f} s" if t is not None else "never appeared")
                + ("; ALSO in custB" if leaked else ""), t is not None and not leaked))
            added_at = wall
            self.rows.append(self.first_reply(pinger, wall, host_kind, skip_ping))
            # removed: the VM and its segment go again
            topo.vms.remove(NEW_VM)
            topo.segments.remove(NEW_SEGMENT)
            topo.version += 1
            wall, start = time.time(), time.monotonic()
            self.lab.publish_state()
            t = wait_prefix(self.ns, "A", NEW_SEGMENT.subnet, False, start, CONVERGENCE_TIMEOUT)
            self.rows.append(row(
                "state", a.table, f"ns: segment {NEW_SEGMENT.name} removed",
                "withdrawn", f"gone after {t:.2f} s" if t is not None else "still there",
                t is not None))
            self.rows.append(self.last_reply(pinger, added_at, wall, host_kind, skip_ping))
        finally:
            if pinger:
                pinger.stop()

    def first_reply(self, pinger, wall: float, kind: str, skip: str | None) -> dict:
        r = row(self.ns.customer("A").host, NEW_VM.ip, kind, "answers", skip, False)
        if pinger is None:
            return r
        try:
            first = wait_for(lambda: [t for t in pinger.replies() if t >= wall],
                             CONVERGENCE_TIMEOUT, interval=0.05, what="a reply")[0]
            r.update(result=f"first reply after {first - wall:.2f} s", ok=True)
        except weftlab.LabError:
            r["result"] = f"no reply in {CONVERGENCE_TIMEOUT:.0f} s"
        return r

    def last_reply(self, pinger, added_at: float, wall: float, kind: str,
                   skip: str | None) -> dict:
        r = row(self.ns.customer("A").host, NEW_VM.ip, kind, "no answer", skip, False)
        if pinger is None:
            return r
        if not [t for t in pinger.replies() if t >= added_at]:
            r["result"] = "not run: never answered after the addition"
            return r

        def silent():
            replies = pinger.replies()
            return not replies or time.time() - replies[-1] >= PING_GONE_AFTER
        try:
            wait_for(silent, CONVERGENCE_TIMEOUT, interval=0.05, what="replies to stop")
            replies = pinger.replies()
            last = max(replies[-1] - wall, 0.0) if replies else 0.0
            r.update(result=f"fails after {last + pinger.interval:.2f} s "
                            f"(last reply {last:.2f} s)", ok=True)
        except weftlab.LabError:
            r["result"] = f"still answering after {CONVERGENCE_TIMEOUT:.0f} s"
        return r
