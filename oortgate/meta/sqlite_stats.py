"""Counts of what the SQLite metadata holds, for ``oortgate admin stats``: aggregate
queries (not for the request path), run in one read transaction (one snapshot)."""

from __future__ import annotations

import sqlite3

from oortgate.meta.body_rows import INLINE_MARK
from oortgate.meta.models import MetaCounts

_INLINE = f"substr(blob_id, 1, 1) = '{INLINE_MARK}'"
_FILE_BLOB = f"blob_id != '' AND NOT {_INLINE}"  # a multipart object's own blob_id is ''
_OBJECT_BLOBS = (
    f"SELECT blob_id FROM objects WHERE {_FILE_BLOB}"
    f" UNION SELECT blob_id FROM object_parts WHERE {_FILE_BLOB}"
    f" UNION SELECT blob_id FROM object_versions WHERE {_FILE_BLOB}"
    f" UNION SELECT blob_id FROM object_version_parts WHERE {_FILE_BLOB}"
)

# MetaCounts field -> a query giving one number (garbage_due takes the time)
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


def metadata_counts(db: sqlite3.Connection, garbage_due_before: float) -> MetaCounts:
    """Every count, ``garbage_due`` being garbage queued at or before the time (``db``
    inside a read transaction)."""
    counts = {name: int(db.execute(sql).fetchone()[0]) for name, sql in _COUNTS.items()}
    (due,) = db.execute(
        "SELECT COUNT(*) FROM garbage WHERE queued_at <= ?", (garbage_due_before,)
    ).fetchone()
    return MetaCounts(**counts, garbage_due=int(due))
