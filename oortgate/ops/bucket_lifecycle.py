"""Put/Get/DeleteBucketLifecycleConfiguration: the bucket owner's rules, applied by the
lifecycle worker (oortgate.lifecycle.worker)."""

from __future__ import annotations

import dataclasses
import functools

from oortgate.auth.checksums import ALGORITHMS, content_md5, header_name
from oortgate.errors import INVALID_ARGUMENT, S3Error
from oortgate.lifecycle.rules import ALL_128K, MINIMUM_SIZES, Lifecycle, loads
from oortgate.lifecycle.schedule import ObjectFacts, next_expiration
from oortgate.meta.models import Bucket, ObjectRecord
from oortgate.ops.context import Context
from oortgate.ops.metadata import http_date
from oortgate.ops.response import Response, empty, xml_response
from oortgate.xml.lifecycle import lifecycle_document, parse_lifecycle

MAX_LIFECYCLE_XML = 1024 * 1024  # 1,000 rules with their filters
MINIMUM_SIZE = "x-amz-transition-default-minimum-object-size"


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
    lifecycle = dataclasses.replace(lifecycle, default_minimum=_minimum_size(ctx.headers))
    await ctx.meta.set_bucket_lifecycle(bucket.id, lifecycle.dumps())
    return empty(200, [(MINIMUM_SIZE, lifecycle.default_minimum)])


def _minimum_size(headers: dict[str, str]) -> str:
    """The x-amz-transition-default-minimum-object-size asked for (AWS's default: 128K)."""
    value = headers.get(MINIMUM_SIZE, ALL_128K)
    if value not in MINIMUM_SIZES:
        raise S3Error(INVALID_ARGUMENT, f"Invalid value for {MINIMUM_SIZE}: {value!r}; "
                      f"expected one of {', '.join(MINIMUM_SIZES)}.")  # fmt: skip
    return value


async def get_bucket_lifecycle(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    if bucket.lifecycle is None:
        raise S3Error("NoSuchLifecycleConfiguration", BucketName=bucket.name)
    lifecycle = loads(bucket.lifecycle)
    response = xml_response(lifecycle_document(lifecycle))
    response.headers.append((MINIMUM_SIZE, lifecycle.default_minimum))
    return response


async def delete_bucket_lifecycle(ctx: Context) -> Response:
    await ctx.meta.set_bucket_lifecycle(ctx.granted_bucket.id, None)
    return empty(204)


@functools.lru_cache(maxsize=256)
def _rules(stored: str) -> Lifecycle:
    return loads(stored)


def expiration_headers(
    bucket: Bucket, record: ObjectRecord, day_seconds: float
) -> list[tuple[str, str]]:
    """x-amz-expiration on GET, HEAD and PUT, as AWS sends it: when the object expires
    under the bucket's rules, and the rule that says so."""
    if bucket.lifecycle is None:
        return []
    facts = ObjectFacts(record.key, record.size, record.last_modified, record.tags)
    due = next_expiration(_rules(bucket.lifecycle), facts, day_seconds)
    if due is None:
        return []
    when, rule_id = due
    rule = rule_id.replace("\\", "\\\\").replace('"', '\\"')
    return [("x-amz-expiration", f'expiry-date="{http_date(when)}", rule-id="{rule}"')]
