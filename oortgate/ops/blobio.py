"""Streaming bytes into a new blob: hashed on the fly, durable before anything names it."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from oortgate import integrity
from oortgate.auth.checksums import Checksum
from oortgate.endpoints import ARCHIVE, STANDARD
from oortgate.errors import S3Error
from oortgate.meta.models import INLINE_MARK, is_inline
from oortgate.ops.context import Context
from oortgate.storage.base import BlobWriter
from oortgate.storage.space import StorageFull


@dataclass(frozen=True, slots=True)
class StoredBlob:
    blob_id: str
    size: int
    md5: bytes
    checksum: tuple[str, str] | None  # verified (header or trailer) or computed
    crc64: str  # the server's own integrity check (oortgate.integrity)
    data: bytes | None = None  # an inline blob's bytes, for the record to carry


BATCH = 1 << 20  # bytes gathered on the event loop before a thread hashes and writes them


class BlobSink:
    """A new pending blob being written.

    The blob stays pending until the caller commits a record naming it (or calls
    ``discard``); a crash in between leaves garbage the start-up sweep removes.

    The event loop only gathers the body; for each batch one thread hashes it while
    the blob store writes it (hashlib and os.write release the GIL), and the loop
    receives the next batch meanwhile. One batch is out at a time: order is kept and
    memory stays at about two batches per upload.
    """

    def __init__(
        self, ctx: Context, limit: int, compute: str | None = None, tier: str = STANDARD
    ) -> None:
        self._ctx = ctx
        self._limit = limit
        self._md5 = hashlib.md5()
        self._crc = integrity.Crc64()
        self._extra = Checksum(compute) if compute else None
        self.size = 0
        # The archive tier's blobs are stored compressed (framed: ranges stay cheap).
        self.blob_id = ctx.services.blobs.new_blob_id(tier == ARCHIVE, tier)
        self._writer: BlobWriter | None = None
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._jobs: list[asyncio.Future[None]] = []  # the batch's hashing and writing

    async def open(self) -> BlobSink:
        """Mark the blob pending, then create it (in that order: a crash between leaves
        a pending mark, never an unmarked file)."""
        await self._ctx.meta.add_pending_blob(self.blob_id)
        try:
            self._writer = await self._ctx.services.blobs.open_writer(self.blob_id)
        except BaseException:
            await asyncio.shield(discard(self._ctx, self.blob_id))
            raise
        return self

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._limit:
            raise S3Error("EntityTooLarge", ProposedSize=str(self.size),
                          MaxSizeAllowed=str(self._limit))  # fmt: skip
        self._batch.append(chunk)
        self._batch_size += len(chunk)
        if self._batch_size >= BATCH:
            await self._settle()
            self._dispatch(self._take(), commit=False)

    async def commit(self, checksum: tuple[str, str] | None = None) -> StoredBlob:
        await self._settle()
        self._dispatch(self._take(), commit=True)
        await self._settle()
        if self._extra is not None:
            checksum = (self._extra.algorithm, self._extra.b64())
        return StoredBlob(self.blob_id, self.size, self._md5.digest(), checksum, self._crc.hex())

    async def abort(self) -> None:
        with contextlib.suppress(Exception):
            await self._settle()  # the writer must be done with the file first
        if self._writer is not None:
            await self._writer.abort()
        await asyncio.shield(discard(self._ctx, self.blob_id))

    def _dispatch(self, batch: list[bytes], *, commit: bool) -> None:
        self._jobs = [asyncio.ensure_future(self._ctx.services.offload(self._hash, batch)),
                      asyncio.ensure_future(self._write(batch, commit))]  # fmt: skip

    async def _settle(self) -> None:
        """Wait for the batch's jobs (their first error surfaces here). Shielded, and
        forgotten only once all are done: a cancelled request's abort still waits for
        the threads before the file is closed under them."""
        if self._jobs:
            results = await asyncio.shield(asyncio.gather(*self._jobs, return_exceptions=True))
            self._jobs = []
            for result in results:
                if isinstance(result, BaseException):
                    raise result

    def _take(self) -> list[bytes]:
        batch, self._batch, self._batch_size = self._batch, [], 0
        return batch

    def _hash(self, batch: list[bytes]) -> None:  # on a thread, beside the write
        for chunk in batch:
            self._md5.update(chunk)
            self._crc.update(chunk)
            if self._extra is not None:
                self._extra.update(chunk)

    async def _write(self, batch: list[bytes], commit: bool) -> None:
        assert self._writer is not None, "open() first"
        for chunk in batch:
            await self._writer.write(chunk)
        if commit:
            await self._writer.commit()


async def store_body(
    ctx: Context, limit: int, compute: str | None = None, tier: str = STANDARD
) -> StoredBlob:
    """Write the request body to a new pending blob and make it durable. ``compute``
    names a checksum algorithm to compute whether or not the client sent one (a
    multipart upload's parts all carry the upload's algorithm). ``tier``: the bucket's
    (the archive tier's blobs are stored compressed, and read back unchanged)."""
    body = ctx.body
    return await store_chunks(ctx, body.chunks(), limit, compute, tier,
                              lambda: body.verifier.checksum)  # fmt: skip


async def store_chunks(
    ctx: Context,
    chunks: AsyncIterator[bytes],
    limit: int,
    compute: str | None = None,
    tier: str = STANDARD,
    verified: Callable[[], tuple[str, str] | None] = lambda: None,
) -> StoredBlob:
    """``store_body`` for any byte stream (a copied range): the one path from bytes to
    a durable pending blob. ``verified``, asked at the end: a checksum already checked."""
    sink = await BlobSink(ctx, limit, compute, tier).open()
    try:
        async for chunk in chunks:
            await sink.write(chunk)
        return await sink.commit(verified())
    except BaseException:
        await sink.abort()
        raise


async def inline_body(ctx: Context) -> StoredBlob:
    """Read a small request body (its declared length is at most the inline limit, and
    the body reader holds it to that) into memory: it is stored inside the object's
    metadata, durable with the same commit."""
    parts: list[bytes] = []
    async for chunk in ctx.body.chunks():
        parts.append(chunk)
    data = b"".join(parts)
    checksum = ctx.body.verifier.checksum
    return StoredBlob(INLINE_MARK + secrets.token_hex(16), len(data), hashlib.md5(data).digest(),
                      checksum, integrity.of(data), data)  # fmt: skip


async def discard(ctx: Context, blob_id: str) -> None:
    """A blob no record will name: queue it for collection."""
    if is_inline(blob_id):  # an inline blob unnamed is just forgotten
        return
    services = ctx.services
    try:
        await services.meta.drop_pending_blob(blob_id)
    except StorageFull:
        # No room to queue it: nothing names it, so its file goes now (the pending
        # mark, left, is cleared by the next start-up sweep).
        await services.blobs.delete(blob_id)
