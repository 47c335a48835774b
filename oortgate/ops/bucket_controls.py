"""Put/Get/DeleteBucketOwnershipControls and Put/Get/DeletePublicAccessBlock: bucket
settings only the bucket owner may see or change."""

from __future__ import annotations

from oortgate import policy
from oortgate.bucket_controls import BUCKET_OWNER_ENFORCED, load_public_access_block
from oortgate.errors import S3Error
from oortgate.ops.context import Context
from oortgate.ops.response import Response, empty, xml_response
from oortgate.xml.controls import (
    ownership_document,
    parse_ownership,
    parse_public_access_block,
    public_access_block_document,
)

MAX_CONTROLS_XML = 16 * 1024


async def put_bucket_ownership_controls(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    ownership = parse_ownership(await ctx.body.read(MAX_CONTROLS_XML))
    # Disabling ACLs must not silently withdraw access the bucket ACL grants others.
    if ownership == BUCKET_OWNER_ENFORCED and not policy.owner_only(bucket.acl, bucket.owner_id):
        raise S3Error("InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with "
                      "ObjectOwnership's BucketOwnerEnforced setting")  # fmt: skip
    await ctx.meta.set_bucket_ownership(bucket.id, ownership)
    return empty(200)


async def get_bucket_ownership_controls(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    if bucket.ownership is None:
        raise S3Error("OwnershipControlsNotFoundError", BucketName=bucket.name)
    return xml_response(ownership_document(bucket.ownership))


async def delete_bucket_ownership_controls(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    await ctx.meta.set_bucket_ownership(bucket.id, None)
    return empty(204)


async def put_public_access_block(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    config = parse_public_access_block(await ctx.body.read(MAX_CONTROLS_XML))
    await ctx.meta.set_bucket_public_access_block(bucket.id, config.dumps())
    return empty(200)


async def get_public_access_block(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    if bucket.public_access_block is None:
        raise S3Error("NoSuchPublicAccessBlockConfiguration", BucketName=bucket.name)
    config = load_public_access_block(bucket.public_access_block)
    return xml_response(public_access_block_document(config))


async def delete_public_access_block(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    await ctx.meta.set_bucket_public_access_block(bucket.id, None)
    return empty(204)
