"""Put/Get/DeleteObjectTagging and Put/Get/DeleteBucketTagging.

Who may (ops/permissions.py): an object's tags are read by whoever may read the object
and written by its owner; the bucket's owner may do both (on AWS the bucket owner holds
s3:*ObjectTagging by default). A bucket's tags are its owner's alone.
"""

from __future__ import annotations

from oortgate import tagging
from oortgate.errors import S3Error
from oortgate.meta.models import Bucket
from oortgate.ops.context import Context
from oortgate.ops.response import Response, empty, xml_response
from oortgate.ops.version_ids import stored, version_headers
from oortgate.xml.tagging import tagging_document


async def _tagging_document(ctx: Context, limit: int) -> tagging.Tags:
    """The request's Tagging document (Body.read checks its Content-MD5, the payload
    verifier its x-amz-checksum-* headers and trailers)."""
    return tagging.parse_document(await ctx.body.read(tagging.MAX_DOCUMENT), limit)


async def _set_object_tags(ctx: Context, bucket: Bucket, tags: tagging.Tags) -> None:
    """On the current object, or the version ?versionId names."""
    version = None if ctx.route.version_id is None else stored(ctx.route.version_id)
    if not await ctx.meta.set_object_tags(bucket.id, ctx.key, tags, version):
        raise S3Error("NoSuchKey", Key=ctx.key)  # deleted meanwhile


async def put_object_tagging(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    tags = await _tagging_document(ctx, tagging.OBJECT_LIMIT)
    await _set_object_tags(ctx, bucket, tags)
    return empty(200, version_headers(bucket, ctx.granted_object))


async def get_object_tagging(ctx: Context) -> Response:
    response = xml_response(tagging_document(ctx.granted_object.tags))
    response.headers.extend(version_headers(ctx.granted_bucket, ctx.granted_object))
    return response


async def delete_object_tagging(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    await ctx.body.drain()
    await _set_object_tags(ctx, bucket, {})
    return empty(204, version_headers(bucket, ctx.granted_object))


async def put_bucket_tagging(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    tags = await _tagging_document(ctx, tagging.BUCKET_LIMIT)
    await ctx.meta.set_bucket_tags(bucket.id, tags)
    return empty(204)


async def get_bucket_tagging(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    tags = await ctx.meta.get_bucket_tags(bucket.id)
    if tags is None:
        raise S3Error("NoSuchTagSet", BucketName=bucket.name)
    return xml_response(tagging_document(tags))


async def delete_bucket_tagging(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    await ctx.body.drain()
    await ctx.meta.set_bucket_tags(bucket.id, {})
    return empty(204)
