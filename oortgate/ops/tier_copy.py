"""A copy into a bucket of the other tier, when the tiers keep their blobs in stores of
their own (``archive_blob_url``): the bytes are written again, into the target tier's
store. Within one store a copy shares the source's blobs (they are immutable)."""

from __future__ import annotations

import asyncio
import dataclasses

from oortgate import logs
from oortgate.errors import S3Error
from oortgate.meta.models import ObjectRecord, Segment, is_inline
from oortgate.ops.blobio import discard, store_chunks
from oortgate.ops.context import Context
from oortgate.ops.segments import read_segments
from oortgate.storage.base import BlobDamaged, BlobNotFound


def needs_rewrite(ctx: Context, record: ObjectRecord, tier: str) -> bool:
    blobs = ctx.services.blobs
    return any(not is_inline(s.blob_id) and not blobs.serves_tier(s.blob_id, tier)
               for s in record.segments)  # fmt: skip


async def rewritten(ctx: Context, record: ObjectRecord, tier: str) -> ObjectRecord:
    """``record`` naming new pending blobs in ``tier``'s store, one per blob of the
    source (a multipart object keeps its parts, their sizes and checksums, so its ETag
    and part numbers stay true). On failure the new blobs are discarded already."""
    written: list[str] = []
    try:
        segments = [await _copy(ctx, s, tier, written) for s in record.segments]
    except BaseException:
        await asyncio.shield(discard_all(ctx, written))
        raise
    if record.parts_count:
        return dataclasses.replace(record, parts=tuple(segments))
    return dataclasses.replace(record, blob_id=segments[0].blob_id)


async def _copy(ctx: Context, segment: Segment, tier: str, written: list[str]) -> Segment:
    if is_inline(segment.blob_id) or ctx.services.blobs.serves_tier(segment.blob_id, tier):
        return segment
    chunks = read_segments(ctx.services.blobs, [segment], 0, segment.size)
    try:
        stored = await store_chunks(ctx, chunks, segment.size, tier=tier)
    except BlobDamaged as exc:  # the new blob is discarded already
        logs.errors.error(f"damaged-copy:{exc}", f"damaged copy source: {exc}")
        raise S3Error("InternalError", "The copy source's stored data is damaged.") from None
    except BlobNotFound as exc:
        raise S3Error("NoSuchKey", "The copy source was replaced during the copy.") from exc
    finally:
        await chunks.aclose()
    written.append(stored.blob_id)
    return dataclasses.replace(segment, blob_id=stored.blob_id, crc64=stored.crc64)


async def discard_all(ctx: Context, blob_ids: list[str]) -> None:
    for blob_id in blob_ids:
        await discard(ctx, blob_id)


def new_blob_ids(before: ObjectRecord, after: ObjectRecord) -> list[str]:
    """The blobs ``rewritten`` made (to discard if no record comes to name them)."""
    return [b for b in after.blob_ids if b not in before.blob_ids]
