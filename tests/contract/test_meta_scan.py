"""fsck's walk of the metadata (oortgate.meta.scan.MetaScan) on every metadata store: the
entries with their blobs, page after page; what a row names now; which ids are known;
reference counts that drifted, and their repair."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest

from oortgate import stores
from oortgate.meta.base import MetaStore
from oortgate.meta.models import (
    BlobBody,
    InlineBody,
    ObjectRecord,
    Part,
    PartsBody,
    Segment,
    Upload,
)
from oortgate.meta.pg_scan import open_pg_scan
from oortgate.meta.scan import PAGE, MetaScan
from oortgate.meta.sqlite_scan import SqliteScan

from .conftest import Place

Opener = Callable[[], Awaitable[MetaScan]]


@pytest.fixture
def scan(meta_kind: str, place: Place) -> Opener:
    """Opens the walk (with a writer for repairs) on the test's metadata."""
    if meta_kind == "postgres":
        return lambda: open_pg_scan(place.pg_url)

    async def sqlite() -> MetaScan:
        return SqliteScan(stores.db_path(place.data_dir), lambda: stores.open_meta(place.data_dir))

    return sqlite


async def _put(meta: MetaStore, bucket: int, key: str, **kw: Any) -> str:
    blob_id = secrets.token_hex(16)
    await meta.add_pending_blob(blob_id)
    await meta.put_object(ObjectRecord(bucket, key, BlobBody(blob_id, 3), 3, "e", 1.0, **kw))
    return blob_id


async def test_every_entry_page_after_page_with_its_blobs(meta: MetaStore, scan: Opener) -> None:
    user = await meta.create_user("walker")
    bucket = (await meta.create_bucket("walked", user.id, "us-east-1", 10)).id
    keys = [f"k{n:04d}" for n in range(PAGE + 20)]  # more than a page
    for key in keys:
        await _put(meta, bucket, key, checksums={"CRC32": "AAAAAA=="})
    parts = [secrets.token_hex(16) for _ in range(2)]
    for blob_id in parts:
        await meta.add_pending_blob(blob_id)
    segments = tuple(Segment(b, 5, n + 1, "c2hh", None) for n, b in enumerate(parts))
    await meta.put_object(ObjectRecord(bucket, "multi", PartsBody(segments), 10, "e-2", 1.0,
                                       checksums={"SHA1": "x-2"}))  # fmt: skip
    upload = Upload("up-" + secrets.token_hex(8), bucket, "open", 1.0, checksum_algorithm="SHA1")
    await meta.create_upload(upload)
    part_blob = secrets.token_hex(16)
    await meta.add_pending_blob(part_blob)
    await meta.put_part(upload.upload_id, Part(1, part_blob, 7, "e", 1.0, checksum="c3VtCg=="))
    walk = await scan()
    try:
        assert await walk.totals() == (len(keys) + 2, 3 * len(keys) + 10 + 7)
        entries = [entry async for entry in walk.objects()]
        assert [e.key for e in entries] == [*keys, "multi"]
        assert entries[0].checksums == {"CRC32": "AAAAAA=="} and entries[0].bucket == "walked"
        multi = entries[-1]
        assert [(b.blob_id, b.size, b.checksum) for b in multi.blobs] == [
            (parts[0], 5, ("SHA1", "c2hh")), (parts[1], 5, ("SHA1", "c2hh"))]  # fmt: skip
        (part,) = [entry async for entry in walk.upload_parts()]
        assert (part.upload_id, part.part_number, part.key) == (upload.upload_id, 1, "open")
        assert part.blobs[0].checksum == ("SHA1", "c3VtCg==")
        assert await walk.blob_ids_now(multi) == tuple(parts)
        assert await walk.blob_ids_now(part) == (part_blob,)
        await meta.delete_object(bucket, keys[0])
        assert await walk.blob_ids_now(entries[0]) == ()  # gone meanwhile
        stranger = secrets.token_hex(16)
        assert await walk.known_blobs([parts[0], part_blob, stranger]) == {parts[0], part_blob}
        assert await walk.integrity() == []
    finally:
        await walk.close()


async def _put_version(meta: MetaStore, bucket: int, key: str, version_id: str) -> str:
    blob_id = secrets.token_hex(16)
    await meta.add_pending_blob(blob_id)
    record = ObjectRecord(bucket, key, BlobBody(blob_id, 3), 3, "e", 1.0,
                          version_id=version_id)  # fmt: skip
    await meta.put_object(record, versioned=True)
    return blob_id


