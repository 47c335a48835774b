"""The integrity CRC: computed as blobs are written, checked before a whole read ends."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest
from awscrt import checksums

from oortgate import integrity
from oortgate.meta.models import InlineBody, Segment
from oortgate.ops.segments import read_body, read_segments
from oortgate.storage.base import BlobDamaged
from oortgate.storage.local import LocalBlobStore
from oortgate.storage.local_async import AsyncLocalBlobs


def test_crc_is_crc64nvme_of_the_bytes_in_any_pieces() -> None:
    data = os.urandom(100_000)
    crc = integrity.Crc64()
    for start in range(0, len(data), 7_777):
        crc.update(data[start : start + 7_777])
    assert crc.hex() == f"{checksums.crc64nvme(data):016x}" == integrity.of(data)


async def _listed(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def _all(chunks: AsyncIterator[bytes], into: list[bytes] | None = None) -> list[bytes]:
    out = [] if into is None else into
    async for chunk in chunks:
        out.append(chunk)
    return out


def test_checked_passes_good_bytes() -> None:
    data = [b"abc", b"", b"def"]
    expected = integrity.of(b"abcdef")
    assert asyncio.run(_all(integrity.checked(_listed(data), 6, expected))) == data


def test_checked_refuses_before_the_last_chunk_goes_out() -> None:
    handed_on: list[bytes] = []
    chunks = integrity.checked(_listed([b"abc", b"deX"]), 6, integrity.of(b"abcdef"))
    with pytest.raises(BlobDamaged):
        asyncio.run(_all(chunks, handed_on))
    assert handed_on == [b"abc"]  # the consumer never got a complete, wrong body


def _blob(store: LocalBlobStore, data: bytes) -> str:
    writer = store.open_writer(store.new_blob_id())
    writer.write(data)
    writer.commit()
    return writer.blob_id


def test_whole_segments_are_checked_ranges_are_not(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    blobs = AsyncLocalBlobs(store)
    good, bad = os.urandom(300_000), bytearray(os.urandom(300_000))
    segments = [
        Segment(_blob(store, good), len(good), crc64=integrity.of(good)),
        Segment(_blob(store, bytes(bad)), len(bad), crc64=integrity.of(bytes(bad))),
    ]

    def read(segments: list[Segment], first: int, length: int, out: list[bytes]) -> bytes:
        asyncio.run(_all(read_segments(blobs, segments, first, length), out))
        return b"".join(out)

    assert read(segments, 0, 600_000, []) == good + bad
    bad[123] ^= 1
    with open(store.path(segments[1].blob_id), "r+b") as handle:
        handle.write(bad)  # damaged behind the store's back
    out: list[bytes] = []
    with pytest.raises(BlobDamaged):
        read(segments, 0, 600_000, out)
    assert len(b"".join(out)) < 600_000
    # A range inside a blob cannot be checked against a whole-blob CRC: served as stored.
    assert read(segments, 300_000, 1_000, []) == bytes(bad[:1_000])
    # An inline body is checked the same way when all of it is read.
    inline = InlineBody(b"abc", integrity.of(b"abd"))
    with pytest.raises(BlobDamaged):
        asyncio.run(_all(read_body(blobs, inline, 0, 3), []))
    part: list[bytes] = []
    asyncio.run(_all(read_body(blobs, inline, 1, 2), part))
    assert part == [b"bc"]
