"""The integrity CRC: computed as blobs are written, checked before a whole read ends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from awscrt import checksums

from oortgate import integrity
from oortgate.meta.models import Segment
from oortgate.ops.segments import read_segments
from oortgate.storage.base import BlobDamaged
from oortgate.storage.local import LocalBlobStore


def test_crc_is_crc64nvme_of_the_bytes_in_any_pieces() -> None:
    data = os.urandom(100_000)
    crc = integrity.Crc64()
    for start in range(0, len(data), 7_777):
        crc.update(data[start : start + 7_777])
    assert crc.hex() == f"{checksums.crc64nvme(data):016x}" == integrity.of(data)


def test_checked_passes_good_bytes_and_markers() -> None:
    data = [b"abc", None, b"def"]
    expected = integrity.of(b"abcdef")
    assert list(integrity.checked(iter(data), 6, expected)) == data


def test_checked_refuses_before_the_last_chunk_goes_out() -> None:
    handed_on: list[bytes | None] = []
    chunks = integrity.checked(iter([b"abc", b"deX"]), 6, integrity.of(b"abcdef"))
    with pytest.raises(BlobDamaged):
        for chunk in chunks:
            handed_on.append(chunk)
    assert handed_on == [b"abc"]  # the consumer never got a complete, wrong body


def _blob(store: LocalBlobStore, data: bytes) -> str:
    writer = store.open_writer(store.new_blob_id())
    writer.write(data)
    writer.commit()
    return writer.blob_id


def test_whole_segments_are_checked_ranges_are_not(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    good, bad = os.urandom(300_000), bytearray(os.urandom(300_000))
    segments = [
        Segment(_blob(store, good), len(good), crc64=integrity.of(good)),
        Segment(_blob(store, bytes(bad)), len(bad), crc64=integrity.of(bytes(bad))),
    ]
    assert b"".join(read_segments(store, segments, 0, 600_000)) == good + bad
    bad[123] ^= 1
    with open(store.path(segments[1].blob_id), "r+b") as handle:
        handle.write(bad)  # damaged behind the store's back
    out: list[bytes] = []
    with pytest.raises(BlobDamaged):
        out.extend(read_segments(store, segments, 0, 600_000))
    assert len(b"".join(out)) < 600_000
    # A range inside a blob cannot be checked against a whole-blob CRC: served as stored.
    assert b"".join(read_segments(store, segments, 300_000, 1_000)) == bytes(bad[:1_000])
    # An inline segment is checked the same way.
    inline = Segment("i" + "0" * 32, 3, b"abc", crc64=integrity.of(b"abd"))
    with pytest.raises(BlobDamaged):
        list(read_segments(store, [inline], 0, 3))
