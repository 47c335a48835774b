"""Schema 9: reference counts, sessions and quota counters backfilled from the rows of an
older database, so that an existing data directory upgrades in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from oortgate.errors import S3Error
from oortgate.meta.base_accounts import MAX_KEYS_PER_USER
from oortgate.meta.models import InlineBody
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.meta.sqlite_refcounts import reference_drift, set_reference_counts
from tests.unit._sqlite_versions import database_at

SHARED, PART1, PART2, OPEN_PART, PENDING = ("a" * 32, "b" * 32, "c" * 32, "d" * 32, "e" * 32)
INLINE = "i" + "f" * 32
_OBJECT = (
    "INSERT INTO objects (bucket_id, key, blob_id, size, etag, last_modified, content_type,"
    " system_headers, user_metadata, checksums, storage_class, parts_count)"
    " VALUES (1, ?, ?, 3, '', 0, '', '{}', '{}', '{}', 'STANDARD', ?)"
)


def _version_8(path: Path) -> None:
    """A database as the previous version left it: a blob shared by an object and its
    copy, a multipart object, an open upload's part, an inline object and its copy."""
    conn = database_at(path, 8)
    conn.execute("INSERT INTO users VALUES (1, 'owner', 'c1', 0)")
    for n in range(3):
        conn.execute("INSERT INTO access_keys VALUES (?, 's', 1, 1, 0, NULL)", (f"AK{n}",))
    conn.execute(
        "INSERT INTO buckets (id, name, owner_id, region, created) VALUES (1, 'b', 1, 'r', 0)"
    )
    conn.execute(
        "INSERT INTO buckets (id, name, owner_id, region, created) VALUES (2, 'c', 1, 'r', 0)"
    )
    conn.executemany(_OBJECT, [("plain", SHARED, 0), ("copy", SHARED, 0), ("mp", "", 2),
                               ("small", INLINE, 0), ("small-copy", INLINE, 0)])  # fmt: skip
    conn.executemany(
        "INSERT INTO object_parts (bucket_id, key, idx, blob_id, size) VALUES (1, 'mp', ?, ?, 3)",
        [(0, PART1), (1, PART2)],
    )
    conn.execute("INSERT INTO inline_blobs VALUES (?, x'616263')", (INLINE,))
    conn.execute(
        "INSERT INTO uploads (upload_id, bucket_id, key, initiated, content_type,"
        " system_headers, user_metadata, storage_class)"
        " VALUES ('u', 1, 'k', 0, '', '{}', '{}', 'S')"
    )
    conn.execute("INSERT INTO upload_parts VALUES ('u', 1, ?, 3, '', 0, NULL, NULL)", (OPEN_PART,))
    conn.execute("INSERT INTO pending_blobs VALUES (?, 0)", (PENDING,))
    conn.close()


@pytest.fixture
def upgraded(tmp_path: Path) -> SqliteMetaStore:
    path = tmp_path / "meta.db"
    _version_8(path)
    return SqliteMetaStore(path)


def _counts(meta: SqliteMetaStore) -> dict[str, int]:
    rows = meta._conn.execute(
        "SELECT blob_id, refs FROM blobs UNION ALL SELECT blob_id, refs FROM inline_blobs"
    )
    return dict(rows.fetchall())


def test_counts_are_backfilled_from_every_referencing_row(upgraded: SqliteMetaStore) -> None:
    assert _counts(upgraded) == {SHARED: 2, PART1: 1, PART2: 1, OPEN_PART: 1, INLINE: 2}
    assert reference_drift(upgraded._conn) == []
    # The old pending mark belongs to no session: the next sweep's.
    assert upgraded.recover_pending() == 1
    assert upgraded.take_garbage() == [PENDING]


def test_upgraded_counts_drive_the_lifecycle(upgraded: SqliteMetaStore) -> None:
    assert upgraded.delete_object(1, "copy")
    assert upgraded.take_garbage() == []  # "plain" still holds the shared blob
    assert upgraded.delete_object(1, "plain")
    assert upgraded.delete_object(1, "small")
    copy = upgraded.get_object(1, "small-copy")
    assert copy is not None and copy.body == InlineBody(b"abc", None, INLINE)
    assert upgraded.delete_object(1, "mp")
    assert upgraded.take_garbage() == [SHARED, PART1, PART2]
    assert reference_drift(upgraded._conn) == []


def test_quota_counters_are_backfilled(upgraded: SqliteMetaStore) -> None:
    for n in range(3, MAX_KEYS_PER_USER):
        upgraded.create_key(1, f"AK{n}", "s")
    with pytest.raises(ValueError, match="access keys"):
        upgraded.create_key(1, "AKOVER", "s")
    upgraded.create_bucket("third", 1, "r", 3)
    with pytest.raises(S3Error, match="TooManyBuckets"):
        upgraded.create_bucket("fourth", 1, "r", 3)


def test_counts_set_right_again(upgraded: SqliteMetaStore) -> None:
    """What fsck --repair does with a count that drifted (a row written around the
    store): recounted from the rows, in a write transaction."""
    conn = upgraded._conn
    conn.execute("UPDATE blobs SET refs = 7 WHERE blob_id = ?", (SHARED,))
    conn.execute("DELETE FROM blobs WHERE blob_id = ?", (PART1,))
    conn.execute("INSERT INTO blobs VALUES (?, 1)", ("9" * 32,))
    drift = {(d.blob_id, d.counted, d.referenced) for d in reference_drift(conn)}
    assert drift == {(SHARED, 7, 2), (PART1, 0, 1), ("9" * 32, 1, 0)}
    with upgraded._write():
        assert set_reference_counts(conn, sorted(b for b, _, _ in drift)) == 3
    assert reference_drift(conn) == []
    assert upgraded.take_garbage() == ["9" * 32]  # counted for nothing: queued
