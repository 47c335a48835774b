"""A SQLite metadata file as an older schema version left it, for the upgrade tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from oortgate.meta.sqlite_schema import MIGRATIONS


def database_at(path: Path, version: int) -> sqlite3.Connection:
    """``path`` made by the first ``version`` migrations and marked so (autocommit): the
    test adds the rows that version held, closes it, and opens the store on it."""
    conn = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:version]:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    return conn
