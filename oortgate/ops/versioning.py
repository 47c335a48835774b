"""PutBucketVersioning and GetBucketVersioning (Enabled or Suspended; a bucket never
goes back to unversioned). MFA Delete needs MFA devices, which this server has none of."""

from __future__ import annotations

from oortgate.errors import S3Error
from oortgate.ops.context import Context
from oortgate.ops.response import Response, empty, xml_response
from oortgate.xml import bucket as bucket_xml

MAX_VERSIONING_XML = 16 * 1024


async def put_bucket_versioning(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    status, mfa = bucket_xml.parse_versioning(await ctx.body.read(MAX_VERSIONING_XML))
    if mfa == "Enabled":
        raise S3Error("NotImplemented", "MFA Delete needs an MFA device; this server has none.",
                      status=501)  # fmt: skip
    if status == "Suspended" and bucket.object_lock is not None:
        raise S3Error("InvalidBucketState", "An Object Lock configuration is present on this "
                      "bucket, so the versioning state cannot be changed.")  # fmt: skip
    if status is not None and status != bucket.versioning:
        await ctx.meta.set_bucket_versioning(bucket.id, status)
    return empty(200)


async def get_bucket_versioning(ctx: Context) -> Response:
    return xml_response(bucket_xml.versioning_document(ctx.granted_bucket.versioning))
