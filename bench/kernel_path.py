#!/usr/bin/python3
"""The kernel-only baseline the benchmarks compare Weft against, and the one
topology every benchmark run uses (bench/run.py imports this module).

Topology (weftlab, lab/weftlab/): two hypervisor namespaces hv1, hv2 joined by
an underlay bridge namespace, VMs in namespaces on veths. Two tenants with
overlapping subnets, so the per-tenant machinery is really exercised:

  tenant A (id 1): a-web 10.0.1.0/24 VNI 1001, a-db 10.0.2.0/24 VNI 1002
  tenant B (id 2): b-web 10.0.1.0/24 VNI 2001, b-db 10.0.2.0/24 VNI 2002
  hv1: c1 (A web 10.0.1.10, the client)  l1 (A db 10.0.2.10)  b1 (B web 10.0.1.10)
  hv2: r1 (A db 10.0.2.11)                b2 (B db 10.0.2.11)
  cross-host routed: c1 -> r1 10.0.2.11;  same-host routed: c1 -> l1 10.0.2.10

MTU: the VMs' MTU is 1450 and the underlay's 1500 (the usual vxlan-device
arithmetic, 1500 - 50), the same for Weft and for the kernel path.

Kernel path (weftlab mode="kernel" + the firewall below), per hypervisor:
  - per segment a Linux vxlan device (static FDB, no learning) enslaved to a
    bridge with the VMs' host-side veths; the bridge holds the anycast gateway
    IP and MAC;
  - tenants as per-tenant routing tables (100 + tenant id) selected by
    `ip rule iif br<vni>`, with `unreachable default` at the end of each
    (this kernel has no VRF device);
  - nftables: conntrack zone = tenant id, set at prerouting (raw priority)
    from the input interface (VM port, bridge or vxlan device); a stateful
    forward chain, policy drop: ct established,related accept, ct invalid
    drop, and two allow rules for new flows (TCP to the benchmark ports,
    ICMP echo). br_netfilter (bridge-nf-call-iptables=1, this kernel's
    default) makes bridged packets cross the same hooks, so each host's
    conntrack sees both directions of a flow even though the distributed
    router routes each direction on its sender.

    sudo bench/kernel_path.py            # build it, print the namespaces, wait for Ctrl-C
    sudo bench/kernel_path.py --no-firewall
"""

from __future__ import annotations

import argparse
import re
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lab"))

from weftlab import (VM, Lab, Node, Tenant, Topology, with_dual_stack,  # noqa: E402
                     with_ipv6_underlay)
from weftlab.topology import LINUX_VXLAN6_MTU, overlapping_segments, vm_mac  # noqa: E402
from weftlab.ns import ns_run  # noqa: E402

VM_MTU = 1450
BENCH_PORTS = (5201, 7000)  # iperf3, request/response
# The IPv6 twin of the rules' 10.0.0.0/8: the ULA space the dual-stack
# tenants' prefixes (fd00:0:0:<n>::/64, weftlab.with_dual_stack) come from.
TENANT_NET6 = "fd00::/8"
CLIENT = "c1"
CROSS_HOST = "r1"
SAME_HOST = "l1"


def bench_topology() -> Topology:
    nodes = [Node("hv1", "198.18.0.1"), Node("hv2", "198.18.0.2")]
    tenants = [Tenant("A", 1), Tenant("B", 2)]
    segments = overlapping_segments(tenants)

    def vm(name, seg, ip, tid, sidx, host, node):
        return VM(name, seg, ip, vm_mac(tid, sidx, host), node, mtu=VM_MTU)

    vms = [vm("c1", "a-web", "10.0.1.10", 1, 1, 10, "hv1"),
           vm("l1", "a-db", "10.0.2.10", 1, 2, 10, "hv1"),
           vm("b1", "b-web", "10.0.1.10", 2, 1, 10, "hv1"),
           vm("r1", "a-db", "10.0.2.11", 1, 2, 11, "hv2"),
           vm("b2", "b-db", "10.0.2.11", 2, 2, 11, "hv2")]
    topo = Topology(nodes, tenants, segments, vms, [])
    topo.validate()
    return topo


