"""Races between writers on one metadata store, on every MetaStore backend: each test
drives two (or more) stores, that is two connections (on PostgreSQL, two pools), either
in a fixed order (a deterministic interleaving) or released together round after round.
The invariants: a copy never points at garbage, reference counts equal the references
(``drift``), a quota is never passed, and each race has exactly one winner.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from oortgate.errors import S3Error
from oortgate.meta.base import MetaStore
from oortgate.meta.base_accounts import MAX_KEYS_PER_USER
from oortgate.meta.models import BlobBody, ObjectRecord, Part, PartsBody, Segment, Upload

ROUNDS = 12
Drift = Callable[[], list[Any]]
OpenStore = Callable[[], Awaitable[MetaStore]]


async def _bucket(meta: MetaStore, name: str = "races") -> int:
    user = await meta.get_user_by_name("owner") or await meta.create_user("owner")
    return (await meta.create_bucket(name, user.id, "us-east-1", 100)).id


async def _put_file(meta: MetaStore, bucket_id: int, key: str) -> ObjectRecord:
    record = ObjectRecord(bucket_id, key, BlobBody(secrets.token_hex(16), 3), 3, "0" * 32,
                          time.time())  # fmt: skip
    await meta.add_pending_blob(record.blob_ids[0])
    await meta.put_object(record)
    return record


async def _put_multipart(meta: MetaStore, bucket_id: int, key: str) -> ObjectRecord:
    parts = tuple(Segment(secrets.token_hex(16), 5, part_number=n + 1) for n in range(3))
    for part in parts:
        await meta.add_pending_blob(part.blob_id)
    record = ObjectRecord(bucket_id, key, PartsBody(parts), 15, "0" * 32 + "-3", time.time())
    await meta.put_object(record)
    return record


SOURCES = {"file": _put_file, "multipart": _put_multipart}


async def _garbage(meta: MetaStore) -> set[str]:
    return set(await meta.take_garbage(1_000_000))


def _copy_of(source: ObjectRecord, key: str) -> ObjectRecord:
    return dataclasses.replace(source, key=key, last_modified=time.time())


async def _outcome(call: Awaitable[Any]) -> str:
    """ "ok", or the S3 error code (ValueError: "refused")."""
    try:
        await call
    except S3Error as err:
        return err.code
    except ValueError:
        return "refused"
    return "ok"


# -- copy vs delete of its source ------------------------------------------------------
@pytest.mark.parametrize("kind", SOURCES)
async def test_delete_between_the_copys_read_and_its_write(
    meta: MetaStore, peer: MetaStore, drift: Drift, kind: str
) -> None:
    bucket_id = await _bucket(meta)
    source = await SOURCES[kind](meta, bucket_id, "src")
    read = await meta.get_object(bucket_id, "src")
    assert read is not None
    assert await peer.delete_object(bucket_id, "src")
    with pytest.raises(S3Error) as err:
        await meta.put_object(_copy_of(read, "dst"))
    assert err.value.code == "NoSuchKey"
    assert await meta.get_object(bucket_id, "dst") is None
    assert set(source.blob_ids) <= await _garbage(peer)
    assert drift() == []


@pytest.mark.parametrize("kind", SOURCES)
async def test_copy_commits_before_the_delete(
    meta: MetaStore, peer: MetaStore, drift: Drift, kind: str
) -> None:
    bucket_id = await _bucket(meta)
    source = await SOURCES[kind](meta, bucket_id, "src")
    read = await meta.get_object(bucket_id, "src")
    assert read is not None
    await meta.put_object(_copy_of(read, "dst"))
    assert await peer.delete_object(bucket_id, "src")
    copied = await peer.get_object(bucket_id, "dst")
    assert copied is not None and copied.blob_ids == source.blob_ids
    assert not set(source.blob_ids) & await _garbage(meta)
    assert drift() == []
    assert await meta.delete_object(bucket_id, "dst")
    assert set(source.blob_ids) <= await _garbage(meta)
    assert drift() == []


async def test_copy_and_delete_released_together(
    meta: MetaStore, peer: MetaStore, drift: Drift
) -> None:
    bucket_id = await _bucket(meta)
    outcomes = {"copied": 0, "refused": 0}
    for n in range(ROUNDS):
        source = await SOURCES["multipart" if n % 4 == 3 else "file"](meta, bucket_id, "src")

        async def copy() -> str:
            read = await meta.get_object(bucket_id, "src")
            if read is None:
                return "NoSuchKey"
            return await _outcome(meta.put_object(_copy_of(read, "dst")))

        result, _ = await asyncio.gather(copy(), peer.delete_object(bucket_id, "src"))
        garbage = await _garbage(meta)
        copied = await meta.get_object(bucket_id, "dst")
        if result == "ok":
            assert copied is not None and copied.blob_ids == source.blob_ids
            assert not set(source.blob_ids) & garbage
            outcomes["copied"] += 1
        else:
            assert result == "NoSuchKey"
            assert copied is None and set(source.blob_ids) <= garbage
            outcomes["refused"] += 1
        assert drift() == [], f"round {n}"
        await peer.delete_object(bucket_id, "dst")
        await _garbage(meta)  # claimed: the next round starts with none
    assert sum(outcomes.values()) == ROUNDS


# -- quotas at their limit ----------------------------------------------------------------
async def test_buckets_created_at_once_never_pass_the_limit(
    meta: MetaStore, open_store: OpenStore
) -> None:
    limit, racers = 4, 9
    user = await meta.create_user("quota")
    metas = [await open_store() for _ in range(racers)]
    try:
        results = await asyncio.gather(*(
            _outcome(m.create_bucket(f"quota-{n}", user.id, "us-east-1", limit))
            for n, m in enumerate(metas)
        ))  # fmt: skip
    finally:
        for m in metas:
            await m.close()
    assert sorted(results) == ["TooManyBuckets"] * (racers - limit) + ["ok"] * limit
    owned = await meta.list_buckets(user.id)
    assert len(owned) == limit
    await meta.delete_bucket(owned[0].id)  # a delete gives the room back
    await meta.create_bucket("quota-again", user.id, "us-east-1", limit)
    with pytest.raises(S3Error, match="TooManyBuckets"):
        await meta.create_bucket("quota-over", user.id, "us-east-1", limit)


async def test_one_bucket_name_created_at_once_has_one_owner(
    meta: MetaStore, peer: MetaStore
) -> None:
    a, b = await meta.create_user("a"), await meta.create_user("b")
    for n in range(ROUNDS):
        results = await asyncio.gather(
            _outcome(meta.create_bucket(f"name-{n}", a.id, "us-east-1", 100)),
            _outcome(peer.create_bucket(f"name-{n}", b.id, "us-east-1", 100)),
        )
        assert sorted(results) == ["BucketAlreadyExists", "ok"], results


async def test_keys_created_at_once_never_pass_the_limit(
    meta: MetaStore, open_store: OpenStore
) -> None:
    racers = MAX_KEYS_PER_USER + 4
    user = await meta.create_user("keys")
    metas = [await open_store() for _ in range(racers)]
    try:
        results = await asyncio.gather(*(
            _outcome(m.create_key(user.id, f"AKRACE{n:04d}", "s" * 40))
            for n, m in enumerate(metas)
        ))  # fmt: skip
    finally:
        for m in metas:
            await m.close()
    assert results.count("ok") == MAX_KEYS_PER_USER
    assert results.count("refused") == racers - MAX_KEYS_PER_USER
    keys = await meta.list_keys(user.id)
    assert len(keys) == MAX_KEYS_PER_USER
    assert await meta.delete_key(keys[0].access_key)
    await meta.create_key(user.id, "AKRACEAGAIN", "s" * 40)
    with pytest.raises(ValueError, match="access keys"):
        await meta.create_key(user.id, "AKRACEOVER", "s" * 40)


# -- DeleteBucket vs PUT -------------------------------------------------------------------
async def test_delete_bucket_and_put_have_one_winner(
    meta: MetaStore, peer: MetaStore, drift: Drift
) -> None:
    wins = {"put": 0, "delete": 0}
    for n in range(ROUNDS):
        bucket_id = await _bucket(meta, f"dbp-{n}")
        blob_id = secrets.token_hex(16)
        record = ObjectRecord(bucket_id, "k", BlobBody(blob_id, 3), 3, "0" * 32, time.time())
        await meta.add_pending_blob(blob_id)
        put, deleted = await asyncio.gather(
            _outcome(meta.put_object(record)), _outcome(peer.delete_bucket(bucket_id))
        )
        await meta.refresh()
        bucket = await meta.get_bucket(f"dbp-{n}")
        if put == "ok":
            assert deleted == "BucketNotEmpty"
            assert bucket is not None and await meta.get_object(bucket_id, "k") is not None
            wins["put"] += 1
            await meta.delete_object(bucket_id, "k")
            await meta.delete_bucket(bucket_id)
        else:
            assert (put, deleted) == ("NoSuchBucket", "ok")
            assert bucket is None
            assert await meta.known_blobs([blob_id]) == {blob_id}  # still pending
            await meta.drop_pending_blob(blob_id)
            wins["delete"] += 1
        assert drift() == [], f"round {n}"
    assert sum(wins.values()) == ROUNDS


# -- Complete vs Complete, UploadPart vs Complete -------------------------------------------
async def _upload_with_parts(
    meta: MetaStore, bucket_id: int, count: int
) -> tuple[Upload, list[Part]]:
    upload = Upload(secrets.token_hex(8), bucket_id, "mp", time.time())
    await meta.create_upload(upload)
    parts = []
    for number in range(1, count + 1):
        part = Part(number, secrets.token_hex(16), 5, secrets.token_hex(16), time.time())
        await meta.add_pending_blob(part.blob_id)
        await meta.put_part(upload.upload_id, part)
        parts.append(part)
    return upload, parts


def _completed(bucket_id: int, parts: list[Part], etag: str) -> ObjectRecord:
    segments = tuple(Segment(p.blob_id, p.size, part_number=p.part_number) for p in parts)
    return ObjectRecord(bucket_id, "mp", PartsBody(segments), 5 * len(parts), etag, time.time())


async def test_two_completes_of_one_upload_have_one_winner(
    meta: MetaStore, peer: MetaStore, drift: Drift
) -> None:
    bucket_id = await _bucket(meta)
    for n in range(ROUNDS):
        upload, parts = await _upload_with_parts(meta, bucket_id, 3)
        first, second = parts[:2], parts  # different choices of parts
        results = await asyncio.gather(
            _outcome(meta.complete_upload(upload.upload_id, _completed(bucket_id, first, "a-2"),
                                          first)),
            _outcome(peer.complete_upload(upload.upload_id, _completed(bucket_id, second, "b-3"),
                                          second)),
        )  # fmt: skip
        assert sorted(results) == ["NoSuchUpload", "ok"], results
        got = await meta.get_object(bucket_id, "mp")
        winner = first if results[0] == "ok" else second
        assert got is not None and got.blob_ids == tuple(p.blob_id for p in winner)
        unused = {p.blob_id for p in parts} - {p.blob_id for p in winner}
        assert unused <= await _garbage(meta)
        assert drift() == [], f"round {n}"


async def test_a_part_racing_complete_is_kept_or_refused(
    meta: MetaStore, peer: MetaStore, drift: Drift
) -> None:
    bucket_id = await _bucket(meta)
    for n in range(ROUNDS):
        upload, parts = await _upload_with_parts(meta, bucket_id, 2)
        late = Part(3, secrets.token_hex(16), 5, secrets.token_hex(16), time.time())
        await peer.add_pending_blob(late.blob_id)
        completed, added = await asyncio.gather(
            _outcome(meta.complete_upload(upload.upload_id, _completed(bucket_id, parts, "c-2"),
                                          parts)),
            _outcome(peer.put_part(upload.upload_id, late)),
        )  # fmt: skip
        assert completed == "ok"
        assert await meta.list_parts(upload.upload_id) == []
        if added == "ok":  # it came first: an unused part of the completed upload
            assert late.blob_id in await _garbage(meta)
        else:
            assert added == "NoSuchUpload"
            await peer.drop_pending_blob(late.blob_id)  # what the handler does then
            assert late.blob_id in await _garbage(meta)
        assert drift() == [], f"round {n}"
