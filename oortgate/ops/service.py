"""ListBuckets: only the caller's buckets."""

from __future__ import annotations

from oortgate import xml
from oortgate.ops import tokens
from oortgate.ops.context import Context
from oortgate.ops.response import Response, xml_response


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
    root = xml.Node("ListAllMyBucketsResult")
    buckets = root.add("Buckets")
    for bucket in page:
        node = buckets.add("Bucket")
        node.add("Name", bucket.name)
        node.add("CreationDate", xml.timestamp(bucket.created))
        node.add("BucketRegion", region)
    owner = root.add("Owner")
    owner.add("ID", user.canonical_id)
    owner.add("DisplayName", user.name)
    if more and page:
        root.add("ContinuationToken", tokens.encode(page[-1].name))
    if prefix:
        root.add("Prefix", prefix)
    return xml_response(root)
