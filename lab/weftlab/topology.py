"""The lab's description of a fleet: nodes, tenants, segments, VMs, routes,
and the firewall: groups, policies and their rules, tenant default actions.

One source of truth: the namespaces and links the lab builds, the plain Linux
vxlan host's FDB and the agents' state file (see `state_dict`/`state_yaml`)
are all derived from a Topology.
"""

from __future__ import annotations

import copy
import ipaddress
import json
from dataclasses import dataclass, field


@dataclass
class Node:
    name: str
    vtep: str              # underlay address (eth0 of the hypervisor namespace), IPv4 or IPv6
    foreign: bool = False  # plain Linux vxlan host, no agent
    role: str = "hypervisor"  # or "edge": carries uplinks (docs/NORTH_SOUTH.md)


@dataclass
class Tenant:
    name: str
    id: int
    default_action: str = "allow"  # firewall: "allow" or "deny" when no rule matches


@dataclass
class Segment:
    name: str
    tenant: str
    vni: int
    subnet: str        # "10.0.1.0/24"
    gateway: str       # "10.0.1.1"
    gateway_mac: str   # anycast, the same on every host
    subnet6: str | None = None    # dual stack: a /64, "fd00:0:0:1::/64"
    gateway6: str | None = None   # its gateway, "fd00:0:0:1::1"

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.subnet).prefixlen

    @property
    def prefixlen6(self) -> int:
        return ipaddress.ip_network(self.subnet6).prefixlen

    @property
    def gateway6_link_local(self) -> str:
        """The gateway's link-local address, the one router advertisements
        come from: fe80::/64 with the modified EUI-64 of gateway_mac."""
        return link_local_of(self.gateway_mac)

    def state_dict(self) -> dict:
        d = {"name": self.name, "tenant": self.tenant, "vni": self.vni,
             "subnet": self.subnet, "gateway": self.gateway, "gateway_mac": self.gateway_mac}
        if self.subnet6 is not None:
            d["subnet6"] = self.subnet6
        if self.gateway6 is not None:
            d["gateway6"] = self.gateway6
        return d


@dataclass
class VM:
    """A VM: a namespace with eth0; its endpoint in the state."""
    name: str
    segment: str
    ip: str
    mac: str
    node: str
    mtu: int = 1500
    groups: list[str] = field(default_factory=list)  # firewall groups of its tenant
    ip6: str | None = None  # dual stack: in its segment's subnet6

    def addresses(self) -> list[str]:
        """ip, then ip6 when it has one."""
        return [self.ip] + ([self.ip6] if self.ip6 else [])

    @property
    def interface(self) -> str:
        """Host-side interface name in the hypervisor namespace."""
        return f"v{self.name}"


@dataclass
class Route:
    tenant: str
    prefix: str
    nodes: list[str] = field(default_factory=list)
    segment: str | None = None
    blackhole: bool = False
    advertise: bool = False  # announced upstream by the tenant's uplinks


@dataclass
class Uplink:
    """One tenant's way out through one edge: a VLAN of a link on the edge,
    a point-to-point transit and an eBGP session to the provider's router."""
    name: str
    node: str
    tenant: str
    interface: str
    transit: str        # "192.0.2.0/30"
    address: str        # the edge's address in transit
    peer: str           # the provider's address in transit, the BGP neighbor
    peer_as: int
    local_as: int
    vlan: int | None = None
    hold_time: int | None = None
    keepalive: int | None = None

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.transit).prefixlen

    def state_dict(self) -> dict:
        d: dict = {"name": self.name, "node": self.node, "tenant": self.tenant,
                   "interface": self.interface}
        if self.vlan is not None:
            d["vlan"] = self.vlan
        d.update({"transit": self.transit, "address": self.address, "peer": self.peer,
                  "peer_as": self.peer_as, "local_as": self.local_as})
        if self.hold_time is not None:
            d["hold_time"] = self.hold_time
        if self.keepalive is not None:
            d["keepalive"] = self.keepalive
        return d


@dataclass
class Group:
    """A named set of a tenant's endpoints (members: VM.groups)."""
    name: str
    tenant: str


