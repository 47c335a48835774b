"""Reading a blob from RADOS (layout: rados_layout): the head at open, then the stripes
a range covers, ``READ_AHEAD`` of them in flight while one is sent.

At open the head is read (``BlobNotFound``, and ``BlobDamaged`` for a range past the
end, are raised there, before any byte); a range ending in the first 64 KiB comes with
it in the same read. An inline blob's range (at most a stripe; a compressed one's framed
bytes) is read whole at open, so a delete after the open takes nothing away from it; a
striped blob's stripes are read as the response goes (a download that must survive a
delete holds a read lease, issue 19).
Memory: the stripe being sent and those read ahead, 12 MiB at most, whatever the range.
"""

from __future__ import annotations

import asyncio
import errno
from collections import deque
from collections.abc import AsyncGenerator, Iterator

import rados

from oortgate.storage import rados_cluster as io
from oortgate.storage import zframes
from oortgate.storage.base import BlobDamaged, BlobNotFound
from oortgate.storage.rados_layout import HEADER_SIZE, READ_AHEAD, Head, Space, stripe_name

SMALL_RANGE = 64 << 10  # a range ending by here is read together with the head
_THREAD_BATCH = 1 << 20  # decompressed bytes fetched per hop to a thread


async def open_head(space: Space, blob_id: str, inline_bytes: int = 0) -> tuple[Head, bytes]:
    """The blob's head and, if it is inline, up to ``inline_bytes`` of its first bytes."""
    try:
        data = await io.read(space.heads, blob_id, HEADER_SIZE + inline_bytes, 0)
    except FileNotFoundError:
        raise BlobNotFound(blob_id) from None
    return Head.unpack(data, blob_id), data[HEADER_SIZE:]


async def open_range(
    space: Space, blob_id: str, offset: int, length: int, chunk_size: int
) -> AsyncGenerator[bytes, None]:
    end = offset + length
    head, first = await open_head(space, blob_id, end if end <= SMALL_RANGE else 0)
    if head.size < end:
        raise BlobDamaged(f"blob {blob_id} holds {head.size} bytes, {end} asked for")
    if head.stripes:
        return _striped(space, blob_id, head, offset, length, chunk_size)
    if len(first) >= end:
        body = first[offset:end]
    else:
        body = await io.read(space.heads, blob_id, length, HEADER_SIZE + offset)
        if len(body) < length:
            raise BlobDamaged(f"blob {blob_id}: head object cut short")
    return _slices(body, chunk_size)


async def _slices(body: bytes, chunk_size: int) -> AsyncGenerator[bytes, None]:
    for start in range(0, len(body), chunk_size):
        yield body[start : start + chunk_size]


def _segments(head: Head, offset: int, length: int) -> Iterator[tuple[int, int, int]]:
    """(stripe, offset in it, length) of each stripe's part of [offset, offset+length)."""
    end = offset + length
    while offset < end:
        index, at = divmod(offset, head.stripe_size)
        size = min(head.stripe_size - at, end - offset)
        yield index, at, size
        offset += size


async def _striped(
    space: Space, blob_id: str, head: Head, offset: int, length: int, chunk_size: int
) -> AsyncGenerator[bytes, None]:
    segments = _segments(head, offset, length)
    ahead: deque[tuple[str, int, asyncio.Future[bytes]]] = deque()

    def read_ahead() -> None:
        while len(ahead) < READ_AHEAD and (segment := next(segments, None)) is not None:
            index, at, size = segment
            name = stripe_name(blob_id, index)
            ahead.append((name, size, io.read(space.stripes, name, size, at)))

    try:
        read_ahead()
        while ahead:
            name, size, future = ahead[0]
            try:
                data = await future
            except FileNotFoundError:
                raise BlobDamaged(f"blob {blob_id}: stripe {name} is missing") from None
            ahead.popleft()
            if len(data) < size:
                raise BlobDamaged(f"blob {blob_id}: stripe {name} is cut short")
            read_ahead()  # the next stripes come while this one is sent
            for start in range(0, size, chunk_size):
                yield data[start : start + chunk_size]
            del data
    finally:
        for _, _, future in ahead:
            future.cancel()  # their bytes are dropped when they arrive


class StoredStripes:
    """A blob's stored bytes as ``zframes.Stored``, read synchronously (on a thread)."""

    def __init__(self, space: Space, blob_id: str, head: Head) -> None:
        self._space, self._blob_id, self._head = space, blob_id, head

    def stored_size(self) -> int:
        return self._head.size

    def pread(self, size: int, offset: int) -> bytes:
        """Short where the stored bytes are (a missing stripe: zframes calls it damage)."""
        size = max(0, min(size, self._head.size - offset))
        try:
            if not self._head.stripes:
                return self._space.heads.read(self._blob_id, size, HEADER_SIZE + offset)
            pieces = []
            for index, at, length in _segments(self._head, offset, size):
                piece = self._space.stripes.read(stripe_name(self._blob_id, index), length, at)
                pieces.append(piece)
                if len(piece) < length:
                    break
            return b"".join(pieces)
        except rados.ObjectNotFound:
            return b""
        except rados.Error as exc:
            raise OSError(exc.errno or errno.EIO, str(exc)) from None

    def close(self) -> None:
        pass


class _StoredBytes:
    """An inline blob's stored bytes, read at open, as ``zframes.Stored``."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stored_size(self) -> int:
        return len(self._data)

    def pread(self, size: int, offset: int) -> bytes:
        return self._data[offset : offset + size]

    def close(self) -> None:
        pass


async def _stored(space: Space, blob_id: str) -> zframes.Stored:
    """A framed blob's stored bytes: an inline one's read whole now (at most a stripe, so
    a delete after the open takes nothing away), a striped one's read as asked."""
    head, first = await open_head(space, blob_id, SMALL_RANGE)
    if head.stripes:
        return StoredStripes(space, blob_id, head)
    if len(first) < head.size:
        first += await io.read(space.heads, blob_id, head.size - len(first),
                               HEADER_SIZE + len(first))  # fmt: skip
    return _StoredBytes(first)


async def open_compressed(
    space: Space, blob_id: str, offset: int, length: int, chunk_size: int
) -> AsyncGenerator[bytes, None]:
    stored = await _stored(space, blob_id)
    return _on_a_thread(zframes.read_range(stored, offset, length, chunk_size))


async def logical_size(space: Space, blob_id: str) -> int:
    return await asyncio.to_thread(zframes.logical_size, await _stored(space, blob_id))


async def _on_a_thread(chunks: Iterator[bytes]) -> AsyncGenerator[bytes, None]:
    """Decompressing is work for a thread: about a MiB of chunks per hop."""
    taking: asyncio.Future[list[bytes]] | None = None
    try:
        while True:
            taking = asyncio.ensure_future(asyncio.to_thread(_take, chunks))
            batch = await asyncio.shield(taking)  # a cancelled request lets the thread finish
            taking = None
            if not batch:
                return
            for chunk in batch:
                yield chunk
    finally:
        if taking is not None and not taking.done():
            taking.add_done_callback(lambda _: _close(chunks))
        else:
            _close(chunks)


def _take(chunks: Iterator[bytes]) -> list[bytes]:
    batch, size = [], 0
    while size < _THREAD_BATCH and (chunk := next(chunks, None)) is not None:
        batch.append(chunk)
        size += len(chunk)
    return batch


def _close(chunks: Iterator[bytes]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
