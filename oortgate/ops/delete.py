"""DeleteObject and DeleteObjects (multi-object delete). On a versioned bucket a delete
without a version id writes a delete marker; with one, it removes that version."""

from __future__ import annotations

from dataclasses import dataclass

from oortgate.auth.checksums import ALGORITHMS, content_md5, header_name
from oortgate.errors import ACCESS_DENIED, S3Error
from oortgate.meta.models import Bucket
from oortgate.meta.preconditions import Precondition
from oortgate.ops.context import Context
from oortgate.ops.object_lock import bypass
from oortgate.ops.response import Response, empty, xml_response
from oortgate.ops.version_ids import new_version, shown, stored, versioned
from oortgate.ops.write_conditions import delete_condition, object_condition
from oortgate.xml import delete as delete_xml
from oortgate.xml.delete import DeleteOutcome

MAX_DELETE_XML = 2 * 1024 * 1024


async def delete_object(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    condition = delete_condition(ctx.headers)
    version = ctx.route.version_id
    if version is not None and (versioned(bucket) or version != "null"):
        if condition is not None:
            raise S3Error("NotImplemented", "Conditional deletes of a given version are not "
                          "implemented.", status=501)  # fmt: skip
        may_bypass = bypass(ctx, bucket, ctx.key)
        marker = await ctx.services.freeing(
            ctx.meta.delete_version, bucket.id, ctx.key, stored(version), may_bypass
        )
        headers = [("x-amz-version-id", version)]
        if marker:
            headers.append(("x-amz-delete-marker", "true"))
        return empty(204, headers)
    if versioned(bucket):
        marker_id = await _add_marker(ctx, bucket, ctx.key, condition)
        return empty(204, [("x-amz-delete-marker", "true"), ("x-amz-version-id", marker_id)])
    await ctx.services.freeing(ctx.meta.delete_object, bucket.id, ctx.key, condition)
    return empty(204)


async def _add_marker(
    ctx: Context, bucket: Bucket, key: str, condition: Precondition | None
) -> str:
    """A delete marker as the key's latest version; returns its id as shown."""
    marker_id = new_version(bucket)
    await ctx.meta.add_delete_marker(bucket.id, key, marker_id, ctx.caller_id, condition)
    return shown(marker_id)


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
    # A bucket policy may refuse some keys and not others: each is asked about.
    denied = {i for i, o in enumerate(objects)
              if bucket.policy is not None and not ctx.may_delete(o.key, o.version)}  # fmt: skip
    # An unversioned bucket's keys (version absent or "null") go in one commit; versions
    # and delete markers one by one.
    plain = [o for i, o in enumerate(objects) if i not in denied and not _one_by_one(bucket, o)]
    refused = await ctx.services.freeing(
        ctx.meta.delete_objects,
        bucket.id,
        [o.key for o in plain],
        [o.condition for o in plain],
    )  # one commit
    outcomes = iter(refused)  # one per plain object, in order
    results = []
    for i, o in enumerate(objects):
        if i in denied:
            results.append(DeleteOutcome(o.key, o.version, S3Error(ACCESS_DENIED)))
        elif not _one_by_one(bucket, o):
            results.append(DeleteOutcome(o.key, o.version, next(outcomes)))
        else:
            results.append(await _delete_one(ctx, bucket, o))
    return xml_response(delete_xml.delete_result(results, quiet=quiet))


def _one_by_one(bucket: Bucket, o: _ToDelete) -> bool:
    return versioned(bucket) or o.version not in (None, "null")


async def _delete_one(ctx: Context, bucket: Bucket, o: _ToDelete) -> DeleteOutcome:
    try:
        if o.version is None:
            marker_id = await ctx.services.freeing(_add_marker, ctx, bucket, o.key, o.condition)
            return DeleteOutcome(o.key, None, None, marker_version_id=marker_id)
        if o.condition is not None:
            raise S3Error("NotImplemented", "Conditional deletes of a given version are not "
                          "implemented.", status=501)  # fmt: skip
        try:
            version = stored(o.version)
        except S3Error:
            raise S3Error("NoSuchVersion", Key=o.key, VersionId=o.version) from None
        marker = await ctx.services.freeing(ctx.meta.delete_version, bucket.id, o.key, version,
                                            bypass(ctx, bucket, o.key))  # fmt: skip
    except S3Error as err:
        return DeleteOutcome(o.key, o.version, err)
    return DeleteOutcome(o.key, o.version, None, marker_version_id=o.version if marker else None)