@dataclass
class Rule:
    """One firewall rule (docs/FIREWALL.md). peer_cidrs/peer_groups both
    empty: any peer. ports: ints or "first-last" strings, TCP/UDP only."""
    direction: str                 # "ingress" | "egress"
    action: str                    # "allow" | "deny" | "reject"
    protocol: str = "any"          # "any" | "tcp" | "udp" | "icmp"
    ports: list = field(default_factory=list)
    peer_cidrs: list[str] = field(default_factory=list)
    peer_groups: list[str] = field(default_factory=list)
    icmp_type: int | None = None
    log: bool = False

    def state_dict(self) -> dict:
        d: dict = {"direction": self.direction}
        peer = {}
        if self.peer_cidrs:
            peer["cidrs"] = list(self.peer_cidrs)
        if self.peer_groups:
            peer["groups"] = list(self.peer_groups)
        if peer:
            d["peer"] = peer
        if self.protocol != "any":
            d["protocol"] = self.protocol
        if self.ports:
            d["ports"] = [str(p) for p in self.ports]
        if self.icmp_type is not None:
            d["icmp_type"] = self.icmp_type
        d["action"] = self.action
        if self.log:
            d["log"] = True
        return d


@dataclass
class Policy:
    """Rules applied to a tenant's endpoints named directly (VM names) or
    through their groups. Lower priority first; first match decides."""
    name: str
    tenant: str
    rules: list[Rule] = field(default_factory=list)
    applied_to_groups: list[str] = field(default_factory=list)
    applied_to_endpoints: list[str] = field(default_factory=list)
    priority: int | None = None

    def state_dict(self) -> dict:
        applied = {}
        if self.applied_to_groups:
            applied["groups"] = list(self.applied_to_groups)
        if self.applied_to_endpoints:
            applied["endpoints"] = list(self.applied_to_endpoints)
        d: dict = {"name": self.name, "tenant": self.tenant}
        if self.priority is not None:
            d["priority"] = self.priority
        d["applied_to"] = applied
        d["rules"] = [r.state_dict() for r in self.rules]
        return d