def firewall_ruleset(topo: Topology, node: str) -> str:
    """The nftables rule set of one kernel-path hypervisor."""
    zone_of = {}
    tenants_here = {topo.tenant_of(v).name for v in topo.vms_on(node)}
    for seg in topo.segments:
        if seg.tenant in tenants_here:
            tid = topo.tenant(seg.tenant).id
            zone_of[f"br{seg.vni}"] = tid
            zone_of[f"vxlan{seg.vni}"] = tid
    for v in topo.vms_on(node):
        zone_of[v.interface] = topo.tenant_of(v).id
    zmap = ", ".join(f'"{k}" : {v}' for k, v in sorted(zone_of.items()))
    ports = ", ".join(str(p) for p in BENCH_PORTS)
    # dual-stack tenants: the same two allow rules for IPv6 (the table is
    # inet: zones and conntrack already cover both families)
    ip6_rules = f"""
    ip6 saddr {TENANT_NET6} tcp dport {{ {ports} }} ct state new counter accept
    icmpv6 type echo-request ct state new counter accept""" if topo.dual_stack() else ""
    return f"""
table inet weftbench {{
  chain zones {{
    type filter hook prerouting priority raw; policy accept;
    ct zone set iifname map {{ {zmap} }}
  }}
  chain forward {{
    type filter hook forward priority filter; policy drop;
    ct state established,related counter accept
    ct state invalid counter drop
    ip saddr 10.0.0.0/8 tcp dport {{ {ports} }} ct state new counter accept
    icmp type echo-request ct state new counter accept{ip6_rules}
    counter comment "dropped by policy"
  }}
}}
"""


def weft_firewall_state(topo: Topology) -> str:
    """The Weft state of `topo` with the firewall equivalent of
    firewall_ruleset(): every tenant default deny; tenant A's endpoints admit
    new TCP flows to the benchmark ports from 10/8 and ICMP echo, and may
    open them. Replies ride conntrack. Dual-stack tenants: the same for IPv6
    peers (TENANT_NET6; an ICMP rule without a type, which is what admits
    ICMPv6 echo, limited to IPv6 peers). JSON, which the agent's YAML reader
    takes as is (flow style)."""
    import json
    st = topo.state_dict()
    for t in st["tenants"]:
        t["default_action"] = "deny"
    ports = [str(p) for p in BENCH_PORTS]
    dual = topo.dual_stack()
    st["policies"] = [{
        "name": "bench-a", "tenant": "A",
        "applied_to": {"endpoints": [v.name for v in topo.vms if topo.tenant_of(v).name == "A"]},
        "rules": [
            {"direction": "ingress",
             "peer": {"cidrs": ["10.0.0.0/8"] + ([TENANT_NET6] if dual else [])},
             "protocol": "tcp", "ports": ports, "action": "allow"},
            {"direction": "ingress", "protocol": "icmp", "icmp_type": 8, "action": "allow"},
            {"direction": "egress", "protocol": "tcp", "ports": ports, "action": "allow"},
            {"direction": "egress", "protocol": "icmp", "icmp_type": 8, "action": "allow"},
        ] + ([
            {"direction": d, "peer": {"cidrs": [TENANT_NET6]}, "protocol": "icmp",
             "action": "allow"} for d in ("ingress", "egress")] if dual else [])}]
    return json.dumps(st, indent=1) + "\n"


# --- many rules: the firewall benchmark (docs/BENCHMARKS.md "Firewall") -------------

FILLER_PORTS = (22, 53, 80, 443, 3306, 5432, 5201, 6379, 7000, 8080, 8443, 9090)


