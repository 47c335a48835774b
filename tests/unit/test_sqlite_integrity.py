"""SQLite's own checks of the metadata file: quick_check bounded in time, damage found,
and the start-up check's verdicts."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from oortgate import preflight
from oortgate.meta.sqlite_integrity import integrity_check, open_read_only, quick_check


def _database(path: Path, rows: int) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
        db.executemany(
            "INSERT INTO t VALUES (?, ?)", ((f"key{i:06d}", "v" * 50) for i in range(rows))
        )
    return path


def test_a_sound_file_passes(tmp_path: Path) -> None:
    path = _database(tmp_path / "ok.sqlite3", 1000)
    assert quick_check(path, 10).ok
    conn = open_read_only(path)
    try:
        assert integrity_check(conn).ok
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("INSERT INTO t VALUES ('x', 'y')")
    finally:
        conn.close()


def test_the_time_limit_gives_up_without_a_verdict(tmp_path: Path) -> None:
    path = _database(tmp_path / "big.sqlite3", 20_000)
    result = quick_check(path, 0)
    assert (result.finished, result.problems, result.ok) == (False, [], False)
    assert "oortgate fsck" in (preflight.check_database(path, 0) or "")
    assert preflight.check_database(path, 10) is None


def test_garbage_in_the_middle_is_found(tmp_path: Path) -> None:
    path = _database(tmp_path / "bad.sqlite3", 5000)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(os.urandom(4096))
    result = quick_check(path, 10)
    assert result.finished and result.problems and not result.ok
    assert all("\n" not in problem and "***" not in problem for problem in result.problems)
    with pytest.raises(preflight.StartupError, match=r"is damaged .*backup.*oortgate fsck") as exc:
        preflight.check_database(path)
    assert "\n" not in str(exc.value)


def test_not_a_database_at_all(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"not SQLite" * 1000)
    assert quick_check(path, 10).problems == ["file is not a database"]


def test_no_database_yet_is_fine(tmp_path: Path) -> None:
    assert preflight.check_database(tmp_path / "absent.sqlite3") is None


def test_a_file_that_cannot_be_read_gets_no_verdict(tmp_path: Path) -> None:
    """Not "damaged": serve then says the database cannot be opened, and why."""
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(sqlite3.OperationalError):
        quick_check(tmp_path / "dir.sqlite3", 10)
