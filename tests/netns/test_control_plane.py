"""The control plane end to end: weft-controller in its own namespace on the
underlay (198.18.0.254), both Weft hypervisors' agents with --controller over
mutual TLS (a throwaway CA made with openssl), real traffic.

  - agents start with no state and become ready on the first snapshot;
  - an edit of the controller's state file (a new VM) makes the VM reachable
    from the other host within a bounded wait, and every node reports the
    new version through Admin GetRealization;
  - a bad edit is refused (the controller's log names object and field) and
    traffic keeps flowing;
  - with the controller killed, traffic continues; restarted (with a change
    made while it was down), the agents reconnect and converge.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import time
import unittest

from netns_common import LabTestCase, unmet
import weftlab
from weftlab import VM, LabError, wait_for
from weftlab.ns import ip, ip_batch
from weftlab.lab import Agent as LabAgent

CONTROLLER_IP = "198.18.0.254"
SYNC_PORT = 7000
ADMIN = "127.0.0.1:7001"  # inside the controller's namespace only

# a new VM on hv2 in tenant A's web segment, and one added while the
# controller is down
A5 = VM("a5", "a-web", "10.0.1.12", "02:00:00:01:01:0c", "hv2")
A6 = VM("a6", "a-db", "10.0.2.12", "02:00:00:01:02:0c", "hv2")

CONVERGE_SECONDS = 10.0


def _bin(name: str) -> str:
    return os.path.join(weftlab.default_build_dir(), name)


def _find(items, name):
    return next(i for i in items if i["name"] == name)


class ControlPlaneTest(LabTestCase):
    START_AGENTS = False  # started below, with --controller

    @classmethod
    def prepare(cls, lab):
        for b in ("weft-controller", "weft-admin"):
            if not os.access(_bin(b), os.X_OK):
                unmet(f"no {b} at {_bin(b)} (build targets weft-controller weft-admin)")
        cls.tls = cls.make_tls(lab)
        # the controller's host: one more port on the underlay bridge
        cls.ctl_ns = lab.ns("ctl")
        lab._add_ns(cls.ctl_ns)
        ip(lab.underlay_ns, "link", "add", "ctl", "type", "veth", "peer", "name",
                   "eth0", "netns", cls.ctl_ns)
        ip_batch(lab.underlay_ns, ["link set ctl master br0", "link set ctl up"])
        ip_batch(cls.ctl_ns, [f"addr add {CONTROLLER_IP}/24 dev eth0",
                                      "link set eth0 up"])
        cls.ctl_state = os.path.join(lab.dir, "controller-state.yaml")
        lab.write_state(path=cls.ctl_state)
        cls.controller = None
        cls.start_controller()
        for node in lab.topo.weft_nodes():
            cls.start_sync_agent(node.name)

    # --- helpers -----------------------------------------------------------------
    @classmethod
    def make_tls(cls, lab) -> dict:
        d = os.path.join(lab.dir, "tls")
        os.makedirs(d)
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        def ssl(*argv):
            weftlab.run(["openssl", *argv])
        ssl("req", "-x509", *ec, "-days", "1", "-subj", "/CN=weft-test-ca",
            "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem")
        for who, san in (("controller", f"IP:{CONTROLLER_IP},IP:127.0.0.1"),
                         ("agent", "DNS:weft-agent")):
            ssl("req", *ec, "-subj", f"/CN={who}", "-keyout", f"{d}/{who}.key",
                "-out", f"{d}/{who}.csr")
            with open(f"{d}/{who}.ext", "w") as f:
                f.write(f"subjectAltName={san}\n")
            ssl("x509", "-req", "-in", f"{d}/{who}.csr", "-CA", f"{d}/ca.pem",
                "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-days", "1",
                "-extfile", f"{d}/{who}.ext", "-out", f"{d}/{who}.pem")
        return {"dir": d}

    @classmethod
    def tls_flags(cls, who: str) -> list[str]:
        d = cls.tls["dir"]
        return ["--tls_cert", f"{d}/{who}.pem", "--tls_key", f"{d}/{who}.key",
                "--tls_ca", f"{d}/ca.pem"]

    @classmethod
    def start_controller(cls):
        lab = cls.lab
        argv = [_bin("weft-controller"), "--state", cls.ctl_state,
                "--listen", f"{CONTROLLER_IP}:{SYNC_PORT}", "--admin_listen", ADMIN,
                *cls.tls_flags("controller")]
        proc, _, err = lab.spawn(cls.ctl_ns, argv, f"controller-{time.monotonic_ns()}")
        cls.controller, cls.controller_err = proc, err
        wait_for(lambda: proc.poll() is not None or cls.admin("realization") is not None,
                 15, what="weft-controller's Admin service")
        if proc.poll() is not None:
            raise LabError(f"weft-controller exited {proc.returncode}:\n{cls.controller_log()}")

    @classmethod
    def controller_log(cls) -> str:
        with open(cls.controller_err, errors="replace") as f:
            return f.read()

    @classmethod
    def admin(cls, *command) -> dict | None:
        cp = cls.lab.exec("ctl", [_bin("weft-admin"), "--admin", ADMIN,
                                  *cls.tls_flags("agent"), *command], timeout=15)
        if cp.returncode != 0:
            return None
        return json.loads(cp.stdout)

    @classmethod
    def start_sync_agent(cls, node: str, timeout: float = 30.0):
        lab = cls.lab
        ready = os.path.join(lab.dir, f"{node}.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        argv = [lab.agent_path, "--controller", f"{CONTROLLER_IP}:{SYNC_PORT}",
                *cls.tls_flags("agent"), "--node", node, "--underlay", "eth0",
                "--bpffs", lab.bpffs, "--ready_file", ready]
        proc, out, err = lab.spawn(lab.ns(node), argv, f"agent-{node}-{time.monotonic_ns()}")
        lab.agents[node] = LabAgent(node, proc, ready, out, err, argv)  # teardown stops it
        wait_for(lambda: os.path.exists(ready) or proc.poll() is not None, timeout,
                 what=f"agent {node} ready (first snapshot applied)")
        if proc.poll() is not None:
            raise LabError(f"agent {node} exited {proc.returncode}:\n"
                           f"{lab.agents[node].stderr()}")

    def wait_enforced(self, version: int | None = None, timeout: float = CONVERGE_SECONDS) -> dict:
        """Polls GetRealization until every Weft node enforces `version`
        (default: the controller's current one)."""
        last = {}
        def done():
            nonlocal last
            last = self.admin("realization", str(version or 0)) or {}
            return last.get("all_enforcing")
        try:
            wait_for(done, timeout, what="every node enforcing the version")
        except LabError:
            self.fail(f"not realized within {timeout}s: {json.dumps(last, indent=1)}\n"
                      f"controller log:\n{self.controller_log()[-3000:]}")
        return last

    def write_controller_state(self, state=None):
        self.lab.write_state(state, path=self.ctl_state)

    # --- tests (in order: names sort) ------------------------------------------
    def test_1_agents_start_from_the_controller(self):
        r = self.wait_enforced()
        self.assertEqual(sorted(n["node"] for n in r["nodes"]), ["hv1", "hv2"])
        self.assertTrue(all(n["connected"] for n in r["nodes"]), r)
        self.assertReaches("a1", "10.0.1.11", "a2")   # cross-host L2
        self.assertReaches("a1", "10.0.2.11", "a4")   # cross-host routed
        self.assertReaches("b2", "10.0.2.20", "b4")   # tenant B, overlapping addresses
        for node in ("hv1", "hv2"):
            self.assertIn("connected as node", self.lab.agents[node].stderr())

    def test_2_edit_adds_a_vm(self):
        lab = self.lab
        lab.add_vm(copy.deepcopy(A5))
        lab.start_whoami(["a5"])
        self.assertFalse(lab.ping("a1", A5.ip, count=1, timeout=1).ok)
        before = self.admin("realization")["controller_version"]
        t0 = time.monotonic()
        self.write_controller_state()
        r = lab.wait_ping("a1", A5.ip, timeout=CONVERGE_SECONDS)
        self.assertTrue(r.ok, f"a5 not reachable {CONVERGE_SECONDS}s after the edit:\n"
                              f"{r.output}\n{self.controller_log()[-2000:]}")
        print(f"\n  a5 reachable {time.monotonic() - t0:.2f}s after the edit", flush=True)
        real = self.wait_enforced()
        self.assertGreater(int(real["controller_version"]), int(before))
        self.assertEqual(lab.whoami("a1", A5.ip), "a5")
        self.assertEqual(lab.whoami("a5", "10.0.2.10"), "a3")  # routed from the new VM

    def test_3_bad_edit_is_refused_and_traffic_flows(self):
        lab = self.lab
        version = self.admin("realization")["controller_version"]
        state = lab.topo.state_dict()
        _find(state["segments"], "a-db").update(vni=0)
        self.write_controller_state(state)
        self.addCleanup(self.write_controller_state)
        wait_for(lambda: "refused the new state file" in self.controller_log(), 5,
                 what="the controller to refuse the edit")
        refusal = [l for l in self.controller_log().splitlines() if "refused the new" in l][-1]
        self.assertIn('segment "a-db"', refusal)
        self.assertIn('field "vni"', refusal)
        time.sleep(0.5)
        self.assertEqual(self.admin("realization")["controller_version"], version)
        self.assertReaches("a1", "10.0.2.11", "a4")
        self.assertReaches("a1", A5.ip, "a5")
        self.assertEqual(lab.check_agents_alive(), [])

    def test_4_controller_down_traffic_flows_restart_converges(self):
        lab = self.lab
        self.write_controller_state()
        self.wait_enforced()
        cls = type(self)
        cls.controller.send_signal(signal.SIGKILL)
        cls.controller.wait(10)
        time.sleep(1.0)
        self.assertEqual(lab.check_agents_alive(), [])
        self.assertReaches("a1", "10.0.1.11", "a2")
        self.assertReaches("a2", "10.0.2.10", "a3")
        if any(v.name == "a5" for v in lab.topo.vms):  # test_2 ran
            self.assertReaches("a1", A5.ip, "a5")
        # a change made while the controller is down reaches the agents once
        # it is back
        lab.add_vm(copy.deepcopy(A6))
        lab.start_whoami(["a6"])
        self.write_controller_state()
        t0 = time.monotonic()
        cls.start_controller()
        real = self.wait_enforced(timeout=15)
        print(f"\n  converged {time.monotonic() - t0:.2f}s after the restart", flush=True)
        self.assertTrue(all(n["connected"] for n in real["nodes"]), real)
        r = lab.wait_ping("a1", A6.ip, timeout=CONVERGE_SECONDS)
        self.assertTrue(r.ok, f"a6 not reachable after the controller restart:\n{r.output}")
        self.assertEqual(lab.whoami("a3", A6.ip), "a6")
        self.assertReaches("a1", "10.0.1.11", "a2")
        for node in ("hv1", "hv2"):
            self.assertGreaterEqual(lab.agents[node].stderr().count("connected as node"), 2,
                                    f"agent {node} did not reconnect")


if __name__ == "__main__":
    unittest.main()
