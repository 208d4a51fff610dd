#!/usr/bin/python3
"""North-south failover (docs/BENCHMARKS.md "North-south failover"): an
edge's agent killed under traffic, until the hypervisors route around it
and its flows are answered through the other edge; then started again.

    sudo bench/ns_failover.py --build-dir build [--trials 5] [--out docs/BENCHMARKS.md]

The lab of lab/weftlab/failover.py (what tests/netns/test_edge_failover.py
asserts): weft-controller, hv1 and hv2 with tenant A's VMs, edge1 and edge2
each with A's uplink to the provider's BIRD 2 (hold 3 s, keepalive 1 s), the
hypervisors' route to A's site learned by both edges. Each trial: a steady
ping (50 ms apart) from a VM whose flow goes through edge1, `kill -9` of
edge1's agent, the time until the provider's session is down and until both
hypervisors route the site through edge2 only, the pings lost and the
longest gap between replies; then edge1's agent started again, and the time
until the routes go through both edges again. Namespaces wft<6 hex>-...,
removed on success, failure and Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import sys

from ns_common import bench_main, quantile
from weftlab import Lab, LabError, failover, north_south


def measure(args) -> dict:
    with Lab(failover.topology(), build_dir=args.build_dir) as lab:
        f = failover.EdgeFailover(lab)
        missing = f.cp.missing_binaries() + north_south.missing_tools()
        if missing:
            raise LabError(f"missing: {' '.join(missing)}")
        f.start()
        outages, rejoined = [], []
        for i in range(args.trials):
            out = f.kill_agent("edge1", f.pinger_through("edge1"))
            outages.append(out)
            rejoined.append(f.restart_agent("edge1"))
            print(f"[ns-failover] trial {i}: session down {out.session_down:.3f} s, routes "
                  f"moved {out.routes_moved:.3f} s, lost {out.lost}/{out.sent}, gap "
                  f"{out.longest_gap:.3f} s; back in {rejoined[-1]:.2f} s",
                  file=sys.stderr, flush=True)
        return {"outages": outages, "rejoined": rejoined}


def report(r: dict) -> list[str]:
    outs = r["outages"]
    L = [
         f"#### edge1's agent killed (-9) under a steady ping through edge1, then started "
         f"again ({len(outs)} trials)", "",
         "| figure | p50 | max |", "| --- | ---: | ---: |"]
    rows = [("kill → provider's session with edge1 down, s", [o.session_down for o in outs]),
            ("kill → hypervisors' routes via edge2 only, s", [o.routes_moved for o in outs]),
            (f"pings lost (of {min(o.sent for o in outs)}–{max(o.sent for o in outs)}, "
             f"{failover.PING_INTERVAL * 1000:.0f} ms apart)", [o.lost for o in outs]),
            ("longest gap between replies, s", [o.longest_gap for o in outs]),
            ("restart → routes via both edges again, s", r["rejoined"])]
    for what, xs in rows:
        fmt = "{:d}" if all(isinstance(x, int) for x in xs) else "{:.2f}"
        L.append(f"| {what} | {fmt.format(quantile(xs, 0.5))} | {fmt.format(max(xs))} |")
    return L


if __name__ == "__main__":
    sys.exit(bench_main(__doc__, "ns_failover", "ns-failover", 5, measure, report))
