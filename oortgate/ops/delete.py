"""DeleteObject and DeleteObjects (multi-object delete)."""

from __future__ import annotations

from dataclasses import dataclass

from oortgate import policy, xml
from oortgate.auth.checksums import ALGORITHMS, content_md5, header_name
from oortgate.errors import S3Error
from oortgate.meta.preconditions import Precondition
from oortgate.ops.context import Context
from oortgate.ops.metadata import check_version_id
from oortgate.ops.response import Response, empty, xml_response
from oortgate.ops.write_conditions import delete_condition, object_condition

MAX_DELETE_KEYS = 1000
MAX_DELETE_XML = 2 * 1024 * 1024


async def delete_object(ctx: Context) -> Response:
    bucket = await ctx.bucket_for(policy.WRITE)
    check_version_id(ctx.query)
    condition = delete_condition(ctx.headers)
    await ctx.services.freeing(ctx.meta.delete_object, bucket.id, ctx.key, condition)
    return empty(204)


@dataclass(frozen=True, slots=True)
class _ToDelete:
    key: str
    version: str | None
    condition: Precondition | None  # its ETag, Size, LastModifiedTime, if given


def _parse_request(body: bytes) -> tuple[bool, list[_ToDelete]]:
    root = xml.parse(body)
    if root.tag != "Delete":
        raise S3Error("MalformedXML")
    quiet = (xml.child_text(root, "Quiet") or "false").strip().lower() == "true"
    objects: list[_ToDelete] = []
    for node in root.findall("Object"):
        key = xml.child_text(node, "Key")
        if not key:
            raise S3Error("MalformedXML")
        condition = object_condition(
            xml.child_text(node, "ETag"),
            xml.child_text(node, "Size"),
            xml.child_text(node, "LastModifiedTime"),
        )
        objects.append(_ToDelete(key, xml.child_text(node, "VersionId"), condition))
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise S3Error("MalformedXML")
    return quiet, objects


async def delete_objects(ctx: Context) -> Response:
    bucket = await ctx.bucket_for(policy.WRITE)
    has_checksum = any(header_name(alg) in ctx.headers for alg in ALGORITHMS)
    has_md5 = content_md5(ctx.headers) is not None  # Body.read compares it
    if not has_md5 and not has_checksum and "x-amz-trailer" not in ctx.headers:
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")
    body = await ctx.body.read(MAX_DELETE_XML)
    quiet, objects = _parse_request(body)
    # Unversioned buckets know one version of each key, "null"; any other is missing.
    deletable = [o for o in objects if o.version in (None, "null")]
    refused = await ctx.services.freeing(
        ctx.meta.delete_objects,
        bucket.id,
        [o.key for o in deletable],
        [o.condition for o in deletable],
    )  # one commit
    outcomes = iter(refused)  # one per deletable object, in order
    root = xml.Node("DeleteResult")
    for o in objects:
        error = next(outcomes) if o.version in (None, "null") else S3Error("NoSuchVersion")
        if error is not None:
            _add_error(root, o, error)
        elif not quiet:
            deleted = root.add("Deleted")
            deleted.add("Key", o.key)
            if o.version is not None:
                deleted.add("VersionId", o.version)
    return xml_response(root)


def _add_error(root: xml.Node, o: _ToDelete, error: S3Error) -> None:
    node = root.add("Error")
    node.add("Key", o.key)
    if o.version is not None:
        node.add("VersionId", o.version)
    node.add("Code", error.code)
    node.add("Message", error.message)