@dataclass
class Topology:
    nodes: list[Node]
    tenants: list[Tenant]
    segments: list[Segment]
    vms: list[VM]
    routes: list[Route] = field(default_factory=list)
    version: int = 1
    groups: list[Group] = field(default_factory=list)
    policies: list[Policy] = field(default_factory=list)
    uplinks: list[Uplink] = field(default_factory=list)

    # --- lookups ---------------------------------------------------------
    def node(self, name: str) -> Node:
        return _find(self.nodes, name, "node")

    def tenant(self, name: str) -> Tenant:
        return _find(self.tenants, name, "tenant")

    def segment(self, name: str) -> Segment:
        return _find(self.segments, name, "segment")

    def vm(self, name: str) -> VM:
        return _find(self.vms, name, "vm")

    def policy(self, name: str) -> Policy:
        return _find(self.policies, name, "policy")

    def set_policies(self, policies: list[Policy]) -> None:
        """Replaces the firewall policies and bumps the state version."""
        self.policies = list(policies)
        self.version += 1

    def tenant_of(self, vm: VM | str) -> Tenant:
        vm = self.vm(vm) if isinstance(vm, str) else vm
        return self.tenant(self.segment(vm.segment).tenant)

    def weft_nodes(self) -> list[Node]:
        return [n for n in self.nodes if not n.foreign]

    def foreign_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.foreign]

    def edges(self) -> list[Node]:
        return [n for n in self.nodes if n.role == "edge"]

    def vms_on(self, node: str) -> list[VM]:
        return [v for v in self.vms if v.node == node]

    def vms_in(self, segment: str) -> list[VM]:
        return [v for v in self.vms if v.segment == segment]

    def vms_at(self, tenant: str, ip: str) -> list[VM]:
        """The tenant's VMs with address ip (IPv4 or IPv6, any spelling)."""
        return [v for v in self.vms_with(ip) if self.segment(v.segment).tenant == tenant]

    def vms_with(self, ip: str) -> list[VM]:
        """Every VM with address ip (IPv4 or IPv6), of any tenant."""
        a = ipaddress.ip_address(ip)
        return [v for v in self.vms
                if any(ipaddress.ip_address(x) == a for x in v.addresses())]

    def dual_stack(self) -> bool:
        """Does any VM have an IPv6 address?"""
        return any(v.ip6 for v in self.vms)

    def vnis_on(self, node: str) -> list[int]:
        return sorted({self.segment(v.segment).vni for v in self.vms_on(node)})

    def segment_by_vni(self, vni: int) -> Segment:
        for s in self.segments:
            if s.vni == vni:
                return s
        raise KeyError(f"no segment with vni {vni}")

    def copy(self) -> "Topology":
        return copy.deepcopy(self)

    def validate(self) -> None:
        """Checks what the lab itself relies on (not the agent's validation)."""
        names = [n.name for n in self.nodes] + [v.name for v in self.vms]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate node/vm names: {sorted(dup)}")
        for v in self.vms:
            if len(v.interface) > 15:
                raise ValueError(f"vm {v.name}: interface name {v.interface} too long")
            seg = self.segment(v.segment)
            self.node(v.node)
            if ipaddress.ip_address(v.ip) not in ipaddress.ip_network(seg.subnet):
                raise ValueError(f"vm {v.name}: {v.ip} outside {seg.subnet}")
            if v.ip6 is not None:
                if seg.subnet6 is None:
                    raise ValueError(f"vm {v.name}: ip6 {v.ip6} but segment {seg.name} "
                                     "has no subnet6")
                if ipaddress.ip_address(v.ip6) not in ipaddress.ip_network(seg.subnet6):
                    raise ValueError(f"vm {v.name}: {v.ip6} outside {seg.subnet6}")
        for seg in self.segments:
            if (seg.subnet6 is None) != (seg.gateway6 is None):
                raise ValueError(f"segment {seg.name}: subnet6 and gateway6 go together")

    # --- the agents' state file -------------------------------------------
    def state_dict(self) -> dict:
        """The desired state in the agent's YAML schema (version 1)."""
        nodes = []
        for n in self.nodes:
            d = {"name": n.name, "vtep": n.vtep}
            if n.foreign:
                d["foreign"] = True
            if n.role != "hypervisor":
                d["role"] = n.role
            nodes.append(d)
        endpoints = []
        for v in self.vms:
            d = {"name": v.name, "segment": v.segment, "ip": v.ip, "mac": v.mac,
                 "node": v.node}
            if not self.node(v.node).foreign:
                d["interface"] = v.interface
            if v.groups:
                d["groups"] = list(v.groups)
            if v.ip6 is not None:
                d["ip6"] = v.ip6
            endpoints.append(d)
        routes = []
        for r in self.routes:
            d = {"tenant": r.tenant, "prefix": r.prefix}
            if r.blackhole:
                d["blackhole"] = True
            else:
                d["nodes"] = list(r.nodes)
                d["segment"] = r.segment
            if r.advertise:
                d["advertise"] = True
            routes.append(d)
        tenants = []
        for t in self.tenants:
            d = {"name": t.name, "id": t.id}
            if t.default_action != "allow":
                d["default_action"] = t.default_action
            tenants.append(d)
        state = {
            "version": self.version,
            "nodes": nodes,
            "tenants": tenants,
            "segments": [s.state_dict() for s in self.segments],
            "endpoints": endpoints,
            "routes": routes,
        }
        # absent when unused: the state of a topology without a firewall is
        # what it always was
        if self.groups:
            state["groups"] = [{"name": g.name, "tenant": g.tenant} for g in self.groups]
        if self.policies:
            state["policies"] = [p.state_dict() for p in self.policies]
        if self.uplinks:
            state["uplinks"] = [u.state_dict() for u in self.uplinks]
        return state

    def state_yaml(self) -> str:
        return dump_state_yaml(self.state_dict())


def _find(items, name, kind):
    for it in items:
        if it.name == name:
            return it
    raise KeyError(f"unknown {kind} {name!r}")


