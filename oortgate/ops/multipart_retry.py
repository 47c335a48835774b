"""A CompleteMultipartUpload whose upload is gone: a retry of one that succeeded (SDKs
resend Complete after a lost response) answers as the first did; otherwise it is
NoSuchUpload, or, for a conditional Complete that lost a race, ConditionalRequestConflict.
"""

from __future__ import annotations

from collections.abc import Sequence

from oortgate.errors import S3Error
from oortgate.meta.models import ObjectRecord
from oortgate.meta.preconditions import Precondition
from oortgate.ops.context import Context
from oortgate.ops.multipart_math import requested_etag
from oortgate.xml.multipart import RequestedPart


async def completed_object(ctx: Context, requested: Sequence[RequestedPart]) -> ObjectRecord | None:
    """The object this upload became, if the upload completed with these parts and that
    object is still the one at the key (not overwritten or deleted since: then AWS, which
    keeps no such record, has nothing to replay either)."""
    bucket = ctx.granted_bucket
    meta = ctx.meta
    done = await meta.get_completed_upload(ctx.route.upload_id)
    if done is None or (done.bucket_id, done.key) != (bucket.id, ctx.key):
        return None
    if requested_etag(requested) != done.etag:
        return None
    record = await meta.get_object(bucket.id, ctx.key)
    if record is None or (record.etag, record.last_modified) != (done.etag, done.last_modified):
        return None
    return record


async def upload_gone(
    ctx: Context,
    requested: Sequence[RequestedPart],
    condition: Precondition | None,
    *,
    midway: bool,
) -> ObjectRecord:
    """The object to answer with for a Complete whose upload was not found, or raise:
    ConditionalRequestConflict for a conditional Complete whose upload vanished
    ``midway`` (another Complete or an Abort won the race), else NoSuchUpload."""
    record = await completed_object(ctx, requested)
    if record is not None:
        return record
    upload_id = ctx.route.upload_id
    if condition is not None and midway:
        raise S3Error("ConditionalRequestConflict", UploadId=upload_id)
    raise S3Error("NoSuchUpload", UploadId=upload_id)
