"""The MetaStore's lifecycle half, on every implementation: a bucket's rules stored and
found by the worker, and the lease that lets one gateway at a time apply them."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from oortgate.errors import S3Error
from oortgate.meta.base import MetaStore
from oortgate.meta.models import InlineBody, ObjectRecord
from oortgate.meta.preconditions import Precondition


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
