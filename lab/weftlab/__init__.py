"""weftlab: Weft lab topologies in network namespaces (see lab.py)."""

from .control import ControlPlane
from .counters import ct_stat_names, drop_labels, read_counters, read_ct_stats, reasons
from .lab import (CT6_TABLES, CT_TABLES, IPERF_PORT, WHOAMI_PORT, Agent, Capture, Lab,
                  PingResult, default_build_dir, install_signal_handlers, missing_tools,
                  new_prefix, parse_ping)
from .ns import LabError, cleanup_stale, list_netns, run, wait_for
from .topology import (VM, Group, Node, Policy, Route, Rule, Segment, Tenant, Topology,
                       default_topology, dump_state_yaml, with_dual_stack,
                       with_ipv6_underlay)

__all__ = [
    "Agent", "CT6_TABLES", "CT_TABLES", "Capture", "ControlPlane", "Group", "IPERF_PORT", "Lab",
    "LabError", "Node", "PingResult",
    "Policy", "Route", "Rule", "Segment", "Tenant", "Topology", "VM", "WHOAMI_PORT",
    "cleanup_stale", "ct_stat_names", "read_ct_stats",
    "default_build_dir", "default_topology", "drop_labels", "dump_state_yaml",
    "install_signal_handlers", "list_netns", "missing_tools", "new_prefix", "parse_ping", "read_counters",
    "reasons", "run", "wait_for", "with_dual_stack", "with_ipv6_underlay",
]
