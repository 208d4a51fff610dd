#!/usr/bin/python3
"""Upstream route change → every hypervisor's map (docs/BENCHMARKS.md
"North-south: upstream route change"): a customer's router withdraws a
route and announces it again; the time until every hypervisor's weft_routes
has dropped it, and until it holds it again through both edges.

    sudo bench/ns_upstream.py --build-dir build [--trials 20] [--out docs/BENCHMARKS.md]

The lab of lab/weftlab/failover.py: weft-controller, hv1 and hv2 with tenant
A's VMs, edge1 and edge2 each with A's uplink to the provider's BIRD 2, A's
site LAN (10.200.0.0/24) a static route in A's table that BIRD announces to
both edges. Each trial disables that static protocol (`birdc disable`), polls
both hypervisors' weft_routes (every 20 ms; a read of both takes tens of
milliseconds, which bounds the resolution) until neither routes the site,
then enables it and polls until both route it through both edges again. The
path measured: BIRD's UPDATE, gobgpd, the edge agent's watch (50 ms
debounce), its report on the Sync stream, the controller's views, the Sync
push to each hypervisor, its apply. Between trials a random pause of 0-1 s.
p50/p99/max over the trials (nearest rank; with 20 trials p99 is the
maximum). Namespaces wft<6 hex>-..., removed on success, failure and
Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import random
import sys
import time

from ns_common import bench_main, target_rows
from weftlab import Lab, LabError, failover, north_south

TARGET_P99 = 1.0  # seconds, the issue's


def measure(args) -> dict:
    with Lab(failover.topology(), build_dir=args.build_dir) as lab:
        f = failover.EdgeFailover(lab)
        missing = f.cp.missing_binaries() + north_south.missing_tools()
        if missing:
            raise LabError(f"missing: {' '.join(missing)}")
        f.start()
        site = f"static_{f.ns.customer(failover.TENANT).table}"
        withdrawn, announced = [], []
        for i in range(args.trials):
            start = time.monotonic()
            f.ns.provider.birdc("disable", site)
            f.wait("the site's route gone from every hypervisor",
                   lambda: not any(f.site_routes().values()))
            withdrawn.append(time.monotonic() - start)
            start = time.monotonic()
            f.ns.provider.birdc("enable", site)
            f.wait("the site's route through both edges on every hypervisor",
                   lambda: f.routes_via(failover.EDGE_NAMES))
            announced.append(time.monotonic() - start)
            print(f"[ns-upstream] trial {i}: withdrawn {withdrawn[-1]:.3f} s, announced "
                  f"{announced[-1]:.3f} s", file=sys.stderr, flush=True)
            time.sleep(random.uniform(0.0, 1.0))
        return {"withdrawn": withdrawn, "announced": announced}


def report(r: dict) -> list[str]:
    return [f"#### A's site LAN withdrawn / announced again by the provider → every "
            f"hypervisor's weft_routes ({len(r['withdrawn'])} trials)", ""] + target_rows(
        [("withdrawn upstream → gone from hv1 and hv2", r["withdrawn"]),
         ("announced upstream → via both edges on hv1 and hv2", r["announced"])], TARGET_P99)


if __name__ == "__main__":
    sys.exit(bench_main(__doc__, "ns_upstream", "ns-upstream", 20, measure, report))
