"""Streaming a request body into a new blob: hashed on the fly, durable before use."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from oortgate.auth.checksums import Checksum
from oortgate.errors import S3Error
from oortgate.http.context import Context


@dataclass(frozen=True, slots=True)
class StoredBlob:
    blob_id: str
    size: int
    md5: bytes
    checksum: tuple[str, str] | None  # verified (header or trailer) or computed


async def store_body(ctx: Context, limit: int, compute: str | None = None) -> StoredBlob:
    """Write the body to a new pending blob and make it durable.

    The blob stays pending until the caller commits a record naming it (or calls
    ``discard``); a crash in between leaves garbage the start-up sweep removes.
    ``compute`` names a checksum algorithm to compute whether or not the client sent one
    (a multipart upload's parts all carry the upload's algorithm).
    """
    services = ctx.services
    blob_id = services.blobs.new_blob_id()
    await services.db(services.meta.add_pending_blob, blob_id)
    writer = services.blobs.open_writer(blob_id)
    md5 = hashlib.md5()
    extra = Checksum(compute) if compute else None
    size = 0
    try:
        async for chunk in ctx.body.chunks():
            size += len(chunk)
            if size > limit:
                raise S3Error("EntityTooLarge", ProposedSize=str(size), MaxSizeAllowed=str(limit))
            md5.update(chunk)
            if extra is not None:
                extra.update(chunk)
            writer.write(chunk)
        await asyncio.to_thread(writer.commit)
    except BaseException:
        writer.abort()
        await asyncio.shield(discard(ctx, blob_id))
        raise
    checksum = ctx.body.verifier.checksum
    if extra is not None:
        checksum = (extra.algorithm, extra.b64())
    return StoredBlob(blob_id, size, md5.digest(), checksum)


async def discard(ctx: Context, blob_id: str) -> None:
    """A blob no record will name: queue it for collection."""
    await ctx.services.db(ctx.services.meta.drop_pending_blob, blob_id)
