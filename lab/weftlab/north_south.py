"""North-south in the lab (docs/NORTH_SOUTH.md "Lab"): two edges, the
provider's router and one site per customer, added to a lab's topology.

Layout (every namespace under the lab's prefix):
  <p>edge1, <p>edge2  edges (role edge) on the underlay, 198.18.0.11 and .12;
                      each has one trunk veth `trunk` to the provider. The
                      edge's agent makes the uplinks on it: VLAN 101 (tenant
                      A) and 102 (tenant B) subinterfaces with the transit
                      addresses (docs/NORTH_SOUTH.md)
  <p>prov             the provider's router, BIRD 2: e1, e2 are the trunks'
                      far ends, e1.101 ... their VLANs with the provider's
                      transit addresses; one routing context per customer
                      without VRF devices (BIRD table custA -> kernel table
                      101, `ip rule iif <link> lookup 101` for each of A's
                      links); an eBGP session per uplink (hold 3 s,
                      keepalive 1 s); the site's LAN as a static route in
                      the customer's table, announced to its edges
  <p>sitea, <p>siteb  a customer's site router: eth0, a point-to-point link
                      to the provider (172.31.<tenant id>.0/30), lan0 the
                      site's LAN 10.200.0.0/24 (10.200.0.1)
  <p>hosta, <p>hostb  the site's host, 10.200.0.10/24 in both sites; its
                      TCP responder (the lab's whoami) answers its name
Both edges carry both tenants (ECMP, active/active).

A kernel without 802.1Q (CONFIG_VLAN_8021Q unset, as on the lab machine
this was written on) cannot make VLAN devices: then each uplink is a plain
link of its own, `up<tenant>` on the edge (e1a, e1b ... at the provider),
untagged, and everything else is the same (`kernel_has_vlans`)."""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import time
from dataclasses import dataclass

from .lab import Lab
from .ns import LabError, ip, ip_batch, ns_run, wait_for
from .provider_router import BgpSession, ProviderRouter, RoutingContext, customer_rules
from .topology import Node, Route, Topology, Uplink

PROVIDER_AS = 64500
PROVIDER_NS = "prov"
TRUNK = "trunk"  # the edge's one link to the provider, when uplinks are VLANs
SITE_LAN = "10.200.0.0/24"
SITE_HOST = "10.200.0.10"
SITE_GATEWAY = "10.200.0.1"  # the site router's address on the LAN
HOLD_TIME, KEEPALIVE = 3, 1
# (name, VTEP, the provider's end of its trunk)
EDGES = (("edge1", "198.18.0.11", "e1"), ("edge2", "198.18.0.12", "e2"))
# tenant -> (VLAN, local AS, index in the transit plan)
CUSTOMERS = {"A": (101, 65001, 0), "B": (102, 65002, 1)}
TOOLS = ("bird", "birdc", "gobgpd")


@dataclass(frozen=True)
class Customer:
    tenant: str
    tenant_id: int
    vlan: int
    local_as: int
    index: int

    @property
    def table(self) -> str:       # BIRD's
        return f"cust{self.tenant}"

    @property
    def kernel_table(self) -> int:
        return 100 + self.tenant_id

    @property
    def site(self) -> str:        # the site router's namespace under the lab's prefix
        return f"site{self.tenant.lower()}"

    @property
    def host(self) -> str:        # the site host's namespace (SITE_HOST)
        return f"host{self.tenant.lower()}"

    @property
    def site_link(self) -> tuple[str, str]:
        """(provider's address, site's address) on the site link, /30."""
        return f"172.31.{self.tenant_id}.1", f"172.31.{self.tenant_id}.2"


def transit(customer: Customer, edge_index: int) -> tuple[str, str, str]:
    """(transit /30, provider's address, edge's address): one /30 per
    (tenant, edge), distinct, so the provider's main table holds them all."""
    net = ipaddress.ip_network(f"192.0.2.{8 * customer.index + 4 * edge_index}/30")
    return str(net), str(net.network_address + 1), str(net.network_address + 2)


def kernel_has_vlans() -> bool:
    """802.1Q built in (/proc/net/vlan) or available as a module."""
    release = os.uname().release
    return os.path.isdir("/proc/net/vlan") or any(
        os.path.exists(f"/lib/modules/{release}/kernel/net/8021q/8021q.ko{ext}")
        for ext in ("", ".xz", ".zst", ".gz"))


