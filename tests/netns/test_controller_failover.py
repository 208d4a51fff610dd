"""An agent whose controller dies moves to the next of its --controller
list, which resumes it without resending its state: two weft-controller
processes serve the same state file (A on the lab's usual port, B beside
it), both agents run with `--controller A,B` (hv1's node name starts it on
A, hv2's on B). kill -9 of A under a ping flood across the hosts:

  - hv1's stream moves to B (its log says so, B's realization shows hv1
    connected and enforcing);
  - B resumed hv1 ("resumed ... nothing to send"): no state sent, none
    applied, the pinned maps the same;
  - no ping lost during the move;
  - a later change of the state file reaches hv1 through B.
"""

from __future__ import annotations

import json
import os
import re
import time
import unittest

from netns_common import ControlPlaneTestCase, unmet, wait_for
from weftlab import ControlPlane, run
from weftlab.control import CONTROLLER_IP
from weftlab.counters import BPFTOOL

B_SYNC = f"{CONTROLLER_IP}:7002"
B_ADMIN = "127.0.0.1:7003"
FLOOD_COUNT = 500
FLOOD_INTERVAL = "0.01"  # 5 s of echo requests, 100/s
PINNED = ("weft_config", "weft_ep_by_ip", "weft_vteps", "weft_routes", "weft_segments")
APPLIED = "applied state version"


def node_realization(cp: ControlPlane, node: str) -> dict:
    return next((n for n in cp.realization().get("nodes", []) if n["node"] == node), {})


def pinned_map_ids(lab, node: str) -> dict:
    return {name: json.loads(run([BPFTOOL, "-j", "map", "show", "pinned",
                                  os.path.join(lab.pin_dir(node), name)]).stdout)["id"]
            for name in PINNED}


class ControllerFailoverTest(ControlPlaneTestCase):
    WHOAMI = False
    cp_b: ControlPlane = None

    @classmethod
    def prepare(cls, lab):
        cls.cp = ControlPlane(lab)
        missing = cls.cp.missing_binaries()
        if missing:
            unmet(f"no {' '.join(missing)} next to the agent (build them)")
        cls.cp.build()
        cls.cp.start()
        cls.cp_b = ControlPlane(lab)  # same namespace, state file and certificates
        cls.cp_b.sync_address, cls.cp_b.admin_address = B_SYNC, B_ADMIN
        cls.cp_b.start()
        for node in ("hv1", "hv2"):
            cls.cp.start_agent(node, controllers=[cls.cp.sync_address, B_SYNC])

    def test_kill9_of_the_controller_moves_the_agent_without_a_resend_or_a_lost_ping(self):
        lab, a, b = self.lab, self.cp, self.cp_b
        wait_for("hv1 enforcing on A and hv2 on B",
                 lambda: node_realization(a, "hv1").get("connected")
                 and node_realization(b, "hv2").get("connected")
                 and a.realization().get("controller_version")
                 == b.realization().get("controller_version"), 10)
        self.assertFalse(node_realization(b, "hv1").get("connected"), "hv1 started on B")
        self.assertTrue(lab.wait_ping("a1", "10.0.2.11").ok)  # a1 on hv1 -> a4 on hv2
        hv1 = lab.agents["hv1"]
        applied = hv1.stderr().count(APPLIED)
        maps = pinned_map_ids(lab, "hv1")

        proc, out, _ = lab.spawn(lab.ns("a1"), ["ping", "-q", "-i", FLOOD_INTERVAL, "-c",
                                                str(FLOOD_COUNT), "-W", "1", "10.0.2.11"],
                                 f"flood-{time.monotonic_ns()}")
        try:
            encap = lab.counters("hv1").get("encap", 0)
            wait_for("the flood through hv1", lambda: lab.counters("hv1").get("encap", 0)
                     >= encap + 50, 10)
            a.kill()
            moved = wait_for("hv1 connected to B", lambda: node_realization(b, "hv1")
                             .get("connected"), 10)
            print(f"\n  hv1 on B {moved:.2f}s after kill -9 of A", flush=True)
            self.assertIn(f"trying {B_SYNC}", hv1.stderr())
            self.assertRegex(b.log(), r"node hv1: resumed at version \d+ \(digest [0-9a-f]+\), "
                                      r"nothing to send")
            self.assertNotIn("node hv1: sent version", b.log())
            real = b.realization()
            self.assertIn("hv1", real.get("enforcing", []), real)

            self.assertEqual(proc.wait(30), 0)
            with open(out) as f:
                summary = f.read()
            m = re.search(r"(\d+) packets transmitted, (\d+) received", summary)
            self.assertIsNotNone(m, summary)
            self.assertEqual(m.group(1), str(FLOOD_COUNT), summary)
            self.assertEqual(m.group(2), m.group(1), f"lost packets:\n{summary}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        # Nothing applied, nothing re-created: the datapath never noticed.
        self.assertEqual(hv1.stderr().count(APPLIED), applied, hv1.stderr()[-2000:])
        self.assertEqual(pinned_map_ids(lab, "hv1"), maps)

        # A change of the state file reaches hv1 through B.
        before = int(b.realization()["controller_version"])
        state = lab.topo.state_dict()
        state["routes"] = list(state["routes"]) + [
            {"tenant": "A", "prefix": "10.77.0.0/16", "blackhole": True}]
        lab.publish_state(state)
        wait_for("B to load the change",
                 lambda: int(b.realization()["controller_version"]) > before, 10)
        version = int(b.realization()["controller_version"])
        wait_for(f"hv1 to apply version {version} from B",
                 lambda: f"{APPLIED} {version} " in hv1.stderr(), 10)
        wait_for("B's realization to show hv1 at the new version",
                 lambda: int(node_realization(b, "hv1").get("acked_version", 0)) == version, 10)
        self.assertEqual(lab.check_agents_alive(), [])


if __name__ == "__main__":
    unittest.main()
