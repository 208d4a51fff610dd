#!/usr/bin/python3
"""North-south failover (docs/BENCHMARKS.md "North-south failover"): an
edge failing under traffic, until the hypervisors route around it and its
flows are answered through the other edge; then back. Two failures: its
agent killed (its connections close), and the edge dying as a host does
(underlay port cut, every process of its namespace stopped: nothing closes,
timers notice).

    sudo bench/ns_failover.py --build-dir build [--trials 5] [--out docs/BENCHMARKS.md]

The lab of lab/weftlab/failover.py (what tests/netns/test_edge_failover.py
asserts): weft-controller, hv1 and hv2 with tenant A's VMs, edge1 and edge2
each with A's uplink to the provider's BIRD 2 (hold 3 s, keepalive 1 s), the
hypervisors' route to A's site learned by both edges. Each trial: a steady
ping (50 ms apart) from a VM whose flow goes through edge1, `kill -9` of
edge1's agent, the time until the provider's session is down and until both
hypervisors route the site through edge2 only, the pings lost and the
longest gap between replies; then edge1's agent started again, and the time
until the routes go through both edges again; then the same with edge1
dying as a host (lab/weftlab/failover.py freeze_host) and coming back. Namespaces wft<6 hex>-...,
removed on success, failure and Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import sys
import time

from ns_common import bench_main, quantile
from weftlab import Lab, LabError, failover, north_south


def measure(args) -> dict:
    with Lab(failover.topology(), build_dir=args.build_dir) as lab:
        f = failover.EdgeFailover(lab)
        missing = f.cp.missing_binaries() + north_south.missing_tools()
        if missing:
            raise LabError(f"missing: {' '.join(missing)}")
        f.start()
        r = {"killed": ([], []), "dead": ([], [])}  # (outages, rejoin times)
        for i in range(args.trials):
            for kind in r:
                pinger = f.pinger_through("edge1")
                if kind == "killed":
                    out = f.kill_agent("edge1", pinger)
                    back = f.restart_agent("edge1")
                else:
                    try:
                        out = f.freeze_host("edge1", pinger)
                    finally:
                        start = time.monotonic()
                        f.thaw_host("edge1")
                    back = f.rejoined("edge1", start)
                r[kind][0].append(out)
                r[kind][1].append(back)
                print(f"[ns-failover] trial {i}, edge1 {kind}: session down "
                      f"{out.session_down:.3f} s, routes moved {out.routes_moved:.3f} s, lost "
                      f"{out.lost}/{out.sent}, gap {out.longest_gap:.3f} s; back in {back:.2f} s",
                      file=sys.stderr, flush=True)
        return r


TITLES = {
    "killed": "edge1's agent killed (-9) under a steady ping through edge1, then started again",
    "dead": "edge1 dead as a host (underlay port cut, its processes stopped) under a steady "
            "ping through edge1, then back",
}


def report(r: dict) -> list[str]:
    L = []
    for kind, (outs, back) in r.items():
        L += [f"#### {TITLES[kind]} ({len(outs)} trials)", "",
              "| figure | p50 | max |", "| --- | ---: | ---: |"]
        rows = [("failure → provider's session with edge1 down, s",
                 [o.session_down for o in outs]),
                ("failure → hypervisors' routes via edge2 only, s",
                 [o.routes_moved for o in outs]),
                (f"pings lost (of {min(o.sent for o in outs)}–{max(o.sent for o in outs)}, "
                 f"{failover.PING_INTERVAL * 1000:.0f} ms apart)", [o.lost for o in outs]),
                ("longest gap between replies, s", [o.longest_gap for o in outs]),
                ("back → routes via both edges again, s", back)]
        for what, xs in rows:
            fmt = "{:d}" if all(isinstance(x, int) for x in xs) else "{:.2f}"
            L.append(f"| {what} | {fmt.format(quantile(xs, 0.5))} | {fmt.format(max(xs))} |")
        L.append("")
    return L


if __name__ == "__main__":
    sys.exit(bench_main(__doc__, "ns_failover", "ns-failover", 5, measure, report))