def _scalar(v) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):  # a flow mapping (policy applied_to, rules, peer)
        return "{" + ", ".join(f"{k}: {_scalar(x)}" for k, x in v.items()) + "}"
    # always quoted: MACs like 02:00:.. would otherwise be YAML 1.1 sexagesimals
    return json.dumps(str(v))


def dump_state_yaml(state: dict) -> str:
    """Emits a state dict as YAML: top-level keys in block style, one flow
    mapping per list item (as in the documented examples; nested mappings
    and lists, as in policies, in flow style too). Strings are always
    double-quoted. No PyYAML needed."""
    out = ["# generated by weftlab (lab/weftlab/topology.py); do not edit"]
    for key, value in state.items():
        if isinstance(value, list):
            if not value:
                out.append(f"{key}: []")
                continue
            out.append(f"{key}:")
            for item in value:
                if isinstance(item, dict):
                    body = ", ".join(f"{k}: {_scalar(v)}" for k, v in item.items())
                    out.append(f"  - {{{body}}}")
                else:
                    out.append(f"  - {_scalar(item)}")
        else:
            out.append(f"{key}: {_scalar(value)}")
    return "\n".join(out) + "\n"


def link_local_of(mac: str) -> str:
    """fe80::/64 with the modified EUI-64 interface ID of mac (RFC 4291)."""
    b = bytes(int(x, 16) for x in mac.split(":"))
    eui = bytes([b[0] ^ 0x02]) + b[1:3] + b"\xff\xfe" + b[3:6]
    return str(ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + eui))


def vm_mac(tenant_id: int, seg: int, host: int) -> str:
    """The lab's MAC plan: tenant, segment (1 web, 2 db), host number."""
    return f"02:00:00:{tenant_id:02x}:{seg:02x}:{host:02x}"


def overlapping_segments(tenants: list[Tenant]) -> list[Segment]:
    """Every tenant gets the same two subnets, <t>-web 10.0.1.0/24 (VNI
    id*1000+1) and <t>-db 10.0.2.0/24 (VNI id*1000+2): the overlap the lab
    and the benchmarks exercise."""
    segments = []
    for t in tenants:
        for idx, kind in ((1, "web"), (2, "db")):
            segments.append(Segment(
                name=f"{t.name.lower()}-{kind}", tenant=t.name, vni=t.id * 1000 + idx,
                subnet=f"10.0.{idx}.0/24", gateway=f"10.0.{idx}.1",
                gateway_mac=f"02:fe:00:00:{t.id:02x}:{idx:02x}"))
    return segments


# An IPv6 underlay's addresses: the IPv4 VTEP's bits as the last 32 of this /96.
IPV6_UNDERLAY = ipaddress.IPv6Network("2001:db8:1::/96")
# What a kernel vxlan device over IPv6 leaves of a 1500-byte underlay.
LINUX_VXLAN6_MTU = 1500 - 70


def with_ipv6_underlay(topo: Topology) -> Topology:
    """The same fleet on an IPv6-only underlay: every VTEP becomes its IPv6
    twin (198.18.0.2 -> 2001:db8:1::c612:2), and VMs behind a plain Linux
    vxlan host get that device's smaller MTU."""
    t = copy.deepcopy(topo)
    for n in t.nodes:
        v4 = ipaddress.IPv4Address(n.vtep)
        n.vtep = str(IPV6_UNDERLAY.network_address + int(v4))
    foreign = {n.name for n in t.nodes if n.foreign}
    for v in t.vms:
        if v.node in foreign:
            v.mtu = min(v.mtu, LINUX_VXLAN6_MTU)
    t.validate()
    return t


# The tenants' IPv6 plan (with_dual_stack): segment <t>-web (10.0.1.0/24)
# gets fd00:0:0:1::/64, <t>-db fd00:0:0:2::/64, in every tenant alike.
DUAL_STACK_PREFIX = "fd00:0:0:{}::/64"


