"""DeleteObject and DeleteObjects (multi-object delete)."""

from __future__ import annotations

from oortgate import policy, xml
from oortgate.auth.checksums import ALGORITHMS, content_md5, header_name
from oortgate.errors import S3Error
from oortgate.http.context import Context
from oortgate.http.response import Response, empty, xml_response
from oortgate.ops.metadata import check_version_id

MAX_DELETE_KEYS = 1000
MAX_DELETE_XML = 2 * 1024 * 1024


async def delete_object(ctx: Context) -> Response:
    bucket = await ctx.bucket_for(policy.WRITE)
    check_version_id(ctx.query)
    await ctx.services.db(ctx.meta.delete_object, bucket.id, ctx.key)
    return empty(204)


def _parse_request(body: bytes) -> tuple[bool, list[tuple[str, str | None]]]:
    root = xml.parse(body)
    if root.tag != "Delete":
        raise S3Error("MalformedXML")
    quiet = (xml.child_text(root, "Quiet") or "false").strip().lower() == "true"
    objects: list[tuple[str, str | None]] = []
    for node in root.findall("Object"):
        key = xml.child_text(node, "Key")
        if not key:
            raise S3Error("MalformedXML")
        objects.append((key, xml.child_text(node, "VersionId")))
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
    deletable = [key for key, version in objects if version in (None, "null")]
    await ctx.services.db(ctx.meta.delete_objects, bucket.id, deletable)  # one commit
    root = xml.Node("DeleteResult")
    for key, version in objects:
        if version not in (None, "null"):
            error = root.add("Error")
            error.add("Key", key)
            error.add("VersionId", version)
            error.add("Code", "NoSuchVersion")
            error.add("Message", "The specified version does not exist.")
            continue
        if not quiet:
            deleted = root.add("Deleted")
            deleted.add("Key", key)
            if version is not None:
                deleted.add("VersionId", version)
    return xml_response(root)
