#!/usr/bin/python3
"""BPF_PROG_TEST_RUN ns/packet of two builds of weft_bench_prog, measured
alternately in one run, so a change's cost is read beside its baseline:

    sudo bench/prog_compare.py --before OLD/weft_bench_prog --after build/weft_bench_prog \
        [--rounds 5] [--iterations 20000] [--out docs/BENCHMARKS.md]

Each round runs the datapath suite and the firewall suite of both binaries,
one after the other (before, after); the table gives the median over rounds
of each row's p50 and the after/before ratio. Absolute figures drift with
the machine; the ratio is the result. With --out, the table (and the command)
replace the block between <!-- bench:begin compare --> and
<!-- bench:end compare --> of that file.
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import time


def run_suite(exe: str, suite: str, iterations: int) -> dict:
    """{row name: p50 ns} of one run of `exe --suite base|firewall`."""
    cmd = [exe, "--json", "--suite", suite, "--iterations", str(iterations), "--fw-rules",
           "10,1000"]
    cp = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True)
    out = json.loads(cp.stdout)
    rows = list(out["results"])
    for fw in out.get("firewall", []):
        rows += [fw["new"], fw["established"]]
    return {f"{r['name']} ({r['hook']})": r["p50"] for r in rows}


def measure(args) -> dict:
    """{row: {"before": [p50...], "after": [p50...]}} in first-seen row order."""
    rows: dict = {}
    for _ in range(args.rounds):
        for suite in ("base", "firewall"):
            for side in ("before", "after"):
                exe = getattr(args, side)
                for name, p50 in run_suite(exe, suite, args.iterations).items():
                    rows.setdefault(name, {"before": [], "after": []})[side].append(p50)
    return rows


def table(rows: dict, args) -> str:
    cmd = " ".join(["sudo bench/prog_compare.py"] + sys.argv[1:])
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: median over {args.rounds} "
        f"alternating rounds of each row's p50 ({args.iterations} calls of repeat=1).",
        "",
        "```",
        cmd,
        "```",
        "",
        "| program / packet | before p50 ns | after p50 ns | after / before |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, r in rows.items():
        if len(r["before"]) != len(r["after"]) or not r["before"]:
            continue  # a row only one build has
        b, a = statistics.median(r["before"]), statistics.median(r["after"])
        lines.append(f"| {name} | {b:.0f} | **{a:.0f}** | {a / b:.2f} |")
    return "\n".join(lines) + "\n"


def write_block(path: str, text: str) -> None:
    doc = open(path).read()
    begin, end = "<!-- bench:begin compare -->", "<!-- bench:end compare -->"
    if begin not in doc:
        sys.exit(f"{path}: no {begin} ... {end} block")
    doc = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                 lambda _: f"{begin}\n{text}{end}", doc, flags=re.S)
    open(path, "w").write(doc)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True, help="the baseline's weft_bench_prog")
    p.add_argument("--after", required=True, help="the change's weft_bench_prog")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iterations", type=int, default=20000)
    p.add_argument("--out", help="markdown file with a compare block to replace")
    args = p.parse_args()
    text = table(measure(args), args)
    print(text)
    if args.out:
        write_block(args.out, text)


if __name__ == "__main__":
    main()
