"""ListObjects (v1), ListObjectsV2 (current versions only) and ListObjectVersions."""

from __future__ import annotations

from collections.abc import Iterable

from oortgate import policy
from oortgate.errors import S3Error
from oortgate.meta.models import ObjectPage
from oortgate.ops import tokens
from oortgate.ops.context import Context
from oortgate.ops.response import Response, xml_response
from oortgate.ops.version_ids import stored
from oortgate.xml import listing as listing_xml
from oortgate.xml.listing import Listing, Owners

MAX_KEYS = 1000


def url_encoding(ctx: Context) -> bool:
    """Whether the listing encodes its keys (encoding-type=url; no other is known)."""
    encoding = ctx.query.get("encoding-type")
    if encoding is not None and encoding != "url":
        raise S3Error(
            "InvalidArgument",
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding,
        )
    return encoding is not None


def _listing(ctx: Context) -> Listing:
    """The request's echoed values, checked (encoding-type first, then max-keys)."""
    url, q = url_encoding(ctx), ctx.query
    max_keys = tokens.int_param(q.get("max-keys"), "max-keys", MAX_KEYS, MAX_KEYS)
    name = ctx.route.bucket or ""
    return Listing(name, q.get("prefix", ""), q.get("delimiter", ""), max_keys, url)


async def _page(ctx: Context, start_after: str, max_keys: int) -> ObjectPage:
    bucket = ctx.granted_bucket
    return await ctx.meta.list_objects(
        bucket.id,
        ctx.query.get("prefix", ""),
        ctx.query.get("delimiter", ""),
        start_after,
        max_keys,
    )


async def owners_of(ctx: Context, owner_ids: Iterable[int | None]) -> Owners:
    """(canonical id, display name) of each distinct owner on a page (with ACLs disabled,
    the bucket owner owns every object, whoever wrote it)."""
    bucket = ctx.granted_bucket
    return {
        owner_id: await ctx.owner_info(policy.object_owner(bucket, owner_id))
        for owner_id in set(owner_ids)
    }


async def list_objects(ctx: Context) -> Response:
    req = _listing(ctx)
    marker = ctx.query.get("marker", "")
    page = await _page(ctx, marker, req.max_keys)
    owners = await owners_of(ctx, (o.owner_id for o in page.objects))
    return xml_response(listing_xml.list_objects(req, marker, page, owners))


async def list_objects_v2(ctx: Context) -> Response:
    req = _listing(ctx)
    token = ctx.query.get("continuation-token")
    start_after = ctx.query.get("start-after", "")
    begin = tokens.decode(token) if token is not None else start_after
    page = await _page(ctx, begin, req.max_keys)
    fetch_owner = ctx.query.get("fetch-owner", "false").lower() == "true"
    last = page.next_marker if page.is_truncated else None
    next_token = tokens.encode(last) if last is not None else None
    owners = await owners_of(ctx, (o.owner_id for o in page.objects)) if fetch_owner else None
    body = listing_xml.list_objects_v2(
        req, page, owners, token=token, next_token=next_token,
        start_after=start_after if "start-after" in ctx.query else None,
    )  # fmt: skip
    return xml_response(body)


async def list_object_versions(ctx: Context) -> Response:
    req = _listing(ctx)
    key_marker = ctx.query.get("key-marker", "")
    version_id_marker = ctx.query.get("version-id-marker", "")
    if version_id_marker and not key_marker:
        raise S3Error("InvalidArgument", "A version-id marker cannot be specified without a key "
                      "marker.", ArgumentName="version-id-marker",
                      ArgumentValue=version_id_marker)  # fmt: skip
    after = stored(version_id_marker, "version-id-marker") if version_id_marker else None
    page = await ctx.meta.list_object_versions(
        ctx.granted_bucket.id, req.prefix, req.delimiter, key_marker, after, req.max_keys
    )
    owners = await owners_of(ctx, (o.owner_id for o, _ in page.versions))
    body = listing_xml.list_object_versions(
        req, page, owners, key_marker=key_marker, version_id_marker=version_id_marker
    )
    return xml_response(body)
