"""ListBuckets: only the caller's buckets."""

from __future__ import annotations

from oortgate.ops import tokens
from oortgate.ops.context import Context
from oortgate.ops.response import Response, xml_response
from oortgate.xml import listing as listing_xml


async def list_buckets(ctx: Context) -> Response:
    user = ctx.signed_in()
    prefix = ctx.query.get("prefix", "")
    limit = tokens.int_param(ctx.query.get("max-buckets"), "max-buckets", 10000, 10000)
    if "max-buckets" in ctx.query and limit < 1:
        limit = 1
    token = ctx.query.get("continuation-token")
    start_after = tokens.decode(token) if token else ""
    region = ctx.services.settings.region
    found = await ctx.meta.list_buckets(user.id, prefix, start_after, limit + 1)
    if ctx.query.get("bucket-region", region) != region:
        found = []  # every bucket lives in the server's one region
    page, more = found[:limit], len(found) > limit
    next_token = tokens.encode(page[-1].name) if more and page else None
    owner = (user.canonical_id, user.name)
    body = listing_xml.list_buckets(page, region, owner, token=next_token, prefix=prefix)
    return xml_response(body)