def filler_rule(i: int) -> tuple[str, int]:
    """The i-th rule that the measured flows (c1 10.0.1.10 <-> r1/l1, TCP
    5201/7000, ICMP echo) never match: source (the peer) a /28 of
    172.16.0.0/12, destination 10/8, TCP to a port of a short list (the
    benchmark ports among them: the source is what fails)."""
    base = (172 << 24) | (16 << 16)
    a = base + 16 * i
    cidr = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/28"
    return cidr, FILLER_PORTS[i % len(FILLER_PORTS)]


def big_firewall_ruleset(topo: Topology, node: str, rules: int, kind: str) -> str:
    """The kernel path's rule set with `rules` allow rules, for the measured
    flows the worst case of a linear list: rules - 2 fillers
    (filler_rule) that never match, then ICMP echo, then the rule that
    admits the benchmark's TCP (last). kind "linear": one nftables rule
    each, and `ct state established,related accept` AFTER them, so every
    packet of the measured flows (both directions) walks the whole list:
    the rule set is a per-packet classifier, as it is for Weft's
    conntrack-less baseline and in docs/ARCHITECTURE.md §7's 10,000-rule measurement.
    kind "set": the same rules as one concatenated interval set
    (saddr . daddr . dport, pipapo) looked up by one rule, in the same
    place. Zones and the rest as firewall_ruleset."""
    head = firewall_ruleset(topo, node).split("  chain forward")[0]
    ports = ", ".join(str(p) for p in BENCH_PORTS)
    fillers = [filler_rule(i) for i in range(max(0, rules - 2))]
    if kind == "linear":
        body = "\n".join(f"    ip saddr {c} ip daddr 10.0.0.0/8 tcp dport {p} accept"
                         for c, p in fillers)
        classify = f"""{body}
    icmp type echo-request ct state new counter accept
    ip saddr 10.0.0.0/8 tcp dport {{ {ports} }} counter accept"""
        sets = ""
    elif kind == "set":
        elems = [f"{c} . 10.0.0.0/8 . {p}" for c, p in fillers]
        elems += [f"10.0.0.0/8 . 10.0.0.0/8 . {p}" for p in BENCH_PORTS]
        sets = f"""  set allow_tcp {{
    type ipv4_addr . ipv4_addr . inet_service; flags interval;
    elements = {{ {", ".join(elems)} }}
  }}
"""
        classify = """    icmp type echo-request ct state new counter accept
    ip saddr . ip daddr . tcp dport @allow_tcp counter accept"""
    else:
        raise ValueError(kind)
    return f"""{head}{sets}  chain forward {{
    type filter hook forward priority filter; policy drop;
    ct state invalid counter drop
{classify}
    ct state established,related counter accept
    counter comment "dropped by policy"
  }}
}}
"""


def weft_many_rules_state(topo: Topology, rules: int) -> str:
    """weft_firewall_state with `rules` rules: rules - 4 fillers
    (filler_rule, alternately ingress and egress, the /28 as the peer),
    then ICMP echo in and out, then TCP to the benchmark ports from 10/8
    (ingress, rule rules - 2) and to 10/8 (egress, the last rule): the
    measured flows are decided by the last rules of their direction, the
    worst case for a first-match scan. Tenants default deny."""
    import json
    st = json.loads(weft_firewall_state(topo))
    ports = [str(p) for p in BENCH_PORTS]
    rl = []
    for i in range(max(0, rules - 4)):
        cidr, port = filler_rule(i)
        rl.append({"direction": "ingress" if i % 2 else "egress", "peer": {"cidrs": [cidr]},
                   "protocol": "tcp", "ports": [str(port)], "action": "allow"})
    rl += [{"direction": "ingress", "protocol": "icmp", "icmp_type": 8, "action": "allow"},
           {"direction": "egress", "protocol": "icmp", "icmp_type": 8, "action": "allow"},
           {"direction": "ingress", "peer": {"cidrs": ["10.0.0.0/8"]}, "protocol": "tcp",
            "ports": ports, "action": "allow"},
           {"direction": "egress", "peer": {"cidrs": ["10.0.0.0/8"]}, "protocol": "tcp",
            "ports": ports, "action": "allow"}]
    st["policies"][0]["rules"] = rl[-rules:] if rules < 4 else rl
    return json.dumps(st) + "\n"


