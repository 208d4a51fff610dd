#!/usr/bin/python3
"""North-south convergence (docs/BENCHMARKS.md "North-south"): a segment
added to a tenant in the controller's state until its prefix is in that
customer's table on the provider's router, and removed until withdrawn.

    sudo bench/ns_convergence.py --build-dir build [--trials 20] [--out docs/BENCHMARKS.md]

The lab's north-south part without hypervisors (lab/weftlab/north_south.py):
weft-controller, two edges with a real weft-agent each (gobgpd), tenants A
and B on both (ECMP), the provider's BIRD 2 with one table per customer.
Each trial adds segment a-bench<i> (10.1.<i>.0/24) to tenant A, replaces the
controller's state file and polls A's BIRD table every 20 ms until the
prefix is there (the first edge's route), then removes it and polls until
it is gone (both edges withdrew). Between trials a random pause of 0-1 s,
so the changes fall at every phase of the agents' 1 s reconcile tick.
p50/p99/max over the trials (nearest rank; with 20 trials p99 is the
maximum). Everything lives in network namespaces named wft<6 hex>-...,
removed on success, failure and Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "lab"))
sys.path.insert(0, HERE)

import weftlab  # noqa: E402
from run import cpu_idle, loadavg, write_doc  # noqa: E402
from weftlab import ControlPlane, Lab, LabError, Segment, Tenant, Topology  # noqa: E402
from weftlab import north_south  # noqa: E402
from weftlab.topology import overlapping_segments  # noqa: E402

TARGET_P99 = 2.0  # seconds, the issue's
BLOCK = "ns-convergence"


def quantile(xs: list[float], p: float) -> float:
    """Nearest rank."""
    s = sorted(xs)
    return s[max(0, math.ceil(p * len(s)) - 1)]


def topology() -> Topology:
    tenants = [Tenant("A", 1), Tenant("B", 2)]
    topo = Topology([], tenants, overlapping_segments(tenants), vms=[])
    return north_south.add_north_south(topo)


def bench_segment(i: int) -> Segment:
    return Segment(f"a-bench{i}", "A", 1100 + i, f"10.1.{i}.0/24", f"10.1.{i}.1",
                   f"02:fe:00:01:10:{i:02x}")


def measure(args) -> dict:
    with Lab(topology(), build_dir=args.build_dir) as lab:
        cp = ControlPlane(lab)
        missing = cp.missing_binaries() + north_south.missing_tools()
        if missing:
            raise LabError(f"missing: {' '.join(missing)}")
        cp.build()
        cp.start()
        ns = north_south.NorthSouth(lab)
        ns.build()
        cp.start_agents()
        uplinks_by = ns.ensure_uplinks()
        weftlab.wait_for(lambda: all(ns.established().values()), 60, interval=0.1,
                         what="every BGP session")
        added, removed = [], []
        for i in range(args.trials):
            seg = bench_segment(i)
            lab.topo.segments.append(seg)
            lab.topo.version += 1
            start = time.monotonic()
            lab.publish_state()
            t = north_south.wait_prefix(ns, "A", seg.subnet, True, start, args.timeout)
            if t is None:
                raise LabError(f"trial {i}: {seg.subnet} not in custA after {args.timeout} s")
            added.append(t)
            if seg.subnet in ns.table("B"):
                raise LabError(f"trial {i}: A's {seg.subnet} reached custB")
            lab.topo.segments.remove(seg)
            lab.topo.version += 1
            start = time.monotonic()
            lab.publish_state()
            t = north_south.wait_prefix(ns, "A", seg.subnet, False, start, args.timeout)
            if t is None:
                raise LabError(f"trial {i}: {seg.subnet} still in custA after {args.timeout} s")
            removed.append(t)
            print(f"[ns] trial {i}: added {added[-1]:.3f} s, removed {removed[-1]:.3f} s",
                  file=sys.stderr, flush=True)
            time.sleep(random.uniform(0.0, 1.0))  # a random phase of the agents' tick
        return {"added": added, "removed": removed, "uplinks_by": uplinks_by}


def commit() -> str:
    def git(*argv):
        return subprocess.run(["git", *argv], capture_output=True, text=True,
                              cwd=REPO).stdout.strip()
    c = git("rev-parse", "--short", "HEAD")
    return c + (" (+ local changes)" if git("status", "--porcelain",
                                            "--untracked-files=no") else "")


def report_header(script: str, started: float, idle: float, load_before: str) -> list[str]:
    """The lines every north-south bench's block opens with: when, where,
    how loaded, and the command."""
    return [f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on `{platform.node()}`: "
            f"{os.cpu_count()} CPUs, kernel {platform.release()}, commit `{commit()}`; "
            f"{time.monotonic() - started:.0f} s.", "",
            f"Machine load: CPU idle {idle:.0f}% in the 2 s before the run (others share this "
            f"machine); load average {load_before} before, {loadavg()} after.", "",
            "```", "sudo " + shlex.join([script] + sys.argv[1:]), "```", ""]


def report(r: dict, args, started: float, idle: float, load_before: str) -> str:
    L = report_header("bench/ns_convergence.py", started, idle, load_before) + [
         f"#### A segment added to / removed from tenant A → A's table on the provider "
         f"({len(r['added'])} trials)", "",
         "| change | p50 s | p99 s | max s | target |", "| --- | ---: | ---: | ---: | --- |"]
    for what, xs in (("segment added → prefix in custA", r["added"]),
                     ("segment removed → withdrawn from custA", r["removed"])):
        p99 = quantile(xs, 0.99)
        met = "met" if p99 <= TARGET_P99 else "NOT met"
        L.append(f"| {what} | {quantile(xs, 0.5):.2f} | **{p99:.2f}** | {max(xs):.2f} | "
                 f"p99 ≤ {TARGET_P99:.0f} s: {met} |")
    L.append("")
    L.append("Uplink links and transit addresses made by "
             + ("the edges' agents." if r["uplinks_by"] == "agent" else
                "the bench (these agents do not configure uplinks yet)."))
    return "\n".join(L) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=15.0, help="seconds per change")
    ap.add_argument("--out", help="markdown file whose `bench:begin ns-convergence` block to replace")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if os.geteuid() != 0:
        print("ns_convergence: needs root (network namespaces)", file=sys.stderr)
        return 2
    weftlab.install_signal_handlers()
    load_before, idle = loadavg(), cpu_idle()
    started = time.monotonic()
    try:
        r = measure(args)
    except LabError as e:
        print(f"ns_convergence: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ns_convergence: interrupted; lab torn down", file=sys.stderr)
        return 130
    text = report(r, args, started, idle, load_before)
    print(text)
    if args.out:
        write_doc(args.out, text, BLOCK)
    return 0


if __name__ == "__main__":
    sys.exit(main())
