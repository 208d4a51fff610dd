"""North-south through one edge (docs/BENCHMARKS.md "North-south"), Weft
against the kernel doing the same job. bench/run.py builds and measures these
topologies (`--only ns`); this module only builds them.

Topology (weftlab, like bench/kernel_path.py's, on a smaller fleet):

  hv1    hypervisor: c1 (tenant A, a-web 10.0.1.10, the VM measured) and
         b1 (tenant B, the same address: the per-tenant machinery is real)
  edge1  the edge: eth0 on the underlay (198.18.0.11), and the uplink `up0`,
         a veth to
  <p>up  the upstream: the other end of the link (192.0.2.1/30, the peer)
         and the site, 10.200.0.10 (SITE_PREFIX, on its loopback), with a
         route back to A's segments via the edge's transit address

  north: c1 -> the site's host (VM client, site server)
  south: the site's host -> c1 (site client, VM server)

Weft (`weft-agent --underlay_hook tc` on hv1 and edge1): edge1 has role edge
and carries A's uplink on `up0` (transit 192.0.2.0/30, address 192.0.2.2);
the state routes SITE_PREFIX through edge1 on segment a-web (a static
upstream route). hv1 encapsulates to edge1's VTEP; edge1's underlay hook
decapsulates and sends out of the uplink; the uplink program routes the
answers into the overlay straight to hv1. The edge's agent puts the transit
address on the link and attaches the uplink program.

Kernel: hv1 is the kernel path of bench/kernel_path.py (vxlan devices in
bridges with the anycast gateway, per-tenant tables, nftables conntrack
zones; or without the firewall). edge1 is a Linux router: vxlan1001 in a
bridge br1001 on A's transit segment, A's table (101) chosen by `ip rule iif`
for the bridge and the uplink, holding the segment and SITE_PREFIX via the
peer; forwarding on, no firewall (as Weft's edge: stateless, the
hypervisor's conntrack sees both directions). The bridge cannot hold the
anycast gateway's MAC as a next hop distinct from hv1's own, so the edge is
a router on the segment with an address and MAC of its own (EDGE_SEGMENT_IP,
EDGE_SEGMENT_MAC), and hv1 routes SITE_PREFIX via that address, its
neighbour and FDB entries static (no learning, no flooding), as the kernel
path does for VMs.
"""

from __future__ import annotations

import contextlib
import json

import kernel_path as kp  # first: it puts lab/ on sys.path

from weftlab import VM, Lab, LabError, Node, Route, Tenant, Topology  # noqa: E402
from weftlab.ns import IP, ip_batch, ns_run, run  # noqa: E402
from weftlab.topology import overlapping_segments, vm_mac  # noqa: E402

HV, EDGE, CLIENT = "hv1", "edge1", "c1"
EDGE_VTEP = "198.18.0.11"
UPLINK = "up0"            # the uplink's link on the edge (a veth to the upstream)
UPSTREAM_LINK = "edge0"   # its other end, in the upstream namespace
TRANSIT = "192.0.2.0/30"
EDGE_TRANSIT_IP = "192.0.2.2"
PEER_IP = "192.0.2.1"
SITE_PREFIX = "10.200.0.0/24"
SITE_IP = "10.200.0.10"
TRANSIT_SEGMENT = "a-web"
BACK_PREFIX = "10.0.0.0/16"  # the upstream's route back to tenant A, via the edge
# kernel edge: its own address and MAC on the transit segment
EDGE_SEGMENT_IP = "10.0.1.254"
EDGE_SEGMENT_MAC = "02:ee:00:00:01:01"

KEYS = ["ns_kernel", "ns_kernel_nofw", "ns_weft_tc", "ns_weft_tc_fw"]
NAMES = {"ns_kernel": "kernel (hv1 kernel path + edge as a Linux router)",
         "ns_kernel_nofw": "kernel, no firewall on hv1",
         "ns_weft_tc": "Weft, TC hooks (hv1 and edge1 agents)",
         "ns_weft_tc_fw": "Weft, TC hooks + firewall policy on hv1"}
PATH_TITLES = {"north": f"North: c1 (tenant A on hv1) → {SITE_IP} behind edge1's uplink",
               "south": f"South: {SITE_IP} → c1 (tenant A on hv1) through edge1"}


