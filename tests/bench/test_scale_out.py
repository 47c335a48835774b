"""The benchmark's scale-out sections keep working: a tiny run on PostgreSQL, 1 vs 3
gateways under CPU quotas and pgbench, checking shape and the counters, not speed.
(The RADOS rows boot a Ceph cluster of their own: they are left to `make bench`.)"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench.cpuquota import find_root
from bench.pgbench import GET_SCRIPT, PUT_SCRIPT, parse
from bench.run import parse as parse_args
from bench.run import scale_out_sections
from tests.bench.test_harness import PYTHON, REPO_ROOT

FLEET_WORKLOADS = ("put_4k", "get_4k", "head_4k", "list_objects_v2")


def _quota_dirs() -> set[Path]:
    root = find_root()
    return set(root[0].glob("oortgate-bench-*")) if root else set()


def test_tiny_scale_out_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = _quota_dirs()
    cmd = [PYTHON, "-m", "bench.run", "--tiny", "--scale-out", "--no-rados", "--no-wrk",
           "--no-limits", "--servers", "oortgate", "--workloads", "put_4k,get_4k,list",
           "--out", str(out), "--tmp", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    by_key = {(r["server"], r["workload"]): r for r in rows}
    for r in rows:
        assert r["errors"] == 0, r

    # On PostgreSQL: what a request sent to it (GET one statement, a 4 KiB PUT one call,
    # beside the odd heartbeat) and the CPU PostgreSQL spent.
    put, get = by_key[("oortgate-pg", "put_4k")], by_key[("oortgate-pg", "get_4k")]
    assert 1 <= put["pg_statements_per_op"] < 2.5, put
    assert 1 <= get["pg_statements_per_op"] < 1.5, get
    assert put["postgres_cpu_s"] >= 0 and put["ops"] > 0

    md = (out / "results.md").read_text()
    if find_root() is None:
        assert "section gateways: skipped (no writable cgroup" in md
    else:
        for n in (1, 3):
            for workload in FLEET_WORKLOADS:
                r = by_key[(f"oortgate-{n}gw", workload)]
                assert r["ops"] > 0 and r["gateways"] == n, r
                assert r["pg_statements_per_op"] >= 1, r
                for field in ("gateway_cpu_s", "postgres_cpu_s", "redis_cpu_s", "throttled_s"):
                    assert r[field] >= 0, (field, r)
        assert "| workload | unit | 1 gateway | 3 gateways |" in md
    for op in ("put", "get"):
        for clients in (1, 16):
            r = by_key[("postgresql", f"pgbench_{op}_c{clients}")]
            assert r["ops"] > 0 and r["latency_avg_ms"] > 0, r
    assert "| workload | unit | embedded | postgresql |" in md
    assert "| pgbench (PostgreSQL's ceiling) |" in md
    assert not list(tmp_path.glob("oortgate-bench-*")), "temporary directory left behind"
    assert _quota_dirs() <= before, "a cgroup left behind"


def test_each_section_has_its_flag() -> None:
    assert scale_out_sections(parse_args([])) == ["pg", "rados", "gateways", "pgbench"]
    assert scale_out_sections(parse_args(["--no-pg", "--no-rados"])) == ["gateways", "pgbench"]
    assert scale_out_sections(parse_args(["--quick", "--no-gateways", "--no-pgbench"])) == [
        "pg", "rados"]  # fmt: skip
    assert scale_out_sections(parse_args(["--tiny"])) == []
    assert scale_out_sections(parse_args(["--tiny", "--scale-out", "--no-pgbench"])) == [
        "pg", "rados", "gateways"]  # fmt: skip


def test_pgbench_scripts_call_what_the_store_calls() -> None:
    assert "SELECT og_put_object(" in PUT_SCRIPT and "%s" not in PUT_SCRIPT
    assert "FROM objects o LEFT JOIN inline_blobs" in GET_SCRIPT and "%s" not in GET_SCRIPT
    out = """transaction type: s.sql
number of clients: 16
duration: 2 s
number of transactions actually processed: 4824
number of failed transactions: 0 (0.000%)
latency average = 6.610 ms
initial connection time = 20.5 ms
tps = 2412.3 (without initial connection time)
"""
    r = parse(out)
    assert (r.transactions, r.tps, r.latency_ms, r.failed, r.seconds) == (
        4824, 2412.3, 6.61, 0, 2.0)  # fmt: skip
