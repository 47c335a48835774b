"""The versioning and lifecycle workloads of the benchmark keep working: a ``--tiny`` run
of just them on oortgate (about 15 s), checking the rows, not the speed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.context import SCALES

from .test_harness import FIELDS, NUMBERS, PYTHON, REPO_ROOT

TINY = SCALES["tiny"]
PAIRS = ("ver_put_4k", "ver_get_4k", "ver_list", "ver_get_key", "ver_list_versions")


def test_tiny_versioning_and_lifecycle_rows(tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [PYTHON, "-m", "bench.run", "--tiny", "--no-wrk", "--no-limits", "--servers",
           "oortgate", "--workloads", "versioned,hot_versions,lifecycle", "--out", str(out),
           "--tmp", str(tmp_path)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    for row in rows:
        assert all(f in row for f in FIELDS), row
        assert all(isinstance(row[f], int | float) and row[f] >= 0 for f in NUMBERS), row
        assert row["errors"] == 0 and row["server"] == "oortgate", row
    by_name: dict[str, dict[str, Any]] = {r["workload"]: r for r in rows}
    for base in PAIRS:
        for side in ("unversioned", "versioned" if base.endswith("4k") else "hot"):
            row = by_name[f"{base}_{side}"]
            assert row["ops"] > 0 and row["p99_ms"] >= row["p50_ms"] > 0, row

    keys = TINY.list_keys  # fewer than a page: every key in one page
    for side in ("unversioned", "hot"):
        listed = by_name[f"ver_list_{side}"]
        assert listed["verified"] == listed["n_objects"] == keys, listed
        assert listed["hot_versions"] == TINY.hot_versions, listed
    for side, entries in (("unversioned", keys), ("hot", keys - 1 + TINY.hot_versions)):
        page = by_name[f"ver_list_versions_{side}"]
        assert page["verified"] == page["n_objects"] == entries, page

    expired = by_name["lifecycle_expire"]
    assert expired["ops"] == expired["n_objects"] == expired["verified"] == TINY.expire_objects
    assert expired["ops_per_s"] > 0 and expired["cli_startup_s"] > 0, expired

    md = (out / "results.md").read_text()
    assert "| versioning and lifecycle | unit | oortgate |" in md
    assert "4 KiB PUT over an existing key: versioned ÷ unversioned** | ratio | **" in md
    assert f"one key with {TINY.hot_versions:,} versions" in md
    assert "`oortgate lifecycle run`" in md
    assert not list(tmp_path.glob("oortgate-bench-*")), "temporary directory left behind"
