"""Typed object bodies (oortgate.meta.models.Body) through every MetaStore: what
put_object or complete_upload is given comes back from get_object as the same kind,
exactly, for inline, single-blob, multipart and copied objects; listings carry none."""

from __future__ import annotations

import dataclasses
import secrets
import time

import pytest

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

CRC = "0123456789abcdef"


async def _bucket(meta: MetaStore) -> int:
    user = await meta.create_user("owner")
    return (await meta.create_bucket("bodies", user.id, "us-east-1", 100)).id


def _record(bucket_id: int, key: str, body: Body, size: int) -> ObjectRecord:
    return ObjectRecord(bucket_id, key, body, size, "0" * 32, time.time())


async def _get(meta: MetaStore, bucket_id: int, key: str) -> Body:
    got = await meta.get_object(bucket_id, key)
    assert got is not None and got.body is not None
    return got.body


async def _blob_object(meta: MetaStore, bucket_id: int, key: str) -> BlobBody:
    body = BlobBody(secrets.token_hex(16), 7, CRC)
    await meta.add_pending_blob(body.blob_id)
    await meta.put_object(_record(bucket_id, key, body, 7))
    return body


async def _multipart_object(meta: MetaStore, bucket_id: int, key: str) -> PartsBody:
    upload = Upload(secrets.token_hex(8), bucket_id, key, time.time(), checksum_algorithm="CRC32")
    await meta.create_upload(upload)
    parts = []
    for number, size in ((2, 5), (7, 3)):  # part numbers need not be 1..N
        part = Part(number, secrets.token_hex(16), size, secrets.token_hex(16), time.time(),
                    f"sum{number}==", f"{number:016x}")  # fmt: skip
        await meta.add_pending_blob(part.blob_id)
        await meta.put_part(upload.upload_id, part)
        parts.append(part)
    body = PartsBody(tuple(Segment(p.blob_id, p.size, p.part_number, p.checksum, p.crc64)
                           for p in parts))  # fmt: skip
    record = _record(bucket_id, key, body, 8)
    await meta.complete_upload(upload.upload_id, record, parts)
    return body


async def test_an_inline_body_comes_back_with_its_bytes(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    await meta.put_object(_record(bucket_id, "small", InlineBody(b"hello", CRC), 5))
    await meta.put_object(_record(bucket_id, "other", InlineBody(b"hello", CRC), 5))
    body = await _get(meta, bucket_id, "small")
    assert isinstance(body, InlineBody)
    assert (body.data, body.crc64) == (b"hello", CRC)
    other = await _get(meta, bucket_id, "other")
    assert isinstance(other, InlineBody)
    assert body.ref and other.ref and body.ref != other.ref  # each new one stored apart
    got = await meta.get_object(bucket_id, "small")
    assert got is not None and got.blob_ids == ()  # nothing on the blob store
    await meta.put_object(_record(bucket_id, "empty", InlineBody(b""), 0))
    empty = await _get(meta, bucket_id, "empty")
    assert isinstance(empty, InlineBody) and (empty.data, empty.crc64) == (b"", None)


async def test_a_blob_body_comes_back_exactly(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    body = await _blob_object(meta, bucket_id, "plain")
    assert await _get(meta, bucket_id, "plain") == body
    # Written before integrity CRCs existed: no CRC, still a blob body.
    old = BlobBody(secrets.token_hex(16), 4)
    await meta.add_pending_blob(old.blob_id)
    await meta.put_object(_record(bucket_id, "old", old, 4))
    assert await _get(meta, bucket_id, "old") == old


async def test_a_multipart_body_comes_back_with_every_part(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    body = await _multipart_object(meta, bucket_id, "mp")
    got = await _get(meta, bucket_id, "mp")
    assert isinstance(got, PartsBody) and got == body
    assert [(s.part_number, s.size, s.checksum) for s in got.parts] == [
        (2, 5, "sum2=="), (7, 3, "sum7==")]  # fmt: skip


@pytest.mark.parametrize("kind", ["inline", "blob", "multipart"])
async def test_a_copy_keeps_the_body_after_its_source_is_deleted(
    meta: MetaStore, kind: str
) -> None:
    """What CopyObject writes: the source's record (its body shared) under a new key."""
    bucket_id = await _bucket(meta)
    if kind == "inline":
        await meta.put_object(_record(bucket_id, "src", InlineBody(b"abc", CRC), 3))
    elif kind == "blob":
        await _blob_object(meta, bucket_id, "src")
    else:
        await _multipart_object(meta, bucket_id, "src")
    source = await meta.get_object(bucket_id, "src")
    assert source is not None
    await meta.put_object(dataclasses.replace(source, key="dst", last_modified=time.time()))
    assert await meta.delete_object(bucket_id, "src")
    copied = await _get(meta, bucket_id, "dst")
    assert type(copied) is type(source.body) and copied == source.body
    assert not set(source.blob_ids) & set(await meta.take_garbage())


async def test_listings_carry_no_body(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    await meta.put_object(_record(bucket_id, "a", InlineBody(b"x"), 1))
    await _blob_object(meta, bucket_id, "b")
    await _multipart_object(meta, bucket_id, "c")
    page = await meta.list_objects(bucket_id)
    assert [(o.key, o.body, o.size) for o in page.objects] == [
        ("a", None, 1), ("b", None, 7), ("c", None, 8)]  # fmt: skip


async def test_a_record_without_a_body_is_refused(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    with pytest.raises(ValueError):
        await meta.put_object(ObjectRecord(bucket_id, "k", None, 0, "0" * 32, 1.0))
    assert await meta.get_object(bucket_id, "k") is None
