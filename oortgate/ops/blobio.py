"""Streaming a request body into a new blob: hashed on the fly, durable before use."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from oortgate.errors import S3Error
from oortgate.http.context import Context


@dataclass(frozen=True, slots=True)
class StoredBlob:
    blob_id: str
    size: int
    md5: bytes
    checksum: tuple[str, str] | None


async def store_body(ctx: Context, limit: int) -> StoredBlob:
    """Write the body to a new pending blob and make it durable.

    The blob stays pending until the caller commits a record naming it (or calls
    ``discard``); a crash in between leaves garbage the start-up sweep removes.
    """
    services = ctx.services
    blob_id = services.blobs.new_blob_id()
    await services.db(services.meta.add_pending_blob, blob_id)
    writer = services.blobs.open_writer(blob_id)
    md5 = hashlib.md5()
    size = 0
    try:
        async for chunk in ctx.body.chunks():
            size += len(chunk)
            if size > limit:
                raise S3Error("EntityTooLarge", ProposedSize=str(size), MaxSizeAllowed=str(limit))
            md5.update(chunk)
            writer.write(chunk)
        await asyncio.to_thread(writer.commit)
    except BaseException:
        writer.abort()
        await asyncio.shield(discard(ctx, blob_id))
        raise
    return StoredBlob(blob_id, size, md5.digest(), ctx.body.verifier.checksum)


async def discard(ctx: Context, blob_id: str) -> None:
    """A blob no record will name: queue it for collection."""
    await ctx.services.db(ctx.services.meta.drop_pending_blob, blob_id)
