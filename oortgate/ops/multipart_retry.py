"""A CompleteMultipartUpload whose upload is gone: a retry of one that succeeded (SDKs
resend Complete after a lost response) answers as the first did; otherwise it is
NoSuchUpload, or, for a conditional Complete that lost a race, ConditionalRequestConflict.
"""

from __future__ import annotations

from collections.abc import Sequence

from oortgate import policy
from oortgate.errors import S3Error
from oortgate.http.context import Context
from oortgate.meta.models import ObjectRecord
from oortgate.meta.preconditions import Precondition
from oortgate.ops.multipart_math import RequestedPart, requested_etag


async def completed_object(ctx: Context, requested: Sequence[RequestedPart]) -> ObjectRecord | None:
    """The object this upload became, if the upload completed with these parts and that
    object is still the one at the key (not overwritten or deleted since: then AWS, which
    keeps no such record, has nothing to replay either)."""
    bucket = await ctx.bucket_for(policy.WRITE)
    reader = ctx.services.reader
    done = reader.get_completed_upload(ctx.query.get("uploadId", ""))
    if done is None or (done.bucket_id, done.key) != (bucket.id, ctx.key):
        return None
    if requested_etag(requested) != done.etag:
        return None
    record = reader.get_object(bucket.id, ctx.key)
    if record is None or (record.etag, record.last_modified) != (done.etag, done.last_modified):
        return None
    return record


async def upload_gone(
    ctx: Context,
    requested: Sequence[RequestedPart],
    condition: Precondition | None,
    error: S3Error,
) -> ObjectRecord:
    """The object to answer with for a Complete whose upload was not found, or raise."""
    record = await completed_object(ctx, requested)
    if record is not None:
        return record
    if condition is not None:
        raise S3Error("ConditionalRequestConflict", UploadId=ctx.query.get("uploadId", ""))
    raise error
