"""Put/Get/DeleteBucketLifecycleConfiguration: the bucket owner's rules, applied by the
lifecycle worker (oortgate.lifecycle.worker)."""

from __future__ import annotations

from oortgate.auth.checksums import ALGORITHMS, content_md5, header_name
from oortgate.errors import S3Error
from oortgate.lifecycle.parse import parse_lifecycle
from oortgate.lifecycle.rules import loads
from oortgate.ops.context import Context
from oortgate.ops.response import Response, empty, xml_response
from oortgate.xml.lifecycle import lifecycle_document

MAX_LIFECYCLE_XML = 1024 * 1024  # 1,000 rules with their filters


def _require_integrity(headers: dict[str, str]) -> None:
    """AWS requires Content-MD5 or a checksum of the body (Body.read compares it)."""
    has_checksum = any(header_name(alg) in headers for alg in ALGORITHMS)
    if content_md5(headers) is None and not has_checksum and "x-amz-trailer" not in headers:
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")


async def put_bucket_lifecycle(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    _require_integrity(ctx.headers)
    body = await ctx.body.read(MAX_LIFECYCLE_XML)
    archive = frozenset({ctx.services.settings.archive_storage_class})
    lifecycle = parse_lifecycle(body, archive)
    await ctx.meta.set_bucket_lifecycle(bucket.id, lifecycle.dumps())
    return empty(200)


async def get_bucket_lifecycle(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    if bucket.lifecycle is None:
        raise S3Error("NoSuchLifecycleConfiguration", BucketName=bucket.name)
    return xml_response(lifecycle_document(loads(bucket.lifecycle)))


async def delete_bucket_lifecycle(ctx: Context) -> Response:
    await ctx.meta.set_bucket_lifecycle(ctx.granted_bucket.id, None)
    return empty(204)
