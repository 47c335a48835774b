"""results.jsonl (one line per server and workload) and results.md (the ratio tables)."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Row = dict[str, Any]
X = "\u00d7"  # multiplication sign
SERVERS = ("oortgate", "moto", "s3rver", "nginx", "seaweedfs")
# The workloads compared with SeaweedFS, by name prefix (big ones carry the size).
PEER_PREFIXES = ("put_4k", "get_4k", "head_4k", "delete_4k", "put_", "get_", "multipart_",
                 "list_objects_v2")  # fmt: skip
NO_FSYNC = "SeaweedFS does not fsync by default"
OWN_TABLE = ("ver_", "lifecycle_")  # workloads with their own table (bench.report_versions)


class Results:
    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.out_dir = out_dir
        self.jsonl = out_dir / "results.jsonl"
        self.jsonl.write_text("")
        self.rows: list[Row] = []

    def add(self, r: Row) -> None:
        self.rows.append(r)
        with self.jsonl.open("a") as f:
            f.write(json.dumps(r, sort_keys=False) + "\n")
        err = f"  errors={r['errors']} {r.get('first_error', '')}" if r["errors"] else ""
        print(f"  {r['server']:>8} {r['workload']:<22} {r['ops_per_s']:>10.1f} op/s "
              f"{r['mb_per_s']:>9.1f} MB/s  p50 {r['p50_ms']:>8.2f} ms  p99 {r['p99_ms']:>8.2f} ms"
              f"  cpu {r['server_cpu_s']:.1f}s rss {r['server_peak_rss_mb']:.0f}MB{err}",
              flush=True)  # fmt: skip

    def get(self, server: str, workload: str) -> Row | None:
        for r in reversed(self.rows):
            if r["server"] == server and r["workload"] == workload:
                return r
        return None

    def value(self, server: str, workloads: Sequence[str], field: str) -> float | None:
        for w in workloads:
            r = self.get(server, w)
            if r is not None and r["errors"] == 0 and r.get(field):
                return float(r[field])
        return None


def _fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "-"
    s = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}" if abs(x) >= 1 else f"{x:.3f}"
    return s + unit


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _first_clean(res: Results, prefix: str) -> Row | None:
    """oortgate's first error-free row whose workload starts with prefix."""
    for r in res.rows:
        workload = str(r.get("workload", ""))
        if r.get("server") == "oortgate" and workload.startswith(prefix) and not r.get("errors"):
            return r
    return None


def _target_rows(res: Results, big: str) -> list[tuple[str, float | None, str, float | None,
                                                      str, float, bool]]:  # fmt: skip
    """(metric, oortgate value, reference label, reference value, unit, goal, higher_is_better)."""
    g4 = ("get_4k_wrk", "get_4k")
    p4 = ("put_4k_wrk", "put_4k")  # wrk's when there is one: the client is not the limit
    label = big[:-1] + " MiB"
    out: list[tuple[str, float | None, str, float | None, str, float, bool]] = []

    def og(workloads: Sequence[str], field: str) -> float | None:
        return res.value("oortgate", workloads, field)

    for peer, goal in (("moto", 20.0), ("s3rver", 4.0), ("nginx", 0.15)):
        out.append(("4 KiB GET op/s", og(g4, "ops_per_s"), peer,
                    res.value(peer, g4, "ops_per_s"), "", goal, True))  # fmt: skip
    out.append(("4 KiB PUT op/s", og(p4, "ops_per_s"), "moto",
                res.value("moto", p4, "ops_per_s"), "", 5.0, True))  # fmt: skip
    out.append(("4 KiB PUT op/s", og(p4, "ops_per_s"), "fsynced 4 KiB creates/s",
                res.value("machine", ["fsync_create_4k"], "ops_per_s"), "", 0.8, True))  # fmt: skip
    out.append((f"{label} GET MB/s, 1 stream", og([f"get_{big}_x1"], "mb_per_s"),
                "single-stream TLS MB/s", res.value("machine", ["tls_single_stream"], "mb_per_s"),
                "", 0.8, True))  # fmt: skip
    lim = [v for v in (res.value("machine", ["md5"], "mb_per_s"),
                       res.value("machine", ["write_fdatasync"], "mb_per_s")) if v]  # fmt: skip
    out.append(
        (
            f"{label} PUT MB/s, 1 stream",
            og([f"put_{big}_x1"], "mb_per_s"),
            "min(MD5, fdatasync write) MB/s",
            min(lim) if lim else None,
            "",
            0.8,
            True,
        )
    )
    out.append(
        (
            "ListObjectsV2 keys/s",
            og(["list_objects_v2"], "keys_per_s"),
            "moto",
            res.value("moto", ["list_objects_v2"], "keys_per_s"),
            "",
            10.0,
            True,
        )
    )
    streamed = _first_clean(res, "stream_")
    if streamed is not None:
        size = f"{streamed['object_bytes'] / 1024**3:g} GiB"
        out.append((f"peak RSS MB, {size} up and down", streamed.get("server_peak_rss_mb"),
                    "budget MB", 200.0, "", 1.0, False))  # fmt: skip
    completed = _first_clean(res, "complete_")
    md5_rate = res.value("machine", ["md5"], "mb_per_s")
    if completed is not None and md5_rate:
        read_once_ms = completed["object_bytes"] / 1e6 / md5_rate * 1000
        out.append((f"Complete {completed['parts']:,} parts p50 ms", completed.get("p50_ms"),
                    "MD5 of those bytes, ms", round(read_once_ms, 1), "", 0.1, False))  # fmt: skip
    out.append(("HEAD p99 ms, big bucket", og(["head_latency_big"], "p99_ms"),
                "HEAD p99 ms, small bucket", og(["head_latency_small"], "p99_ms"), "", 1.5,
                False))  # fmt: skip
    out.append(
        (
            f"CopyObject {label} p50 ms",
            og([f"copy_{big}"], "p50_ms"),
            "CopyObject 4 KiB p50 ms",
            og(["copy_4k"], "p50_ms"),
            "",
            2.0,
            False,
        )
    )
    return out


