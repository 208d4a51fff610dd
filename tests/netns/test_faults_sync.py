"""Faults of the sync path with the real agent and controller (mutual TLS):

  - a state that fails to apply half way (make-before-break needs room: a
    VTEP table at its capacity whose entries change does not fit both) is
    Nacked and undone: the maps hold the previous state exactly, under its
    version, and the agent stays there (no retry of the refused one);
  - the agent SIGKILLed at a random point of the apply of a large state
    (thousands of routes), then restarted: once it has applied its first
    state, the maps hold exactly what the controller serves, nothing left of
    a half-applied one. Between the kill and that first apply the maps may
    hold parts of both states (the apply is make-before-break, entry by
    entry); the version marker (weft_config's state_version) then reads 0,
    never either version: checked at every kill.

The suite runs KILL_TRIALS trials; the campaign runs more and prints the
figures (docs/CONTROL_PLANE.md "Faults"):

    cd tests/netns && WEFT_BUILD_DIR=$PWD/../../build PYTHONPATH=$PWD/../../lab \\
        python3 test_faults_sync.py --trials 100
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import sys
import time
import unittest

from netns_common import ControlPlaneTestCase
from weftlab import wait_for
from weftlab.counters import bpftool_dump

KILL_TRIALS = 8
KILL_ROUTES = 5000  # /32 routes of tenant A: what makes an apply take a while
WEFT_VTEPS_CAPACITY = 4096  # WEFT_MAX_VTEPS in bpf/include/weft/abi.h


def _raw(byte_strs) -> bytes:
    return bytes(int(b, 16) for b in byte_strs)


def _dump(lab, node: str, name: str) -> list:
    return bpftool_dump(os.path.join(lab.pin_dir(node), name))


def state_version_marker(lab, node: str) -> int:
    """weft_config's state_version in node's pinned maps."""
    for entry in _dump(lab, node, "weft_config"):
        formatted = entry.get("formatted")
        if formatted is None:
            raise AssertionError("bpftool shows weft_config without BTF")
        return int(formatted["value"]["state_version"])
    raise AssertionError(f"{node}: weft_config has no entry")


def route_keys(lab, node: str) -> set[tuple[int, str]]:
    """node's weft_routes as {(tenant id, "addr/len")}."""
    out = set()
    for entry in _dump(lab, node, "weft_routes"):
        key = _raw(entry["key"])
        prefixlen = int.from_bytes(key[0:4], "little") - 32
        tenant = int.from_bytes(key[4:8], "big")
        out.add((tenant, f"{ipaddress.IPv4Address(key[8:12])}/{prefixlen}"))
    return out


def vtep_keys(lab, node: str) -> set[str]:
    return {str(ipaddress.IPv4Address(_raw(e["key"]))) for e in _dump(lab, node, "weft_vteps")}


def expected_route_keys(state: dict) -> set[tuple[int, str]]:
    """The routes a node with endpoints of every tenant holds for `state`:
    one connected route per segment, and the static ones."""
    ids = {t["name"]: t["id"] for t in state["tenants"]}
    out = {(ids[s["tenant"]], str(ipaddress.ip_network(s["subnet"]))) for s in state["segments"]}
    out |= {(ids[r["tenant"]], str(ipaddress.ip_network(r["prefix"]))) for r in state["routes"]}
    return out


def with_routes(base: dict, second_octet: int, count: int) -> dict:
    """`base` plus `count` /32 routes of tenant A via hv2 in 10.<second_octet>/16."""
    state = dict(base)
    state["routes"] = list(base["routes"]) + [
        {"tenant": "A", "prefix": f"10.{second_octet}.{i // 256}.{i % 256}/32", "nodes": ["hv2"],
         "segment": "a-web"} for i in range(count)]
    return state


class FaultsTestCase(ControlPlaneTestCase):
    WHOAMI = False

    def controller_version(self) -> int:
        return int(self.cp.realization()["controller_version"])

    def node_realization(self, node: str) -> dict:
        return next(n for n in self.cp.realization()["nodes"] if n["node"] == node)

    def publish(self, state: dict) -> int:
        """Has the controller serve `state`; returns the version it serves it as."""
        before = self.controller_version()
        self.cp.lab.publish_state(state)
        wait_for(lambda: self.controller_version() > before, 15,
                 what="the controller to load the state file")
        return self.controller_version()

    def wait_marker(self, node: str, version: int, timeout: float = 30.0) -> None:
        wait_for(lambda: state_version_marker(self.lab, node) == version, timeout,
                 what=f"{node}'s maps to hold version {version}")


