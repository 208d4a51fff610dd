"""The agent's operator surface in a lab: Prometheus metrics and gRPC health.

hv1's agent runs with --metrics_listen and --health_listen inside hv1's
namespace and is scraped from there:
  - the scrape passes `promtool check metrics` (Prometheus' own linter and
    parser) and carries the series of docs/OPERATIONS.md#metrics;
  - weft_datapath_packets_total{reason="deliver_local"} rises after a
    same-host ping (a1 -> a3, both on hv1);
  - a real Prometheus server (Debian's `prometheus`) scrapes it: up == 1;
  - grpc.health.v1 says SERVING once ready (weft-health-probe), and
    NOT_SERVING for an agent still waiting for its first state;
  - with --detach_on_exit=false a SIGTERM leaves the programs attached: a
    ping flood through hv1 across the agent's stop and restart (an upgrade)
    loses nothing.
Root only (fails under CI without it, skips elsewhere); about a minute."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unittest
import urllib.parse

from netns_common import LabTestCase, unmet
import weftlab
from weftlab import wait_for

METRICS = "127.0.0.1:9464"
HEALTH = "127.0.0.1:9465"
PROMETHEUS = "127.0.0.1:9090"
FLAGS = ["--metrics_listen", METRICS, "--health_listen", HEALTH]

# Run inside a namespace: GET http://ADDR/PATH, body to stdout.
_GET = r"""
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    sys.stdout.write(r.headers.get("Content-Type", "") + "\n" + r.read().decode())
"""

REQUIRED_SERIES = [
    "weft_agent_info", "weft_agent_ready", "weft_agent_state_version",
    "weft_datapath_packets_total", "weft_datapath_bytes_total",
    "weft_conntrack_entries", "weft_conntrack_events_total",
    "weft_map_entries", "weft_map_capacity", "weft_map_fill_ratio",
    "weft_policy_generation", "weft_agent_scrape_duration_seconds",
    "weft_router_advertisements_total",
]


def _bin(name: str) -> str:
    return os.path.join(weftlab.default_build_dir(), name)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def parse_exposition(text: str) -> dict[str, float]:
    """{'name{labels}': value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


class AgentMetricsHealthTest(LabTestCase):
    START_AGENTS = False
    WHOAMI = False

    @classmethod
    def prepare(cls, lab):
        for b in ("weft-health-probe",):
            if not os.access(_bin(b), os.X_OK):
                unmet(f"no {b} at {_bin(b)} (build target {b})")
        cls.promtool = shutil.which("promtool")
        if cls.promtool is None:
            unmet("no promtool (Debian package prometheus; scripts/install-deps.sh)")
        lab.start_agent("hv1", extra=FLAGS)
        lab.start_agent("hv2")

    # --- helpers -----------------------------------------------------------
    def get(self, ns_name: str, url: str) -> tuple[str, str]:
        r = self.lab.exec(ns_name, [sys.executable, "-c", _GET, url], timeout=15)
        self.assertEqual(r.returncode, 0, f"GET {url} in {ns_name}: {r.stderr}")
        content_type, _, body = r.stdout.partition("\n")
        return content_type, body

    def scrape(self, ns_name: str = "hv1", addr: str = METRICS) -> str:
        return self.get(ns_name, f"http://{addr}/metrics")[1]

    def health(self, ns_name: str = "hv1", addr: str = HEALTH) -> str:
        r = self.lab.exec(ns_name, [_bin("weft-health-probe"), "--addr", addr], timeout=15)
        return (r.stdout.strip() or r.stderr.strip())

    def promtool_check(self, text: str) -> None:
        r = subprocess.run([self.promtool, "check", "metrics"], input=text, text=True,
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0,
                         f"promtool check metrics:\n{r.stdout}{r.stderr}\n--- scrape:\n{text}")

    # --- tests -------------------------------------------------------------
    def test_1_scrape_passes_promtool_and_has_the_series(self):
        content_type, text = self.get("hv1", f"http://{METRICS}/metrics")
        # Prometheus reads text/plain as format 0.0.4 (prometheus-cpp names no version).
        self.assertEqual(content_type, "text/plain; charset=utf-8")
        self.promtool_check(text)
        for name in REQUIRED_SERIES:
            self.assertRegex(text, rf"(?m)^# TYPE {name} (counter|gauge)$")
            self.assertRegex(text, rf"(?m)^{name}(\{{| )", f"no sample of {name}")
        samples = parse_exposition(text)
        self.assertEqual(samples["weft_agent_ready"], 1)
        self.assertEqual(samples['weft_agent_info{node="hv1",mode="file",underlay_hook="tc"}'], 1)
        self.assertEqual(samples['weft_map_capacity{map="weft_ct"}'], 262144)
        # a1, a3, b1, b2 live on hv1: four interface bindings.
        self.assertEqual(samples['weft_map_entries{map="weft_ep_by_if"}'], 4)
        self.assertGreater(samples['weft_map_fill_ratio{map="weft_ep_by_if"}'], 0)
        self.assertIn('weft_datapath_packets_total{reason="spoofed",verdict="drop"}', samples)
        self.assertIn('weft_datapath_packets_total{reason="arp_reply",verdict="reply"}', samples)
        self.assertIn('weft_conntrack_events_total{event="insert_failed"}', samples)

    def test_2_deliver_local_rises_after_a_same_host_ping(self):
        key = 'weft_datapath_packets_total{reason="deliver_local",verdict="forward"}'
        before = parse_exposition(self.scrape())[key]
        self.assertTrue(self.lab.wait_ping("a1", "10.0.2.10").ok, "a1 -> a3 (same host)")
        after = parse_exposition(self.scrape())[key]
        # at least the echo request and its reply
        self.assertGreaterEqual(after - before, 2, f"{key}: {before} -> {after}")
        ct = parse_exposition(self.scrape())["weft_conntrack_entries"]
        self.assertGreaterEqual(ct, 1, "the ping's flow is in weft_ct")

    def test_3_health_serving_once_ready(self):
        self.assertEqual(self.health(), "SERVING")

    def test_4_not_serving_while_waiting_for_the_first_state(self):
        # An agent in controller mode whose controller never answers: programs
        # loaded, nothing attached, no state. Its own node name and ports, on
        # the plain Linux host lx1: its SIGTERM detaches whatever Weft
        # program is on the underlay, and lx1 has none.
        lab = self.lab
        argv = [lab.agent_path, "--controller", "127.0.0.1:1", "--insecure", "--node", "waiting",
                "--underlay", "eth0", "--bpffs", lab.bpffs, "--api_socket", "none",
                "--metrics_listen", "127.0.0.1:9474", "--health_listen", "127.0.0.1:9475"]
        helpfull = subprocess.run([lab.agent_path, "--helpfull"], capture_output=True, text=True)
        if "--api_socket" not in helpfull.stdout + helpfull.stderr:
            argv.remove("--api_socket")
            argv.remove("none")
        proc, _, err = lab.spawn(lab.ns("lx1"), argv, f"agent-waiting-{time.monotonic_ns()}")
        try:
            def answering():
                if proc.poll() is not None:
                    raise weftlab.LabError(f"agent exited {proc.returncode}: {_read(err)}")
                return self.health("lx1", "127.0.0.1:9475") in ("SERVING", "NOT_SERVING")
            wait_for(answering, 20, what="the waiting agent's health endpoint")
            self.assertEqual(self.health("lx1", "127.0.0.1:9475"), "NOT_SERVING")
            # metrics start once the programs are loaded, after health
            wait_for(lambda: self.lab.exec("lx1", [sys.executable, "-c", _GET,
                                                   "http://127.0.0.1:9474/metrics"]).returncode == 0,
                     20, what="the waiting agent's metrics")
            text = self.scrape("lx1", "127.0.0.1:9474")
            self.promtool_check(text)
            samples = parse_exposition(text)
            self.assertEqual(samples["weft_agent_ready"], 0)
            self.assertEqual(samples["weft_sync_connected"], 0)
            self.assertEqual(samples["weft_sync_applied_version"], 0)
            self.assertEqual(samples["weft_agent_state_version"], 0)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
        self.assertEqual(proc.returncode, 0, _read(err))

    def test_5_a_real_prometheus_scrapes_it(self):
        prometheus = shutil.which("prometheus")
        if prometheus is None:
            unmet("no prometheus server (Debian package prometheus)")
        lab = self.lab
        data = os.path.join(lab.dir, "prometheus")
        os.makedirs(data, exist_ok=True)
        config = os.path.join(data, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
                    "scrape_configs:\n"
                    f"  - job_name: weft-agent\n    static_configs: [{{targets: ['{METRICS}']}}]\n")
        r = subprocess.run(["promtool", "check", "config", config], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        proc, _, err = lab.spawn(lab.ns("hv1"), [
            prometheus, f"--config.file={config}", f"--storage.tsdb.path={data}/tsdb",
            f"--web.listen-address={PROMETHEUS}"], "prometheus")

        def query(q: str) -> list:
            url = f"http://{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": q})
            r = self.lab.exec("hv1", [sys.executable, "-c", _GET, url], timeout=15)
            if r.returncode != 0:
                return []
            return json.loads(r.stdout.partition("\n")[2])["data"]["result"]

        try:
            def scraped():
                if proc.poll() is not None:
                    raise weftlab.LabError(f"prometheus exited: {_read(err)[-2000:]}")
                return [x["value"][1] for x in query('up{job="weft-agent"}')] == ["1"]
            wait_for(scraped, 60, what="Prometheus' first successful scrape of the agent")
            got = query('weft_datapath_packets_total{reason="deliver_local"}')
            self.assertEqual(len(got), 1, got)
            self.assertEqual(got[0]["metric"]["verdict"], "forward")
            self.assertNotEqual(query('weft_map_fill_ratio{map="weft_ep_by_if"} > 0'), [])
        finally:
            proc.terminate()
            proc.wait(15)

    def test_6_upgrade_without_detaching_loses_nothing(self):
        """--detach_on_exit=false: SIGTERM (a DaemonSet rolling update) leaves
        the programs attached; the next agent adopts the pins."""
        lab = self.lab
        lab.stop_agent("hv1")  # detaches (the default); start again as deployed
        lab.start_agent("hv1", extra=FLAGS + ["--detach_on_exit=false"])
        self.assertTrue(lab.wait_ping("a1", "10.0.2.11").ok)
        count, interval = 1000, "0.005"
        flood, out, _ = lab.spawn(lab.ns("a1"), ["ping", "-q", "-i", interval, "-c", str(count),
                                                 "-W", "1", "10.0.2.11"], "upgrade-flood")
        try:
            time.sleep(1)
            self.assertEqual(lab.stop_agent("hv1"), 0)
            self.assertRegex(lab.tc_filters("hv1", "va1"), r"\bid \d+",
                             "the VM program left va1 with the agent")
            self.assertRegex(lab.tc_filters("hv1", "eth0"), r"\bid \d+",
                             "the underlay program left eth0 with the agent")
            time.sleep(1)  # traffic flows with no agent at all
            lab.start_agent("hv1", extra=FLAGS)
            self.assertEqual(self.health(), "SERVING")
            flood.wait(30)
            with open(out) as f:
                summary = f.read()
            m = re.search(r"(\d+) packets transmitted, (\d+) received", summary)
            self.assertIsNotNone(m, summary)
            self.assertEqual(m.group(1), str(count), summary)
            self.assertEqual(m.group(2), m.group(1), f"lost packets:\n{summary}")
        finally:
            if flood.poll() is None:
                flood.kill()
                flood.wait()


if __name__ == "__main__":
    unittest.main()
