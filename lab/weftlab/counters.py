"""The agents' counters: reason names from bpf/include/weft/abi.h
(WEFT_REASONS, in enum order = index into weft_stats), values from
`bpftool -j map dump pinned ...`, summed over CPUs."""

from __future__ import annotations

import json
import os
import re

from .ns import LabError, run

REPO_ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
ABI_H = os.path.join(REPO_ROOT, "bpf", "include", "weft", "abi.h")
BPFTOOL = "/usr/sbin/bpftool" if os.path.exists("/usr/sbin/bpftool") else "bpftool"


def _x_macro(macro: str, abi_h: str) -> list[tuple[str, str]]:
    """[(enum suffix, label)] of an X-macro list `#define MACRO(X) ...`."""
    with open(abi_h) as f:
        text = f.read()
    m = re.search(r"#define\s+" + macro + r"\(X\)(.*?)(?:\n\s*\n|\n#)", text, re.S)
    if not m:
        raise LabError(f"{macro} not found in {abi_h}")
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    out = re.findall(r"X\(\s*(\w+)\s*,\s*\"([^\"]+)\"\s*\)", body)
    if not out:
        raise LabError(f"nothing parsed from {macro} in {abi_h}")
    return out


def reasons(abi_h: str = ABI_H) -> list[tuple[str, str]]:
    """[(enum suffix, metric label)] in enum order, parsed from WEFT_REASONS."""
    return _x_macro("WEFT_REASONS", abi_h)


def ct_stat_names(abi_h: str = ABI_H) -> list[str]:
    """Labels of weft_ct_stats in enum order, parsed from WEFT_CT_STATS."""
    return [label for _, label in _x_macro("WEFT_CT_STATS", abi_h)]


def first_drop_index(abi_h: str = ABI_H) -> int:
    """Index of the first drop reason (WEFT_FIRST_DROP)."""
    with open(abi_h) as f:
        text = f.read()
    m = re.search(r"#define\s+WEFT_FIRST_DROP\s+WEFT_(\w+)", text)
    names = [n for n, _ in reasons(abi_h)]
    if m and m.group(1) in names:
        return names.index(m.group(1))
    return next((i for i, n in enumerate(names) if n.startswith("DROP_")), len(names))


def _u64_le(byte_strs, off: int) -> int:
    return int.from_bytes(bytes(int(b, 16) for b in byte_strs[off:off + 8]), "little")


def _index_of(entry) -> int:
    key = entry.get("key")
    if isinstance(key, list):
        return int.from_bytes(bytes(int(b, 16) for b in key), "little")
    fmt = entry.get("formatted", {})
    return int(fmt.get("key", key))


def parse_percpu_counters(dump: list) -> dict[int, tuple[int, int]]:
    """{index: (packets, bytes)} summed over CPUs, from bpftool's JSON dump of
    a per-CPU array of struct weft_counter (raw bytes or BTF-formatted)."""
    out: dict[int, tuple[int, int]] = {}
    for entry in dump:
        idx = _index_of(entry)
        pk = by = 0
        values = entry.get("values")
        if values is None and "formatted" in entry:
            values = entry["formatted"].get("values", [])
        if values is None and "value" in entry:  # not per-CPU
            values = [{"value": entry["value"]}]
        for v in values or []:
            val = v.get("value")
            if isinstance(val, list):
                pk += _u64_le(val, 0)
                by += _u64_le(val, 8)
            elif isinstance(val, dict):
                pk += int(val.get("packets", 0))
                by += int(val.get("bytes", 0))
        out[idx] = (pk, by)
    return out


def read_counters(stats_pin: str, abi_h: str = ABI_H) -> dict[str, int]:
    """{metric label: packets} of a pinned weft_stats map."""
    cp = run([BPFTOOL, "-j", "map", "dump", "pinned", stats_pin], check=False)
    if cp.returncode != 0:
        raise LabError(f"bpftool map dump {stats_pin} failed: {cp.stderr.strip()}")
    by_index = parse_percpu_counters(json.loads(cp.stdout or "[]"))
    names = reasons(abi_h)
    result = {}
    for i, (_, label) in enumerate(names):
        result[label] = by_index.get(i, (0, 0))[0]
    # Slots past the known reasons are spare (WEFT_REASON_SLOTS): named only
    # when a newer program counted something there.
    for i, (pk, _) in by_index.items():
        if i >= len(names) and pk:
            result[f"reason_{i}"] = pk
    return result


def drop_labels(abi_h: str = ABI_H) -> list[str]:
    """Reasons from WEFT_FIRST_DROP on, except those WEFT_REASON_IS_DROP
    excludes (`(r) != WEFT_X` in it: reject, the edge's forwarding verdicts)."""
    with open(abi_h) as f:
        m = re.search(r"#define\s+WEFT_REASON_IS_DROP\(r\)(.*?)\n\s*\n", f.read(), re.S)
    not_drops = set(re.findall(r"\(r\)\s*!=\s*WEFT_(\w+)", m.group(1))) if m else {"REJECT"}
    return [label for name, label in reasons(abi_h)[first_drop_index(abi_h):]
            if name not in not_drops]


def bpftool_dump(pin: str) -> list:
    """`bpftool -j map dump pinned PIN`, parsed."""
    cp = run([BPFTOOL, "-j", "map", "dump", "pinned", pin], check=False)
    if cp.returncode != 0:
        raise LabError(f"bpftool map dump {pin} failed: {cp.stderr.strip()}")
    return json.loads(cp.stdout or "[]")


def _u64_value(v) -> int:
    if isinstance(v, list):  # raw bytes
        return int.from_bytes(bytes(int(b, 16) for b in v[:8]), "little")
    return int(v)


def read_ct_stats(ct_stats_pin: str, abi_h: str = ABI_H) -> dict[str, int]:
    """{label: count} of a pinned weft_ct_stats (per-CPU __u64), summed."""
    names = ct_stat_names(abi_h)
    totals: dict[int, int] = {}
    for entry in bpftool_dump(ct_stats_pin):
        idx = _index_of(entry)
        values = entry.get("values")
        if values is None and "formatted" in entry:
            values = entry["formatted"].get("values", [])
        totals[idx] = sum(_u64_value(v.get("value", 0)) for v in values or [])
    out = {label: totals.get(i, 0) for i, label in enumerate(names)}
    for i, v in totals.items():
        if i >= len(names) and v:
            out[f"stat_{i}"] = v
    return out
