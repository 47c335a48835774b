"""Inline (small) objects in SqliteMetaStore: bytes stored with the record, shared by
copies, dropped with their last reference, never queued as garbage."""

from __future__ import annotations

import secrets
from contextlib import closing
from pathlib import Path
from typing import Any

from oortgate.meta.body_rows import INLINE_MARK, is_inline_ref, new_inline_ref
from oortgate.meta.models import BlobBody, InlineBody, ObjectRecord
from oortgate.meta.sqlite import SCHEMA_VERSION, SqliteMetaStore
from oortgate.meta.sqlite_schema import MIGRATIONS
from tests.unit._sqlite_versions import database_at


def _inline(bucket_id: int, key: str, data: bytes) -> ObjectRecord:
    return ObjectRecord(bucket_id, key, InlineBody(data), len(data), "e" * 32, 1.0)


def _data(record: ObjectRecord | None) -> bytes:
    assert record is not None and isinstance(record.body, InlineBody), record
    return record.body.data


def _rows(meta: SqliteMetaStore) -> int:
    count: int = meta._conn.execute("SELECT count(*) FROM inline_blobs").fetchone()[0]
    return count


def _garbage(meta: SqliteMetaStore) -> list[str]:
    return meta.take_garbage()


def test_inline_ids_never_look_like_file_blob_ids() -> None:
    assert is_inline_ref(new_inline_ref()) and new_inline_ref().startswith(INLINE_MARK)
    assert not is_inline_ref(secrets.token_hex(16))
    assert not is_inline_ref(secrets.token_hex(16) + "z")


def test_round_trip_needs_no_pending_mark(meta: SqliteMetaStore, bucket_id: int) -> None:
    record = _inline(bucket_id, "k", b"hello")
    meta.put_object(record)  # no add_pending_blob: the bytes come with the record
    got = meta.get_object(bucket_id, "k")
    assert _data(got) == b"hello"
    assert got is not None and got.blob_ids == ()  # nothing on the blob store
    listed = meta.list_objects(bucket_id).objects
    assert [o.key for o in listed] == ["k"] and listed[0].body is None  # listings skip bytes
    assert _rows(meta) == 1


def test_empty_object_inline(meta: SqliteMetaStore, bucket_id: int) -> None:
    meta.put_object(_inline(bucket_id, "empty", b""))
    got = meta.get_object(bucket_id, "empty")
    assert _data(got) == b"" and got is not None and got.size == 0


def test_overwrite_and_delete_drop_rows_without_garbage(
    meta: SqliteMetaStore, bucket_id: int
) -> None:
    meta.put_object(_inline(bucket_id, "k", b"one"))
    meta.put_object(_inline(bucket_id, "k", b"two"))
    assert _rows(meta) == 1
    assert _data(meta.get_object(bucket_id, "k")) == b"two"
    # replaced by a file blob: the inline row goes, nothing is queued for the collector
    file_id = secrets.token_hex(16)
    meta.add_pending_blob(file_id)
    meta.put_object(ObjectRecord(bucket_id, "k", BlobBody(file_id, 3), 3, "e" * 32, 1.0))
    assert _rows(meta) == 0 and _garbage(meta) == []
    # a file blob replaced by an inline object is garbage as before
    meta.put_object(_inline(bucket_id, "k", b"three"))
    assert _garbage(meta) == [file_id]
    assert meta.delete_object(bucket_id, "k")
    assert _rows(meta) == 0 and _garbage(meta) == []  # the inline row queues nothing


def test_copies_share_the_row_until_the_last_goes(meta: SqliteMetaStore, bucket_id: int) -> None:
    source = _inline(bucket_id, "a", b"shared bytes")
    meta.put_object(source)
    loaded = meta.get_object(bucket_id, "a")
    assert loaded is not None
    meta.put_object(ObjectRecord(**{**_fields(loaded), "key": "b"}))
    assert _rows(meta) == 1
    assert meta.delete_object(bucket_id, "a")
    assert _data(meta.get_object(bucket_id, "b")) == b"shared bytes"
    assert _rows(meta) == 1
    assert meta.delete_object(bucket_id, "b")
    assert _rows(meta) == 0


def test_copy_whose_source_vanished_keeps_its_bytes(meta: SqliteMetaStore, bucket_id: int) -> None:
    meta.put_object(_inline(bucket_id, "a", b"abc"))
    loaded = meta.get_object(bucket_id, "a")
    assert loaded is not None
    meta.delete_object(bucket_id, "a")  # between the copy's lookup and its commit
    meta.put_object(ObjectRecord(**{**_fields(loaded), "key": "b"}))
    assert _data(meta.get_object(bucket_id, "b")) == b"abc"


def test_version_1_database_is_brought_up_to_date(tmp_path: Path) -> None:
    """A database as version 1 wrote it (with a blob already queued as garbage) gains the
    inline table and the garbage's queue time; the old garbage is collectable at once."""
    path = tmp_path / "meta.db"
    with closing(database_at(path, 1)) as db:
        db.execute("INSERT INTO garbage (blob_id) VALUES ('0123456789abcdef0123456789abcdef')")
    store = SqliteMetaStore(path)
    try:
        version = store._conn.execute("PRAGMA user_version").fetchone()[0]
        assert version == SCHEMA_VERSION == len(MIGRATIONS)
        owner = store.create_user("u")
        bucket = store.create_bucket("b", owner.id, "us-east-1", 10)
        store.put_object(_inline(bucket.id, "k", b"x"))
        assert _rows(store) == 1
        assert store.take_garbage(queued_before=0.0) == ["0123456789abcdef0123456789abcdef"]
    finally:
        store.close()


def _fields(record: ObjectRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in ObjectRecord.__dataclass_fields__}
