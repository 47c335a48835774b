"""Put/Get/DeleteObjectTagging and Put/Get/DeleteBucketTagging.

Who may: an object's tags are read by whoever may read the object and written by its
owner; the bucket's owner may do both (on AWS the bucket owner holds s3:*ObjectTagging
by default). A bucket's tags are its owner's alone.
"""

from __future__ import annotations

from oortgate import policy, tagging
from oortgate.errors import S3Error
from oortgate.meta.models import Bucket, ObjectRecord
from oortgate.ops.context import Context
from oortgate.ops.metadata import check_version_id
from oortgate.ops.response import Response, empty, xml_response


async def _tagged_object(ctx: Context, permission: str) -> tuple[Bucket, ObjectRecord]:
    """The route's bucket and object, if the caller holds ``permission`` (READ: read
    the object; FULL_CONTROL: own it) or owns the bucket."""
    bucket = await ctx.bucket()
    check_version_id(ctx.query)
    caller = ctx.caller_id
    record = await ctx.meta.get_object(bucket.id, ctx.key)
    if record is None:
        readable = policy.allows(bucket.acl, policy.READ, caller, bucket.owner_id)
        raise S3Error("NoSuchKey", Key=ctx.key) if readable else S3Error("AccessDenied")
    bucket_owner = caller is not None and caller == bucket.owner_id
    if not bucket_owner and not policy.allows(
        record.acl, permission, caller, record.owner_id, bucket.owner_id
    ):
        raise S3Error("AccessDenied")
    return bucket, record


async def _tagging_document(ctx: Context, limit: int) -> tagging.Tags:
    """The request's Tagging document (Body.read checks its Content-MD5, the payload
    verifier its x-amz-checksum-* headers and trailers)."""
    return tagging.parse_document(await ctx.body.read(tagging.MAX_DOCUMENT), limit)


async def _set_object_tags(ctx: Context, bucket: Bucket, tags: tagging.Tags) -> None:
    if not await ctx.meta.set_object_tags(bucket.id, ctx.key, tags):
        raise S3Error("NoSuchKey", Key=ctx.key)  # deleted meanwhile


async def put_object_tagging(ctx: Context) -> Response:
    bucket, _ = await _tagged_object(ctx, policy.FULL_CONTROL)
    tags = await _tagging_document(ctx, tagging.OBJECT_LIMIT)
    await _set_object_tags(ctx, bucket, tags)
    return empty(200)


async def get_object_tagging(ctx: Context) -> Response:
    _, record = await _tagged_object(ctx, policy.READ)
    return xml_response(tagging.document(record.tags))


async def delete_object_tagging(ctx: Context) -> Response:
    bucket, _ = await _tagged_object(ctx, policy.FULL_CONTROL)
    await ctx.body.drain()
    await _set_object_tags(ctx, bucket, {})
    return empty(204)


async def put_bucket_tagging(ctx: Context) -> Response:
    bucket = await ctx.owned_bucket()
    tags = await _tagging_document(ctx, tagging.BUCKET_LIMIT)
    await ctx.meta.set_bucket_tags(bucket.id, tags)
    return empty(204)


async def get_bucket_tagging(ctx: Context) -> Response:
    bucket = await ctx.owned_bucket()
    tags = await ctx.meta.get_bucket_tags(bucket.id)
    if tags is None:
        raise S3Error("NoSuchTagSet", BucketName=bucket.name)
    return xml_response(tagging.document(tags))


async def delete_bucket_tagging(ctx: Context) -> Response:
    bucket = await ctx.owned_bucket()
    await ctx.body.drain()
    await ctx.meta.set_bucket_tags(bucket.id, {})
    return empty(204)