def customers(topo: Topology) -> list[Customer]:
    return [Customer(t, topo.tenant(t).id, vlan, asn, idx)
            for t, (vlan, asn, idx) in CUSTOMERS.items()]


def transit_segment(topo: Topology, tenant: str) -> str:
    """The tenant's segment with the lowest VNI: what hypervisors use towards the edges."""
    return min((s for s in topo.segments if s.tenant == tenant), key=lambda s: s.vni).name


def uplink_name(tenant: str, edge: str) -> str:
    return f"{tenant.lower()}-{edge}"


def edge_link(c: Customer, vlans: bool) -> str:
    """The uplink's link on the edge, as the state names it."""
    return TRUNK if vlans else f"up{c.tenant.lower()}"


def add_north_south(topo: Topology, vlans: bool | None = None,
                    static_site_routes: bool = False) -> Topology:
    """Adds the edges, one uplink per (tenant, edge) -- a VLAN of the
    edge's trunk, or a link of its own if `vlans` is False (default: what
    the kernel can do) --, and A's aggregate announced. The hypervisors'
    routes to the sites are those the controller makes of what both edges
    learn from the provider over BGP (docs/NORTH_SOUTH.md); agents without
    a controller learn nothing, so for them `static_site_routes` writes
    Route{tenant, SITE_LAN, nodes: the edges, segment: the transit segment}
    in the state instead."""
    vlans = kernel_has_vlans() if vlans is None else vlans
    for name, vtep, _ in EDGES:
        topo.nodes.append(Node(name, vtep, role="edge"))
    for c in customers(topo):
        for i, (edge, _, _) in enumerate(EDGES):
            net, provider_addr, edge_addr = transit(c, i)
            topo.uplinks.append(Uplink(
                uplink_name(c.tenant, edge), edge, c.tenant, edge_link(c, vlans), net,
                edge_addr, provider_addr, PROVIDER_AS, c.local_as,
                vlan=c.vlan if vlans else None, hold_time=HOLD_TIME,
                keepalive=KEEPALIVE))
        if static_site_routes:
            topo.routes.append(Route(c.tenant, SITE_LAN, nodes=[e for e, _, _ in EDGES],
                                     segment=transit_segment(topo, c.tenant)))
    for r in topo.routes:
        if r.tenant == "A" and r.blackhole:
            r.advertise = True  # a prefix of A's own beside its segments: A's table only
    topo.validate()
    return topo


def missing_tools() -> list[str]:
    return [t for t in TOOLS if not shutil.which(t, path=os.environ.get("PATH", "")
                                                 + ":/usr/sbin:/usr/bin")]