async def test_noncurrent_versions_with_their_blobs(meta: MetaStore, scan: Opener) -> None:
    """Every old version but delete markers, page after page, a multipart one's parts
    with it; what its row names now, and nothing once the version is deleted."""
    user = await meta.create_user("keeper")
    bucket = (await meta.create_bucket("kept", user.id, "us-east-1", 10)).id
    await meta.set_bucket_versioning(bucket, "Enabled")
    olds = [await _put_version(meta, bucket, "many", f"v{n:04d}") for n in range(PAGE + 5)]
    parts = [secrets.token_hex(16) for _ in range(2)]
    for blob_id in parts:
        await meta.add_pending_blob(blob_id)
    segments = tuple(Segment(b, 5, n + 1, "c2hh", None) for n, b in enumerate(parts))
    await meta.put_object(ObjectRecord(bucket, "multi", PartsBody(segments), 10, "e-2", 1.0,
                                       checksums={"SHA1": "x-2"}, version_id="m1"),
                          versioned=True)  # fmt: skip
    await meta.add_delete_marker(bucket, "multi", "marker", user.id)
    walk = await scan()
    try:
        assert await walk.totals() == (1 + PAGE + 4 + 1, 3 * (PAGE + 5) + 10)
        versions = [entry async for entry in walk.versions()]
        # The newest of "many" is current; each older one once, newest first (seq order).
        assert [(e.key, e.version_id) for e in versions] == [
            *[("many", f"v{n:04d}") for n in range(PAGE + 3, -1, -1)], ("multi", "m1")]
        assert [e.blobs[0].blob_id for e in versions[:-1]] == olds[-2::-1]
        multi = versions[-1]
        assert (multi.declared_parts, multi.bucket, multi.size) == (2, "kept", 10)
        assert [(b.blob_id, b.size, b.checksum) for b in multi.blobs] == [
            (parts[0], 5, ("SHA1", "c2hh")), (parts[1], 5, ("SHA1", "c2hh"))]  # fmt: skip
        assert await walk.blob_ids_now(multi) == tuple(parts)
        assert await walk.blob_ids_now(versions[0]) == (olds[-2],)
        assert await meta.delete_version(bucket, "many", versions[0].version_id or "") is False
        assert await walk.blob_ids_now(versions[0]) == ()  # gone meanwhile
        assert await walk.known_blobs([olds[0], parts[1]]) == {olds[0], parts[1]}
    finally:
        await walk.close()


async def test_inline_bytes_and_drifted_counts_repaired(
    meta: MetaStore, scan: Opener, meta_kind: str, place: Place
) -> None:
    user = await meta.create_user("counter")
    bucket = (await meta.create_bucket("counted", user.id, "us-east-1", 10)).id
    inline_id = "i" + secrets.token_hex(16)
    small = ObjectRecord(bucket, "small", InlineBody(b"abc", None, inline_id), 3, "e", 1.0)
    await meta.put_object(small)
    blob_id = await _put(meta, bucket, "big")
    _set_refs(meta_kind, place, blob_id, 3)  # changed around the store
    walk = await scan()
    try:
        assert await walk.inline_data(inline_id) == b"abc"
        assert await walk.inline_data("i" + secrets.token_hex(16)) is None
        drifted = await walk.reference_drift()
        assert drifted is not None
        assert [(d.blob_id, d.counted, d.referenced) for d in drifted] == [(blob_id, 3, 1)]
        assert await walk.repair_reference_counts([blob_id]) == 1
        assert await walk.reference_drift() == []
    finally:
        await walk.close()
    assert await meta.delete_object(bucket, "big")  # the one real reference: garbage now
    assert await meta.take_garbage() == [blob_id]


def _set_refs(meta_kind: str, place: Place, blob_id: str, refs: int) -> None:
    if meta_kind == "postgres":
        with psycopg.connect(place.pg_url, autocommit=True) as conn:
            conn.execute("UPDATE blobs SET refs = %s WHERE blob_id = %s", (refs, blob_id))
        return
    import sqlite3

    with sqlite3.connect(stores.db_path(place.data_dir)) as db:
        db.execute("UPDATE blobs SET refs = ? WHERE blob_id = ?", (refs, blob_id))
