"""Reading an object's bytes (inline, or across its blobs), bounded memory."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from oortgate import integrity
from oortgate.meta.models import Body, InlineBody, Segment, blob_segments
from oortgate.storage.base import BlobStore

READ_CHUNK = 256 * 1024


def read_body(
    blobs: BlobStore, body: Body, first: int, length: int
) -> AsyncGenerator[bytes, None]:
    """The bytes [first, first+length) of a body (as read_segments: ``aclose`` it)."""
    if isinstance(body, InlineBody):
        return _inline(body, first, length)
    return read_segments(blobs, blob_segments(body), first, length)


async def _inline(body: InlineBody, first: int, length: int) -> AsyncGenerator[bytes, None]:
    data = body.data
    if first == 0 and length == len(data) and body.crc64 is not None:
        # All of it is read: its CRC is checked on the way (BlobDamaged), as a blob's.
        async for chunk in integrity.checked(_one(data), len(data), body.crc64):
            yield chunk
    else:
        yield data[first : first + length]


async def read_segments(
    blobs: BlobStore, segments: Sequence[Segment], first: int, length: int
) -> AsyncGenerator[bytes, None]:
    """The bytes [first, first+length) of the concatenated segments. Each blob is opened
    only when the read reaches it (``BlobNotFound`` then comes from that ``anext``);
    ``aclose`` the generator when done early, to close the open one."""
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
        reader = await blobs.read(segment.blob_id, lo, hi - lo, READ_CHUNK)
        try:
            chunks: AsyncIterator[bytes] = reader
            if lo == 0 and hi == segment.size and segment.crc64 is not None:
                # All of the blob is read: its CRC is checked on the way.
                chunks = integrity.checked(reader, segment.size, segment.crc64)
            async for chunk in chunks:
                yield chunk
        finally:
            await reader.aclose()  # its file, now (also when the caller stops early)


async def _one(data: bytes) -> AsyncGenerator[bytes, None]:
    yield data


def part_range(segments: Sequence[Segment], number: int) -> tuple[int, int]:
    """(first, last) byte of part ``number`` (1-based) of a multipart object."""
    first = sum(s.size for s in segments[: number - 1])
    return first, first + segments[number - 1].size - 1
