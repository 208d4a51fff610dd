"""The previous release's weft-agent, built from git for the upgrade test.

    python3 tests/upgrade/previous_release.py [BUILD_DIR]   # prints the binary's path

The commit is the one hash in tests/upgrade/PREVIOUS_RELEASE. Its tree is
exported with `git archive` into BUILD_DIR/previous-release/<commit>/src and
only the weft-agent target is built, in .../build. Both stay there: a second
run finds the binary up to date and builds nothing. The compiler launcher of
BUILD_DIR's own configuration (ccache, say) is used when it has one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.realpath(os.path.join(HERE, "..", ".."))
RELEASE_FILE = os.path.join(HERE, "PREVIOUS_RELEASE")
# The agent's behaviour, not its speed or its debug info, is under test:
# built without optimisation and without -g, which takes the least compile
# time (it is part of the suite's budget; 5.3 CPU-minutes at -O2 without -g,
# 6.2 with -g). The BPF objects are built by Makefile.bpf as in any build.
CONFIGURE_FLAGS = ["-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_CXX_FLAGS_RELEASE=-O0 -DNDEBUG",
                   "-DCMAKE_C_FLAGS_RELEASE=-O0 -DNDEBUG"]
LAUNCHERS = ("CMAKE_C_COMPILER_LAUNCHER", "CMAKE_CXX_COMPILER_LAUNCHER")


class PreviousReleaseError(Exception):
    pass


def commit() -> str:
    """The hash recorded in PREVIOUS_RELEASE (comments and blank lines skipped)."""
    with open(RELEASE_FILE) as f:
        lines = [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]
    if len(lines) != 1:
        raise PreviousReleaseError(f"{RELEASE_FILE}: expected one commit hash, found {lines}")
    return lines[0]


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", REPO_ROOT, *args], capture_output=True, text=True)


def _resolve(rev: str) -> str:
    """The full hash of rev, or a PreviousReleaseError saying how to get it."""
    if shutil.which("git") is None:
        raise PreviousReleaseError("git is not installed: the upgrade test builds the previous "
                                   "release from this checkout's history")
    cp = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if cp.returncode != 0:
        shallow = _git("rev-parse", "--is-shallow-repository")
        raise PreviousReleaseError(
            f"the previous release {rev} (tests/upgrade/PREVIOUS_RELEASE) is not in the history "
            f"of {REPO_ROOT} (shallow clone: {shallow.stdout.strip() or 'unknown'}; git said: "
            f"{(cp.stderr + shallow.stderr).strip() or 'nothing'}): the upgrade test builds it "
            "from git. Clone with history (actions/checkout: fetch-depth: 0; or "
            "`git fetch --unshallow`)")
    return cp.stdout.strip()


def _callers_launchers(build_dir: str) -> list[str]:
    """-D flags repeating the compiler launchers build_dir was configured with."""
    flags = []
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            for line in f:
                name, _, value = line.strip().partition("=")
                if name.split(":")[0] in LAUNCHERS and value:
                    flags.append(f"-D{name}={value}")
    except OSError:
        pass
    return flags


def _run_logged(argv: list[str], log_path: str, what: str) -> None:
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(argv)}\n")
        log.flush()
        rc = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL).returncode
    if rc != 0:
        with open(log_path, errors="replace") as f:
            tail = "".join(f.readlines()[-30:])
        raise PreviousReleaseError(f"{what} failed (exit {rc}); {log_path} ends:\n{tail}")


def build(build_dir: str) -> str:
    """Path of the previous release's weft-agent, built under build_dir if it
    is not already."""
    full = _resolve(commit())
    root = os.path.join(os.path.abspath(build_dir), "previous-release", full)
    src, out = os.path.join(root, "src"), os.path.join(root, "build")
    log = os.path.join(root, "build.log")
    exported = os.path.join(root, "src.complete")
    if not os.path.exists(exported):
        shutil.rmtree(src, ignore_errors=True)
        os.makedirs(src)
        archive = subprocess.Popen(["git", "-C", REPO_ROOT, "archive", "--format=tar", full],
                                   stdout=subprocess.PIPE)
        untar = subprocess.run(["tar", "-x", "-C", src], stdin=archive.stdout)
        archive.stdout.close()
        if archive.wait() != 0 or untar.returncode != 0:
            raise PreviousReleaseError(f"exporting {full} into {src} failed")
        open(exported, "w").close()
    if not os.path.exists(os.path.join(out, "CMakeCache.txt")):
        _run_logged(["cmake", "-S", src, "-B", out, *CONFIGURE_FLAGS,
                     *_callers_launchers(build_dir)], log, f"configuring {full}")
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    _run_logged(["cmake", "--build", out, "-j", jobs, "--target", "weft-agent"], log,
                f"building weft-agent of {full}")
    return os.path.join(out, "weft-agent")


if __name__ == "__main__":
    default = os.environ.get("WEFT_BUILD_DIR") or os.path.join(REPO_ROOT, "build")
    try:
        print(build(sys.argv[1] if len(sys.argv) > 1 else default))
    except PreviousReleaseError as e:
        sys.exit(f"previous release: {e}")
