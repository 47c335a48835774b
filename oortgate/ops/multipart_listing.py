"""ListParts and ListMultipartUploads."""

from __future__ import annotations

from oortgate.ops import tokens
from oortgate.ops.context import Context
from oortgate.ops.listing import owners_of, url_encoding
from oortgate.ops.multipart import open_upload
from oortgate.ops.response import Response, xml_response
from oortgate.xml import listing as listing_xml
from oortgate.xml.listing import Listing

MAX_LIST = 1000


async def list_parts(ctx: Context) -> Response:
    upload = await open_upload(ctx)
    marker = tokens.int_param(ctx.query.get("part-number-marker"), "part-number-marker", 0, 10000)
    max_parts = tokens.int_param(ctx.query.get("max-parts"), "max-parts", MAX_LIST, MAX_LIST)
    found = await ctx.meta.list_parts(upload.upload_id, marker, max_parts + 1)
    parts, truncated = found[:max_parts], len(found) > max_parts
    owner = await ctx.owner_info(upload.owner_id)
    body = listing_xml.list_parts(
        ctx.route.bucket or "", upload, parts, owner, marker=marker, max_parts=max_parts,
        truncated=truncated,
    )  # fmt: skip
    return xml_response(body)


async def list_multipart_uploads(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    q = ctx.query
    url = url_encoding(ctx)
    max_uploads = tokens.int_param(q.get("max-uploads"), "max-uploads", MAX_LIST, MAX_LIST)
    page = await ctx.meta.list_uploads(bucket.id, q.get("prefix", ""), q.get("delimiter", ""),
        q.get("key-marker", ""), q.get("upload-id-marker", ""), max_uploads,
    )  # fmt: skip
    owners = await owners_of(ctx, (u.owner_id for u in page.uploads))
    req = Listing(bucket.name, q.get("prefix", ""), q.get("delimiter", ""), max_uploads, url)
    body = listing_xml.list_multipart_uploads(
        req, page, owners, key_marker=q.get("key-marker", ""),
        upload_id_marker=q.get("upload-id-marker", ""),
    )  # fmt: skip
    return xml_response(body)
