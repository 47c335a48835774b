"""Reference counts checked against the rows that really reference each blob (for
``oortgate fsck`` and the tests), and set right again (``fsck --repair``)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from oortgate.meta.models import is_inline
from oortgate.meta.sqlite_db import FILE_BLOB

COUNTED_SINCE = 9  # the schema version that brought the counts

# Every referencing row, once per reference (as the counts count them).
_REFERENCES = (
    f"SELECT blob_id FROM objects WHERE parts_count = 0 AND blob_id != ''"
    f" UNION ALL SELECT blob_id FROM object_parts WHERE {FILE_BLOB}"
    f" UNION ALL SELECT blob_id FROM upload_parts WHERE {FILE_BLOB}"
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


@dataclass(frozen=True, slots=True)
class Drift:
    blob_id: str
    counted: int  # what its count row says (0: none)
    referenced: int  # how many rows reference it


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
        if is_inline(blob_id):
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
