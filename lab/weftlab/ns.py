"""Low-level helpers: run commands, in the root namespace or inside a network
namespace the lab created. Nothing here touches the root namespace's links,
addresses or routes: every `ip` call that changes something names a namespace
(`ip -n NS ...`) or runs inside one (`ip netns exec NS ...`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from typing import Iterable, Sequence

IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"

# Prefix of every namespace the lab creates: "wft" + 6 hex digits + "-".
PREFIX_RE = re.compile(r"^wft[0-9a-f]{6}-$")


class LabError(RuntimeError):
    """A lab command failed; the message carries the command and its stderr."""


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 30.0,
        input: str | None = None) -> subprocess.CompletedProcess:
    """Runs argv, captures text output. check=True raises LabError on a
    non-zero exit (or a timeout) with the command and its stderr."""
    try:
        cp = subprocess.run(list(argv), capture_output=True, text=True,
                            timeout=timeout, input=input,
                            stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        if check:
            raise LabError(f"timed out after {timeout}s: {' '.join(argv)}") from e
        return subprocess.CompletedProcess(list(argv), 124,
                                           _text(e.stdout), _text(e.stderr))
    if check and cp.returncode != 0:
        raise LabError(f"command failed ({cp.returncode}): {' '.join(argv)}\n"
                       f"{cp.stderr.strip()}")
    return cp


def _text(b) -> str:
    if b is None:
        return ""
    return b.decode(errors="replace") if isinstance(b, bytes) else b


def ns_argv(ns: str, argv: Sequence[str]) -> list[str]:
    """argv run inside network namespace ns."""
    return [IP, "netns", "exec", ns, *argv]


def ns_run(ns: str, argv: Sequence[str], **kw) -> subprocess.CompletedProcess:
    return run(ns_argv(ns, argv), **kw)


def ip(ns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`ip -n ns ARGS...`."""
    return run([IP, "-n", ns, *args], check=check)


def ip_batch(ns: str, commands: Iterable[str], family: str | None = None) -> None:
    """Runs many `ip` commands in namespace ns with one process (-batch);
    family "-6" (or "-4") applies to every command of the batch."""
    text = "\n".join(commands) + "\n"
    run([IP, *([family] if family else []), "-n", ns, "-batch", "-"], input=text)


def list_netns() -> list[str]:
    cp = run([IP, "netns", "list"], check=False)
    names = []
    for line in cp.stdout.splitlines():
        line = line.strip()
        if line:
            names.append(line.split()[0])
    return names


def netns_pids(ns: str) -> list[int]:
    cp = run([IP, "netns", "pids", ns], check=False)
    return [int(x) for x in cp.stdout.split() if x.isdigit()]


def kill_netns_processes(ns: str, grace: float = 2.0) -> None:
    """Terminates every process running inside namespace ns (a namespace this
    lab created), by pid: SIGTERM, then SIGKILL after `grace` seconds."""
    pids = netns_pids(ns)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if _alive(p)]
        if pids:
            time.sleep(0.05)
    for pid in pids:
        _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as dead
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def delete_netns(ns: str) -> None:
    kill_netns_processes(ns)
    run([IP, "netns", "del", ns], check=False)


def mounts_under(path: str) -> list[str]:
    """Mount points at or below path (deepest first)."""
    path = os.path.realpath(path)
    found = []
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                mp = line.split()[1].replace("\\040", " ")
                if mp == path or mp.startswith(path + "/"):
                    found.append(mp)
    except OSError:
        pass
    return sorted(found, key=len, reverse=True)


def unmount_all_under(path: str) -> None:
    for mp in mounts_under(path):
        run(["umount", mp], check=False)
        if mp in mounts_under(path):
            run(["umount", "-l", mp], check=False)


def run_dir(prefix: str) -> str:
    """Per-run scratch directory: /tmp/weft-<run id> (prefix without '-')."""
    return f"/tmp/weft-{prefix.rstrip('-')}"


def cleanup_stale(prefix: str) -> list[str]:
    """Removes what a run with exactly this prefix left behind: namespaces
    whose name starts with `prefix`, the bpffs mounted under its run
    directory, and that directory. Refuses anything but a full lab prefix
    ("wft" + 6 hex + "-"), so it can never reach another run's namespaces.
    Returns the namespaces it deleted."""
    if not PREFIX_RE.match(prefix):
        raise ValueError(f"cleanup_stale: {prefix!r} is not a lab prefix (wft<6 hex>-)")
    deleted = []
    for ns in list_netns():
        if ns.startswith(prefix):
            delete_netns(ns)
            deleted.append(ns)
    d = run_dir(prefix)
    if os.path.isdir(d):
        unmount_all_under(d)
        if not mounts_under(d):
            run(["rm", "-rf", "--one-file-system", d], check=False)
    return deleted


def wait_for(pred, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls pred() until it returns a truthy value (returned) or timeout
    seconds pass (LabError). Intervals grow up to 0.5 s."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise LabError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)
