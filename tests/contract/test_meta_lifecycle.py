"""The MetaStore's lifecycle half, on every implementation: a bucket's rules stored and
found by the worker, and the lease that lets one gateway at a time apply them."""

from __future__ import annotations

import asyncio

from oortgate.meta.base import MetaStore


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
