"""Read leases (MetaStore.lease_blobs), on every MetaStore backend: the collector never
takes a blob a live session's download holds, takes it once the lease is dropped, and
a dead session's leases go with it. ``meta`` is the downloading worker, ``peer`` another
worker or gateway that overwrites the object and collects."""

from __future__ import annotations

import secrets
import time

import pytest

from oortgate.meta.base import MetaStore
from oortgate.meta.models import BlobBody, ObjectRecord, PartsBody, Segment


async def _bucket(meta: MetaStore) -> int:
    user = await meta.create_user("owner")
    return (await meta.create_bucket("leases", user.id, "us-east-1", 100)).id


async def _put(meta: MetaStore, bucket_id: int, key: str, parts: int = 0) -> ObjectRecord:
    body: BlobBody | PartsBody
    if not parts:
        body, size = BlobBody(secrets.token_hex(16), 3), 3
    else:
        body = PartsBody(tuple(Segment(secrets.token_hex(16), 5, part_number=n + 1)
                               for n in range(parts)))  # fmt: skip
        size = 5 * parts
    etag = "0" * 32 + (f"-{parts}" if parts else "")
    record = ObjectRecord(bucket_id, key, body, size, etag, time.time())
    for blob_id in record.blob_ids:
        await meta.add_pending_blob(blob_id)
    await meta.put_object(record)
    return record


async def _garbage(meta: MetaStore) -> set[str]:
    return set(await meta.take_garbage(1_000_000))


async def test_a_leased_blob_waits_until_its_lease_is_dropped(
    meta: MetaStore, peer: MetaStore
) -> None:
    await meta.open_session("reader", 1)
    await peer.open_session("writer", 2)
    bucket_id = await _bucket(peer)
    old = await _put(peer, bucket_id, "big", parts=3)
    other = await _put(peer, bucket_id, "other")
    lease = await meta.lease_blobs(old.blob_ids)
    assert lease is not None
    await _put(peer, bucket_id, "big")  # overwritten: its parts are garbage now
    await peer.delete_object(bucket_id, "other")
    assert await _garbage(peer) == {other.blob_ids[0]}  # the leased ones wait
    assert await _garbage(meta) == set()  # for every collector
    await meta.drop_lease(lease)
    assert await _garbage(peer) == set(old.blob_ids)


async def test_two_leases_on_one_blob_both_hold_it(meta: MetaStore, peer: MetaStore) -> None:
    await meta.open_session("reader", 1)
    await peer.open_session("reader", 2)
    bucket_id = await _bucket(meta)
    old = await _put(meta, bucket_id, "k")
    first, second = await meta.lease_blobs(old.blob_ids), await peer.lease_blobs(old.blob_ids)
    assert first is not None and second is not None and first != second
    await meta.delete_object(bucket_id, "k")
    await meta.drop_lease(first)
    assert await _garbage(meta) == set()  # the other download still reads it
    await peer.drop_lease(second)
    assert await _garbage(meta) == {old.blob_ids[0]}


async def test_a_dead_sessions_leases_end_with_it(meta: MetaStore, peer: MetaStore) -> None:
    reader = await meta.open_session("reader", 1)
    await peer.open_session("writer", 2)
    bucket_id = await _bucket(peer)
    old = await _put(peer, bucket_id, "k", parts=2)
    assert await meta.lease_blobs(old.blob_ids) is not None
    await peer.delete_object(bucket_id, "k")
    assert await _garbage(peer) == set()
    await peer.end_sessions([reader])  # the reader's worker died: found dead, reaped
    assert await _garbage(peer) == set(old.blob_ids)


async def test_a_store_without_a_session_leases_nothing(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    old = await _put(meta, bucket_id, "k")
    assert await meta.lease_blobs(old.blob_ids) is None  # a tool: it serves no downloads
    await meta.open_session("reader", 1)
    assert await meta.lease_blobs([]) is None


async def test_a_lease_taken_after_the_read_holds_a_queued_blob(
    meta: MetaStore, peer: MetaStore
) -> None:
    """The download read the record, then the object was overwritten (its parts queued,
    not yet claimed): the lease it takes now still holds them."""
    await meta.open_session("reader", 1)
    await peer.open_session("writer", 2)
    bucket_id = await _bucket(peer)
    old = await _put(peer, bucket_id, "big", parts=2)
    read = await meta.get_object(bucket_id, "big")
    assert read is not None and read.blob_ids == old.blob_ids
    await _put(peer, bucket_id, "big")  # overwritten: its parts are queued
    lease = await meta.lease_blobs(read.blob_ids)
    assert lease is not None
    assert await _garbage(peer) == set()  # queued, but leased: no collector takes them
    await meta.drop_lease(lease)
    assert await _garbage(peer) == set(old.blob_ids)


async def test_no_lease_once_a_collector_claimed_the_blob(meta: MetaStore, peer: MetaStore) -> None:
    """With no grace, a collector claimed the overwritten parts between the download's
    read of the record and its lease: the lease is refused (the download then answers
    as for a blob gone at open), never granted on bytes that are going."""
    await meta.open_session("reader", 1)
    await peer.open_session("writer", 2)
    bucket_id = await _bucket(peer)
    old = await _put(peer, bucket_id, "big", parts=2)
    kept = await _put(peer, bucket_id, "kept", parts=2)
    read = await meta.get_object(bucket_id, "big")
    assert read is not None
    await _put(peer, bucket_id, "big")
    assert await peer.take_garbage(queued_before=time.time()) == sorted(old.blob_ids)
    with pytest.raises(ValueError):
        await meta.lease_blobs([*kept.blob_ids, read.blob_ids[1]])
    assert await peer.delete_object(bucket_id, "kept")
    assert await _garbage(peer) == set(kept.blob_ids)  # the refused lease left nothing
