"""The MetaStore contract (oortgate.meta.base), run against every implementation: users
and keys, buckets, objects and their blobs' lifecycle, listings, multipart uploads."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from typing import Any

import pytest

from oortgate.errors import S3Error
from oortgate.meta.base import MetaStore
from oortgate.meta.models import (
    BlobBody,
    Body,
    InlineBody,
    ObjectRecord,
    Part,
    PartsBody,
    Segment,
    Upload,
)
from oortgate.meta.preconditions import Precondition


def _record(
    bucket_id: int, key: str, blob_id: str | None = None, body: Body | None = None, **kw: Any
) -> ObjectRecord:
    """A plain object of a new blob id (or ``blob_id``), unless another body is given."""
    fields: dict[str, Any] = {"size": 3, "etag": "0" * 32, "last_modified": 1.5, **kw}
    if body is None:
        body = BlobBody(secrets.token_hex(16) if blob_id is None else blob_id, fields["size"])
    return ObjectRecord(bucket_id, key, body, **fields)


def _id(record: ObjectRecord) -> str:
    """A plain object's blob id."""
    assert isinstance(record.body, BlobBody), record.body
    return record.body.blob_id


async def _bucket(meta: MetaStore, name: str = "bkt", owner: str = "owner") -> int:
    user = await meta.get_user_by_name(owner) or await meta.create_user(owner)
    return (await meta.create_bucket(name, user.id, "us-east-1", 100)).id


async def _put(meta: MetaStore, bucket_id: int, key: str, **kw: Any) -> ObjectRecord:
    record = _record(bucket_id, key, **kw)
    await meta.add_pending_blob(_id(record))
    await meta.put_object(record)
    return record


async def _garbage(meta: MetaStore) -> set[str]:
    return set(await meta.take_garbage())


# -- users, keys, buckets -------------------------------------------------------------
async def test_users_and_duplicate_names(meta: MetaStore) -> None:
    alice = await meta.create_user("alice")
    assert await meta.get_user(alice.id) == alice
    assert await meta.get_user_by_name("alice") == alice
    assert await meta.get_user_by_canonical_id(alice.canonical_id) == alice
    assert await meta.get_user_by_name("nobody") is None
    with pytest.raises(ValueError):
        await meta.create_user("alice")
    assert [u.name for u in await meta.list_users()] == ["alice"]


async def test_keys_and_credentials_follow_refresh(meta: MetaStore) -> None:
    bob = await meta.create_user("bob")
    key = await meta.create_key(bob.id, "AKBOB", "secret")
    await meta.refresh()
    found = await meta.get_credentials("AKBOB")
    assert found is not None and found[0] == key and found[1].id == bob.id
    assert await meta.set_key_enabled("AKBOB", False)
    await meta.refresh()
    found = await meta.get_credentials("AKBOB")
    assert found is not None and not found[0].enabled
    assert await meta.delete_key("AKBOB")
    assert not await meta.delete_key("AKBOB")
    await meta.refresh()
    assert await meta.get_credentials("AKBOB") is None
    with pytest.raises(ValueError):
        await meta.create_key(bob.id + 99, "AKNONE", "secret")  # no such user


async def test_another_gateways_changes_show_after_refresh(
    meta: MetaStore, peer: MetaStore, meta_kind: str
) -> None:
    bob = await meta.create_user("bob")
    await meta.create_key(bob.id, "AKBOB", "secret")
    bucket_id = await _bucket(meta)
    await meta.refresh()
    assert await meta.get_credentials("AKBOB") is not None  # remembered, perhaps
    assert await peer.delete_key("AKBOB")
    await peer.set_bucket_acl(bucket_id, "public-read")
    await _put(peer, bucket_id, "k")
    assert await meta.get_object(bucket_id, "k") is not None  # never older than the call

    # SQLite: at the next refresh; PostgreSQL: as soon as the database's notice arrives.
    within = 0.0 if meta_kind == "sqlite" else 1.0

    async def changes_seen() -> bool:
        await meta.refresh()
        bucket = await meta.get_bucket("bkt")
        gone = await meta.get_credentials("AKBOB") is None
        return gone and bucket is not None and bucket.acl == "public-read"

    deadline = time.monotonic() + within
    while not await changes_seen():
        assert time.monotonic() < deadline, "another connection's changes never showed"
        await asyncio.sleep(0.005)