def ipv6_twin(ip: str, subnet6: str) -> str:
    """The IPv6 address of subnet6 whose last group reads as the IPv4
    address's last octet in decimal: 10.0.2.11 -> fd00:0:0:2::11."""
    host = int(str(ipaddress.IPv4Address(ip)).rsplit(".", 1)[1])
    net = ipaddress.IPv6Network(subnet6)
    return str(net.network_address + int(str(host), 16))


def with_dual_stack(topo: Topology) -> Topology:
    """The same fleet with IPv6 in the tenants (docs/design/DUAL_STACK.md):
    each segment whose subnet is 10.0.<n>.0/24 gets fd00:0:0:<n>::/64 with
    gateway fd00:0:0:<n>::1, and every VM the twin of its IPv4 address
    (10.0.2.11 -> fd00:0:0:2::11). Tenants use identical IPv6 prefixes, as
    they do identical IPv4 ones. Segments of other subnets get none; their
    VMs stay IPv4-only."""
    t = copy.deepcopy(topo)
    for seg in t.segments:
        net = ipaddress.ip_network(seg.subnet)
        octets = str(net.network_address).split(".")
        if octets[:2] != ["10", "0"] or net.prefixlen != 24:
            continue
        seg.subnet6 = DUAL_STACK_PREFIX.format(int(octets[2]))
        seg.gateway6 = ipv6_twin(seg.gateway, seg.subnet6)
    for v in t.vms:
        seg = t.segment(v.segment)
        if seg.subnet6 is not None and v.ip6 is None:
            v.ip6 = ipv6_twin(v.ip, seg.subnet6)
    t.validate()
    return t


def default_topology() -> Topology:
    """Two Weft hypervisors (hv1, hv2) and a plain Linux vxlan host (lx1).
    Tenants A (id 1) and B (id 2) both use 10.0.1.0/24 and 10.0.2.0/24:

      tenant A: a-web 10.0.1.0/24 VNI 1001, a-db 10.0.2.0/24 VNI 1002
      tenant B: b-web 10.0.1.0/24 VNI 2001, b-db 10.0.2.0/24 VNI 2002

      hv1: a1 (A web .10)  a3 (A db .10)  b1 (B web .10)  b2 (B db .11)
      hv2: a2 (A web .11)  a4 (A db .11)  b3 (B db .10)   b4 (B db .20)
      lx1: alx (A web .30)

    Identical addresses across tenants on purpose: a1/b1 share 10.0.1.10 on
    one host; a3 (hv1) and b3 (hv2) share 10.0.2.10; a4 (hv2) and b2 (hv1)
    share 10.0.2.11. b4's 10.0.2.20 exists only in tenant B."""
    nodes = [Node("hv1", "198.18.0.1"), Node("hv2", "198.18.0.2"),
             Node("lx1", "198.18.0.3", foreign=True)]
    tenants = [Tenant("A", 1), Tenant("B", 2)]
    segments = overlapping_segments(tenants)
    vms = [
        VM("a1", "a-web", "10.0.1.10", vm_mac(1, 1, 10), "hv1"),
        VM("a2", "a-web", "10.0.1.11", vm_mac(1, 1, 11), "hv2"),
        VM("a3", "a-db", "10.0.2.10", vm_mac(1, 2, 10), "hv1"),
        VM("a4", "a-db", "10.0.2.11", vm_mac(1, 2, 11), "hv2"),
        VM("b1", "b-web", "10.0.1.10", vm_mac(2, 1, 10), "hv1"),
        VM("b2", "b-db", "10.0.2.11", vm_mac(2, 2, 11), "hv1"),
        VM("b3", "b-db", "10.0.2.10", vm_mac(2, 2, 10), "hv2"),
        VM("b4", "b-db", "10.0.2.20", vm_mac(2, 2, 20), "hv2"),
        # plain Linux host: a vxlan device's usual MTU (1500 - 50)
        VM("alx", "a-web", "10.0.1.30", vm_mac(1, 1, 30), "lx1", mtu=1450),
    ]
    routes = [Route("A", "10.66.0.0/16", blackhole=True)]
    topo = Topology(nodes, tenants, segments, vms, routes)
    topo.validate()
    return topo