def firewall_counters(lab: Lab, node: str, big: bool = False) -> dict[str, int]:
    """Packets counted by the forward chain's rules: established, invalid,
    new_tcp, new_icmp, policy_drop (big_firewall_ruleset: invalid, new_icmp,
    tcp_last_rule, established, policy_drop)."""
    out = lab.exec(node, ["nft", "list", "chain", "inet", "weftbench", "forward"],
                   timeout=120).stdout
    counts = [int(x) for x in re.findall(r"counter packets (\d+)", out)]
    names = (["invalid", "new_icmp", "tcp_last_rule", "established", "policy_drop"] if big else
             ["established", "invalid", "new_tcp", "new_icmp"]
             + (["new_tcp6", "new_icmp6"] if lab.topo.dual_stack() else []) + ["policy_drop"])
    return dict(zip(names, counts))


def add_firewall(lab: Lab, ruleset=None) -> None:
    ruleset = ruleset or firewall_ruleset
    for node in lab.topo.weft_nodes():
        ns = lab.ns(node.name)
        ns_run(ns, ["sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1",
                    *(["net.bridge.bridge-nf-call-ip6tables=1"] if lab.topo.dual_stack()
                      else [])])
        ns_run(ns, ["nft", "-f", "-"], input=ruleset(lab.topo, node.name), timeout=300)


def underlay6_topology() -> Topology:
    """bench_topology() on an IPv6-only underlay, every VM at the MTU that
    70 bytes of outer headers leave (for both paths: the kernel's bridge would
    drop, not refuse, a larger frame)."""
    topo = with_ipv6_underlay(bench_topology())
    for v in topo.vms:
        v.mtu = LINUX_VXLAN6_MTU
    return topo


def tenants6_topology(underlay6: bool = False) -> Topology:
    """bench_topology() (underlay6: underlay6_topology()) with dual-stack
    tenants (weftlab.with_dual_stack): c1 fd00:0:0:1::10, l1 fd00:0:0:2::10,
    r1 fd00:0:0:2::11 beside their IPv4 addresses, the MTUs unchanged."""
    return with_dual_stack(underlay6_topology() if underlay6 else bench_topology())


def kernel_lab(firewall: bool = True, verbose: bool = False, rules: int = 0,
               kind: str = "linear", topology: Topology | None = None) -> Lab:
    """An unbuilt kernel-path Lab; use as `with kernel_lab() as lab:` (the
    firewall is added on enter). rules > 0: big_firewall_ruleset(rules,
    kind) instead of the four-rule firewall_ruleset. `topology`: another
    than bench_topology() (underlay6_topology())."""
    lab = Lab(topology or bench_topology(), mode="kernel", verbose=verbose)
    ruleset = None
    if rules > 0:
        def ruleset(topo, node):
            return big_firewall_ruleset(topo, node, rules, kind)
    if firewall:
        orig_build = lab.build

        def build():
            orig_build()
            try:
                add_firewall(lab, ruleset)
            except BaseException:
                lab.teardown()
                raise
            return lab
        lab.build = build
    return lab


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-firewall", action="store_true")
    args = ap.parse_args()
    import weftlab
    weftlab.install_signal_handlers()
    with kernel_lab(firewall=not args.no_firewall, verbose=True) as lab:
        for n in lab.topo.nodes:
            print(f"{n.name}: ip netns exec {lab.ns(n.name)} ...")
        for v in lab.topo.vms:
            print(f"{v.name} {v.ip}: ip netns exec {lab.ns(v.name)} ...")
        r = lab.ping(CLIENT, lab.topo.vm(CROSS_HOST).ip)
        print(f"c1 -> r1 ping: {r.received}/{r.transmitted}")
        print("up; Ctrl-C tears it down")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
