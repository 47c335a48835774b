"""SQLite's own checks of the metadata database file: ``PRAGMA quick_check`` at start,
bounded in time, and the full ``PRAGMA integrity_check`` for ``oortgate fsck``.

Both read only: the connection is opened ``mode=ro``, so a damaged file is never written
to (a WAL reader never blocks the server's writers either).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

# How many problems a check lists before it stops: the first few say what is wrong.
MAX_PROBLEMS = 100
_PROGRESS_STEPS = 10_000  # virtual machine steps between two looks at the clock


@dataclass(frozen=True, slots=True)
class CheckResult:
    problems: list[str]  # empty: the file passed
    finished: bool = True  # False: the time ran out before the check ended (no verdict)

    @property
    def ok(self) -> bool:
        return self.finished and not self.problems


def open_read_only(path: Path) -> sqlite3.Connection:
    """A connection that cannot write the database (SQLite may still create its -wal and
    -shm files, with the database file's permissions, to read a WAL database)."""
    uri = f"file:{quote(str(path))}?mode=ro"
    return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)


def quick_check(path: Path, seconds: float) -> CheckResult:
    """``PRAGMA quick_check`` (every page and record format, not index contents),
    interrupted after ``seconds`` so that a huge database never holds up a start.
    Raises sqlite3.OperationalError when the file cannot be read at all."""
    conn = open_read_only(path)
    deadline = time.monotonic() + seconds
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
    try:
        return CheckResult(_problems(conn, "quick_check"))
    except sqlite3.OperationalError as exc:
        if time.monotonic() > deadline and "interrupt" in str(exc):
            return CheckResult([], finished=False)
        raise  # locked, unreadable, an I/O error: no verdict on the file's contents
    except sqlite3.DatabaseError as exc:  # not a database at all, or a broken header
        return CheckResult([str(exc)])
    finally:
        conn.close()


def integrity_check(conn: sqlite3.Connection) -> CheckResult:
    """``PRAGMA integrity_check``: quick_check plus every index against its table."""
    try:
        return CheckResult(_problems(conn, "integrity_check"))
    except sqlite3.DatabaseError as exc:
        return CheckResult([str(exc)])


def _problems(conn: sqlite3.Connection, pragma: str) -> list[str]:
    rows = conn.execute(f"PRAGMA {pragma}({MAX_PROBLEMS})").fetchall()
    messages = [_one_line(str(row[0])) for row in rows]
    return [] if messages == ["ok"] else messages


def _one_line(message: str) -> str:
    """SQLite heads a message with "*** in database main ***" and a newline: drop that,
    so each problem is one line."""
    lines = message.splitlines()
    kept = [line for line in lines if not (line.startswith("***") and line.endswith("***"))]
    return "; ".join(kept or lines)
