"""The blob lifecycle on SQLite: pending marks, garbage, and which ids rows know."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Sequence

from oortgate.meta.sqlite_db import Database, chunks
from oortgate.meta.sqlite_schema import BLOB_TABLES


def known_blobs(db: sqlite3.Connection, blob_ids: Sequence[str]) -> set[str]:
    """Which of these ids a row of any table knows (in the caller's read transaction)."""
    known: set[str] = set()
    for chunk in chunks(list(blob_ids)):
        marks = ", ".join("?" * len(chunk))
        for table in BLOB_TABLES:
            sql = f"SELECT DISTINCT blob_id FROM {table} WHERE blob_id IN ({marks})"
            known.update(row[0] for row in db.execute(sql, chunk))
    return known


class BlobLifecycleStore(Database):
    def add_pending_blob(self, blob_id: str) -> None:
        try:
            with self._write():
                self._one(
                    "INSERT INTO pending_blobs (blob_id, created, session_id) VALUES (?, ?, ?)",
                    blob_id,
                    time.time(),
                    self._session,
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"blob id already pending: {blob_id}") from None

    def drop_pending_blob(self, blob_id: str) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM pending_blobs WHERE blob_id = ?", (blob_id,)).rowcount:
                self._one("INSERT OR IGNORE INTO garbage (blob_id) VALUES (?)", blob_id)

    def take_garbage(self, limit: int = 1000, queued_before: float | None = None) -> list[str]:
        """Claims and deletes the rows in one write transaction: two workers' collectors
        never take the same id."""
        # INDEXED BY: for ORDER BY ... LIMIT the planner would rather scan every row.
        # A blob under a read lease of a registered session waits (see lease_blobs).
        sql = (
            "DELETE FROM garbage WHERE blob_id IN (SELECT blob_id FROM garbage"
            " INDEXED BY garbage_queued WHERE queued_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM read_leases l JOIN sessions s"
            " ON s.session_id = l.session_id WHERE l.blob_id = garbage.blob_id)"
            " ORDER BY blob_id LIMIT ?) RETURNING blob_id"
        )
        before = math.inf if queued_before is None else queued_before
        with self._write() as db:
            return sorted(row[0] for row in db.execute(sql, (before, limit)).fetchall())

    def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        with self._snapshot() as db:
            return known_blobs(db, blob_ids)

    def recover_pending(self) -> int:
        """Pending marks of no registered session become garbage: written before
        sessions existed, by a session-less tool, or by a session ended meanwhile.
        A live session's marks are never touched."""
        orphaned = (
            "FROM pending_blobs WHERE session_id IS NULL OR NOT EXISTS"
            " (SELECT 1 FROM sessions WHERE sessions.session_id = pending_blobs.session_id)"
        )
        if self._one(f"SELECT 1 {orphaned} LIMIT 1") is None:
            return 0  # the usual case: no write transaction for nothing
        with self._write() as db:
            db.execute(f"INSERT OR IGNORE INTO garbage (blob_id) SELECT blob_id {orphaned}")
            return db.execute(f"DELETE {orphaned}").rowcount