def _primary(r: Row) -> tuple[float, str]:
    if r["workload"].startswith("copy_"):  # copies per second, one at a time
        return float(r["ops_per_s"]), "op/s"
    if int(r.get("object_bytes", 0)) >= 1 << 20:
        return float(r["mb_per_s"]), "MB/s"
    if r["workload"] == "list_objects_v2":
        return float(r.get("keys_per_s", 0.0)), "keys/s"
    return float(r["ops_per_s"]), "op/s"


def markdown(res: Results, mode: str, notes: Sequence[str]) -> str:
    big = next((r["workload"][4:-3] for r in res.rows if r["workload"].startswith("put_")
                and r["workload"].endswith("_x1")), "64m")  # fmt: skip
    u = os.uname()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"### Benchmark ({mode} run) — {when}, `{u.machine}`, nproc {os.cpu_count()}, "
        f"Python {platform.python_version()}",
        "",
        "| metric | oortgate | reference | reference value | ratio | goal | met |",
        "| --- | ---: | --- | ---: | ---: | ---: | :---: |",
    ]
    for metric, a, ref, b, _unit, goal, higher in _target_rows(res, big):
        q = _ratio(a, b)
        met = "-" if q is None else ("yes" if (q >= goal if higher else q <= goal) else "no")
        sign = "≥" if higher else "≤"
        lines.append(
            f"| {metric} | {_fmt(a)} | {ref} | {_fmt(b)} | "
            f"{'-' if q is None else f'{q:.2f}{X}'} | {sign} {goal:g}{X} | {met} |"
        )
    present = [s for s in SERVERS if any(r["server"] == s for r in res.rows)]
    headers = [f"{s} (no fsync)" if s == "seaweedfs" else s for s in present]
    lines += ["", "| workload | unit | " + " | ".join(headers)
              + " | oortgate ÷ moto | oortgate p99 ms | oortgate CPU s | oortgate peak RSS MB |",
              "| --- | --- |" + " ---: |" * (len(present) + 4)]  # fmt: skip
    seen: list[str] = []
    for sr in res.rows:
        w = str(sr["workload"])
        if (
            sr["server"] in SERVERS
            and w not in seen
            and "fill" not in w
            and not w.startswith(OWN_TABLE)
        ):
            seen.append(w)
    for w in seen:
        cells, unit = [], ""
        for s in present:
            r_ = res.get(s, w)
            if r_ is None:
                cells.append("-")
                continue
            v, unit = _primary(r_)
            cells.append(_fmt(v) + (f" ({r_['errors']} err)" if r_["errors"] else ""))
        o, m = res.get("oortgate", w), res.get("moto", w)
        ratio = _ratio(_primary(o)[0], _primary(m)[0]) if o and m else None
        tail = [f"{ratio:.2f}{X}" if ratio else "-"]
        if o is not None:
            tail += [_fmt(o["p99_ms"]), _fmt(o["server_cpu_s"]), _fmt(o["server_peak_rss_mb"])]
        else:
            tail += ["-"] * 3
        lines.append(f"| {w} | {unit} | " + " | ".join(cells + tail) + " |")
    lines += peer_ratio_table(res, "seaweedfs", seen, NO_FSYNC)
    from .report_scale import scale_tables  # they build on this module's helpers
    from .report_versions import versioning_table

    lines += versioning_table(res)
    lines += scale_tables(res)
    lines += ["", "| machine limit | value |", "| --- | ---: |"]
    for lr in res.rows:
        if lr["server"] == "machine":
            creates = lr["workload"] == "fsync_create_4k"
            v = lr["ops_per_s"] if creates else lr["mb_per_s"]
            unit = "op/s" if creates else "MB/s"
            lines.append(f"| {lr['workload']} ({lr.get('detail', '')}) | {_fmt(v)} {unit} |")
    lines += [""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def peer_ratio_table(res: Results, peer: str, workloads: Sequence[str], note: str) -> list[str]:
    """oortgate ÷ peer per workload, both error-free (empty when the peer did not run)."""
    if not any(r["server"] == peer for r in res.rows):
        return []
    lines = ["", f"| workload | unit | oortgate | {peer} | oortgate ÷ {peer} | note |",
             "| --- | --- | ---: | ---: | ---: | --- |"]  # fmt: skip
    for w in workloads:
        o, p = res.get("oortgate", w), res.get(peer, w)
        if o is None or p is None or not w.startswith(PEER_PREFIXES):
            continue
        (a, unit), (b, _) = _primary(o), _primary(p)
        clean = not o["errors"] and not p["errors"]
        q = _ratio(a, b) if clean else None
        cells = [_fmt(a) + (f" ({o['errors']} err)" if o["errors"] else ""),
                 _fmt(b) + (f" ({p['errors']} err)" if p["errors"] else ""),
                 "-" if q is None else f"{q:.2f}{X}"]  # fmt: skip
        lines.append(f"| {w} | {unit} | " + " | ".join(cells) + f" | {note} |")
    durable = "oortgate makes every write durable (blob fsync, SQLite synchronous=FULL)"
    return [*lines, "", f"{durable} before it answers; {note}."]
