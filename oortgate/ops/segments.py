"""Reading and copying an object's bytes across its segments (parts), bounded memory."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar

from oortgate import integrity
from oortgate.auth.checksums import Checksum
from oortgate.meta.models import Segment
from oortgate.storage.base import BlobStore, BlobWriter

READ_CHUNK = 256 * 1024
T = TypeVar("T")


def read_segments(
    blobs: BlobStore, segments: Sequence[Segment], first: int, length: int
) -> Generator[bytes, None, None]:
    """The bytes [first, first+length) of the concatenated segments."""
    return _segments(segments, first, length, blobs.read)


def stream_segments(
    blobs: BlobStore, segments: Sequence[Segment], first: int, length: int
) -> Generator[bytes | None, None, None]:
    """``read_segments`` for the event loop: a None comes before each chunk that has to
    be read on a thread (see ``BlobStore.stream``)."""
    return _segments(segments, first, length, blobs.stream)


def _segments(
    segments: Sequence[Segment],
    first: int,
    length: int,
    read: Callable[[str, int, int, int], Iterator[T]],
) -> Generator[bytes | T, None, None]:
    end = first + length
    offset = 0
    for segment in segments:
        start, stop = offset, offset + segment.size
        offset = stop
        if stop <= first or segment.size == 0:
            continue
        if start >= end:
            break
        lo, hi = max(first, start) - start, min(end, stop) - start
        if segment.data is not None:
            chunks: Iterator[Any] = iter((segment.data[lo:hi],))
        else:
            chunks = read(segment.blob_id, lo, hi - lo, READ_CHUNK)
        if lo == 0 and hi == segment.size and segment.crc64 is not None:
            # All of the blob is read: its CRC is checked on the way.
            chunks = integrity.checked(chunks, segment.size, segment.crc64)
        yield from chunks


def part_range(segments: Sequence[Segment], number: int) -> tuple[int, int]:
    """(first, last) byte of part ``number`` (1-based) of a multipart object."""
    first = sum(s.size for s in segments[: number - 1])
    return first, first + segments[number - 1].size - 1


def copy_into(
    chunks: Iterator[bytes], writer: BlobWriter, checksum: Checksum | None
) -> tuple[int, bytes, str]:
    """Stream chunks into writer (then commit it); returns (size, md5, integrity CRC).
    Runs in a thread: a multi-GiB UploadPartCopy must not stall the event loop."""
    md5 = hashlib.md5()
    crc = integrity.Crc64()
    size = 0
    for chunk in chunks:
        md5.update(chunk)
        crc.update(chunk)
        if checksum is not None:
            checksum.update(chunk)
        writer.write(chunk)
        size += len(chunk)
    writer.commit()
    return size, md5.digest(), crc.hex()
