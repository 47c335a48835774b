"""Conditional writes and deletes: the pure check, the header and XML parsing, and the
store's check inside its own write transaction."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from oortgate.errors import S3Error
from oortgate.meta.models import BlobBody, ObjectRecord, Part, PartsBody, Segment, Upload
from oortgate.meta.preconditions import Current, Precondition, check
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.ops.write_conditions import delete_condition, object_condition, write_condition

NOW = Current("abc", 3, 1_700_000_000.75)
FAILED = "PreconditionFailed"


def error_of(condition: Precondition, current: Current | None) -> tuple[str, str | None]:
    with pytest.raises(S3Error) as info:
        check(condition, current, "k")
    return info.value.code, info.value.fields.get("Condition")


def test_check_if_none_match_and_if_match() -> None:
    check(None, NOW, "k")
    check(Precondition(if_none_match=True), None, "k")
    assert error_of(Precondition(if_none_match=True), NOW) == (FAILED, "If-None-Match")
    check(Precondition(if_match=frozenset({"abc"})), NOW, "k")
    check(Precondition(if_match=frozenset({"*"})), NOW, "k")
    assert error_of(Precondition(if_match=frozenset({"x"})), NOW) == (FAILED, "If-Match")
    assert error_of(Precondition(if_match=frozenset({"abc"})), None) == ("NoSuchKey", None)


def test_check_size_and_time_apply_only_to_an_existing_object() -> None:
    check(Precondition(size=3, last_modified=1_700_000_000), NOW, "k")
    check(Precondition(size=4, last_modified=5), None, "k")  # missing: nothing to delete
    assert error_of(Precondition(size=4), NOW) == ("PreconditionFailed", "x-amz-if-match-size")
    assert error_of(Precondition(last_modified=1_700_000_001), NOW) == (
        "PreconditionFailed",
        "x-amz-if-match-last-modified-time",
    )


def test_write_condition_headers() -> None:
    assert write_condition({}) is None
    assert write_condition({"if-none-match": "*"}) == Precondition(if_none_match=True)
    assert write_condition({"if-match": '"abc"'}) == Precondition(if_match=frozenset({"abc"}))
    assert write_condition({"if-match": '"a", W/"b"'}) == Precondition(
        if_match=frozenset({"a", "b"})
    )
    with pytest.raises(S3Error) as info:
        write_condition({"if-none-match": '"abc"'})
    assert (info.value.code, info.value.status) == ("NotImplemented", 501)


def test_delete_condition_headers() -> None:
    assert delete_condition({"if-none-match": "*"}) is None  # not a delete condition
    got = delete_condition({
        "if-match": "*",
        "x-amz-if-match-size": "12",
        "x-amz-if-match-last-modified-time": "Tue, 14 Nov 2023 22:13:20 GMT",
    })  # fmt: skip
    assert got == Precondition(if_match=frozenset({"*"}), size=12, last_modified=1_700_000_000)
    for name, value in (
        ("x-amz-if-match-size", "-1"),
        ("x-amz-if-match-last-modified-time", "yesterday"),
    ):
        with pytest.raises(S3Error) as info:
            delete_condition({name: value})
        assert info.value.code == "InvalidArgument"


def test_object_condition_of_delete_objects() -> None:
    assert object_condition(None, None, None) is None
    assert object_condition('"abc"', "3", "2023-11-14T22:13:20.000Z") == Precondition(
        if_match=frozenset({"abc"}), size=3, last_modified=1_700_000_000
    )
    assert object_condition(None, None, "2023-11-14T22:13:20") == Precondition(
        last_modified=1_700_000_000
    )  # no zone: UTC
    assert object_condition(None, None, "Tue, 14 Nov 2023 22:13:20 GMT") == Precondition(
        last_modified=1_700_000_000
    )  # what botocore sends
    for bad in (("e", "x", None), ("e", None, "not a time")):
        with pytest.raises(S3Error) as info:
            object_condition(*bad)
        assert info.value.code == "MalformedXML"


# -- in the store's transaction ---------------------------------------------------
@pytest.fixture
def meta(tmp_path: Path) -> SqliteMetaStore:
    store = SqliteMetaStore(tmp_path / "meta.sqlite3")
    user = store.create_user("u")
    store.create_bucket("bucket", user.id, "us-east-1", 100)
    return store


def _bucket(meta: SqliteMetaStore) -> int:
    bucket = meta.get_bucket("bucket")
    assert bucket is not None
    return bucket.id


def _new(meta: SqliteMetaStore, key: str, etag: str) -> ObjectRecord:
    record = ObjectRecord(_bucket(meta), key, BlobBody(secrets.token_hex(16), 3), 3, etag, 1.5)
    meta.add_pending_blob(record.blob_ids[0])
    return record


def test_refused_put_changes_nothing_and_keeps_its_pending_mark(meta: SqliteMetaStore) -> None:
    meta.put_object(_new(meta, "k", "a" * 32), Precondition(if_none_match=True))
    second = _new(meta, "k", "b" * 32)
    with pytest.raises(S3Error) as info:
        meta.put_object(second, Precondition(if_none_match=True))
    assert info.value.code == "PreconditionFailed"
    current = meta.get_object(_bucket(meta), "k")
    assert current is not None and current.etag == "a" * 32
    # The caller drops the blob like any failed write's.
    assert meta.known_blobs(second.blob_ids) == set(second.blob_ids)
    meta.drop_pending_blob(second.blob_ids[0])
    meta.put_object(_new(meta, "k", "c" * 32), Precondition(if_match=frozenset({"a" * 32})))


def test_conditional_deletes(meta: SqliteMetaStore) -> None:
    bucket_id = _bucket(meta)
    for key in ("a", "b", "c"):
        meta.put_object(_new(meta, key, key * 32))
    with pytest.raises(S3Error):
        meta.delete_object(bucket_id, "a", Precondition(if_match=frozenset({"x"})))
    assert meta.delete_object(bucket_id, "a", Precondition(if_match=frozenset({"a" * 32})))
    refused = meta.delete_objects(
        bucket_id,
        ["b", "c", "gone"],
        [Precondition(if_match=frozenset({"x"})), None, Precondition(if_match=frozenset({"*"}))],
    )
    assert [e and e.code for e in refused] == ["PreconditionFailed", None, "NoSuchKey"]
    assert [o.key for o in meta.list_objects(bucket_id).objects] == ["b"]


def test_complete_checks_the_key_and_is_remembered(meta: SqliteMetaStore) -> None:
    bucket_id = _bucket(meta)
    meta.put_object(_new(meta, "k", "a" * 32))
    upload = Upload(secrets.token_hex(8), bucket_id, "k", 1.0)
    meta.create_upload(upload)
    blob = secrets.token_hex(16)
    meta.add_pending_blob(blob)
    part = Part(1, blob, 3, "d" * 32, 2.0)
    meta.put_part(upload.upload_id, part)
    segments = (Segment(blob, 3),)
    record = ObjectRecord(
        bucket_id, "k", PartsBody(segments), 3, "e" * 32 + "-1", 9.5
    )
    with pytest.raises(S3Error) as info:
        meta.complete_upload(upload.upload_id, record, [part], Precondition(if_none_match=True))
    assert info.value.code == "PreconditionFailed"
    assert meta.get_upload(upload.upload_id) is not None  # still open: nothing changed
    assert meta.get_completed_upload(upload.upload_id) is None
    meta.complete_upload(upload.upload_id, record, [part], Precondition(if_match=frozenset({"*"})))
    done = meta.get_completed_upload(upload.upload_id)
    assert done is not None
    assert (done.bucket_id, done.key, done.etag, done.last_modified) == (
        bucket_id, "k", record.etag, 9.5,
    )  # fmt: skip


def test_in_one_group_commit_the_second_create_fails(meta: SqliteMetaStore) -> None:
    """Racing writes of one process share a commit (see meta.worker): each still sees
    the one before it."""
    first, second = _new(meta, "k", "a" * 32), _new(meta, "k", "b" * 32)
    with meta.group():
        meta.put_object(first, Precondition(if_none_match=True))
        with pytest.raises(S3Error) as info:
            meta.put_object(second, Precondition(if_none_match=True))
    assert info.value.code == "PreconditionFailed"
    current = meta.get_object(_bucket(meta), "k")
    assert current is not None and current.etag == "a" * 32
