"""The MetaStore's lifecycle half, on every implementation: a bucket's rules stored and
found by the worker, the lease that lets one gateway at a time apply them, and the
worker's own writes to noncurrent versions and delete markers."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest

from oortgate.errors import S3Error
from oortgate.meta.base import MetaStore
from oortgate.meta.models import BlobBody, InlineBody, ObjectRecord, PartsBody
from oortgate.meta.preconditions import Precondition
from oortgate.meta.versions import new_version_id

from .test_meta_versions import _bucket, _put


async def test_rules_stored_and_buckets_found(meta: MetaStore) -> None:
    user = await meta.create_user("o")
    a = await meta.create_bucket("a", user.id, "us-east-1", 10)
    await meta.create_bucket("b", user.id, "us-east-1", 10)
    assert await meta.lifecycle_buckets() == []
    await meta.set_bucket_lifecycle(a.id, "[]")
    found = await meta.lifecycle_buckets()
    assert [(b.name, b.lifecycle) for b in found] == [("a", "[]")]
    bucket = await meta.get_bucket("a")
    assert bucket is not None and bucket.lifecycle == "[]"
    await meta.set_bucket_lifecycle(a.id, None)
    assert await meta.lifecycle_buckets() == []


async def test_one_holder_at_a_time(meta: MetaStore, peer: MetaStore) -> None:
    assert await meta.take_lease("job", "one", 60)
    assert not await peer.take_lease("job", "two", 60)  # held
    assert await meta.take_lease("job", "one", 60)  # renewed by its holder
    assert await peer.take_lease("other", "two", 60)  # another job's lease is its own
    assert await meta.take_lease("job", "one", -1)  # given back (expired at once)
    assert await peer.take_lease("job", "two", 0.2)
    assert not await meta.take_lease("job", "one", 60)
    await asyncio.sleep(0.4)  # the holder went quiet: its lease lapses
    assert await meta.take_lease("job", "one", 60)


async def test_a_transition_keeps_the_date_and_its_condition(meta: MetaStore) -> None:
    user = await meta.create_user("o")
    bucket = await meta.create_bucket("a", user.id, "us-east-1", 10)
    record = ObjectRecord(bucket.id, "k", InlineBody(b"abc"), 3, "e" * 32, 1000.0)
    await meta.put_object(record)
    stored = await meta.get_object(bucket.id, "k")
    assert stored is not None
    unchanged = Precondition(frozenset({stored.etag}), last_modified=int(stored.last_modified))
    moved = dataclasses.replace(stored, storage_class="GLACIER_IR")
    await meta.transition_object(moved, unchanged)
    after = await meta.get_object(bucket.id, "k")
    assert after is not None and after.storage_class == "GLACIER_IR"
    assert after.last_modified == stored.last_modified
    assert isinstance(after.body, InlineBody) and after.body.data == b"abc"
    stale = Precondition(frozenset({"f" * 32}))
    with pytest.raises(S3Error) as info:
        await meta.transition_object(dataclasses.replace(after, storage_class="X"), stale)
    assert info.value.code == "PreconditionFailed"
    kept = await meta.get_object(bucket.id, "k")
    assert kept is not None and kept.storage_class == "GLACIER_IR"


async def _pending(meta: MetaStore) -> str:
    blob_id = secrets.token_hex(16)
    await meta.add_pending_blob(blob_id)
    return blob_id


async def test_a_noncurrent_version_moves_to_new_blobs(
    meta: MetaStore, drift: Callable[[], list[Any]]
) -> None:
    bucket_id = await _bucket(meta)
    plain = await _put(meta, bucket_id, "k")
    multi = await _put(meta, bucket_id, "k", size=4, parts=2)
    await _put(meta, bucket_id, "k")  # the current version
    for old in (plain, multi):
        seen = await meta.get_object_version(bucket_id, "k", old.version_id)
        assert seen is not None and isinstance(seen.body, BlobBody | PartsBody)
        if isinstance(seen.body, PartsBody):
            ids = [await _pending(meta) for _ in seen.body.parts]
            body: Any = PartsBody(tuple(dataclasses.replace(p, blob_id=b)
                                        for p, b in zip(seen.body.parts, ids, strict=True)))
        else:
            body = BlobBody(await _pending(meta), seen.size, None)
        moved = dataclasses.replace(seen, body=body, storage_class="GLACIER_IR")
        assert await meta.transition_version(moved)
        got = await meta.get_object_version(bucket_id, "k", old.version_id)
        assert got is not None and got.body == body and got.storage_class == "GLACIER_IR"
        assert (got.etag, got.last_modified, got.size) == (seen.etag, seen.last_modified,
                                                           seen.size)  # fmt: skip
        assert sorted(await meta.take_garbage()) == sorted(seen.blob_ids)  # the old blobs
    assert drift() == []
    current = await meta.get_object(bucket_id, "k")
    assert current is not None and current.storage_class == "STANDARD"
    page = await meta.list_object_versions(bucket_id)
    assert [r.storage_class for r, _ in page.versions] == ["STANDARD", "GLACIER_IR",
                                                           "GLACIER_IR"]  # fmt: skip


async def test_a_version_changed_or_gone_is_not_moved(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    old = await _put(meta, bucket_id, "k")
    await _put(meta, bucket_id, "k")
    seen = await meta.get_object_version(bucket_id, "k", old.version_id)
    assert seen is not None
    other = dataclasses.replace(seen, etag="f" * 32, storage_class="GLACIER_IR",
                                body=BlobBody(await _pending(meta), 3))  # fmt: skip
    assert not await meta.transition_version(other)
    unknown = BlobBody(secrets.token_hex(16), 3)  # neither pending nor alive: not claimed
    with pytest.raises(S3Error) as info:
        await meta.transition_version(dataclasses.replace(seen, body=unknown,
                                                          storage_class="GLACIER_IR"))
    assert info.value.code == "NoSuchKey"
    after = await meta.get_object_version(bucket_id, "k", old.version_id)
    assert after is not None and after.body == seen.body and after.storage_class == "STANDARD"
    await meta.delete_version(bucket_id, "k", old.version_id)
    assert not await meta.transition_version(dataclasses.replace(seen, body=other.body))


async def test_only_a_lone_delete_marker_expires(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    old = await _put(meta, bucket_id, "k")
    marker = new_version_id()
    await meta.add_delete_marker(bucket_id, "k", marker, None)
    assert not await meta.expire_delete_marker(bucket_id, "k", marker)  # a version is left
    await meta.delete_version(bucket_id, "k", old.version_id)
    assert not await meta.expire_delete_marker(bucket_id, "k", new_version_id())
    assert await meta.expire_delete_marker(bucket_id, "k", marker)
    assert (await meta.list_object_versions(bucket_id)).versions == []
    current = await _put(meta, bucket_id, "c")  # a current version is no marker
    assert not await meta.expire_delete_marker(bucket_id, "c", current.version_id)
    assert await meta.get_object(bucket_id, "c") is not None


async def test_a_restore_lands_on_the_version_named(meta: MetaStore) -> None:
    """set_version_restore: by version id, current or noncurrent; never a marker's."""
    bucket_id = await _bucket(meta)
    old = await _put(meta, bucket_id, "k")
    new = await _put(meta, bucket_id, "k")
    now = time.time()
    assert await meta.set_version_restore(bucket_id, "k", old.version_id, now + 5, now + 100)
    found = await meta.get_object_version(bucket_id, "k", old.version_id)
    assert found is not None and found.restore_ready is not None
    assert found.restore_expiry is not None
    assert abs(found.restore_ready - (now + 5)) < 2 and abs(found.restore_expiry - (now + 100)) < 2
    current = await meta.get_object(bucket_id, "k")
    assert current is not None and current.restore_ready is None  # only the version named
    assert await meta.set_version_restore(bucket_id, "k", new.version_id, now, now + 10)
    current = await meta.get_object(bucket_id, "k")
    assert current is not None and current.restore_expiry is not None
    marker = new_version_id()
    await meta.add_delete_marker(bucket_id, "k", marker, None)
    assert not await meta.set_version_restore(bucket_id, "k", marker, now, now + 10)
    assert not await meta.set_version_restore(bucket_id, "k", new_version_id(), now, now + 10)
    moved = await meta.get_object_version(bucket_id, "k", new.version_id)  # now noncurrent
    assert moved is not None and moved.restore_expiry == current.restore_expiry