def topology() -> Topology:
    nodes = [Node(HV, "198.18.0.1"), Node(EDGE, EDGE_VTEP)]
    tenants = [Tenant("A", 1), Tenant("B", 2)]
    vms = [VM(CLIENT, TRANSIT_SEGMENT, "10.0.1.10", vm_mac(1, 1, 10), HV, mtu=kp.VM_MTU),
           VM("b1", "b-web", "10.0.1.10", vm_mac(2, 1, 10), HV, mtu=kp.VM_MTU)]
    routes = [Route("A", SITE_PREFIX, nodes=[EDGE], segment=TRANSIT_SEGMENT)]
    topo = Topology(nodes, tenants, overlapping_segments(tenants), vms, routes)
    topo.validate()
    return topo


def weft_state(topo: Topology, firewall: bool) -> dict:
    """The topology's state with edge1 an edge carrying A's uplink; with
    `firewall`, the kernel path's rule set as Weft policy
    (kernel_path.weft_firewall_state: the site is in 10/8, so it is
    admitted as the kernel path's nftables admit it)."""
    state = json.loads(kp.weft_firewall_state(topo)) if firewall else topo.state_dict()
    for node in state["nodes"]:
        if node["name"] == EDGE:
            node["role"] = "edge"
    state["uplinks"] = [{
        "name": "a-edge1", "node": EDGE, "tenant": "A", "interface": UPLINK,
        "transit": TRANSIT, "address": EDGE_TRANSIT_IP, "peer": PEER_IP,
        "peer_as": 64500, "local_as": 65001}]
    return state


def upstream_ns(lab: Lab) -> str:
    # under the lab's prefix: the lab's teardown removes it with the rest
    return f"{lab.prefix}up"


def build_upstream(lab: Lab) -> None:
    """The upstream namespace, the site on its loopback, and the link to the
    edge. The edge's end (`up0`) is left bare: the agent (Weft) or
    kernel_edge (kernel) configures it."""
    up = upstream_ns(lab)
    run([IP, "netns", "add", up])
    ns_run(up, ["sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1"])
    run([IP, "-n", lab.ns(EDGE), "link", "add", UPLINK, "type", "veth", "peer", "name",
         UPSTREAM_LINK, "netns", up])
    ip_batch(lab.ns(EDGE), [f"link set {UPLINK} up"])
    plen = TRANSIT.split("/")[1]
    ip_batch(up, ["link set lo up",
                  f"addr add {SITE_IP}/{SITE_PREFIX.split('/')[1]} dev lo",
                  f"addr add {PEER_IP}/{plen} dev {UPSTREAM_LINK}",
                  f"link set {UPSTREAM_LINK} up",
                  f"route add {BACK_PREFIX} via {EDGE_TRANSIT_IP} dev {UPSTREAM_LINK} "
                  f"src {SITE_IP}"])


def kernel_edge(lab: Lab) -> None:
    """edge1 as a Linux router for tenant A, and hv1's route to the site
    through it (see the module's docstring)."""
    topo = lab.topo
    seg = topo.segment(TRANSIT_SEGMENT)
    table = 100 + topo.tenant(seg.tenant).id
    hv_vtep = topo.node(HV).vtep
    vni = seg.vni
    edge = lab.ns(EDGE)
    c1 = topo.vm(CLIENT)
    ip_batch(edge, [
        f"link add vxlan{vni} type vxlan id {vni} dstport 4789 local {EDGE_VTEP} dev eth0 "
        "nolearning",
        f"link add br{vni} address {EDGE_SEGMENT_MAC} type bridge",
        f"link set br{vni} type bridge forward_delay 0 stp_state 0",
        f"link set vxlan{vni} master br{vni}",
        f"link set vxlan{vni} up",
        f"link set br{vni} up",
        f"addr add {EDGE_SEGMENT_IP}/{seg.prefixlen} dev br{vni} noprefixroute",
        f"addr add {EDGE_TRANSIT_IP}/{TRANSIT.split('/')[1]} dev {UPLINK}",
        f"route add {seg.subnet} dev br{vni} table {table}",
        f"route add {SITE_PREFIX} via {PEER_IP} dev {UPLINK} onlink table {table}",
        f"route add unreachable default table {table}",
        f"rule add iif br{vni} lookup {table} pref 100",
        f"rule add iif {UPLINK} lookup {table} pref 100",
        f"neigh replace {c1.ip} lladdr {c1.mac} dev br{vni} nud permanent",
    ])
    run(["bridge", "-n", edge, "fdb", "add", c1.mac, "dev", f"vxlan{vni}", "dst", hv_vtep,
         "self", "permanent"])
    hv = lab.ns(HV)
    ip_batch(hv, [
        f"neigh replace {EDGE_SEGMENT_IP} lladdr {EDGE_SEGMENT_MAC} dev br{vni} nud permanent",
        f"route add {SITE_PREFIX} via {EDGE_SEGMENT_IP} dev br{vni} table {table}"])
    run(["bridge", "-n", hv, "fdb", "add", EDGE_SEGMENT_MAC, "dev", f"vxlan{vni}", "dst",
         EDGE_VTEP, "self", "permanent"])


