"""A copy into a bucket of the other tier, when the tiers keep their blobs in stores of
their own (``archive_blob_url``): the bytes are written again, into the target tier's
store. Within one store a copy shares the source's blobs (they are immutable)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, Awaitable, Callable

from oortgate import logs
from oortgate.errors import S3Error
from oortgate.meta.models import BlobBody, ObjectRecord, PartsBody, Segment, blob_segments
from oortgate.ops import read_lease
from oortgate.ops.blob_writer import StoredBlob, write_many
from oortgate.ops.context import Context
from oortgate.ops.segments import read_segments
from oortgate.storage.base import BlobDamaged, BlobNotFound


def needs_rewrite(ctx: Context, record: ObjectRecord, tier: str) -> bool:
    """Whether a blob of the record lives in another store than ``tier``'s (an inline
    object has none: its bytes are in the metadata, shared by every tier)."""
    return any(_moves(ctx, s, tier) for s in blob_segments(record.body))


def _moves(ctx: Context, segment: Segment, tier: str) -> bool:
    return not ctx.services.blobs.serves_tier(segment.blob_id, tier)


async def rewritten(
    ctx: Context,
    record: ObjectRecord,
    tier: str,
    commit: Callable[[ObjectRecord], Awaitable[ObjectRecord]],
    *,
    every_blob: bool = False,
) -> ObjectRecord:
    """``commit`` of ``record`` naming new blobs in ``tier``'s store, one per blob of the
    source that lives in the other store (a multipart object keeps its parts, their
    sizes and checksums, so its ETag and part numbers stay true). Through the writer
    service: if anything fails before the commit returns, the new blobs are dropped.
    ``every_blob``: rewrite them all (a lifecycle transition: compressed, as the tier's
    new blobs are, even where both tiers share one store)."""
    segments = blob_segments(record.body)
    moving = [s for s in segments if every_blob or _moves(ctx, s, tier)]
    lease: str | None = None
    streams: list[AsyncGenerator[bytes, None]] = [
        read_segments(ctx.services.blobs, [s], 0, s.size) for s in moving
    ]

    async def commit_copies(stored: list[StoredBlob]) -> ObjectRecord:
        new = {s.blob_id: b for s, b in zip(moving, stored, strict=True)}
        moved = tuple(
            dataclasses.replace(s, blob_id=new[s.blob_id].blob_id, crc64=new[s.blob_id].crc64)
            if s.blob_id in new
            else s
            for s in segments
        )
        if isinstance(record.body, PartsBody):
            return await commit(dataclasses.replace(record, body=PartsBody(moved)))
        only = moved[0]  # a plain object: one blob
        return await commit(
            dataclasses.replace(record, body=BlobBody(only.blob_id, only.size, only.crc64))
        )

    try:
        lease = await read_lease.take(ctx.meta, moving)
        return await write_many(
            ctx, [(c, s.size) for c, s in zip(streams, moving, strict=True)], commit_copies,
            tier=tier,
        )
    except BlobDamaged as exc:  # the new blobs are dropped already
        logs.errors.error(f"damaged-copy:{exc}", f"damaged copy source: {exc}")
        raise S3Error("InternalError", "The copy source's stored data is damaged.") from None
    except BlobNotFound as exc:
        raise S3Error("NoSuchKey", "The copy source was replaced during the copy.") from exc
    finally:
        for chunks in streams:
            await chunks.aclose()
        await read_lease.release(ctx.meta, lease)
