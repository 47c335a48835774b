"""The async ``BlobStore`` a server worker runs on: ``LocalBlobStore`` with its blocking
calls on a thread pool, and the cheap ones inline on the event loop.

Inline: opening a file for reading (the page cache answers an open in microseconds; a
missing blob is known before the response starts), reading what the page cache already
holds, and buffering written bytes. On a thread: every write that reaches the disk (one
per MiB), fsync and rename, a read that would wait for the disk, decompression, deletes
and directory walks. Blob fsyncs wait on the disk, not the CPU: many may be in flight at
once (the file system batches them into one journal commit), hence many threads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from oortgate.endpoints import STANDARD
from oortgate.storage.base import BlobNotFound
from oortgate.storage.local import FLUSH_SIZE, LocalBlobStore, LocalBlobWriter
from oortgate.storage.zframes import CompressingWriter

BLOB_IO_THREADS = 32
_MAX_BUFFERS = 512  # the sync writer's writev limit: a batch never outgrows one writev
P = ParamSpec("P")
T = TypeVar("T")


class _Pool:
    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=BLOB_IO_THREADS, thread_name_prefix="blob")

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        result: T = await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))
        return result


class AsyncLocalWriter:
    """Bytes gather on the loop (by reference) and go to the file a MiB at a time on a
    thread: one hop per MiB, not one per network chunk."""

    def __init__(self, inner: LocalBlobWriter | CompressingWriter, pool: _Pool) -> None:
        self.blob_id = inner.blob_id
        self._inner = inner
        self._pool = pool
        self._pending: list[bytes] = []
        self._size = 0

    async def write(self, data: bytes) -> None:
        self._pending.append(data)
        self._size += len(data)
        if self._size >= FLUSH_SIZE or len(self._pending) >= _MAX_BUFFERS:
            await self._pool.run(self._write_all, self._take())

    async def commit(self) -> None:
        await self._pool.run(self._commit_all, self._take())

    async def abort(self) -> None:
        self._pending.clear()
        # Shielded: the temp file goes even if the caller is cancelled meanwhile.
        await asyncio.shield(self._pool.run(self._inner.abort))

    def _take(self) -> list[bytes]:
        batch, self._pending, self._size = self._pending, [], 0
        return batch

    def _write_all(self, batch: list[bytes]) -> None:
        for chunk in batch:
            self._inner.write(chunk)

    def _commit_all(self, batch: list[bytes]) -> None:
        self._write_all(batch)
        self._inner.commit()


class AsyncLocalBlobs:
    def __init__(self, blobs: LocalBlobStore) -> None:
        self._blobs = blobs
        self._pool = _Pool()

    def new_blob_id(self, compressed: bool = False, tier: str = STANDARD) -> str:
        return self._blobs.new_blob_id(compressed, tier)

    def serves_tier(self, blob_id: str, tier: str) -> bool:
        return self._blobs.serves_tier(blob_id, tier)

    async def open_writer(self, blob_id: str) -> AsyncLocalWriter:
        # Inline: creating the temp file is one open(2), cheaper than a hop.
        return AsyncLocalWriter(self._blobs.open_writer(blob_id), self._pool)

    async def read(
        self, blob_id: str, offset: int, length: int, chunk_size: int
    ) -> AsyncGenerator[bytes, None]:
        return self._cooperative(self._blobs.stream(blob_id, offset, length, chunk_size))

    async def _cooperative(self, chunks: Iterator[bytes | None]) -> AsyncGenerator[bytes, None]:
        """The chunks the page cache holds come at once; a None from the sync stream
        means the next chunk may wait (or decompress): that one is read on a thread."""
        reading: asyncio.Future[bytes] | None = None
        try:
            while True:
                chunk = next(chunks, b"")
                if chunk is None:
                    reading = asyncio.ensure_future(self._pool.run(_next_real, chunks))
                    # Shielded: a request cancelled meanwhile leaves the thread to finish.
                    chunk = await asyncio.shield(reading)
                    reading = None
                if not chunk:
                    return
                yield chunk
        finally:
            _close_after(chunks, reading)

    async def size(self, blob_id: str) -> int:
        try:
            return await self._pool.run(self._blobs.size, blob_id)
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None

    async def delete(self, blob_id: str) -> None:
        await self._pool.run(self._blobs.delete, blob_id)

    async def iter_blob_ids(self) -> AsyncIterator[str]:
        ids = self._blobs.iter_blob_ids()
        while batch := await self._pool.run(_take_some, ids, 1000):
            for blob_id in batch:
                yield blob_id

    def sweeps_orphans(self) -> bool:
        return self._blobs.sweeps_orphans

    async def orphan_candidates(self, min_age: float = 0.0) -> AsyncIterator[str]:
        ids = self._blobs.orphan_candidates(min_age)  # stats every file: on a thread
        while batch := await self._pool.run(_take_some, ids, 1000):
            for blob_id in batch:
                yield blob_id

    async def count_temp_files(self) -> int:
        return await self._pool.run(self._blobs.count_temp_files)

    async def ping(self) -> None:
        pass  # a local file system: the health check looks at its directories itself

    async def use_session(self, session_id: str) -> None:
        self._blobs.use_session(session_id)  # makes one directory: cheaper than a hop

    async def temp_sessions(self) -> list[str]:
        return await self._pool.run(self._blobs.temp_sessions)

    async def remove_temp_files(self, sessions: Collection[str] = ()) -> int:
        return await self._pool.run(self._blobs.remove_temp_files, sessions)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._pool.executor.shutdown)


def _next_real(chunks: Iterator[bytes | None]) -> bytes:
    # On a thread, where a read may block: go on past further Nones.
    return next((chunk for chunk in chunks if chunk is not None), b"")


def _close_after(chunks: Iterator[bytes | None], reading: asyncio.Future[bytes] | None) -> None:
    """Close the file now, or, while a thread still reads it, once that is done."""
    close = getattr(chunks, "close", None)
    if close is None:
        return
    if reading is not None and not reading.done():
        reading.add_done_callback(lambda _: close())
    else:
        close()


def _take_some(ids: Iterator[str], count: int) -> list[str]:
    return [blob_id for _, blob_id in zip(range(count), ids, strict=False)]
