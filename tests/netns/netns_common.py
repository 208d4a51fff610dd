"""Shared by the netns tests: preconditions (root, tools, agent binary) and a
base class whose setUpClass builds a lab and whose tearDownClass (or a failed
setUpClass) tears it down.

Precondition not met: with CI set in the environment the test class fails
loudly (an error naming what is missing); elsewhere it is skipped and the
reason printed."""

from __future__ import annotations

import os
import sys
import time
import unittest

try:
    import weftlab
except ImportError:  # run from the source tree without PYTHONPATH
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lab"))
    import weftlab

from weftlab import ControlPlane, Lab, LabError  # noqa: E402

# SIGTERM (a killed ctest/CI step) becomes KeyboardInterrupt, so the labs
# still up are torn down by weftlab's atexit hook.
weftlab.install_signal_handlers()


def _drop_deltas(lab: Lab, before: dict) -> str:
    """Counter changes per agent since `before`, for failure messages."""
    parts = []
    for node, c0 in before.items():
        try:
            c = lab.counters(node)
        except Exception as e:  # agent gone: say so
            parts.append(f"{node}: counters unavailable ({e})")
            continue
        d = {k: v - c0.get(k, 0) for k, v in c.items() if v - c0.get(k, 0)}
        parts.append(f"{node}: {d or 'no change'}")
    return "datapath counters during the check: " + "; ".join(parts)


def _counters_now(lab: Lab) -> dict:
    out = {}
    if lab.mode != "weft":
        return out
    for node in lab.agents:
        try:
            out[node] = lab.counters(node)
        except Exception:
            out[node] = {}
    return out


def wait_for(what: str, condition, timeout: float, poll: float = 0.05) -> float:
    """Polls `condition` until true; returns the seconds it took, or fails
    the test naming `what` after `timeout` seconds."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(poll)  # poll interval, not synchronisation
    return time.monotonic() - start


def unmet(reason: str):
    """Skip (dev machine) or fail loudly (CI) for an unmet precondition."""
    if os.environ.get("CI"):
        raise RuntimeError(f"netns tests cannot run under CI: {reason}")
    print(f"\nSKIP netns tests: {reason}", file=sys.stderr, flush=True)
    raise unittest.SkipTest(reason)


def require_lab(agent: bool) -> None:
    if os.geteuid() != 0:
        unmet("not root (network namespaces, bpffs and BPF need root)")
    missing = weftlab.missing_tools()
    if missing:
        unmet(f"missing tools: {' '.join(missing)}")
    if agent:
        path = os.path.join(weftlab.default_build_dir(), "weft-agent")
        if not os.access(path, os.X_OK):
            unmet(f"no agent binary at {path} (set WEFT_BUILD_DIR or build target weft-agent)")


class LabTestCase(unittest.TestCase):
    """setUpClass builds cls.lab from cls.make_topology() in cls.MODE and
    calls cls.prepare(lab); any failure tears the lab down before it
    propagates. Agent-based classes fail each test early if an agent died."""

    MODE = "weft"
    NEEDS_AGENT = True
    START_AGENTS = True
    WHOAMI = True
    UNDERLAY_HOOK = None  # None: the agent's default; "tc" or "xdp"
    lab: Lab = None

    @classmethod
    def make_topology(cls):
        return weftlab.default_topology()

    @classmethod
    def prepare(cls, lab: Lab) -> None:
        pass

    @classmethod
    def setUpClass(cls):
        require_lab(agent=cls.NEEDS_AGENT)
        cls.lab = Lab(cls.make_topology(), mode=cls.MODE, underlay_hook=cls.UNDERLAY_HOOK,
                      verbose=bool(os.environ.get("WEFT_LAB_VERBOSE")))
        try:
            cls.lab.build()
            if cls.MODE == "weft" and cls.START_AGENTS:
                cls.lab.start_agents()
            if cls.WHOAMI:
                cls.lab.start_whoami()
            cls.prepare(cls.lab)
        except BaseException:
            cls.lab.teardown()
            cls.lab = None
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.lab is not None:
            cls.lab.teardown()
            cls.lab = None

    def setUp(self):
        if self.lab is not None and self.MODE == "weft":
            dead = self.lab.check_agents_alive()
            if dead:
                self.fail("agent(s) died: " + "; ".join(dead))

    # --- assertions ------------------------------------------------------------
    def assertUnderlayProgram(self, node: str):
        """The underlay program, not the VM program, on node's eth0, and no
        Weft program on its loopback."""
        if self.lab.underlay_hook == "xdp":
            self.assertIn("xdp", self.lab.exec(node, ["ip", "link", "show", "eth0"]).stdout,
                          f"no XDP program on {node}'s eth0")
        else:
            filters = self.lab.tc_filters(node, "eth0")
            # tc shows the kernel's name of the program, cut to 15 characters
            self.assertIn("weft_underlay_t", filters, f"{node}'s eth0: {filters!r}")
        self.assertNotIn("weft_vm_ingress", self.lab.tc_filters(node, "eth0"))
        self.assertEqual(self.lab.tc_filters(node, "lo"), "", f"a program on {node}'s lo")

    def assertReaches(self, src: str, dst_ip: str, expect: str, count: int = 3):
        """Ping gets replies and the TCP whoami answer is `expect`'s name.
        On failure the message carries the agents' counter changes."""
        before = _counters_now(self.lab)
        p = self.lab.ping(src, dst_ip, count=count, timeout=4)
        if not p.ok:
            self.fail(f"{src} -> {dst_ip}: no ping reply ({p.transmitted} sent)\n"
                      f"{_drop_deltas(self.lab, before)}")
        who = self.lab.whoami(src, dst_ip)
        if who != expect:
            self.fail(f"{src} -> {dst_ip}:{weftlab.WHOAMI_PORT}: expected {expect} to "
                      f"answer, got {who!r} ({self.lab.last_whoami_error})\n"
                      f"{_drop_deltas(self.lab, before)}")

    def assertNoAnswer(self, src: str, dst_ip: str):
        p = self.lab.ping(src, dst_ip, count=2, timeout=2)
        self.assertFalse(p.ok, f"{src} -> {dst_ip}: unexpected ping reply\n{p.output}")
        who = self.lab.whoami(src, dst_ip, timeout=1.5)
        self.assertIsNone(who, f"{src} -> {dst_ip}: {who!r} answered over TCP")

    def counter(self, node: str, label: str) -> int:
        return self.lab.counters(node).get(label, 0)

    def wait_counter_above(self, node: str, label: str, base: int, timeout: float = 3.0) -> int:
        """Polls until node's counter exceeds base; returns the last value."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.counter(node, label)
            if v > base or time.monotonic() >= deadline:
                return v
            time.sleep(0.1)


class ControlPlaneTestCase(LabTestCase):
    """A lab whose agents take their state from a real weft-controller
    (mutual TLS), started before the tests: cls.cp."""

    START_AGENTS = False  # started by prepare, with --controller
    AGENT_FLAGS: list[str] = []  # what a module's agents are started with besides
    cp: ControlPlane = None

    @classmethod
    def prepare(cls, lab):
        cls.cp = ControlPlane(lab)
        missing = cls.cp.missing_binaries()
        if missing:
            unmet(f"no {' '.join(missing)} next to the agent (build them)")
        cls.cp.build()
        cls.cp.start()
        cls.cp.start_agents(extra=cls.AGENT_FLAGS)
