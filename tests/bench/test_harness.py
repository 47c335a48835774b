"""The benchmark harness itself keeps working: a tiny run, checking shape, not speed.

Oortgate only, no peers, no wrk: passes on a machine without nginx/wrk/moto/aiohttp.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_PY = REPO_ROOT / ".venv" / "bin" / "python"
PYTHON = str(VENV_PY) if VENV_PY.exists() else sys.executable

NUMBERS = ("ops_per_s", "mb_per_s", "p50_ms", "p99_ms", "errors", "server_cpu_s",
           "server_peak_rss_mb")  # fmt: skip
FIELDS = ("server", "workload", *NUMBERS)


def test_tiny_run_writes_well_formed_results(tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [PYTHON, "-m", "bench.run", "--tiny", "--no-wrk", "--servers", "oortgate",
           "--workloads", "put_4k,get_4k", "--out", str(out), "--tmp", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    for row in rows:
        missing = [f for f in FIELDS if f not in row]
        assert not missing, (missing, row)
        for f in NUMBERS:
            assert isinstance(row[f], int | float) and row[f] >= 0, (f, row)
        assert row["errors"] == 0, row
    by_key = {(r["server"], r["workload"]): r for r in rows}
    for workload in ("put_4k", "get_4k"):
        row = by_key[("oortgate", workload)]
        assert row["ops_per_s"] > 0 and row["p99_ms"] >= row["p50_ms"] > 0, row
        assert row["server_peak_rss_mb"] > 0, row
    for limit in ("md5", "sha256", "fsync_create_4k", "write_fdatasync"):
        assert ("machine", limit) in by_key
    md = (out / "results.md").read_text()
    assert "| metric | oortgate |" in md and "put_4k" in md
    assert not list(tmp_path.glob("oortgate-bench-*")), "temporary directory left behind"
