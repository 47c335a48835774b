"""ListParts and ListMultipartUploads."""

from __future__ import annotations

from oortgate import policy, xml
from oortgate.meta.models import Upload
from oortgate.ops import tokens
from oortgate.ops.context import Context
from oortgate.ops.listing import add_owner, encoder, owners_of
from oortgate.ops.multipart import open_upload
from oortgate.ops.response import Response, xml_response

MAX_LIST = 1000


def _checksum(node: xml.Node, upload: Upload) -> None:
    if upload.checksum_algorithm:
        node.add("ChecksumAlgorithm", upload.checksum_algorithm)
        node.add("ChecksumType", upload.checksum_type)


async def list_parts(ctx: Context) -> Response:
    upload = await open_upload(ctx, policy.READ)
    marker = tokens.int_param(ctx.query.get("part-number-marker"), "part-number-marker", 0, 10000)
    max_parts = tokens.int_param(ctx.query.get("max-parts"), "max-parts", MAX_LIST, MAX_LIST)
    found = await ctx.meta.list_parts(upload.upload_id, marker, max_parts + 1)
    parts, truncated = found[:max_parts], len(found) > max_parts
    root = xml.Node("ListPartsResult")
    root.add("Bucket", ctx.route.bucket)
    root.add("Key", ctx.key)
    root.add("UploadId", upload.upload_id)
    root.add("PartNumberMarker", marker)
    if parts:
        root.add("NextPartNumberMarker", parts[-1].part_number)
    root.add("MaxParts", max_parts)
    root.add("IsTruncated", truncated)
    for part in parts:
        node = root.add("Part")
        node.add("PartNumber", part.part_number)
        node.add("LastModified", xml.timestamp(part.last_modified))
        node.add("ETag", f'"{part.etag}"')
        node.add("Size", part.size)
        if part.checksum and upload.checksum_algorithm:
            node.add("Checksum" + upload.checksum_algorithm, part.checksum)
    owner = await ctx.owner_info(upload.owner_id)
    add_owner(root, "Initiator", owner)
    add_owner(root, "Owner", owner)
    root.add("StorageClass", upload.storage_class)
    _checksum(root, upload)
    return xml_response(root)


async def list_multipart_uploads(ctx: Context) -> Response:
    bucket = await ctx.bucket_for(policy.READ)
    q = ctx.query
    enc = encoder(ctx)
    max_uploads = tokens.int_param(q.get("max-uploads"), "max-uploads", MAX_LIST, MAX_LIST)
    page = await ctx.meta.list_uploads(bucket.id, q.get("prefix", ""), q.get("delimiter", ""),
        q.get("key-marker", ""), q.get("upload-id-marker", ""), max_uploads,
    )  # fmt: skip
    root = xml.Node("ListMultipartUploadsResult")
    root.add("Bucket", bucket.name)
    root.add("KeyMarker", enc(q.get("key-marker", "")))
    root.add("UploadIdMarker", q.get("upload-id-marker", ""))
    if page.is_truncated:
        root.add("NextKeyMarker", enc(page.next_key_marker or ""))
        root.add("NextUploadIdMarker", page.next_upload_id_marker or "")
    if q.get("delimiter"):
        root.add("Delimiter", enc(q["delimiter"]))
    root.add("Prefix", enc(q.get("prefix", "")))
    root.add("MaxUploads", max_uploads)
    root.add("IsTruncated", page.is_truncated)
    owners = await owners_of(ctx, (u.owner_id for u in page.uploads))
    for upload in page.uploads:
        node = root.add("Upload")
        node.add("Key", enc(upload.key))
        node.add("UploadId", upload.upload_id)
        add_owner(node, "Initiator", owners[upload.owner_id])
        add_owner(node, "Owner", owners[upload.owner_id])
        node.add("StorageClass", upload.storage_class)
        node.add("Initiated", xml.timestamp(upload.initiated))
        _checksum(node, upload)
    for prefix in page.common_prefixes:
        root.add("CommonPrefixes").add("Prefix", enc(prefix))
    if "encoding-type" in q:
        root.add("EncodingType", "url")
    return xml_response(root)
