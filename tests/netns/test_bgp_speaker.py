"""The edge's BGP speaker (agent/bgp/, driven by weft-bgp-probe) against a
real provider router: BIRD 2 in a second namespace, joined by a veth /30.
BIRD announces a prefix -> the speaker lists it as learned from that peer;
announce two prefixes -> BIRD has them via the edge, and not a prefix of
another tenant; withdraw one -> BIRD drops it and keeps the other."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

import weftlab
from netns_common import unmet
from weftlab.provider_router import BgpSession, ProviderRouter

EDGE_ADDR, PROVIDER_ADDR = "10.255.0.1", "10.255.0.2"
EDGE_AS, PROVIDER_AS = 65001, 65000
ANNOUNCED = ["203.0.113.0/24", "192.0.2.0/25"]
OTHER_TENANT_PREFIX = "100.64.0.0/24"  # announced in a tenant with no peer here
PROVIDER_PREFIX = "198.51.100.0/24"
TIMEOUT = 30.0  # seconds for any one condition (BGP connect retry is 1 s here)

def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=20).stdout


def wait_for(what: str, condition, timeout: float = TIMEOUT):
    """Polls `condition` until it returns a true value; fails naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)  # poll interval, not synchronisation


class BgpSpeakerTest(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            unmet("not root (network namespaces need root)")
        for tool in ("ip", "bird", "birdc", "gobgpd"):
            if not shutil.which(tool):
                unmet(f"missing tool: {tool}")
        self.probe_bin = os.path.join(weftlab.default_build_dir(), "weft-bgp-probe")
        if not os.access(self.probe_bin, os.X_OK):
            unmet(f"no {self.probe_bin} (build target weft-bgp-probe)")

        run_id = uuid.uuid4().hex[:8]
        self.edge_ns, self.provider_ns = f"wbgp-e-{run_id}", f"wbgp-p-{run_id}"
        self.dir = tempfile.mkdtemp(prefix=f"wbgp-{run_id}-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        for ns in (self.edge_ns, self.provider_ns):
            run("ip", "netns", "add", ns)
            self.addCleanup(subprocess.run, ["ip", "netns", "del", ns], check=False)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", self.edge_ns, "link", "add", "uplink", "type", "veth",
            "peer", "name", "edge", "netns", self.provider_ns)
        run("ip", "-n", self.edge_ns, "addr", "add", f"{EDGE_ADDR}/30", "dev", "uplink")
        run("ip", "-n", self.provider_ns, "addr", "add", f"{PROVIDER_ADDR}/30", "dev", "edge")
        run("ip", "-n", self.edge_ns, "link", "set", "uplink", "up")
        run("ip", "-n", self.provider_ns, "link", "set", "edge", "up")

        self.provider = ProviderRouter(
            self.provider_ns, self.dir, PROVIDER_ADDR,
            [BgpSession("edge", PROVIDER_ADDR, PROVIDER_AS, EDGE_ADDR, EDGE_AS,
                        exports=[PROVIDER_PREFIX])])
        self.addCleanup(self.provider.stop)
        self.gobgpd_log = os.path.join(self.dir, "gobgpd.log")
        self.probe = self.spawn(
            self.edge_ns, self.probe_bin, f"--asn={EDGE_AS}", f"--router_id={EDGE_ADDR}",
            f"--peer={PROVIDER_ADDR}", f"--peer_asn={PROVIDER_AS}", f"--next_hop={EDGE_ADDR}",
            "--vrf=tenant-a", "--vrf_number=7", f"--gobgpd_log={self.gobgpd_log}",
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.assertEqual(self.read_line(), "ready")

    def spawn(self, ns: str, *args: str, **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(["ip", "netns", "exec", ns, *args], text=True, **kwargs)
        self.addCleanup(self.stop, process)
        return process

    @staticmethod
    def stop(process: subprocess.Popen):
        if process.stdin:
            process.stdin.close()  # the probe stops gobgpd on end of input
        if process.stdout:
            process.stdout.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def read_line(self, timeout: float = TIMEOUT) -> str:
        ready, _, _ = select.select([self.probe.stdout], [], [], timeout)
        if not ready:
            self.fail(f"weft-bgp-probe silent for {timeout:.0f}s; {self.gobgpd_tail()}")
        line = self.probe.stdout.readline()
        if not line:
            self.fail(f"weft-bgp-probe exited ({self.probe.wait()}); {self.gobgpd_tail()}")
        return line.strip()

    def ask(self, command: str) -> str:
        self.probe.stdin.write(command + "\n")
        self.probe.stdin.flush()
        answer = self.read_line()
        self.assertFalse(answer.startswith("error"), f"{command}: {answer}")
        return answer

    def gobgpd_tail(self) -> str:
        try:
            with open(self.gobgpd_log) as f:
                return "gobgpd log tail:\n" + "".join(f.readlines()[-15:])
        except OSError as e:
            return f"no gobgpd log ({e})"

    def bird_routes(self) -> str:
        return self.provider.routes(protocol="edge")

    def test_learn_announce_withdraw(self):
        # BIRD's prefix arriving also says the session is up, so the
        # announce timing below is the speaker's and BIRD's, not the session's.
        start = time.monotonic()
        learned = wait_for("the speaker to learn BIRD's prefix",
                           lambda: (lambda a: a if PROVIDER_PREFIX in a else None)(
                               self.ask("learned")))
        print(f"\nsession up and BIRD's prefix learned: {time.monotonic() - start:.2f}s")
        self.assertEqual(learned.split()[1:], [f"{PROVIDER_PREFIX}via{PROVIDER_ADDR}"])

        # Another tenant's route goes first: once this tenant's routes have
        # arrived after it, its absence means it was never sent to this peer.
        self.ask(f"announce_other {OTHER_TENANT_PREFIX}")
        start = time.monotonic()
        self.ask("announce " + " ".join(ANNOUNCED))
        wait_for("BIRD to learn both announced prefixes",
                 lambda: all(p in self.bird_routes() for p in ANNOUNCED))
        print(f"announce -> BIRD has both prefixes: {time.monotonic() - start:.3f}s")
        routes = self.bird_routes()
        self.assertIn(f"via {EDGE_ADDR}", routes, "BIRD's routes should point at the edge")
        self.assertNotIn(OTHER_TENANT_PREFIX, routes, "another tenant's route reached this peer")
        self.assertNotIn(ANNOUNCED[0], self.ask("learned"), "our announcements are not learned routes")

        start = time.monotonic()
        self.ask(f"withdraw {ANNOUNCED[1]}")
        wait_for("BIRD to drop the withdrawn prefix", lambda: ANNOUNCED[1] not in self.bird_routes())
        print(f"withdraw -> BIRD dropped it: {time.monotonic() - start:.3f}s")
        self.assertIn(ANNOUNCED[0], self.bird_routes(), "the other prefix must stay announced")

if __name__ == "__main__":
    unittest.main()