def hypervisor_firewall(topo: Topology, node: str) -> str:
    """The kernel path's rule set on hv1; none on the edge (stateless, as
    Weft's)."""
    return kp.firewall_ruleset(topo, node) if node == HV else ""


def build(key: str, args, stack: contextlib.ExitStack) -> Lab:
    """Builds topology `key` (one of KEYS), torn down when `stack` closes,
    and checks that c1 reaches the site and back."""
    if key in ("ns_kernel", "ns_kernel_nofw"):
        lab = stack.enter_context(Lab(topology(), mode="kernel"))
        build_upstream(lab)
        kernel_edge(lab)
        if key == "ns_kernel":
            kp.add_firewall(lab, hypervisor_firewall)
    elif key in ("ns_weft_tc", "ns_weft_tc_fw"):
        lab = stack.enter_context(Lab(topology(), mode="weft", build_dir=args.build_dir,
                                      underlay_hook="tc"))
        build_upstream(lab)  # the uplink's link must exist before the edge's agent reads it
        lab.write_state(weft_state(lab.topo, firewall=key == "ns_weft_tc_fw"))
        lab.start_agents(timeout=60)
    else:
        raise ValueError(f"unknown north-south topology {key}")
    r = lab.wait_ping(CLIENT, SITE_IP, timeout=15)
    if not r.ok:
        raise LabError(f"{CLIENT} cannot reach {SITE_IP} through {EDGE}: {r.output[-300:]}"
                       + (f"; {EDGE} counters {lab.counters(EDGE)}" if lab.mode == "weft"
                          else ""))
    return lab


def targets(key: str, lab: Lab, target_cls) -> list:
    """The two measured directions (bench/run.py's Target)."""
    up, c1 = upstream_ns(lab), lab.topo.vm(CLIENT)
    return [target_cls(key, "north", lab, lab.ns(CLIENT), up, SITE_IP),
            target_cls(key, "south", lab, up, lab.ns(CLIENT), c1.ip)]


FORWARDED = ("to_uplink", "from_uplink")  # the edge's verdicts for traffic it forwards


def notes(key: str, lab: Lab) -> dict:
    """After the run: nft forward-chain counters on hv1 (kernel); the edge's
    to_uplink/from_uplink and every node's drops (Weft), which show that the
    traffic really took the edge's BPF path."""
    if key == "ns_kernel":
        return {HV: kp.firewall_counters(lab, HV)}
    if key in ("ns_weft_tc", "ns_weft_tc_fw"):
        # the lab's drop list predates the edge's two forwarding verdicts
        out = {n.name: {k: v for k, v in lab.drop_counters(n.name).items()
                        if k not in FORWARDED} for n in lab.topo.nodes}
        c = lab.counters(EDGE)
        out[f"{EDGE} forwarded"] = {k: c.get(k, 0) for k in FORWARDED}
        dead = lab.check_agents_alive()
        if dead:
            out["agents died"] = dead
        return out
    return {}


def main() -> int:
    """Builds one topology and waits, for poking at by hand."""
    import argparse
    import sys
    import time

    import weftlab
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("key", choices=KEYS)
    ap.add_argument("--build-dir", default="build")
    args = ap.parse_args()
    weftlab.install_signal_handlers()
    with contextlib.ExitStack() as stack:
        lab = build(args.key, args, stack)
        print(json.dumps({"c1": f"ip netns exec {lab.ns(CLIENT)}",
                          "hv1": f"ip netns exec {lab.ns(HV)}",
                          "edge1": f"ip netns exec {lab.ns(EDGE)}",
                          "upstream": f"ip netns exec {upstream_ns(lab)}"}, indent=1))
        print("up; Ctrl-C tears it down", file=sys.stderr)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
