"""deploy/ checked against the binaries it deploys (no root, no cluster).

- every Kubernetes manifest parses; the DaemonSet carries what the agent
  needs (host network, the bpffs from the host and the init container that
  mounts it, the capabilities, exec probes (weft-health-probe) on the health
  listener, which is on loopback (unauthenticated), tolerations,
  RollingUpdate maxUnavailable 1, system-node-critical, --detach_on_exit=false);
- the edges' two DaemonSets (agent-launched gobgpd, gobgpd sidecar) are the
  hypervisors' pod but for what makes them edges: on edges only (and the
  hypervisors' DaemonSet off them), NET_BIND_SERVICE where gobgpd runs, and
  in the sidecar form a gobgpd container whose loopback API the agent's
  --gobgpd_api names;
- EVERY flag given to weft-agent / weft-controller / weft-health-probe in the
  manifests, their ConfigMap flag files, the systemd units and their
  EnvironmentFile examples and the Dockerfile is a flag of the built binary
  (parsed from `--helpfull` of $WEFT_BUILD_DIR's binaries);
- ports agree between flags, probes, container ports, the Service and the
  Prometheus annotations;
- the systemd units pass `systemd-analyze verify`: each is verified as a copy
  in a temporary directory whose ExecStart points at $WEFT_BUILD_DIR's binary
  (the unit's own path, /usr/local/bin, is not installed here) and whose
  EnvironmentFile is the example shipped beside it; the edge's drop-ins are
  verified with weft-agent.service, and weft-gobgpd.service (the sidecar
  form) on its own, its API on loopback where the agent's flag says;
- the Dockerfile's runtime stage installs the package of every shared
  library the built binaries link directly (objdump NEEDED -> ldd -> dpkg -S),
  and gobgpd; the build stage GoBGP's protos.
Binaries missing: fails under CI, skips elsewhere."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy")
K8S = os.path.join(DEPLOY, "kubernetes")
SYSTEMD = os.path.join(DEPLOY, "systemd")
BUILD = os.environ.get("WEFT_BUILD_DIR", os.path.join(ROOT, "build"))
BINARIES = ("weft-agent", "weft-controller", "weft-health-probe")
# In debian:12-slim already (apt needs them).
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
EDGE_LABEL = "weft.io/edge"
# The agent's flags that start a child gobgpd, and the one that names a sidecar's.
GOBGPD_CHILD_FLAGS = ("gobgpd", "gobgpd_api_port", "gobgpd_log")


def unmet(reason: str):
    if os.environ.get("CI"):
        raise RuntimeError(f"deploy tests cannot run under CI: {reason}")
    raise unittest.SkipTest(reason)


def load_all(path: str) -> list[dict]:
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def k8s_objects() -> list[dict]:
    out = []
    for name in sorted(os.listdir(K8S)):
        if name.endswith((".yaml", ".yml")):
            out += load_all(os.path.join(K8S, name))
    return out


def find(kind: str, name: str) -> dict:
    for o in k8s_objects():
        if o["kind"] == kind and o["metadata"]["name"] == name:
            return o
    raise AssertionError(f"no {kind} {name} in deploy/kubernetes")


def flagfile_args(text: str) -> list[str]:
    """An Abseil --flagfile: one flag a line, # comments."""
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def flags_of(args: list[str]) -> dict[str, str]:
    """{name: value} of --name=value / --name value / --name arguments."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            if not eq and i + 1 < len(args) and not args[i + 1].startswith("--"):
                value = args[i + 1]
                i += 1
            out[name] = value
        i += 1
    return out


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


_helpfull_cache: dict[str, set[str]] = {}


def binary_flags(binary: str) -> set[str]:
    """Every flag `binary --helpfull` lists, with --noX for booleans."""
    if binary not in _helpfull_cache:
        path = os.path.join(BUILD, binary)
        r = subprocess.run([path, "--helpfull"], capture_output=True, text=True, timeout=30)
        names = set()
        # "    --name (help, maybe over several lines); default: value;"
        chunks = re.split(r"^    --", r.stdout + r.stderr, flags=re.M)[1:]
        for chunk in chunks:
            name = re.match(r"([A-Za-z0-9_]+) \(", chunk).group(1)
            names.add(name)
            if re.search(r"; default: (true|false);", chunk):
                names.add("no" + name)
        if len(names) < 5:
            raise AssertionError(f"could not parse {path} --helpfull:\n{r.stdout}{r.stderr}")
        _helpfull_cache[binary] = names
    return _helpfull_cache[binary]


def container(obj: dict, name: str, init: bool = False) -> dict:
    spec = obj["spec"]["template"]["spec"]
    for c in spec.get("initContainers" if init else "containers", []):
        if c["name"] == name:
            return c
    raise AssertionError(f"no container {name} in {obj['metadata']['name']}")


def container_args(obj: dict, cm: dict, cname: str) -> tuple[str, list[str]]:
    """The binary and its full argument list, --flagfile expanded from the
    ConfigMap it is mounted from."""
    c = container(obj, cname)
    binary = os.path.basename(c["command"][0])
    args = list(c.get("args", []))
    expanded = []
    for a in args:
        if a.startswith("--flagfile="):
            path = a.split("=", 1)[1]
            mounts = [m for m in c["volumeMounts"] if m["mountPath"] == path]
            assert mounts, f"{cname}: {path} is not mounted"
            key = mounts[0]["subPath"]
            assert key in cm["data"], f"ConfigMap {cm['metadata']['name']} has no {key}"
            expanded += flagfile_args(cm["data"][key])
        expanded.append(a)
    return binary, expanded


def unit_exec(path: str) -> tuple[str, list[str]]:
    """ExecStart's binary and arguments, $VAR expanded from the
    EnvironmentFile example shipped beside the unit (<name>.env)."""
    with open(path) as f:
        text = f.read()
    line = re.search(r"^ExecStart=(.*)$", text, re.M).group(1)
    env = {}
    env_example = path.replace(".service", ".env")
    with open(env_example) as f:
        lines = f.read().splitlines()
    for raw in lines:
        raw = raw.strip()
        if raw and not raw.startswith("#"):
            k, _, v = raw.partition("=")
            env[k] = " ".join(shlex.split(v))
    words = shlex.split(line)
    args = []
    for w in words[1:]:
        if w.startswith("$"):
            args += env[w.lstrip("$").strip("{}")].split()
        else:
            args.append(w)
    return os.path.basename(words[0]), args


class ManifestsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for b in BINARIES:
            if not os.access(os.path.join(BUILD, b), os.X_OK):
                unmet(f"no {b} in {BUILD} (set WEFT_BUILD_DIR; build target {b})")

    def assertRealFlags(self, binary: str, args: list[str], where: str):
        known = binary_flags(binary)
        for name in flags_of(args):
            self.assertIn(name, known, f"{where}: --{name} is not a flag of {binary}")

    # --- Kubernetes --------------------------------------------------------
    def test_every_manifest_parses(self):
        objs = k8s_objects()
        self.assertGreaterEqual(len(objs), 8)
        for o in objs:
            self.assertIn("apiVersion", o)
            self.assertIn("kind", o)
            self.assertIn("name", o["metadata"])

    def test_daemonset_carries_what_the_agent_needs(self):
        ds = find("DaemonSet", "weft-agent")
        spec = ds["spec"]["template"]["spec"]
        self.assertTrue(spec["hostNetwork"])
        self.assertFalse(spec.get("hostPID", False), "hostPID is not needed")
        self.assertEqual(spec["dnsPolicy"], "ClusterFirstWithHostNet")
        self.assertEqual(spec["priorityClassName"], "system-node-critical")
        self.assertIn({"operator": "Exists"}, spec["tolerations"])
        self.assertEqual(ds["spec"]["updateStrategy"],
                         {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}})
        volumes = {v["name"]: v for v in spec["volumes"]}
        self.assertEqual(volumes["bpffs"]["hostPath"]["path"], "/sys/fs/bpf")

        agent = container(ds, "agent")
        mounts = {m["name"]: m for m in agent["volumeMounts"]}
        self.assertEqual(mounts["bpffs"]["mountPath"], "/sys/fs/bpf")
        self.assertEqual(mounts["bpffs"]["mountPropagation"], "HostToContainer")
        sc = agent["securityContext"]
        self.assertFalse(sc.get("privileged", False), "the agent needs capabilities, not privileged")
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertEqual(set(sc["capabilities"]["add"]), {"BPF", "PERFMON", "NET_ADMIN", "NET_RAW"})

        init = container(ds, "mount-bpffs", init=True)
        self.assertIn("mount -t bpf", " ".join(init["command"]))
        init_mounts = {m["name"]: m for m in init["volumeMounts"]}
        self.assertEqual(init_mounts["bpffs"]["mountPath"], "/sys/fs/bpf")
        self.assertEqual(init_mounts["bpffs"]["mountPropagation"], "Bidirectional")

        binary, args = container_args(ds, find("ConfigMap", "weft-agent"), "agent")
        self.assertEqual(binary, "weft-agent")
        flags = flags_of(args)
        self.assertEqual(flags["node"], "$(NODE_NAME)")
        self.assertEqual(flags["bpffs"], "/sys/fs/bpf")
        self.assertEqual(flags["detach_on_exit"], "false")
        for key in ("tls_cert", "tls_key", "tls_ca"):
            self.assertTrue(flags[key].startswith(mounts["tls"]["mountPath"] + "/"), key)
        # each node's own certificate (the controller binds the node name to
        # it): from the node, never one Secret every agent pod would share
        self.assertEqual(volumes["tls"]["hostPath"]["path"], "/etc/weft/tls")
        self.assertNotIn("secret", volumes["tls"])
        self.assertTrue(mounts["tls"]["readOnly"])

        ports = {p["name"]: p["containerPort"] for p in agent["ports"]}
        self.assertEqual(ports["metrics"], port_of(flags["metrics_listen"]))
        # the node's own address, not every address of the host network
        self.assertEqual(flags["metrics_listen"].rsplit(":", 1)[0], "$(NODE_IP)")
        env = {e["name"]: e for e in agent["env"]}
        self.assertEqual(env["NODE_IP"]["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP")
        self.assertHealthProbes(agent, flags["health_listen"], ports)
        ann = ds["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(int(ann["prometheus.io/port"]), ports["metrics"])

        # edges run the agent from an edge DaemonSet: one agent a node
        terms = spec["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        self.assertEqual(terms, [{"matchExpressions": [
            {"key": EDGE_LABEL, "operator": "DoesNotExist"}]}])

        # the controller address is the Service's sync port
        svc = find("Service", "weft-controller")
        sync = {p["name"]: p["port"] for p in svc["spec"]["ports"]}["sync"]
        self.assertTrue(flags["controller"].startswith("weft-controller.weft-system.svc"))
        self.assertEqual(port_of(flags["controller"]), sync)

    def assertHealthProbes(self, c: dict, health_listen: str, ports: dict):
        """The health listener on loopback (it is unauthenticated), asked by
        weft-health-probe in the pod: "" (ready) and "liveness"; no port."""
        self.assertEqual(health_listen.rsplit(":", 1)[0], "127.0.0.1")
        self.assertNotIn("health", ports)
        for probe, service in (("readinessProbe", ""), ("livenessProbe", "liveness")):
            argv = c[probe]["exec"]["command"]
            self.assertEqual(os.path.basename(argv[0]), "weft-health-probe", probe)
            self.assertRealFlags("weft-health-probe", argv[1:], probe)
            flags = flags_of(argv[1:])
            self.assertEqual(flags["addr"], health_listen, probe)
            self.assertEqual(flags.get("service", ""), service, probe)

    def edge_daemonset(self, name: str) -> tuple[dict, dict[str, str], set[str]]:
        """An edge DaemonSet, its agent's flags and its agent's added capabilities,
        after checking that it is the hypervisors' pod but for the edge's parts."""
        ds = find("DaemonSet", name)
        spec = ds["spec"]["template"]["spec"]
        self.assertEqual(spec["nodeSelector"], {EDGE_LABEL: "true"})
        self.assertEqual(ds["spec"]["selector"]["matchLabels"],
                         {"app.kubernetes.io/name": name})
        hv = find("DaemonSet", "weft-agent")
        hv_spec = hv["spec"]["template"]["spec"]

        def pod_rest(pod_spec: dict) -> dict:
            return {k: v for k, v in pod_spec.items()
                    if k not in ("containers", "affinity", "nodeSelector")}

        def agent_rest(c: dict) -> dict:
            rest = {k: v for k, v in c.items() if k not in ("args", "securityContext")}
            sc = dict(c["securityContext"])
            sc["capabilities"] = {"drop": sc["capabilities"]["drop"]}
            return {**rest, "securityContext": sc}

        self.assertEqual(pod_rest(spec), pod_rest(hv_spec), f"{name}: the pod drifted")
        self.assertEqual(agent_rest(container(ds, "agent")), agent_rest(container(hv, "agent")),
                         f"{name}: the agent container drifted from agent-daemonset.yaml's")
        self.assertEqual(ds["spec"]["updateStrategy"], hv["spec"]["updateStrategy"])
        cm = find("ConfigMap", "weft-agent")
        binary, args = container_args(ds, cm, "agent")
        self.assertEqual(binary, "weft-agent")
        self.assertRealFlags(binary, args, name)
        hv_flags = flags_of(container_args(hv, cm, "agent")[1])
        flags = flags_of(args)
        self.assertEqual({k: v for k, v in flags.items() if not k.startswith("gobgpd")},
                         hv_flags, f"{name}: flags other than gobgpd's differ from the "
                         "hypervisors'")
        caps = set(container(ds, "agent")["securityContext"]["capabilities"]["add"])
        hv_caps = set(container(hv, "agent")["securityContext"]["capabilities"]["add"])
        return ds, flags, caps - hv_caps

    def test_edge_daemonset_agent_starts_gobgpd(self):
        ds, flags, added_caps = self.edge_daemonset("weft-edge-agent")
        self.assertNotIn("gobgpd_api", flags)
        self.assertEqual(flags["gobgpd_log"], "/dev/stderr")  # the container's log
        # gobgpd, the agent's child, inherits its capabilities and binds TCP 179
        self.assertEqual(added_caps, {"NET_BIND_SERVICE"})
        self.assertEqual([c["name"] for c in ds["spec"]["template"]["spec"]["containers"]],
                         ["agent"])

    def test_edge_daemonset_gobgpd_sidecar(self):
        ds, flags, added_caps = self.edge_daemonset("weft-edge-agent-sidecar")
        self.assertEqual(added_caps, set(), "the agent starts no gobgpd here")
        for child_flag in GOBGPD_CHILD_FLAGS:
            self.assertNotIn(child_flag, flags, "excluded by --gobgpd_api")
        api = flags["gobgpd_api"]
        self.assertEqual(api.rsplit(":", 1)[0], "127.0.0.1", "the API is plaintext")
        gobgpd = container(ds, "gobgpd")
        self.assertEqual(gobgpd["image"], container(ds, "agent")["image"],
                         "the image ships gobgpd")
        argv = gobgpd["command"]
        self.assertEqual(argv[0], "/usr/bin/gobgpd")  # Debian's gobgpd package
        gflags = flags_of(argv[1:])
        self.assertEqual(gflags["api-hosts"], api, "gobgpd listens where the agent looks")
        self.assertFalse({"f", "config-file"} & set(gflags),
                         "no configuration file: the agent gives it everything")
        self.assertIn("pprof-disable", gflags)
        if shutil.which("gobgpd"):
            help_text = subprocess.run(["gobgpd", "--help"], capture_output=True, text=True,
                                       timeout=30).stdout
            for name in gflags:
                self.assertIn(f"--{name}", help_text, f"--{name} is not a flag of gobgpd")
        sc = gobgpd["securityContext"]
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})
        self.assertFalse(sc["privileged"])
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertNotIn("volumeMounts", gobgpd, "gobgpd needs no file of the node")

    def test_controller_deployment_and_service(self):
        dep = find("Deployment", "weft-controller")
        cm = find("ConfigMap", "weft-controller")
        binary, args = container_args(dep, cm, "controller")
        self.assertEqual(binary, "weft-controller")
        flags = flags_of(args)
        c = container(dep, "controller")
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports["sync"], port_of(flags["listen"]))
        self.assertEqual(ports["metrics"], port_of(flags["metrics_listen"]))
        self.assertHealthProbes(c, flags["health_listen"], ports)
        ann = dep["spec"]["template"]["metadata"]["annotations"]
        self.assertEqual(int(ann["prometheus.io/port"]), ports["metrics"])
        svc = find("Service", "weft-controller")
        for p in svc["spec"]["ports"]:
            self.assertIn(p["targetPort"], ports, f"Service port {p['name']}")
            self.assertEqual(p["port"], ports[p["targetPort"]])
        # the state file comes from the weft-state ConfigMap, whole directory
        mounts = {m["name"]: m for m in c["volumeMounts"]}
        state = find("ConfigMap", "weft-state")
        self.assertNotIn("subPath", mounts["state"], "a subPath mount never sees edits")
        self.assertEqual(flags["state"], mounts["state"]["mountPath"] + "/state.yaml")
        self.assertIn("state.yaml", state["data"])
        self.assertIn("nodes", yaml.safe_load(state["data"]["state.yaml"]))
        volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(volumes["tls"]["secret"]["secretName"], "weft-controller-tls")
        for key in ("tls_cert", "tls_key", "tls_ca"):
            self.assertTrue(flags[key].startswith(mounts["tls"]["mountPath"] + "/"), key)

    def test_controller_replicas_deployment(self):
        dep = find("Deployment", "weft-controller-replicas")
        cm = find("ConfigMap", "weft-controller-replicas")
        binary, args = container_args(dep, cm, "controller")
        self.assertEqual(binary, "weft-controller")
        flags = flags_of(args)
        self.assertNotIn("state", flags, "replicas read etcd, not a file")
        self.assertTrue(flags["store"].startswith("etcd://"), flags["store"])
        self.assertGreaterEqual(dep["spec"]["replicas"], 2)
        # each replica is named by its pod (its leased rows in etcd)
        c = container(dep, "controller")
        self.assertEqual(flags["replica_name"], "$(POD_NAME)")
        env = {e["name"]: e for e in c["env"]}
        self.assertEqual(env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name")
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports["sync"], port_of(flags["listen"]))
        self.assertHealthProbes(c, flags["health_listen"], ports)
        mounts = {m["name"]: m for m in c["volumeMounts"]}
        volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(volumes["etcd-tls"]["secret"]["secretName"], "weft-controller-etcd-tls")
        for key in ("store_ca", "store_cert", "store_key"):
            self.assertTrue(flags[key].startswith(mounts["etcd-tls"]["mountPath"] + "/"), key)
        svc = find("Service", "weft-controller-replicas")
        self.assertEqual(svc["spec"]["selector"], dep["spec"]["selector"]["matchLabels"])
        pdb = find("PodDisruptionBudget", "weft-controller-replicas")
        self.assertLess(pdb["spec"]["minAvailable"], dep["spec"]["replicas"])

    def test_every_flag_in_the_manifests_is_real(self):
        ds = find("DaemonSet", "weft-agent")
        self.assertRealFlags(*container_args(ds, find("ConfigMap", "weft-agent"), "agent"),
                             "agent-daemonset.yaml")
        for edge in ("weft-edge-agent", "weft-edge-agent-sidecar"):
            self.assertRealFlags(*container_args(find("DaemonSet", edge),
                                                 find("ConfigMap", "weft-agent"), "agent"), edge)
        dep = find("Deployment", "weft-controller")
        self.assertRealFlags(*container_args(dep, find("ConfigMap", "weft-controller"),
                                             "controller"), "controller.yaml")
        dep = find("Deployment", "weft-controller-replicas")
        self.assertRealFlags(*container_args(dep, find("ConfigMap", "weft-controller-replicas"),
                                             "controller"), "controller-replicas.yaml")

    # --- systemd -----------------------------------------------------------
    def test_every_flag_in_the_units_is_real(self):
        for unit in ("weft-agent.service", "weft-controller.service"):
            binary, args = unit_exec(os.path.join(SYSTEMD, unit))
            self.assertIn(binary, BINARIES)
            self.assertRealFlags(binary, args, unit)
        _, args = unit_exec(os.path.join(SYSTEMD, "weft-agent.service"))
        flags = flags_of(args)
        self.assertEqual(flags["detach_on_exit"], "false")
        self.assertIn("metrics_listen", flags)
        self.assertIn("health_listen", flags)

    def test_units_pass_systemd_analyze_verify(self):
        for unit in ("weft-agent.service", "weft-controller.service"):
            self.assertVerifies(unit)
        # the edge's drop-ins, each with the agent's unit
        self.assertVerifies("weft-agent.service", drop_ins=["weft-agent-edge.conf"])
        self.assertVerifies("weft-agent.service", drop_ins=["weft-agent-gobgpd-sidecar.conf"],
                            also=["weft-gobgpd.service"])
        if shutil.which("gobgpd"):  # its ExecStart must exist to verify
            self.assertVerifies("weft-gobgpd.service")

    def assertVerifies(self, unit: str, drop_ins: list[str] = (), also: list[str] = ()):
        """`systemd-analyze verify` on a copy of `unit` (with `drop_ins` in its
        .d directory and the units `also` beside it) whose EnvironmentFile is
        the example shipped beside it and whose binaries are the build's."""
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            unmet("no systemd-analyze")
        with tempfile.TemporaryDirectory() as tmp:
            def install(name: str, directory: str) -> str:
                with open(os.path.join(SYSTEMD, name)) as f:
                    text = f.read()
                env = os.path.join(SYSTEMD, name.replace(".service", ".env"))
                text = re.sub(r"^EnvironmentFile=.*$", f"EnvironmentFile={env}", text,
                              flags=re.M)
                text = text.replace("/usr/local/bin/", BUILD.rstrip("/") + "/")
                os.makedirs(directory, exist_ok=True)
                path = os.path.join(directory, name)
                with open(path, "w") as f:
                    f.write(text)
                return path

            path = install(unit, tmp)
            for other in also:
                install(other, tmp)
            for drop_in in drop_ins:
                install(drop_in, os.path.join(tmp, unit + ".d"))
            r = subprocess.run([analyze, "verify", "--man=no", path], capture_output=True,
                               text=True, timeout=60)
            out = (r.stdout + r.stderr).strip()
            # Lines about other units of this machine are not ours.
            ours = [l for l in out.splitlines()
                    if any(n in l for n in [unit, path, *drop_ins, *also])]
            self.assertEqual(r.returncode, 0, f"systemd-analyze verify {unit} {drop_ins}:\n{out}")
            self.assertEqual(ours, [], f"systemd-analyze verify {unit} {drop_ins}:\n{out}")

    def test_edge_systemd_forms(self):
        """Agent-launched gobgpd: a drop-in adding CAP_NET_BIND_SERVICE (TCP 179)
        to the agent's unit. Sidecar: weft-gobgpd.service, no config file, its
        API on loopback, wanted (not bound) by the agent's unit through a drop-in."""
        def directives(name: str) -> dict[str, list[str]]:
            out: dict[str, list[str]] = {}
            with open(os.path.join(SYSTEMD, name)) as f:
                for line in f:
                    key, eq, value = line.strip().partition("=")
                    if eq and not line.startswith("#"):
                        out.setdefault(key, []).append(value)
            return out

        edge = directives("weft-agent-edge.conf")
        self.assertEqual(edge["CapabilityBoundingSet"], ["CAP_NET_BIND_SERVICE"])
        self.assertEqual(edge["AmbientCapabilities"], ["CAP_NET_BIND_SERVICE"])
        sidecar = directives("weft-agent-gobgpd-sidecar.conf")
        self.assertEqual(sidecar["Wants"], ["weft-gobgpd.service"])
        self.assertEqual(sidecar["After"], ["weft-gobgpd.service"])
        self.assertNotIn("BindsTo", sidecar, "a gobgpd restart must not restart the agent")
        gobgpd = directives("weft-gobgpd.service")
        argv = shlex.split(gobgpd["ExecStart"][0])
        self.assertEqual(argv[0], "/usr/bin/gobgpd")
        gflags = flags_of(argv[1:])
        self.assertFalse({"f", "config-file"} & set(gflags))
        self.assertEqual(gflags["api-hosts"].rsplit(":", 1)[0], "127.0.0.1")
        self.assertEqual(gobgpd["CapabilityBoundingSet"], ["CAP_NET_BIND_SERVICE"])
        # the flag the unit's comment tells to add to /etc/default/weft-agent
        with open(os.path.join(SYSTEMD, "weft-gobgpd.service")) as f:
            self.assertIn(f"--gobgpd_api={gflags['api-hosts']}", f.read())
        self.assertIn("gobgpd_api", binary_flags("weft-agent"))

    # --- image ---------------------------------------------------------------
    def test_dockerfile(self):
        with open(os.path.join(DEPLOY, "Dockerfile")) as f:
            text = f.read()
        stages = re.split(r"^FROM ", text, flags=re.M)[1:]
        self.assertEqual(len(stages), 2, "build stage and runtime stage")
        self.assertTrue(stages[0].startswith("debian:12 AS build"))
        self.assertTrue(stages[1].startswith("debian:12-slim"))
        self.assertIn("cmake --build", stages[0])
        runtime = stages[1]
        self.assertNotIn("-dev", runtime, "no build dependency in the runtime stage")
        self.assertNotIn("clang", runtime)
        m = re.search(r"apt-get install -y --no-install-recommends((?:.|\n)*?)&&", runtime)
        packages = set(m.group(1).replace("\\", " ").split())
        self.assertIn("bpftool", packages)
        self.assertIn("gobgpd", packages, "the edge's BGP speaker ships in the image")
        self.assertIn("golang-github-osrg-gobgp-dev", stages[0], "GoBGP's protos for the build")
        for b in ("weft-agent", "weft-controller"):
            self.assertRegex(stages[0], rf"\b{b}\b")
        # HEALTHCHECK's flags are real too
        hc = re.search(r"^HEALTHCHECK .*CMD (\[.*\])$", runtime, re.M)
        argv = yaml.safe_load(hc.group(1))
        self.assertRealFlags(os.path.basename(argv[0]), argv[1:], "Dockerfile HEALTHCHECK")
        # every library the binaries link directly comes from a listed package
        if shutil.which("dpkg") is None or shutil.which("objdump") is None:
            return
        for b in BINARIES:
            path = os.path.join(BUILD, b)
            needed = re.findall(r"NEEDED\s+(\S+)",
                                subprocess.run(["objdump", "-p", path], capture_output=True,
                                               text=True).stdout)
            ldd = dict(re.findall(r"^\s*(\S+) => (\S+)", subprocess.run(
                ["ldd", path], capture_output=True, text=True).stdout, re.M))
            for so in needed:
                lib = os.path.realpath(ldd[so])
                owner = None
                for candidate in (lib, lib.replace("/usr/lib/", "/lib/", 1)):
                    r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
                    if r.returncode == 0:
                        owner = r.stdout.split(":")[0]
                        break
                self.assertIsNotNone(owner, f"{b}: no package owns {lib}")
                self.assertTrue(owner in packages or owner in BASE_PACKAGES,
                                f"{b} links {so} from {owner}, not installed by the runtime stage")


if __name__ == "__main__":
    unittest.main()
