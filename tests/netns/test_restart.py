"""kill -9 of an agent under traffic loses no packet: the programs stay
attached with the pinned maps, and the restarted agent adopts the maps,
re-attaches its new programs in place and rewrites nothing that holds.
Counter maps pinned with an older layout (a release whose weft_stats had one
entry per reason) are replaced, not refused."""

from __future__ import annotations

import json
import os
import re
import time
import unittest

from netns_common import LabTestCase
from weftlab import run, wait_for
from weftlab.counters import BPFTOOL

FLOOD_COUNT = 1500
FLOOD_INTERVAL = "0.004"  # 6 s of echo requests, 250/s


def _prog_id(filters: str) -> str | None:
    m = re.search(r"\bid (\d+)", filters)
    return m.group(1) if m else None


def _pinned_map(path: str) -> dict:
    """bpftool's description of the map pinned at path (id, max_entries, ...)."""
    return json.loads(run([BPFTOOL, "-j", "map", "show", "pinned", path]).stdout)


class AgentKill9Test(LabTestCase):
    WHOAMI = False

    def test_kill9_and_restart_under_ping_flood_and_tcp_loses_nothing(self):
        lab = self.lab
        # Cross-host routed (a1 on hv1 -> a4 on hv2) and same-host routed.
        self.assertTrue(lab.wait_ping("a1", "10.0.2.11").ok)
        self.assertTrue(lab.wait_ping("a1", "10.0.2.10").ok)
        before = _prog_id(lab.tc_filters("hv1", "va1"))
        self.assertIsNotNone(before, "no VM program on va1 before the kill")
        pins = {name: _pinned_map(os.path.join(lab.pin_dir("hv1"), name))["id"]
                for name in ("weft_stats", "weft_ct_stats", "weft_ct", "weft_ep_by_mac")}

        floods = [lab.spawn(lab.ns("a1"), ["ping", "-q", "-i", FLOOD_INTERVAL, "-c",
                                           str(FLOOD_COUNT), "-W", "1", dst],
                            f"flood-{dst}-{time.monotonic_ns()}")
                  for dst in ("10.0.2.11", "10.0.2.10")]
        tcp = lab.spawn(lab.ns("a4"), ["iperf3", "-s", "-1", "-p", "5301"], "iperf-srv")
        lab.wait_listening("a4", 5301)
        client = lab.spawn(lab.ns("a1"), ["iperf3", "-c", "10.0.2.11", "-p", "5301", "-t", "5",
                                          "-b", "200M"], "iperf-cli")
        try:
            # The kill lands mid-flood: once hv1 has encapsulated 200 more.
            sent = lab.counters("hv1").get("encap", 0)
            wait_for(lambda: lab.counters("hv1").get("encap", 0) >= sent + 200, 10,
                     what="traffic through hv1 before the kill")
            old = lab.agents.pop("hv1")
            old.proc.kill()
            old.proc.wait(10)
            lab.start_agent("hv1")
            after = _prog_id(lab.tc_filters("hv1", "va1"))
            self.assertIsNotNone(after, "no VM program on va1 after the restart")
            self.assertNotEqual(before, after, "the restarted agent did not re-attach")
            # Adopted, not re-created: the same maps, counters still counting
            # from where they were.
            for name, map_id in pins.items():
                self.assertEqual(_pinned_map(os.path.join(lab.pin_dir("hv1"), name))["id"],
                                 map_id, f"{name} was not adopted")
            self.assertNotIn("replacing it", lab.agents["hv1"].stderr())
            self.assertGreaterEqual(lab.counters("hv1").get("encap", 0), sent + 200)

            for proc, out, _ in floods:
                proc.wait(30)
                with open(out) as f:
                    summary = f.read()
                m = re.search(r"(\d+) packets transmitted, (\d+) received", summary)
                self.assertIsNotNone(m, summary)
                self.assertEqual(m.group(1), str(FLOOD_COUNT), summary)
                self.assertEqual(m.group(2), m.group(1), f"lost packets:\n{summary}")
            cproc, cout, _ = client
            status = cproc.wait(30)
            with open(cout) as f:
                report = f.read()
            self.assertEqual(status, 0, report)
            self.assertRegex(report, r"receiver")
        finally:
            for proc, _, _ in floods + [tcp, client]:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()

    def test_counter_maps_pinned_with_an_older_layout_are_replaced(self):
        lab = self.lab
        self.assertTrue(lab.wait_ping("a1", "10.0.2.11").ok)
        old = lab.agents.pop("hv1")
        old.proc.kill()
        old.proc.wait(10)
        # The previous release sized the counter maps by the count of what
        # it defined: 31 reasons, 8 conntrack events.
        olds = {"weft_stats": (16, 31), "weft_ct_stats": (8, 8)}
        for name, (value_size, entries) in olds.items():
            path = os.path.join(lab.pin_dir("hv1"), name)
            os.unlink(path)
            run([BPFTOOL, "map", "create", path, "type", "percpu_array", "key", "4", "value",
                 str(value_size), "entries", str(entries), "name", name])
        conntrack = _pinned_map(os.path.join(lab.pin_dir("hv1"), "weft_ct"))["id"]

        agent = lab.start_agent("hv1")
        for name in olds:
            self.assertRegex(agent.stderr(), rf"WARN .*/{name}: pinned with .* replacing it")
            self.assertGreater(_pinned_map(os.path.join(lab.pin_dir("hv1"), name))
                               ["max_entries"], olds[name][1], f"{name} was not re-created")
        self.assertEqual(_pinned_map(os.path.join(lab.pin_dir("hv1"), "weft_ct"))["id"],
                         conntrack, "a state map was re-created too")
        self.assertTrue(lab.wait_ping("a1", "10.0.2.11").ok)
        self.assertGreater(lab.counters("hv1").get("encap", 0), 0)


if __name__ == "__main__":
    unittest.main()
