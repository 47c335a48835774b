"""Tag sets in the SQLite metadata store: objects, uploads, buckets."""

from __future__ import annotations

import secrets

from oortgate.meta.models import BlobBody, ObjectRecord, Upload
from oortgate.meta.sqlite import SqliteMetaStore


def _put(meta: SqliteMetaStore, bucket_id: int, key: str, tags: dict[str, str]) -> None:
    blob = secrets.token_hex(16)
    meta.add_pending_blob(blob)
    meta.put_object(ObjectRecord(bucket_id, key, BlobBody(blob, 1), 1, "e", 1.0, tags=tags))


def test_object_tags_round_trip_and_overwrite(meta: SqliteMetaStore, bucket_id: int) -> None:
    _put(meta, bucket_id, "k", {"a": "1", "b": "文"})
    got = meta.get_object(bucket_id, "k")
    assert got is not None and got.tags == {"a": "1", "b": "文"}
    assert list(got.tags) == ["a", "b"]
    _put(meta, bucket_id, "k", {})  # an overwrite replaces the tags
    got = meta.get_object(bucket_id, "k")
    assert got is not None and got.tags == {}
    assert meta._conn.execute("SELECT tags FROM objects").fetchall() == [(None,)]


def test_set_object_tags(meta: SqliteMetaStore, bucket_id: int) -> None:
    _put(meta, bucket_id, "k", {})
    assert meta.set_object_tags(bucket_id, "k", {"x": "y"})
    got = meta.get_object(bucket_id, "k")
    assert got is not None and got.tags == {"x": "y"} and got.size == 1
    assert meta.set_object_tags(bucket_id, "k", {})
    got = meta.get_object(bucket_id, "k")
    assert got is not None and got.tags == {}
    assert not meta.set_object_tags(bucket_id, "missing", {"x": "y"})


def test_listings_carry_no_tags(meta: SqliteMetaStore, bucket_id: int) -> None:
    _put(meta, bucket_id, "k", {"a": "1"})
    assert [o.tags for o in meta.list_objects(bucket_id).objects] == [{}]


def test_upload_tags(meta: SqliteMetaStore, bucket_id: int) -> None:
    meta.create_upload(Upload("u1", bucket_id, "k", 1.0, tags={"a": "1"}))
    meta.create_upload(Upload("u2", bucket_id, "k", 1.0))
    first, second = meta.get_upload("u1"), meta.get_upload("u2")
    assert first is not None and first.tags == {"a": "1"}
    assert second is not None and second.tags == {}


def test_bucket_tags(meta: SqliteMetaStore, bucket_id: int) -> None:
    assert meta.get_bucket_tags(bucket_id) is None
    meta.set_bucket_tags(bucket_id, {"team": "x"})
    assert meta.get_bucket_tags(bucket_id) == {"team": "x"}
    meta.set_bucket_tags(bucket_id, {})
    assert meta.get_bucket_tags(bucket_id) is None
