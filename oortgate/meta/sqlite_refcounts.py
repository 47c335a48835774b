"""Blob reference counts on SQLite: kept in the write transactions that add or remove a
referencing row, checked against the rows that really reference each blob (for ``oortgate
fsck`` and the tests), and set right again (``fsck --repair``)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from oortgate.meta.body_rows import is_inline_ref
from oortgate.meta.scan import Drift
from oortgate.meta.sqlite_db import Database
from oortgate.meta.sqlite_schema import FILE_BLOB

COUNTED_SINCE = 9  # the schema version that brought the counts

# Every referencing row, once per reference (as the counts count them).
_REFERENCES = (
    f"SELECT blob_id FROM objects WHERE parts_count = 0 AND blob_id != ''"
    f" UNION ALL SELECT blob_id FROM object_parts WHERE {FILE_BLOB}"
    f" UNION ALL SELECT blob_id FROM upload_parts WHERE {FILE_BLOB}"
    " UNION ALL SELECT blob_id FROM object_versions WHERE parts_count = 0 AND blob_id != ''"
    f" UNION ALL SELECT blob_id FROM object_version_parts WHERE {FILE_BLOB}"
)
_DRIFT = f"""
WITH real AS (SELECT blob_id, COUNT(*) AS n FROM ({_REFERENCES}) GROUP BY blob_id),
counted AS (SELECT blob_id, refs FROM blobs UNION ALL SELECT blob_id, refs FROM inline_blobs)
SELECT real.blob_id, COALESCE(counted.refs, 0), real.n FROM real
    LEFT JOIN counted USING (blob_id) WHERE counted.refs IS NOT real.n
UNION ALL
SELECT blob_id, refs, 0 FROM counted WHERE blob_id NOT IN (SELECT blob_id FROM real)
ORDER BY 1
"""


def reference_drift(conn: sqlite3.Connection) -> list[Drift]:
    """Every blob whose count differs from its references (one query: one snapshot)."""
    return [Drift(*row) for row in conn.execute(_DRIFT)]


def count_references(conn: sqlite3.Connection, blob_id: str) -> int:
    sql = f"SELECT COUNT(*) FROM ({_REFERENCES}) WHERE blob_id = ?"
    (count,) = conn.execute(sql, (blob_id,)).fetchone()
    return int(count)


def set_reference_counts(conn: sqlite3.Connection, blob_ids: Sequence[str]) -> int:
    """Set each blob's count to its references, counted now; inside a write transaction
    (so no writer changes them meanwhile). A file blob left with none is queued as
    garbage; an inline one's row goes (no file). Returns how many counts changed."""
    changed = 0
    for blob_id in blob_ids:
        real = count_references(conn, blob_id)
        if is_inline_ref(blob_id):
            if real:
                sql = "UPDATE inline_blobs SET refs = ? WHERE blob_id = ? AND refs != ?"
                changed += conn.execute(sql, (real, blob_id, real)).rowcount
            else:
                sql = "DELETE FROM inline_blobs WHERE blob_id = ?"
                changed += conn.execute(sql, (blob_id,)).rowcount
        elif real:
            changed += conn.execute(
                "INSERT INTO blobs (blob_id, refs) VALUES (?, ?) ON CONFLICT (blob_id)"
                " DO UPDATE SET refs = excluded.refs WHERE refs != excluded.refs",
                (blob_id, real),
            ).rowcount
            conn.execute("DELETE FROM garbage WHERE blob_id = ?", (blob_id,))
        elif conn.execute("DELETE FROM blobs WHERE blob_id = ?", (blob_id,)).rowcount:
            changed += 1
            sql = "INSERT OR IGNORE INTO garbage (blob_id, queued_at) VALUES (?, ?)"
            conn.execute(sql, (blob_id, time.time()))
    return changed


class CountedReferences(Database):
    """The reference-count steps that the objects and uploads stores take inside their
    write transactions."""

    # Each blob file's references are counted on its row in ``blobs`` (an inline blob's
    # on its inline_blobs row), changed in the transaction that writes or removes a
    # referencing row. Never "is any row still pointing at it?": that question is only
    # answered right while no other writer can commit in between.
    def _claim(self, blob_id: str) -> bool:
        """A new row is about to reference blob_id: count it. True if the blob was a
        pending upload (its mark is now cleared, its count starts at 1) or is alive (a
        copy: one more); False if neither (a copy whose source lost its last reference)."""
        if self._conn.execute("DELETE FROM pending_blobs WHERE blob_id = ?", (blob_id,)).rowcount:
            self._one("INSERT INTO blobs (blob_id, refs) VALUES (?, 1)", blob_id)
            return True
        return self._reference(blob_id)

    def _reference(self, blob_id: str) -> bool:
        """One more reference to a live blob (guarded: a count at 0 stays 0); False if
        the blob has no references left."""
        sql = "UPDATE blobs SET refs = refs + 1 WHERE blob_id = ? AND refs > 0"
        return self._conn.execute(sql, (blob_id,)).rowcount > 0

    def _claim_inline(self, blob_id: str, data: bytes) -> None:
        """A new inline object, or a copy of one: the bytes are at hand, so the blob's
        row is made again if its last reference went meanwhile."""
        self._one(
            "INSERT INTO inline_blobs (blob_id, data, refs) VALUES (?, ?, 1)"
            " ON CONFLICT (blob_id) DO UPDATE SET refs = refs + 1",
            blob_id,
            data,
        )

    def _release(self, blob_id: str) -> None:
        """A row referencing blob_id is gone: one reference less; the last one queues
        the blob as garbage (an inline blob has no file: its row just goes)."""
        if not blob_id:
            return
        table = "inline_blobs" if is_inline_ref(blob_id) else "blobs"
        # The last reference (the common case) in one statement, else one less.
        cur = self._conn.execute(f"DELETE FROM {table} WHERE blob_id = ? AND refs <= 1", (blob_id,))
        if not cur.rowcount:
            cur = self._conn.execute(
                f"UPDATE {table} SET refs = refs - 1 WHERE blob_id = ?", (blob_id,)
            )
            if cur.rowcount:
                return
            # No count row at all: a row written around the store; this was its last.
        if table == "blobs":
            sql = "INSERT OR IGNORE INTO garbage (blob_id, queued_at) VALUES (?, ?)"
            self._one(sql, blob_id, time.time())

    def repair_reference_counts(self, blob_ids: Sequence[str]) -> int:
        """fsck --repair: set these blobs' counts to their references, counted now."""
        with self._write():
            return set_reference_counts(self._conn, blob_ids)