async def test_bucket_names_are_unique_and_quota_holds(meta: MetaStore) -> None:
    owner = await meta.create_user("owner")
    other = await meta.create_user("other")
    await meta.create_bucket("one", owner.id, "us-east-1", 2)
    with pytest.raises(S3Error) as mine:
        await meta.create_bucket("one", owner.id, "us-east-1", 2)
    with pytest.raises(S3Error) as theirs:
        await meta.create_bucket("one", other.id, "us-east-1", 2)
    assert (mine.value.code, theirs.value.code) == (
        "BucketAlreadyOwnedByYou",
        "BucketAlreadyExists",
    )
    await meta.create_bucket("two", owner.id, "us-east-1", 2)
    with pytest.raises(S3Error) as many:
        await meta.create_bucket("three", owner.id, "us-east-1", 2)
    assert many.value.code == "TooManyBuckets"
    names = [b.name for b in await meta.list_buckets(owner.id)]
    assert names == ["one", "two"]
    assert [b.name for b in await meta.list_buckets(owner.id, start_after="one")] == ["two"]


async def test_delete_bucket_refuses_objects(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    await _put(meta, bucket_id, "k")
    assert await meta.has_objects(bucket_id)
    with pytest.raises(S3Error) as err:
        await meta.delete_bucket(bucket_id)
    assert err.value.code == "BucketNotEmpty"
    assert await meta.delete_object(bucket_id, "k")
    await meta.delete_bucket(bucket_id)
    await meta.refresh()
    assert await meta.get_bucket("bkt") is None


async def test_bucket_settings_round_trip(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    await meta.set_bucket_tags(bucket_id, {"team": "a"})
    assert await meta.get_bucket_tags(bucket_id) == {"team": "a"}
    await meta.set_bucket_tags(bucket_id, {})
    assert await meta.get_bucket_tags(bucket_id) is None
    await meta.set_bucket_acl(bucket_id, "public-read")
    await meta.refresh()
    bucket = await meta.get_bucket("bkt")
    assert bucket is not None and bucket.acl == "public-read"


# -- objects and the blob lifecycle -----------------------------------------------------
async def test_put_then_get(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    record = await _put(meta, bucket_id, "k", user_metadata={"a": "b"}, content_type="text/x")
    got = await meta.get_object(bucket_id, "k")
    assert got is not None
    assert (_id(got), got.size, got.etag, got.user_metadata, got.content_type) == (
        _id(record), 3, "0" * 32, {"a": "b"}, "text/x")  # fmt: skip
    assert await meta.get_object(bucket_id, "other") is None
    assert await meta.known_blobs([_id(record), "f" * 32]) == {_id(record)}


async def test_put_needs_a_pending_or_referenced_blob(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    with pytest.raises(S3Error) as err:
        await meta.put_object(_record(bucket_id, "k"))  # never marked pending
    assert err.value.code == "NoSuchKey"
    assert await meta.get_object(bucket_id, "k") is None


async def test_overwrite_queues_the_old_blob(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    first = await _put(meta, bucket_id, "k")
    second = await _put(meta, bucket_id, "k", size=5)
    got = await meta.get_object(bucket_id, "k")
    assert got is not None and (_id(got), got.size) == (_id(second), 5)
    assert await _garbage(meta) == {_id(first)}


async def test_delete_queues_the_blob(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    record = await _put(meta, bucket_id, "k")
    assert await meta.delete_object(bucket_id, "k")
    assert not await meta.delete_object(bucket_id, "k")
    assert await meta.get_object(bucket_id, "k") is None
    assert await _garbage(meta) == {_id(record)}


async def test_copy_shares_the_blob_until_the_last_reference_goes(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    source = await _put(meta, bucket_id, "src")
    await meta.put_object(_record(bucket_id, "copy", _id(source)))  # referenced: allowed
    assert await meta.delete_object(bucket_id, "src")
    assert await _garbage(meta) == set()  # the copy still reads it
    copy = await meta.get_object(bucket_id, "copy")
    assert copy is not None and _id(copy) == _id(source)
    assert await meta.delete_object(bucket_id, "copy")
    assert await _garbage(meta) == {_id(source)}


async def test_copy_of_a_vanished_blob_is_refused(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    source = await _put(meta, bucket_id, "src")
    await meta.delete_object(bucket_id, "src")
    with pytest.raises(S3Error) as err:
        await meta.put_object(_record(bucket_id, "copy", _id(source)))
    assert err.value.code == "NoSuchKey"


async def test_inline_object_carries_its_bytes(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    record = _record(bucket_id, "small", body=InlineBody(b"abc", "c" * 16))
    await meta.put_object(record)  # no pending mark: nothing on the blob store
    got = await meta.get_object(bucket_id, "small")
    assert got is not None and isinstance(got.body, InlineBody)
    assert (got.body.data, got.body.crc64) == (b"abc", "c" * 16)
    await meta.delete_object(bucket_id, "small")
    assert await _garbage(meta) == set()  # no file to collect


async def test_failed_condition_changes_nothing(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    first = await _put(meta, bucket_id, "k")
    late = _record(bucket_id, "k")
    await meta.add_pending_blob(_id(late))
    with pytest.raises(S3Error) as err:
        await meta.put_object(late, Precondition(if_none_match=True))
    assert err.value.code == "PreconditionFailed"
    got = await meta.get_object(bucket_id, "k")
    assert got is not None and _id(got) == _id(first)
    with pytest.raises(S3Error):
        await meta.delete_object(bucket_id, "k", Precondition(if_match=frozenset({"f" * 32})))
    assert await meta.get_object(bucket_id, "k") is not None


async def test_delete_objects_answers_per_key(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    a = await _put(meta, bucket_id, "a")
    await _put(meta, bucket_id, "b")
    refused = await meta.delete_objects(
        bucket_id, ["a", "b", "absent"], [None, Precondition(size=99), None]
    )
    assert refused[0] is None and refused[2] is None
    assert refused[1] is not None and refused[1].code == "PreconditionFailed"
    assert await meta.get_object(bucket_id, "a") is None
    assert await meta.get_object(bucket_id, "b") is not None
    assert await _garbage(meta) == {_id(a)}


async def test_object_tags_and_acl(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    await _put(meta, bucket_id, "k")
    assert await meta.set_object_tags(bucket_id, "k", {"x": "1"})
    assert await meta.set_object_acl(bucket_id, "k", "public-read")
    got = await meta.get_object(bucket_id, "k")
    assert got is not None and (got.tags, got.acl) == ({"x": "1"}, "public-read")
    assert not await meta.set_object_tags(bucket_id, "absent", {"x": "1"})
    assert not await meta.set_object_acl(bucket_id, "absent", "private")


# -- pending marks and garbage ---------------------------------------------------------
async def test_dropped_pending_blob_is_garbage_at_once(meta: MetaStore) -> None:
    blob_id = secrets.token_hex(16)
    await meta.add_pending_blob(blob_id)
    assert await meta.known_blobs([blob_id]) == {blob_id}
    await meta.drop_pending_blob(blob_id)
    # A failed write is garbage from the start: due under any grace.
    assert await meta.take_garbage(queued_before=time.time() - 3600) == [blob_id]


async def test_a_drop_after_the_commit_does_nothing(meta: MetaStore) -> None:
    """The writer service drops the mark on any failure, also after a commit that did
    land (a cancelled put_object, a part committed just before the upload's abort):
    the committed blob must stay named, not become garbage."""
    bucket_id = await _bucket(meta)
    record = await _put(meta, bucket_id, "k")
    await meta.drop_pending_blob(_id(record))
    assert await _garbage(meta) == set()
    got = await meta.get_object(bucket_id, "k")
    assert got is not None and _id(got) == _id(record)


async def test_garbage_is_claimed_in_batches(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    old = [_id(await _put(meta, bucket_id, f"k{n}")) for n in range(3)]
    for n in range(3):
        await meta.delete_object(bucket_id, f"k{n}")
    assert await meta.take_garbage(queued_before=time.time() - 3600) == []  # in its grace
    first = await meta.take_garbage(limit=2)
    assert len(first) == 2 and set(first) <= set(old) and first == sorted(first)
    assert await meta.known_blobs(first) == set()  # claimed: the rows went with the claim
    assert await _garbage(meta) == set(old) - set(first)
    assert await _garbage(meta) == set()
    assert await meta.known_blobs(old) == set()


async def test_recover_pending_turns_marks_into_garbage(meta: MetaStore) -> None:
    blob_ids = [secrets.token_hex(16) for _ in range(2)]
    for blob_id in blob_ids:
        await meta.add_pending_blob(blob_id)
    assert await meta.recover_pending() == 2
    assert await _garbage(meta) == set(blob_ids)


# -- listings --------------------------------------------------------------------------
async def test_listing_with_prefix_delimiter_and_pages(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    for key in ["a/1", "a/2", "b", "c/d/e", "c/f", "d"]:
        await _put(meta, bucket_id, key)
    page = await meta.list_objects(bucket_id, delimiter="/")
    assert [o.key for o in page.objects] == ["b", "d"]
    assert page.common_prefixes == ["a/", "c/"]
    assert not page.is_truncated
    page = await meta.list_objects(bucket_id, prefix="c/", delimiter="/")
    assert ([o.key for o in page.objects], page.common_prefixes) == (["c/f"], ["c/d/"])
    page = await meta.list_objects(bucket_id, delimiter="/", max_keys=2)
    assert (page.common_prefixes, [o.key for o in page.objects]) == (["a/"], ["b"])
    assert page.is_truncated and page.next_marker == "b"
    rest = await meta.list_objects(bucket_id, delimiter="/", start_after="b")
    assert (rest.common_prefixes, [o.key for o in rest.objects]) == (["c/"], ["d"])
    flat = await meta.list_objects(bucket_id, start_after="b", max_keys=10)
    assert [o.key for o in flat.objects] == ["c/d/e", "c/f", "d"]


# -- multipart uploads -----------------------------------------------------------------
async def _upload(meta: MetaStore, bucket_id: int, key: str = "mp") -> Upload:
    upload = Upload(secrets.token_hex(8), bucket_id, key, time.time())
    initiated = await meta.create_upload(upload)  # (PostgreSQL: the database clock's)
    return dataclasses.replace(upload, initiated=initiated)


async def _part(meta: MetaStore, upload: Upload, number: int, size: int = 5) -> Part:
    part = Part(number, secrets.token_hex(16), size, secrets.token_hex(16), time.time())
    await meta.add_pending_blob(part.blob_id)
    await meta.put_part(upload.upload_id, part)
    return part


async def test_parts_complete_into_an_object(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    upload = await _upload(meta, bucket_id)
    assert await meta.get_upload(upload.upload_id) == upload
    one, two, unused = [await _part(meta, upload, n) for n in (1, 2, 3)]
    replaced = await _part(meta, upload, 2, size=7)  # the first part 2 is released
    parts = await meta.list_parts(upload.upload_id)
    assert [(p.part_number, p.blob_id) for p in parts] == [
        (1, one.blob_id), (2, replaced.blob_id), (3, unused.blob_id)]  # fmt: skip
    assert [p.part_number for p in await meta.list_parts(upload.upload_id, after=1)] == [2, 3]
    segments = tuple(Segment(p.blob_id, p.size, part_number=p.part_number) for p in (one, replaced))
    record = _record(bucket_id, "mp", size=12, body=PartsBody(segments), etag="e-2")
    await meta.complete_upload(upload.upload_id, record, [one, replaced])
    got = await meta.get_object(bucket_id, "mp")
    assert got is not None and got.blob_ids == (one.blob_id, replaced.blob_id)
    assert await meta.get_upload(upload.upload_id) is None
    done = await meta.get_completed_upload(upload.upload_id)
    assert done is not None and (done.key, done.etag) == ("mp", "e-2")
    assert await _garbage(meta) == {two.blob_id, unused.blob_id}
    with pytest.raises(S3Error) as again:
        await meta.complete_upload(upload.upload_id, record, [one, replaced])
    assert again.value.code == "NoSuchUpload"


async def test_complete_refuses_a_changed_part(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    upload = await _upload(meta, bucket_id)
    first = await _part(meta, upload, 1)
    await _part(meta, upload, 1)  # replaced meanwhile
    segments = (Segment(first.blob_id, 5, part_number=1),)
    record = _record(bucket_id, "mp", size=5, body=PartsBody(segments), etag="e-1")
    with pytest.raises(S3Error) as err:
        await meta.complete_upload(upload.upload_id, record, [first])
    assert err.value.code == "InvalidPart"
    assert await meta.get_object(bucket_id, "mp") is None


async def test_abort_releases_the_parts(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    upload = await _upload(meta, bucket_id)
    parts = [await _part(meta, upload, n) for n in (1, 2)]
    listed = await meta.list_uploads(bucket_id)
    assert [u.upload_id for u in listed.uploads] == [upload.upload_id]
    assert await meta.abort_upload(upload.upload_id)
    assert not await meta.abort_upload(upload.upload_id)
    assert await _garbage(meta) == {p.blob_id for p in parts}
    assert (await meta.list_uploads(bucket_id)).uploads == []
    late = Part(3, secrets.token_hex(16), 1, "0" * 32, time.time())
    await meta.add_pending_blob(late.blob_id)
    with pytest.raises(S3Error) as err:
        await meta.put_part(upload.upload_id, late)
    assert err.value.code == "NoSuchUpload"


async def test_usage_and_ping(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    await _put(meta, bucket_id, "a", size=10)
    await _put(meta, bucket_id, "a", size=20)  # the first blob becomes garbage
    usage = await meta.usage(garbage_due_before=time.time() + 1)
    assert (usage.stored_bytes, usage.objects, usage.garbage_due) == (20, 1, 1)
    await meta.ping()


# -- console sign-outs ----------------------------------------------------------------
async def test_a_console_sign_out_is_seen_by_every_gateway(
    meta: MetaStore, peer: MetaStore
) -> None:
    now = time.time()
    assert not await meta.console_session_ended("sid-a")
    await meta.end_console_session("sid-a", now + 3600)
    await meta.end_console_session("sid-a", now + 3600)  # twice: no error
    assert await meta.console_session_ended("sid-a")
    assert await peer.console_session_ended("sid-a")  # another process's connection
    assert not await peer.console_session_ended("sid-b")
    # One long past its time may be forgotten; the others stay.
    await peer.end_console_session("sid-old", now - 10)
    await peer.end_console_session("sid-b", now + 60)
    assert await meta.console_session_ended("sid-a") and await meta.console_session_ended("sid-b")
