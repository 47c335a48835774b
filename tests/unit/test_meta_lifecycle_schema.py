"""Schema 12: a bucket's lifecycle column and the leases table. A database of the
version before gains them (no rules on the buckets it had, no lease held)."""

from __future__ import annotations

from pathlib import Path

from oortgate.meta.sqlite import SCHEMA_VERSION, SqliteMetaStore
from tests.unit._sqlite_versions import database_at


def test_an_older_database_gains_lifecycle_and_leases(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    conn = database_at(path, SCHEMA_VERSION - 1)
    conn.execute("INSERT INTO users (id, name, canonical_id, created) VALUES (1, 'o', 'c1', 0)")
    conn.execute(
        "INSERT INTO buckets (id, name, owner_id, region, created) VALUES (1, 'old', 1, 'r', 0)"
    )
    conn.close()
    store = SqliteMetaStore(path)
    try:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        old = store.get_bucket("old")
        assert old is not None and old.lifecycle is None
        assert store.lifecycle_buckets() == []
        store.set_bucket_lifecycle(old.id, "[]")
        assert [b.name for b in store.lifecycle_buckets()] == ["old"]
        assert store.take_lease("lifecycle", "me", 60)
        assert not store.take_lease("lifecycle", "you", 60)
    finally:
        store.close()
