"""Controller replicas on etcd, with real processes (docs/CONTROL_PLANE.md
"Replicas on etcd"): a 3-member etcd cluster and 3 weft-controller --store
replicas in the control plane's namespace (weftlab/replicas.py), the
state seeded with `weftctl store seed`, both Weft hypervisors' agents
given every replica (--controller r0,r1,r2).

  - a change written through any replica reaches every agent, whichever
    replica serves it; `weftctl store export` reads it back;
  - kill -9 of the replica an agent is on: the agent moves, nothing is
    resent, no ping of a fast flood is lost;
  - kill -9 of the etcd leader during a stream of writes: every write that
    returned success is in the final state, versions only go up, and no
    agent ever applies a version below one it applied before;
  - two writers with the same --if-version: one wins, the other gets the
    conflict;
  - a state that breaks validation written straight into etcd (bypassing
    weftctl) is refused by every replica, naming the object; agents keep
    the last good state and forward;
  - the realization read through any replica shows the whole fleet, and a
    node whose replica died while the node could not move (stopped) shows
    as disconnected within the lease TTL.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import unittest

from netns_common import LabTestCase, unmet
from weftlab import LabError, dump_state_yaml, run, wait_for
from weftlab.counters import BPFTOOL
from weftlab.ns import ns_argv
from weftlab.replicas import ReplicatedControlPlane

LEASE_TTL_S = 2
FLOOD_COUNT = 500
FLOOD_INTERVAL = "0.006"  # 3 s of echo requests, ~170/s
APPLIED = re.compile(r"applied state version (\d+)")
PINNED = ("weft_config", "weft_ep_by_ip", "weft_vteps", "weft_routes", "weft_segments")


def pinned_map_ids(lab, node: str) -> dict:
    return {name: json.loads(run([BPFTOOL, "-j", "map", "show", "pinned",
                                  os.path.join(lab.pin_dir(node), name)]).stdout)["id"]
            for name in PINNED}


class ReplicasTest(LabTestCase):
    START_AGENTS = False  # started by prepare, with every replica's address
    WHOAMI = False
    cp: ReplicatedControlPlane = None

    @classmethod
    def prepare(cls, lab):
        cls.cp = ReplicatedControlPlane(lab, lease_ttl_s=LEASE_TTL_S)
        missing = cls.cp.missing_binaries()
        if missing:
            unmet(f"missing {' '.join(missing)} (build weft-controller and weftctl; "
                  "Debian: etcd-server etcd-client)")
        cls.cp.build()
        cls.cp.start()
        cls.cp.start_agents()
        cls.writes = 0

    @classmethod
    def tearDownClass(cls):
        if cls.cp is not None:
            cls.cp.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        # What a test killed, its cleanup restarted.
        for r in self.cp.replicas:
            self.assertTrue(r.alive(), f"replica {r.name} is not running:\n{r.log()[-2000:]}")
        for m in self.cp.etcd.members:
            self.assertTrue(m.alive(), f"etcd member {m.name} is not running")

    # --- helpers -------------------------------------------------------------
    def state_with_routes(self, tag: str, count: int) -> str:
        """The lab's state plus `count` blackhole routes 10.<tag>.k.0/24 of
        tenant A, written to a file of its own; its path."""
        st = self.lab.topo.state_dict()
        st["routes"] = st["routes"] + [
            {"tenant": "A", "prefix": f"10.{tag}.{k}.0/24", "blackhole": True}
            for k in range(count)]
        path = os.path.join(self.lab.dir, f"state-{tag}-{count}-{time.monotonic_ns()}.yaml")
        with open(path, "w") as f:
            f.write(dump_state_yaml(st))
        return path

    def apply(self, path: str, replica: int, *extra: str) -> subprocess.CompletedProcess:
        return self.cp.weftctl("apply", "-f", path, *extra, replica=replica)

    def applied_version(self, path: str, replica: int) -> int:
        cp = self.apply(path, replica)
        self.assertEqual(cp.returncode, 0, f"apply through r{replica}: {cp.stderr}")
        return int(cp.stdout.split()[-1])

    def state_version(self, replica: int = 0) -> int:
        got = self.cp.admin("get", "state", replica=replica)
        self.assertIsNotNone(got, f"get state through r{replica}")
        return int(got["state"].get("version", 0))

    def state_prefixes(self, replica: int = 0) -> set[str]:
        got = self.cp.admin("get", "state", replica=replica)
        self.assertIsNotNone(got, f"get state through r{replica}")
        return {r["prefix"] for r in got["state"].get("routes", [])}

    def agent_version(self, node: str) -> int:
        return int(self.cp.agent_status(node).get("applied_version", 0))

    def wait_agents_at(self, version: int, timeout: float = 10.0) -> None:
        nodes = [n.name for n in self.lab.topo.weft_nodes()]
        try:
            wait_for(lambda: all(self.agent_version(n) >= version for n in nodes), timeout,
                     what=f"every agent at version {version}")
        except LabError as e:
            self.fail(f"{e}: {[(n, self.agent_version(n)) for n in nodes]}\n{self.cp.log()}")

    def applied_versions(self, node: str) -> list[int]:
        """Every version node's agent applied, in order (its log)."""
        return [int(v) for v in APPLIED.findall(self.lab.agents[node].stderr())]

    def holder(self, node: str) -> int:
        """The index of the one replica holding node's stream."""
        # One: a replica killed earlier shows until its lease runs out.
        names = wait_for(lambda: (lambda n: n if len(n) == 1 else None)(self.cp.replica_of(node)),
                         LEASE_TTL_S + 10, what=f"the one replica holding {node}'s stream")
        return int(names[0][1:])

    def restart_replica_later(self, index: int) -> None:
        self.addCleanup(lambda: self.cp.replicas[index].alive()
                        or self.cp.start_replica(index))

    # --- (a) any replica's write reaches every agent ---------------------------------
    def test_a_write_through_any_replica_reaches_every_agent(self):
        holders = {n.name: self.holder(n.name) for n in self.lab.topo.weft_nodes()}
        for r in range(len(self.cp.replicas)):
            path = self.state_with_routes(f"7{r}", 1)
            version = self.applied_version(path, r)
            # agents held by the other replicas, and by this one
            self.wait_agents_at(version)
            for other in range(len(self.cp.replicas)):
                self.assertIn(f"10.7{r}.0.0/24", self.state_prefixes(other),
                              f"r{other} does not serve the change written through r{r}")
        print(f"\n  agents held by {holders}", flush=True)
        # The store exports what the replicas serve; the export applies as is.
        out = os.path.join(self.lab.dir, "export.yaml")
        cp = self.cp.weftctl_store("export", "-o", out)
        self.assertEqual(cp.returncode, 0, cp.stderr)
        with open(out) as f:
            text = f.read()
        self.assertIn(f"at version {self.state_version()}", text)
        self.assertIn('"10.72.0.0/24"', text)
        before = self.state_version()
        self.assertGreater(self.applied_version(out, 1), before)

    # --- (b) the replica an agent is on dies -------------------------------------------
    def test_b_kill9_of_an_agents_replica_moves_it_without_a_lost_ping(self):
        lab = self.lab
        self.assertTrue(lab.wait_ping("a1", "10.0.2.11").ok)  # a1 (hv1) -> a4 (hv2)
        victim = self.holder("hv1")
        applied = self.applied_versions("hv1")
        maps = pinned_map_ids(lab, "hv1")
        flood = lab.spawn(lab.ns("a1"), ["ping", "-q", "-i", FLOOD_INTERVAL, "-c",
                                         str(FLOOD_COUNT), "-W", "1", "10.0.2.11"],
                          f"flood-{time.monotonic_ns()}")
        try:
            sent = lab.counters("hv1").get("encap", 0)
            wait_for(lambda: lab.counters("hv1").get("encap", 0) >= sent + 50, 10,
                     what="the flood through hv1 before the kill")
            self.cp.kill_replica(victim)
            self.restart_replica_later(victim)
            survivor = (victim + 1) % len(self.cp.replicas)
            moved = wait_for(
                lambda: [n for n in self.cp.replica_of("hv1", replica=survivor)
                         if n != f"r{victim}"] or None,
                10, what="hv1's stream on another replica")
            proc, out, _ = flood
            proc.wait(30)
            with open(out) as f:
                summary = f.read()
        finally:
            if flood[0].poll() is None:
                flood[0].kill()
                flood[0].wait()
        m = re.search(r"(\d+) packets transmitted, (\d+) received", summary)
        self.assertIsNotNone(m, summary)
        self.assertEqual(m.group(1), str(FLOOD_COUNT), summary)
        self.assertEqual(m.group(2), m.group(1), f"lost packets during the move:\n{summary}")
        # Resumed: the same state, nothing applied again.
        self.assertEqual(self.applied_versions("hv1"), applied,
                         f"hv1 applied again after moving to {moved}:\n"
                         f"{lab.agents['hv1'].stderr()[-2000:]}")
        self.assertEqual(pinned_map_ids(lab, "hv1"), maps, "hv1's maps were replaced")
        self.assertTrue(self.cp.agent_status("hv1").get("controller_connected"))

    # --- (c) the etcd leader dies during writes -----------------------------------------
    def test_c_kill9_of_the_etcd_leader_during_writes_loses_no_acknowledged_write(self):
        nodes = [n.name for n in self.lab.topo.weft_nodes()]
        applied_before = {n: len(self.applied_versions(n)) for n in nodes}
        leader = self.cp.etcd.leader()
        acknowledged: list[tuple[int, int]] = []  # (write k, version)
        failed = []
        killed_at = None
        # Writes go on until a few after the kill were acknowledged: on a
        # loaded machine the election and a write caught in it (its 5 s
        # call deadline) take a while; the bound is on count and time.
        t0 = time.monotonic()
        k = 0
        while k < 60 and time.monotonic() - t0 < 40:
            if killed_at is not None and sum(1 for j, _ in acknowledged if j > killed_at) >= 3:
                break
            k += 1
            if killed_at is None and (k > 5 or time.monotonic() - t0 > 1.5):
                self.cp.etcd.kill(leader)
                self.addCleanup(lambda: self.cp.etcd.members[leader].alive()
                                or self.cp.etcd.restart(leader))
                killed_at = k
            cp = self.apply(self.state_with_routes("88", k), k % len(self.cp.replicas))
            if cp.returncode == 0:
                acknowledged.append((k, int(cp.stdout.split()[-1])))
            else:
                failed.append((k, cp.stderr.strip()))
        self.assertIsNotNone(killed_at)
        self.assertTrue(any(k > killed_at for k, _ in acknowledged),
                        f"no write succeeded after the leader died: {failed[-3:]}")
        versions = [v for _, v in acknowledged]
        self.assertEqual(versions, sorted(set(versions)), "acknowledged versions not increasing")
        # Each write holds every earlier write's routes: the last
        # acknowledged one is the state, and so every acknowledged route.
        last_k, last_v = acknowledged[-1]
        final = self.state_version()
        self.assertGreaterEqual(final, last_v)
        for r in range(len(self.cp.replicas)):
            # A replica serves what its watch delivered: one whose watch was on
            # the dead member catches up once it is on another.
            try:
                wait_for(lambda: self.state_version(r) >= final, 10,
                         what=f"r{r} serving version {final}")
            except LabError:
                pass  # the assertions below say what is missing
            prefixes = self.state_prefixes(r)
            for k_ok, _ in acknowledged:
                self.assertIn(f"10.88.{k_ok - 1}.0/24", prefixes,
                              f"write {k_ok} was acknowledged but r{r} does not have it "
                              f"(killed at write {killed_at}; acknowledged {acknowledged}):\n"
                              f"{self.cp.log()[-6000:]}")
        self.wait_agents_at(final)
        for n in nodes:
            seen = self.applied_versions(n)[applied_before[n]:]
            self.assertEqual(seen, sorted(seen), f"agent {n} applied a version below an earlier "
                             f"one: {seen}")
        print(f"\n  {len(acknowledged)} writes acknowledged, {len(failed)} refused; leader "
              f"m{leader} killed before write {killed_at}", flush=True)

    # --- (d) two writers, one version ----------------------------------------------------
    def test_d_two_writers_with_the_same_if_version_one_wins(self):
        version = self.state_version()
        paths = [self.state_with_routes("9" + str(w), 1) for w in range(2)]
        procs = [subprocess.Popen(
            ns_argv(self.cp.ns, self.cp.weftctl_argv("apply", "-f", paths[w], "--if-version",
                                                     str(version), replica=w)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for w in range(2)]
        results = [p.communicate(timeout=20) + (p.returncode,) for p in procs]
        winners = [w for w, (_, _, rc) in enumerate(results) if rc == 0]
        self.assertEqual(len(winners), 1, f"{results}")
        loser = 1 - winners[0]
        self.assertIn(f"not {version}", results[loser][1], results[loser])
        self.assertIn("weftctl get state", results[loser][1])
        prefixes = self.state_prefixes(loser)
        self.assertIn(f"10.9{winners[0]}.0.0/24", prefixes)
        self.assertNotIn(f"10.9{loser}.0.0/24", prefixes)

    # --- (e) a bad state written into etcd directly ------------------------------------
    def test_e_a_bad_state_written_into_etcd_is_refused_by_every_replica(self):
        lab = self.lab
        good = self.state_version()
        self.wait_agents_at(good)
        versions = {n.name: self.agent_version(n.name) for n in lab.topo.weft_nodes()}
        # a4's endpoint object, its segment renamed to one that does not
        # exist (same length: the protobuf framing stays valid).
        keys = self.cp.etcd.get_prefix("/weft/v1/state/")
        key = next((k for k in keys if "/endpoints/" in k and k.endswith("a4")), None)
        self.assertIsNotNone(key, f"no key for endpoint a4 among {sorted(keys)[:20]}")
        value = keys[key]
        self.assertEqual(value.count(b"a-db"), 1, value)
        self.cp.etcd.put(key, value.replace(b"a-db", b"a-zz"))
        self.addCleanup(self.cp.etcd.put, key, value)
        for r in self.cp.replicas:
            wait_for(lambda r=r: re.search(r"refused.*a4|a4.*refused", r.log()), 10,
                     what=f"replica {r.name} refusing the bad state")
            line = next(ln for ln in r.log().splitlines() if "refused" in ln and "a4" in ln)
            self.assertIn("a-zz", line, f"{r.name}'s refusal does not name the segment: {line}")
            self.assertEqual(self.state_version(r.index), good, f"{r.name} serves the bad state")
        # Agents keep the last good state, and forward.
        for node, v in versions.items():
            self.assertEqual(self.agent_version(node), v)
        self.assertTrue(lab.ping("a1", "10.0.2.11", count=3).ok)
        # Repaired (the same bytes as before), then a real change goes through.
        self.cp.etcd.put(key, value)
        version = self.applied_version(self.state_with_routes("66", 1), 2)
        self.wait_agents_at(version)

    # --- (f) realization through any replica ----------------------------------------
    def test_f_realization_is_the_fleets_from_any_replica(self):
        nodes = {n.name for n in self.lab.topo.weft_nodes()}
        version = self.state_version()
        self.wait_agents_at(version)
        for r in range(len(self.cp.replicas)):
            def whole(r=r):
                got = self.cp.realization(replica=r)
                seen = {n["node"]: n for n in got.get("nodes", [])}
                return all(n in seen and seen[n].get("connected") and
                           int(seen[n].get("acked_version", 0)) >= version for n in nodes)
            wait_for(whole, 10, what=f"the whole fleet connected and acked through r{r}")
        # hv2 cannot move (stopped) when its replica dies: the replica's
        # lease runs out and every replica shows hv2 disconnected.
        victim = self.holder("hv2")
        survivor = (victim + 1) % len(self.cp.replicas)
        agent = self.lab.agents["hv2"]
        os.kill(agent.proc.pid, signal.SIGSTOP)
        try:
            self.cp.kill_replica(victim)
            self.restart_replica_later(victim)
            t0 = time.monotonic()

            def disconnected():
                for n in self.cp.realization(replica=survivor).get("nodes", []):
                    if n["node"] == "hv2":
                        return not n.get("connected") and not n.get("replicas")
                return False
            wait_for(disconnected, LEASE_TTL_S + 3, what="hv2 shown disconnected")
            print(f"\n  hv2 disconnected {time.monotonic() - t0:.1f}s after its replica died "
                  f"(lease TTL {LEASE_TTL_S}s)", flush=True)
        finally:
            os.kill(agent.proc.pid, signal.SIGCONT)
        wait_for(lambda: self.cp.replica_of("hv2", replica=survivor), 15,
                 what="hv2 back on a replica")


if __name__ == "__main__":
    unittest.main()
