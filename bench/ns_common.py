"""What the north-south benches (ns_convergence, ns_failover, ns_upstream)
share: their command line, the lab's teardown on any exit, the figures'
quantiles and the block each writes into docs/BENCHMARKS.md."""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "lab"))
sys.path.insert(0, HERE)

import weftlab  # noqa: E402
from run import cpu_idle, loadavg, write_doc  # noqa: E402
from weftlab import LabError  # noqa: E402


def quantile(xs: list[float], p: float) -> float:
    """Nearest rank."""
    s = sorted(xs)
    return s[max(0, math.ceil(p * len(s)) - 1)]


def target_rows(rows: list[tuple[str, list[float]]], target_p99: float) -> list[str]:
    """A markdown table of p50/p99/max (seconds) per change, against the
    issue's p99 target."""
    lines = ["| change | p50 s | p99 s | max s | target |", "| --- | ---: | ---: | ---: | --- |"]
    for what, xs in rows:
        p99 = quantile(xs, 0.99)
        met = "met" if p99 <= target_p99 else "NOT met"
        lines.append(f"| {what} | {quantile(xs, 0.5):.2f} | **{p99:.2f}** | {max(xs):.2f} | "
                     f"p99 ≤ {target_p99:g} s: {met} |")
    return lines


def commit() -> str:
    def git(*argv):
        return subprocess.run(["git", *argv], capture_output=True, text=True,
                              cwd=REPO).stdout.strip()
    c = git("rev-parse", "--short", "HEAD")
    return c + (" (+ local changes)" if git("status", "--porcelain",
                                            "--untracked-files=no") else "")


def bench_main(doc: str, name: str, block: str, trials: int,
               measure: Callable[[argparse.Namespace], dict],
               report: Callable[[dict], list[str]],
               add_args: Callable[[argparse.ArgumentParser], None] | None = None) -> int:
    """Parses the command line, runs measure(args) (a lab it tears down on
    any exit), prints the block that report(figures) fills under the run's
    header, and writes it into --out's `bench:begin <block>`."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    ap.add_argument("--trials", type=int, default=trials)
    if add_args:
        add_args(ap)
    ap.add_argument("--out", help=f"markdown file whose `bench:begin {block}` block to replace")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if os.geteuid() != 0:
        print(f"{name}: needs root (network namespaces)", file=sys.stderr)
        return 2
    weftlab.install_signal_handlers()
    load_before, idle = loadavg(), cpu_idle()
    started = time.monotonic()
    try:
        r = measure(args)
    except LabError as e:
        print(f"{name}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{name}: interrupted; lab torn down", file=sys.stderr)
        return 130
    header = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on `{platform.node()}`: "
        f"{os.cpu_count()} CPUs, kernel {platform.release()}, commit `{commit()}`; "
        f"{time.monotonic() - started:.0f} s.", "",
        f"Machine load: CPU idle {idle:.0f}% in the 2 s before the run (others share this "
        f"machine); load average {load_before} before, {loadavg()} after.", "",
        "```", "sudo " + shlex.join([f"bench/{name}.py"] + sys.argv[1:]), "```", ""]
    text = "\n".join(header + report(r)) + "\n"
    print(text)
    if args.out:
        write_doc(args.out, text, block)
    return 0
