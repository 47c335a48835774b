"""The one writer of new blobs: mark pending -> stream the bytes into the blob store
(hashed on the fly) -> the caller's metadata commit; on any failure before the commit
returns (a client gone, a bad digest, a refused precondition, NoSuchUpload, a full disk,
a cancelled task) the blob is aborted and its pending mark dropped, exactly once.

PutObject, PostObject, UploadPart and UploadPartCopy store their bytes through
``write_body`` or ``write_chunks``, a copy into the other tier's store through
``write_many``; nothing else in ops/ marks, opens or drops a blob
(tests/unit/test_layers.py). The commit is the caller's: a coroutine that takes the
written blob's facts (``StoredBlob``) and writes the record naming it, which clears the
pending mark in the same transaction. A small PUT's body (declared at most
``inline_max_size``) is read into memory and travels inside that record instead: no
pending mark, no file, the same commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from oortgate import integrity
from oortgate.auth.checksums import Checksum
from oortgate.endpoints import ARCHIVE, STANDARD
from oortgate.errors import S3Error
from oortgate.meta.models import BlobBody, InlineBody
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
    data: bytes | None = None  # a small body's bytes, for the record to carry (no blob)

    @property
    def body(self) -> InlineBody | BlobBody:
        """The body of an object made of these bytes."""
        if self.data is not None:
            return InlineBody(self.data, self.crc64)
        return BlobBody(self.blob_id, self.size, self.crc64)


T = TypeVar("T")
Commit = Callable[[StoredBlob], Awaitable[T]]  # writes the record naming the blob
BATCH = 1 << 20  # bytes gathered on the event loop before a thread hashes and writes them


class BlobSink:
    """A new pending blob being written (only through ``write_chunks``).

    The blob stays pending until the caller's commit names it in a record, or ``abort``
    makes it garbage; a crash in between leaves a pending mark that the session's
    reaping turns into garbage.

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
        self._aborted = False

    async def open(self) -> BlobSink:
        """Mark the blob pending, then create it (in that order: a crash between leaves
        a pending mark, never an unmarked file). A mark whose answer never came (the
        task cancelled while the store applied it) is dropped too: the ids are random,
        so the drop can only be this mark's."""
        try:
            await self._ctx.meta.add_pending_blob(self.blob_id)
            self._writer = await self._ctx.services.blobs.open_writer(self.blob_id)
        except BaseException:
            await asyncio.shield(_discard(self._ctx, self.blob_id))
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
        """The last batch written and the blob made durable (still pending)."""
        await self._settle()
        self._dispatch(self._take(), commit=True)
        await self._settle()
        if self._extra is not None:
            checksum = (self._extra.algorithm, self._extra.b64())
        return StoredBlob(self.blob_id, self.size, self._md5.digest(), checksum, self._crc.hex())

    async def abort(self) -> None:
        """The blob discarded and its mark dropped; a second call does nothing."""
        if self._aborted:
            return
        self._aborted = True
        with contextlib.suppress(Exception):
            await self._settle()  # the writer must be done with the file first
        if self._writer is not None:
            await self._writer.abort()  # after the blob's commit: does nothing
        await asyncio.shield(_discard(self._ctx, self.blob_id))

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


async def write_body(
    ctx: Context,
    commit: Commit[T],
    *,
    limit: int,
    inline_size: int | None = None,
    expected_md5: bytes | None = None,
    compute: str | None = None,
    tier: str = STANDARD,
) -> T:
    """The request body stored, then ``commit`` (its result is returned).

    ``inline_size``: the body's declared size where it may be stored inline (PUT); at
    most ``inline_max_size``, the body is read into memory (the body reader holds it to
    its declared length) and the record carries it. ``expected_md5``: Content-MD5,
    checked before the commit (BadDigest). ``compute`` names a checksum algorithm to
    compute whether or not the client sent one (a multipart upload's parts all carry
    the upload's algorithm). ``tier``: the bucket's (the archive tier's blobs are stored
    compressed, and read back unchanged)."""
    if inline_size is not None and inline_size <= ctx.services.settings.inline_max_size:
        stored = await _inline_body(ctx)
        if expected_md5 is not None:
            _check_md5(expected_md5, stored)
        return await commit(stored)  # nothing to drop if it fails: no mark, no file
    body = ctx.body
    return await write_chunks(ctx, body.chunks(), commit, limit=limit, compute=compute,
                              tier=tier, verified=lambda: body.verifier.checksum,
                              expected_md5=expected_md5)  # fmt: skip


async def write_chunks(
    ctx: Context,
    chunks: AsyncIterator[bytes],
    commit: Commit[T],
    *,
    limit: int,
    compute: str | None = None,
    tier: str = STANDARD,
    verified: Callable[[], tuple[str, str] | None] = lambda: None,
    expected_md5: bytes | None = None,
) -> T:
    """``write_body`` for any byte stream (a copied range, a form's file): the one path
    from bytes to a committed blob. ``verified``, asked at the end: a checksum already
    checked. Whatever fails up to the commit's return (the commit included) aborts the
    blob and drops its mark; a commit that did land clears the mark itself, so a drop
    racing it (a cancelled commit) finds nothing to drop."""
    sink = await BlobSink(ctx, limit, compute, tier).open()
    try:
        async for chunk in chunks:
            await sink.write(chunk)
        stored = await sink.commit(verified())
        if expected_md5 is not None:
            _check_md5(expected_md5, stored)
        return await commit(stored)
    except BaseException:
        await sink.abort()
        raise


async def write_many(
    ctx: Context,
    streams: Sequence[tuple[AsyncIterator[bytes], int]],
    commit: Callable[[list[StoredBlob]], Awaitable[T]],
    *,
    tier: str = STANDARD,
) -> T:
    """Several blobs, then one commit naming them all (a copy into the other tier's
    store: one blob per segment of the source). ``streams``: each blob's bytes and its
    size limit. Whatever fails before the commit returns aborts every blob written."""
    sinks: list[BlobSink] = []
    try:
        stored: list[StoredBlob] = []
        for chunks, limit in streams:
            sink = await BlobSink(ctx, limit, None, tier).open()
            sinks.append(sink)
            async for chunk in chunks:
                await sink.write(chunk)
            stored.append(await sink.commit())
        return await commit(stored)
    except BaseException:
        for sink in sinks:
            await sink.abort()
        raise


def _check_md5(expected: bytes, stored: StoredBlob) -> None:
    if expected != stored.md5:
        raise S3Error("BadDigest", ExpectedDigest=expected.hex(), CalculatedDigest=stored.md5.hex())


async def _inline_body(ctx: Context) -> StoredBlob:
    """A small request body in memory: stored inside the object's metadata, durable
    with the same commit."""
    parts: list[bytes] = []
    async for chunk in ctx.body.chunks():
        parts.append(chunk)
    data = b"".join(parts)
    checksum = ctx.body.verifier.checksum
    return StoredBlob("", len(data), hashlib.md5(data).digest(), checksum, integrity.of(data),
                      data)  # fmt: skip


async def _discard(ctx: Context, blob_id: str) -> None:
    """A blob no record will name: queue it for collection."""
    services = ctx.services
    try:
        await services.meta.drop_pending_blob(blob_id)
    except StorageFull:
        # No room to queue it: nothing names it, so its file goes now (the pending
        # mark, left, is cleared by the next start-up sweep).
        await services.blobs.delete(blob_id)
