"""Schema 11: a bucket's policy column. A database of the version before gains it (NULL:
no policy on the buckets it had), and the store keeps a policy's text as put."""

from __future__ import annotations

from pathlib import Path

from oortgate.meta.sqlite import SCHEMA_VERSION, SqliteMetaStore
from tests.unit._sqlite_versions import database_at

POLICY = '{"Version":"2012-10-17","Statement":[]}'


def _previous_version(path: Path) -> None:
    conn = database_at(path, SCHEMA_VERSION - 1)
    conn.execute("INSERT INTO users (id, name, canonical_id, created) VALUES (1, 'o', 'c1', 0)")
    conn.execute(
        "INSERT INTO buckets (id, name, owner_id, region, created) VALUES (1, 'old', 1, 'r', 0)"
    )
    conn.close()


def test_an_older_database_gains_the_policy_column(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    _previous_version(path)
    store = SqliteMetaStore(path)
    try:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        old = store.get_bucket("old")
        assert old is not None and old.policy is None
        store.set_bucket_policy(old.id, POLICY)
        stored = store.get_bucket("old")
        assert stored is not None and stored.policy == POLICY
        store.set_bucket_policy(old.id, None)
        cleared = store.get_bucket("old")
        assert cleared is not None and cleared.policy is None
    finally:
        store.close()
