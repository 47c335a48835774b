"""Streaming bytes into a new blob: hashed on the fly, durable before anything names it."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass

from oortgate.auth.checksums import Checksum
from oortgate.errors import S3Error
from oortgate.http.context import Context
from oortgate.meta.models import INLINE_MARK, is_inline


@dataclass(frozen=True, slots=True)
class StoredBlob:
    blob_id: str
    size: int
    md5: bytes
    checksum: tuple[str, str] | None  # verified (header or trailer) or computed
    data: bytes | None = None  # an inline blob's bytes, for the record to carry


class BlobSink:
    """A new pending blob being written.

    The blob stays pending until the caller commits a record naming it (or calls
    ``discard``); a crash in between leaves garbage the start-up sweep removes.
    """

    def __init__(
        self, ctx: Context, limit: int, compute: str | None = None, compressed: bool = False
    ) -> None:
        self._ctx = ctx
        self._limit = limit
        self._md5 = hashlib.md5()
        self._extra = Checksum(compute) if compute else None
        self.size = 0
        blobs = ctx.services.blobs
        self.blob_id = blobs.new_blob_id(compressed)
        self._writer = blobs.open_writer(self.blob_id)

    async def open(self) -> BlobSink:
        await self._ctx.services.db(self._ctx.meta.add_pending_blob, self.blob_id)
        return self

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._limit:
            raise S3Error("EntityTooLarge", ProposedSize=str(self.size),
                          MaxSizeAllowed=str(self._limit))  # fmt: skip
        self._md5.update(chunk)
        if self._extra is not None:
            self._extra.update(chunk)
        self._writer.write(chunk)

    async def commit(self, checksum: tuple[str, str] | None = None) -> StoredBlob:
        await self._ctx.services.blob_io(self._writer.commit)
        if self._extra is not None:
            checksum = (self._extra.algorithm, self._extra.b64())
        return StoredBlob(self.blob_id, self.size, self._md5.digest(), checksum)

    async def abort(self) -> None:
        self._writer.abort()
        await asyncio.shield(discard(self._ctx, self.blob_id))


async def store_body(
    ctx: Context, limit: int, compute: str | None = None, compressed: bool = False
) -> StoredBlob:
    """Write the request body to a new pending blob and make it durable. ``compute``
    names a checksum algorithm to compute whether or not the client sent one (a
    multipart upload's parts all carry the upload's algorithm). ``compressed``: stored
    framed and compressed (the archive tier), read back unchanged."""
    sink = await BlobSink(ctx, limit, compute, compressed).open()
    try:
        async for chunk in ctx.body.chunks():
            sink.write(chunk)
        return await sink.commit(ctx.body.verifier.checksum)
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
                      checksum, data)  # fmt: skip


async def discard(ctx: Context, blob_id: str) -> None:
    """A blob no record will name: queue it for collection."""
    if not is_inline(blob_id):  # an inline blob unnamed is just forgotten
        await ctx.services.db(ctx.services.meta.drop_pending_blob, blob_id)
