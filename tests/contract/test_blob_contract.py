"""The BlobStore contract (oortgate.storage.base), run against every implementation:
write, commit or abort; whole and ranged reads; delete; the store-neutral errors."""

from __future__ import annotations

import os

import pytest

from oortgate.storage.base import BlobDamaged, BlobNotFound, BlobStore

CHUNK = 64 * 1024


async def _store(blobs: BlobStore, data: bytes, compressed: bool = False) -> str:
    writer = await blobs.open_writer(blobs.new_blob_id(compressed))
    for start in range(0, len(data), 10_000):  # many small writes, as a network body
        await writer.write(data[start : start + 10_000])
    await writer.commit()
    return writer.blob_id


async def _read(blobs: BlobStore, blob_id: str, offset: int, length: int) -> list[bytes]:
    chunks = await blobs.read(blob_id, offset, length, CHUNK)
    return [chunk async for chunk in chunks]


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "compressed"])
async def test_write_commit_read_back(blobs: BlobStore, compressed: bool) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # several flushes (and frames), a ragged end
    blob_id = await _store(blobs, data, compressed)
    chunks = await _read(blobs, blob_id, 0, len(data))
    assert b"".join(chunks) == data
    assert all(0 < len(chunk) <= CHUNK for chunk in chunks)
    assert await blobs.size(blob_id) == len(data)


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "compressed"])
async def test_ranges(blobs: BlobStore, compressed: bool) -> None:
    data = os.urandom(2 * 1024 * 1024 + 5)
    blob_id = await _store(blobs, data, compressed)
    for offset, length in [(0, 1), (1, 100_000), (1024 * 1024 - 3, 7), (len(data) - 1, 1)]:
        got = b"".join(await _read(blobs, blob_id, offset, length))
        assert got == data[offset : offset + length]
    assert await _read(blobs, blob_id, 10, 0) == []


async def test_ids_are_fresh_and_empty_blobs_exist(blobs: BlobStore) -> None:
    assert len({blobs.new_blob_id() for _ in range(100)}) == 100
    blob_id = await _store(blobs, b"")
    assert await blobs.size(blob_id) == 0
    assert await _read(blobs, blob_id, 0, 0) == []


async def test_missing_blob_is_blob_not_found_at_open(blobs: BlobStore) -> None:
    missing = blobs.new_blob_id()
    with pytest.raises(BlobNotFound):
        await blobs.read(missing, 0, 1, CHUNK)  # before any byte is asked for
    with pytest.raises(BlobNotFound):
        await blobs.size(missing)


async def test_reading_past_the_end_is_damage(blobs: BlobStore) -> None:
    blob_id = await _store(blobs, b"0123456789")
    with pytest.raises(BlobDamaged):
        await _read(blobs, blob_id, 5, 10)


async def test_abort_leaves_nothing(blobs: BlobStore) -> None:
    writer = await blobs.open_writer(blobs.new_blob_id())
    await writer.write(os.urandom(2 * 1024 * 1024))  # some of it reached the disk
    await writer.abort()
    await writer.abort()  # twice is harmless
    with pytest.raises(BlobNotFound):
        await blobs.read(writer.blob_id, 0, 1, CHUNK)
    assert [b async for b in blobs.iter_blob_ids()] == []
    assert await blobs.remove_temp_files() == 0


async def test_uncommitted_blob_is_invisible_and_its_temp_file_swept(blobs: BlobStore) -> None:
    writer = await blobs.open_writer(blobs.new_blob_id())
    # Its writer died here, with more written than a store keeps in memory (a RADOS
    # upload buffers up to one 4 MiB stripe: a crash before that leaves nothing at all).
    await writer.write(os.urandom(5 * 1024 * 1024))
    with pytest.raises(BlobNotFound):
        await blobs.read(writer.blob_id, 0, 1, CHUNK)
    assert await blobs.remove_temp_files() == 1


async def test_delete_and_listing(blobs: BlobStore) -> None:
    kept, gone = await _store(blobs, b"keep"), await _store(blobs, b"drop")
    assert sorted([b async for b in blobs.iter_blob_ids()]) == sorted([kept, gone])
    await blobs.delete(gone)
    await blobs.delete(gone)  # a missing blob is not an error
    with pytest.raises(BlobNotFound):
        await blobs.read(gone, 0, 1, CHUNK)
    assert [b async for b in blobs.iter_blob_ids()] == [kept]


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "compressed"])
async def test_an_open_read_survives_a_delete(blobs: BlobStore, compressed: bool) -> None:
    data = os.urandom(5 * CHUNK)
    blob_id = await _store(blobs, data, compressed)
    chunks = await blobs.read(blob_id, 0, len(data), CHUNK)
    first = await anext(chunks)
    await blobs.delete(blob_id)  # the GC collects it under a download
    rest = [chunk async for chunk in chunks]
    assert first + b"".join(rest) == data


async def test_a_read_closed_early_lets_go(blobs: BlobStore) -> None:
    blob_id = await _store(blobs, os.urandom(5 * CHUNK))
    chunks = await blobs.read(blob_id, 0, 5 * CHUNK, CHUNK)
    await anext(chunks)
    await chunks.aclose()  # the client went away
    await blobs.delete(blob_id)
    assert [b async for b in blobs.iter_blob_ids()] == []


async def test_temp_files_are_counted_and_orphan_candidates_are_old_enough(
    blobs: BlobStore,
) -> None:
    committed = await _store(blobs, b"kept")
    writer = await blobs.open_writer(blobs.new_blob_id())
    await writer.write(os.urandom(5 * 1024 * 1024))  # past what a store keeps in memory
    assert await blobs.count_temp_files() == 1
    candidates = [blob_id async for blob_id in blobs.orphan_candidates()]
    if blobs.sweeps_orphans():  # a store's own minimum age may spare it already
        assert set(candidates) <= {committed}
        assert [blob_id async for blob_id in blobs.orphan_candidates(3600)] == []
    else:
        assert candidates == []
    await writer.abort()
    assert await blobs.count_temp_files() == 0


async def test_a_store_that_serves_answers_its_ping(blobs: BlobStore) -> None:
    await blobs.ping()  # readiness: raises only when the store cannot serve
