"""Put/Get/DeleteBucketCors and the browsers' preflight (OPTIONS) requests."""

from __future__ import annotations

from oortgate import cors
from oortgate.errors import S3Error
from oortgate.meta.models import Bucket
from oortgate.ops.context import Context
from oortgate.ops.response import Response, empty, xml_response
from oortgate.xml import cors as cors_xml

MAX_CORS_XML = 64 * 1024


async def put_bucket_cors(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    rules = cors_xml.parse_cors(await ctx.body.read(MAX_CORS_XML))
    await ctx.meta.set_bucket_cors(bucket.id, cors.dumps(rules))
    return empty(200)


async def get_bucket_cors(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    if bucket.cors is None:
        raise S3Error("NoSuchCORSConfiguration", "The CORS configuration does not exist",
                      BucketName=bucket.name)  # fmt: skip
    return xml_response(cors_xml.cors_document(cors.loads(bucket.cors)))


async def delete_bucket_cors(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    await ctx.meta.set_bucket_cors(bucket.id, None)
    return empty(204)


async def preflight(ctx: Context) -> Response:
    """OPTIONS: unauthenticated by design; answered from the bucket's CORS rules."""
    origin = ctx.headers.get("origin")
    method = ctx.headers.get("access-control-request-method")
    if not origin or not method:
        raise S3Error("BadRequest", "Insufficient information. Origin request header needed.",
                      status=400)  # fmt: skip
    bucket = await ctx.bucket()
    headers = cors.requested_headers(ctx.headers)
    rule = _rule(bucket, origin, method, headers)
    return empty(200, cors.response_headers(rule, origin, preflight=True, request_headers=headers))


def _rule(bucket: Bucket, origin: str, method: str, headers: list[str]) -> cors.Rule:
    if bucket.cors is None:
        raise S3Error("AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.",
                      status=403, Method=method, ResourceType="BUCKET")  # fmt: skip
    rule = cors.find(cors.loads(bucket.cors), origin, method, headers)
    if rule is None:
        raise S3Error("AccessForbidden", "CORSResponse: This CORS request is not allowed. This is "
                      "usually because the evalution of Origin, request method / "
                      "Access-Control-Request-Method or Access-Control-Request-Headers are not "
                      "whitelisted by the resource's CORS spec.", status=403, Method=method,
                      ResourceType="OBJECT")  # fmt: skip
    return rule


def actual_request_headers(
    bucket: Bucket | None, origin: str, method: str
) -> list[tuple[str, str]]:
    """CORS headers for a (non-preflight) request from a browser, if a rule allows it."""
    if bucket is None or bucket.cors is None:
        return []
    rule = cors.find(cors.loads(bucket.cors), origin, method, [])
    return [] if rule is None else cors.response_headers(rule, origin, preflight=False)