class NorthSouth:
    """The provider and the sites of a lab whose topology went through
    add_north_south. build() after the lab's build and before the agents
    start (the trunks must exist: the agent refuses an uplink whose link is
    missing). The namespaces are the lab's: its teardown ends BIRD with them."""

    def __init__(self, lab: Lab):
        self.lab = lab
        self.customers = customers(lab.topo)
        self.provider: ProviderRouter | None = None
        self.uplinks_by = None  # "agent" or "lab", once ensure_uplinks ran
        self.vlans = any(u.vlan is not None for u in lab.topo.uplinks)

    def uplink_device(self, c: Customer) -> str:
        """The uplink's interface on an edge: the VLAN device or the link."""
        link = edge_link(c, self.vlans)
        return f"{link}.{c.vlan}" if self.vlans else link

    def provider_device(self, c: Customer, far: str) -> str:
        """The provider's interface of that uplink (`far`: the edge's trunk end)."""
        return f"{far}.{c.vlan}" if self.vlans else f"{far}{c.tenant.lower()}"

    # --- building ------------------------------------------------------------
    def build(self) -> None:
        lab = self.lab
        prov = lab.ns(PROVIDER_NS)
        lab._add_ns(prov)
        ns_run(prov, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
                      "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"])
        cmds, contexts, sessions = [], [], []
        for edge, _, far in EDGES if self.vlans else ():
            self._veth(edge, TRUNK, far)
            cmds.append(f"link set {far} up")
        for c in self.customers:
            links = []
            for i, (edge, _, far) in enumerate(EDGES):
                net, provider_addr, edge_addr = transit(c, i)
                dev = self.provider_device(c, far)
                links.append(dev)
                if self.vlans:
                    cmds.append(f"link add link {far} name {dev} type vlan id {c.vlan}")
                else:
                    self._veth(edge, edge_link(c, False), dev)
                cmds += [f"addr add {provider_addr}/30 dev {dev}", f"link set {dev} up"]
                sessions.append(BgpSession(
                    self.session_name(c.tenant, edge), provider_addr,
                    PROVIDER_AS, edge_addr, c.local_as, table=c.table, hold_time=HOLD_TIME,
                    keepalive=KEEPALIVE, export="where source = RTS_STATIC"))
            self._build_site(c, prov)
            links.append(c.site)
            provider_side, site_side = c.site_link
            cmds += [f"addr add {provider_side}/30 dev {c.site}", f"link set {c.site} up"]
            contexts.append(RoutingContext(c.table, c.kernel_table, links,
                                           {SITE_LAN: site_side}))
        ip_batch(prov, cmds)
        if lab.underlay_hook == "xdp":
            # the edges' XDP hook redirects into their links: NAPI (GRO) on the receiving end
            for _, _, far in EDGES:
                for dev in [far] if self.vlans else [self.provider_device(c, far)
                                                     for c in self.customers]:
                    lab._gro_on(prov, dev)
        for ctx in contexts:
            ip_batch(prov, customer_rules(ctx))
        self.provider = ProviderRouter(prov, lab.dir, "198.51.100.1", sessions, contexts)

    def _veth(self, edge: str, name: str, far: str) -> None:
        """A link of the edge (`name`, up: the operator's) to the provider (`far`)."""
        ip(self.lab.ns(edge), "link", "add", name, "type", "veth", "peer", "name", far,
           "netns", self.lab.ns(PROVIDER_NS))
        ip(self.lab.ns(edge), "link", "set", name, "up")

    def _build_site(self, c: Customer, prov: str) -> None:
        """The site's router (eth0 to the provider, lan0 on the LAN) and its host."""
        lab = self.lab
        router, host = lab.ns(c.site), lab.ns(c.host)
        lab._add_ns(router)
        lab._add_ns(host)
        ns_run(router, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        ip(prov, "link", "add", c.site, "type", "veth", "peer", "name", "eth0", "netns", router)
        ip(router, "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", host)
        provider_side, site_side = c.site_link
        ip_batch(router, [f"addr add {site_side}/30 dev eth0", "link set eth0 up",
                          f"addr add {SITE_GATEWAY}/24 dev lan0", "link set lan0 up",
                          f"route add default via {provider_side}"])
        ip_batch(host, [f"addr add {SITE_HOST}/24 dev eth0", "link set eth0 up",
                        f"route add default via {SITE_GATEWAY}"])

    # --- uplinks on the edges -------------------------------------------------
    def _uplink_configured(self, edge: str, c: Customer, edge_address: str) -> bool:
        cp = self.lab.exec(edge, ["ip", "-o", "-4", "addr", "show", "dev",
                                  self.uplink_device(c)])
        return cp.returncode == 0 and f" {edge_address}/" in cp.stdout

    def ensure_uplinks(self, grace: float = 1.0) -> str:
        """After the edges' agents are ready: "agent" if they made the
        uplinks' VLAN devices and transit addresses (the agent's job),
        else the lab makes them as an operator would have to ("lab") and says
        so, so the BGP rows still run on an agent that does not."""
        def all_there():
            return all(self._uplink_configured(edge, c, transit(c, i)[2])
                       for c in self.customers for i, (edge, _, _) in enumerate(EDGES))
        try:
            wait_for(all_there, grace, what="the agents' uplinks")
            self.uplinks_by = "agent"
        except LabError:
            for c in self.customers:
                for i, (edge, _, _) in enumerate(EDGES):
                    if self._uplink_configured(edge, c, transit(c, i)[2]):
                        continue
                    dev = self.uplink_device(c)
                    if self.vlans:
                        ip(self.lab.ns(edge), "link", "add", "link", TRUNK, "name", dev,
                           "type", "vlan", "id", str(c.vlan), check=False)
                    ip_batch(self.lab.ns(edge), [f"addr add {transit(c, i)[2]}/30 dev {dev}",
                                                 f"link set {dev} up"])
            self.uplinks_by = "lab"
        return self.uplinks_by

    def uplink_program(self, edge: str, c: Customer) -> bool:
        """A TC program on the uplink's ingress: the edge datapath is there."""
        return bool(self.lab.tc_filters(edge, self.uplink_device(c)))

    # --- the provider's view --------------------------------------------------
    def customer(self, tenant: str) -> Customer:
        return next(c for c in self.customers if c.tenant == tenant)

    @staticmethod
    def session_name(tenant: str, edge: str) -> str:
        """The provider's BGP protocol of the uplink of `tenant` on `edge`."""
        return f"bgp_{uplink_name(tenant, edge).replace('-', '_')}"

    def established(self) -> dict[str, bool]:
        return self.provider.established()

    def session_since(self) -> dict[str, float]:
        """{session: wall-clock time of its last state change} (BIRD's
        `show protocols` "Since", printed as epoch seconds with ms)."""
        out = {}
        for line in self.provider.birdc("show", "protocols").splitlines():
            words = line.split()
            if len(words) >= 5 and words[0].startswith("bgp_"):
                try:
                    out[words[0]] = float(words[4])
                except ValueError:
                    pass
        return out

    def table(self, tenant: str) -> set[str]:
        """Prefixes in the customer's BIRD table (BGP-learned and its own)."""
        return self.provider.prefixes(self.customer(tenant).table)

    def learned_from(self, tenant: str, edge: str) -> set[str]:
        """Prefixes the customer's table holds from that edge's session."""
        out = set()
        for line in self.provider.routes(table=self.customer(tenant).table,
                                         protocol=self.session_name(tenant, edge)).splitlines():
            word = line.split(" ", 1)[0]
            if "/" in word:
                out.add(word)
        return out

    def site_route_edges(self, node: str, tenant: str) -> list[str]:
        """The edges (sorted) through which node's weft_routes sends the
        tenant's traffic to its site; [] without that route."""
        names = {vtep: edge for edge, vtep, _ in EDGES}
        hops = self.lab.route_next_hops(node, self.customer(tenant).tenant_id, SITE_LAN)
        return sorted(names.get(h, h) for h in hops or [])

    def kernel_nexthops(self, tenant: str, prefix: str) -> list[str]:
        """Gateways of `prefix` in the customer's kernel table (ECMP: several)."""
        cp = self.lab.exec(PROVIDER_NS, ["ip", "route", "show", prefix, "table",
                                         str(self.customer(tenant).kernel_table)])
        return re.findall(r"via (\S+)", cp.stdout)


class Pinger:
    """`ping -D` in the background from namespace `name` of the lab, every
    `interval` s: when the first reply came, when the last one."""

    def __init__(self, lab: Lab, name: str, dst: str, interval: float = 0.1,
                 seconds: float = 60.0):
        self.proc, self.out, _ = lab.spawn(
            lab.ns(name), ["ping", "-D", "-n", "-i", str(interval), "-W", "1",
                           "-w", str(int(seconds)), dst], f"ping-{name}-{time.monotonic_ns()}")
        self.interval = interval

    def replies(self) -> list[float]:
        return [t for t, _ in self.replies_seq()]

    def replies_seq(self) -> list[tuple[float, int]]:
        """(wall-clock time, icmp_seq) of each reply so far."""
        with open(self.out) as f:
            return [(float(m.group(1)), int(m.group(2))) for m in re.finditer(
                r"^\[(\d+\.\d+)\] \d+ bytes from .*?icmp_seq=(\d+)", f.read(), re.M)]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


def wait_prefix(ns: NorthSouth, tenant: str, prefix: str, present: bool, since: float,
                timeout: float = 15.0) -> float | None:
    """Polls the customer's table on the provider (every 20 ms) until
    `prefix` is there (present) or gone; seconds from `since` (a
    time.monotonic()), or None after `timeout`."""
    deadline = since + timeout
    while True:
        if (prefix in ns.table(tenant)) == present:
            return time.monotonic() - since
        if time.monotonic() > deadline:
            return None
        time.sleep(0.02)  # poll interval
