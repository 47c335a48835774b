"""A restore of one archived version (RestoreObject), current or noncurrent, for both
metadata stores (steps as in oortgate.meta.versions, driven in the store's transaction).

The version is named by its id, so a restore asked of a version that a newer write made
noncurrent meanwhile still lands on that version. ``clock`` is the SQL of "now" (a
literal on SQLite; the database clock on PostgreSQL): the moments are given as distances
from it, as the store keeps a current object's."""

from __future__ import annotations

from oortgate.meta.sql_steps import KEY, Steps, query


def set_restore(
    bucket_id: int, key: str, version_id: str, ready_in: float, expiry_in: float, clock: str
) -> Steps[bool]:
    """The version is readable from ``ready_in`` seconds from now until ``expiry_in``
    seconds from now; False: no such version, or it is a delete marker."""
    for table in ("objects", "object_versions"):
        marker = " AND marker = 0" if table == "object_versions" else ""
        rows = yield from query(f"UPDATE {table} SET restore_ready = {clock} + ?,"
                                f" restore_expiry = {clock} + ? WHERE {KEY} AND version_id = ?"
                                f"{marker} RETURNING 1",
                                ready_in, expiry_in, bucket_id, key, version_id)  # fmt: skip
        if rows:
            return True
    return False