class NackUndoesTest(FaultsTestCase):

    def test_a_state_failing_half_way_is_undone(self):
        lab = self.lab
        base = lab.topo.state_dict()
        extra = WEFT_VTEPS_CAPACITY - len(base["nodes"])

        def fleet(moved: int) -> dict:
            """The lab's nodes and `extra` more (the table full but for one
            slot: hv1 holds every node but itself); the last `moved` of them
            at new VTEP addresses."""
            state = dict(base)
            first = ipaddress.IPv4Address("100.64.0.0")
            moved_first = ipaddress.IPv4Address("100.96.0.0")
            state["nodes"] = list(base["nodes"]) + [
                {"name": f"x{i:04d}",
                 "vtep": str((moved_first if i >= extra - moved else first) + i)}
                for i in range(extra)]
            return state

        good = fleet(0)
        v_good = self.publish(good)
        self.wait_marker("hv1", v_good)
        held = vtep_keys(lab, "hv1")
        self.assertEqual(held, {n["vtep"] for n in good["nodes"] if n["name"] != "hv1"})

        # 100 VTEPs move: the first new one takes the last free slot, the
        # second finds the table full (E2BIG): a failure after writes.
        v_bad = self.publish(fleet(100))
        wait_for(lambda: int(self.node_realization("hv1").get("nacked_version", 0)) == v_bad, 30,
                 what="hv1 to refuse the state")
        self.assertIn("weft_vteps", self.node_realization("hv1").get("nack_error", ""))
        # Undone: the previous state, exactly, under its version; and kept
        # (the agent reconciles every second: it must not retry the refused
        # state, nor drift).
        for _ in range(2):
            self.assertEqual(state_version_marker(lab, "hv1"), v_good)
            self.assertEqual(vtep_keys(lab, "hv1"), held)
            time.sleep(1.5)
        self.assertIn(f"state version {v_bad} not applied",
                      lab.agents["hv1"].stderr())
        self.assertIn(f"version {v_good} restored", lab.agents["hv1"].stderr())

        # A state that fits applies as usual.
        v_after = self.publish(lab.topo.state_dict())
        self.wait_marker("hv1", v_after)
        self.assertEqual(vtep_keys(lab, "hv1"),
                         {n["vtep"] for n in base["nodes"] if n["name"] != "hv1"})


class KillMidApplyTest(FaultsTestCase):

    def test_agent_killed_mid_apply_ends_at_the_served_state(self):
        figures = run_kill_trials(self, KILL_TRIALS, KILL_ROUTES, random.Random())
        print(f"\n  {figures}", flush=True)


def run_kill_trials(t: FaultsTestCase, trials: int, routes: int, rng: random.Random) -> dict:
    """`trials` times: the controller serves the other of two states of `routes` routes,
    hv1's agent is SIGKILLed at a random delay within the time a push takes,
    its maps are checked as they were left, it is restarted, and once it has
    applied its first state the maps must hold exactly the served one.
    Returns the figures: where the kills landed and what the checks found."""
    lab = t.lab
    base = lab.topo.state_dict()
    states = [with_routes(base, 200, routes), with_routes(base, 201, routes)]
    expected = [expected_route_keys(s) for s in states]
    # Warm-up push, timed: the kills are spread over [0, 1.2 x push time].
    current = 0
    t0 = time.monotonic()
    version = t.publish(states[current])
    t.wait_marker("hv1", version, timeout=60)
    push = time.monotonic() - t0
    figures = {"trials": 0, "routes": routes, "push_seconds": round(push, 2),
               "killed_before_apply": 0, "killed_mid_apply": 0, "killed_after_apply": 0,
               "mixed_maps_at_kill": 0, "mixed_maps_after_restart": 0}
    for trial in range(trials):
        old, new = current, 1 - current
        old_version = version
        delay = rng.uniform(0, 1.2 * push)
        before = t.controller_version()
        lab.publish_state(states[new])
        time.sleep(delay)
        agent = lab.agents.pop("hv1")
        agent.proc.kill()
        agent.proc.wait(10)

        # As the kill left the maps (the old programs still forward with them).
        marker = state_version_marker(lab, "hv1")
        held = route_keys(lab, "hv1")
        wait_for(lambda: t.controller_version() > before, 15, what="the controller's new version")
        version = t.controller_version()
        where = f"trial {trial}: killed {delay:.3f}s after the push, marker {marker}"
        if marker == old_version:
            figures["killed_before_apply"] += 1
            t.assertEqual(held, expected[old], where)
        elif marker == version:
            figures["killed_after_apply"] += 1
            t.assertEqual(held, expected[new], where)
        else:
            t.assertEqual(marker, 0, f"{where}: a version that is neither")
            figures["killed_mid_apply"] += 1
            if held not in (expected[old], expected[new]):
                figures["mixed_maps_at_kill"] += 1

        # Restarted: ready once its first state is applied.
        t.cp.start_agent("hv1", timeout=60)
        final_marker = state_version_marker(lab, "hv1")
        final_routes = route_keys(lab, "hv1")
        if final_routes != expected[new]:
            figures["mixed_maps_after_restart"] += 1
        t.assertEqual(final_marker, version, f"{where}: after the restart")
        t.assertEqual(final_routes, expected[new], f"{where}: after the restart, "
                      f"{len(final_routes - expected[new])} routes too many, "
                      f"{len(expected[new] - final_routes)} missing")
        current = new
        figures["trials"] += 1
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--routes", type=int, default=KILL_ROUTES)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)

    class Campaign(FaultsTestCase):
        def test_campaign(self):
            figures = run_kill_trials(self, args.trials, args.routes, random.Random(seed))
            print(f"\nseed {seed}: {figures}", flush=True)

    result = unittest.TextTestRunner(verbosity=2).run(
        unittest.defaultTestLoader.loadTestsFromTestCase(Campaign))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
