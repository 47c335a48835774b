"""Counts of what the SQLite metadata holds, for ``oortgate admin stats``: read from a
``mode=ro`` connection in one read transaction (a consistent snapshot that never blocks the
server's writers), with aggregate queries (not for the request path)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from pathlib import Path

from oortgate.meta.body_rows import INLINE_MARK
from oortgate.meta.models import Session
from oortgate.meta.sqlite_db import BLOB_TABLES
from oortgate.meta.sqlite_integrity import open_read_only

_INLINE = f"substr(blob_id, 1, 1) = '{INLINE_MARK}'"
_FILE_BLOB = f"blob_id != '' AND NOT {_INLINE}"  # a multipart object's own blob_id is ''
_OBJECT_BLOBS = (
    f"SELECT blob_id FROM objects WHERE {_FILE_BLOB}"
    f" UNION SELECT blob_id FROM object_parts WHERE {_FILE_BLOB}"
)

# name -> a query giving one number
_COUNTS = {
    "objects": "SELECT COUNT(*) FROM objects",
    "bytes": "SELECT TOTAL(size) FROM objects",
    "inline_objects": f"SELECT COUNT(*) FROM objects WHERE {_INLINE}",
    "inline_bytes": f"SELECT TOTAL(size) FROM objects WHERE {_INLINE}",
    "inline_blobs": "SELECT COUNT(*) FROM inline_blobs",
    "object_blobs": f"SELECT COUNT(*) FROM ({_OBJECT_BLOBS})",
    "upload_part_blobs": f"SELECT COUNT(DISTINCT blob_id) FROM upload_parts WHERE {_FILE_BLOB}",
    "counted_blobs": "SELECT COUNT(*) FROM blobs",
    "pending": "SELECT COUNT(*) FROM pending_blobs",
    "garbage": "SELECT COUNT(*) FROM garbage",
    "uploads": "SELECT COUNT(*) FROM uploads",
    "buckets": "SELECT COUNT(*) FROM buckets",
    "users": "SELECT COUNT(*) FROM users",
    "keys": "SELECT COUNT(*) FROM access_keys",
}


def metadata_counts(db_path: Path, garbage_due_before: float) -> dict[str, int]:
    """Every number of ``_COUNTS``, and ``garbage_due``: garbage queued at or before the time."""
    conn = open_read_only(db_path)
    try:
        conn.execute("BEGIN")
        counts = {name: int(conn.execute(sql).fetchone()[0]) for name, sql in _COUNTS.items()}
        (due,) = conn.execute(
            "SELECT COUNT(*) FROM garbage WHERE queued_at <= ?", (garbage_due_before,)
        ).fetchone()
        conn.execute("COMMIT")
    finally:
        conn.close()
    counts["garbage_due"] = int(due)
    return counts


def session_rows(db_path: Path) -> list[Session]:
    """Every registered session (live or not: the caller decides)."""
    conn = open_read_only(db_path)
    try:
        rows = conn.execute("SELECT session_id, host, pid, started, heartbeat FROM sessions")
        return [Session(*row) for row in rows]
    finally:
        conn.close()


def unknown_blobs(db_path: Path, blob_ids: Iterable[str], batch: int = 500) -> int:
    """How many of these blob ids no row references, marks pending or queues as garbage
    (looked up a batch at a time: a store's ids are never all in memory)."""
    conn = open_read_only(db_path)
    unknown = 0
    ids = iter(blob_ids)
    try:
        while chunk := list(islice(ids, batch)):
            marks = ", ".join("?" * len(chunk))
            known: set[str] = set()
            for table in BLOB_TABLES:
                sql = f"SELECT blob_id FROM {table} WHERE blob_id IN ({marks})"
                known.update(row[0] for row in conn.execute(sql, chunk))
            unknown += sum(1 for blob_id in chunk if blob_id not in known)
    finally:
        conn.close()
    return unknown
