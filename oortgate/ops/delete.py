"""DeleteObject and DeleteObjects (multi-object delete)."""

from __future__ import annotations

from dataclasses import dataclass

from oortgate.auth.checksums import ALGORITHMS, content_md5, header_name
from oortgate.errors import ACCESS_DENIED, S3Error
from oortgate.meta.preconditions import Precondition
from oortgate.ops.context import Context
from oortgate.ops.response import Response, empty, xml_response
from oortgate.ops.write_conditions import delete_condition, object_condition
from oortgate.xml import delete as delete_xml
from oortgate.xml.delete import DeleteOutcome

MAX_DELETE_XML = 2 * 1024 * 1024


async def delete_object(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    condition = delete_condition(ctx.headers)
    await ctx.services.freeing(ctx.meta.delete_object, bucket.id, ctx.key, condition)
    return empty(204)


@dataclass(frozen=True, slots=True)
class _ToDelete:
    key: str
    version: str | None
    condition: Precondition | None  # its ETag, Size, LastModifiedTime, if given


def _parse_request(body: bytes) -> tuple[bool, list[_ToDelete]]:
    """(Quiet, the objects) of a Delete request, each object's condition checked."""
    request = delete_xml.parse_delete(body)
    objects = [
        _ToDelete(o.key, o.version_id, object_condition(o.etag, o.size, o.last_modified_time))
        for o in request.objects
    ]
    return request.quiet, objects


async def delete_objects(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    has_checksum = any(header_name(alg) in ctx.headers for alg in ALGORITHMS)
    has_md5 = content_md5(ctx.headers) is not None  # Body.read compares it
    if not has_md5 and not has_checksum and "x-amz-trailer" not in ctx.headers:
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")
    body = await ctx.body.read(MAX_DELETE_XML)
    quiet, objects = _parse_request(body)
    # Unversioned buckets know one version of each key, "null"; any other is missing.
    # A bucket policy may refuse some keys and not others: each is asked about.
    denied = {o.key for o in objects if bucket.policy is not None and not ctx.may_delete(o.key)}
    deletable = [o for o in objects if o.version in (None, "null") and o.key not in denied]
    refused = await ctx.services.freeing(
        ctx.meta.delete_objects,
        bucket.id,
        [o.key for o in deletable],
        [o.condition for o in deletable],
    )  # one commit
    outcomes = iter(refused)  # one per deletable object, in order
    results = [
        DeleteOutcome(o.key, o.version, S3Error(ACCESS_DENIED) if o.key in denied
                      else next(outcomes) if o.version in (None, "null")
                      else S3Error("NoSuchVersion"))
        for o in objects
    ]  # fmt: skip
    return xml_response(delete_xml.delete_result(results, quiet=quiet))
