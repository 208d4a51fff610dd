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

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lab"))
sys.path.insert(0, HERE)

import weftlab  # noqa: E402
from ns_convergence import quantile, report_header  # noqa: E402
from run import cpu_idle, loadavg, write_doc  # noqa: E402
from weftlab import Lab, LabError, failover, north_south  # noqa: E402

BLOCK = "ns-failover"


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


def report(r: dict, started: float, idle: float, load_before: str) -> str:
    outs = r["outages"]
    L = report_header("bench/ns_failover.py", started, idle, load_before) + [
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
    return "\n".join(L) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(os.path.dirname(HERE), "build"))
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--out", help="markdown file whose `bench:begin ns-failover` block to replace")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if os.geteuid() != 0:
        print("ns_failover: needs root (network namespaces)", file=sys.stderr)
        return 2
    weftlab.install_signal_handlers()
    load_before, idle = loadavg(), cpu_idle()
    started = time.monotonic()
    try:
        r = measure(args)
    except LabError as e:
        print(f"ns_failover: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ns_failover: interrupted; lab torn down", file=sys.stderr)
        return 130
    text = report(r, started, idle, load_before)
    print(text)
    if args.out:
        write_doc(args.out, text, BLOCK)
    return 0


if __name__ == "__main__":
    sys.exit(main())
