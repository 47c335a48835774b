"""Put/Get/DeleteBucketPolicy and GetBucketPolicyStatus: the bucket owner's alone, and
always the owner's, whatever the policy says (on AWS the account root may always
manage its bucket's policy, so a policy that locks everyone out can still be removed)."""

from __future__ import annotations

from oortgate import bucket_policy
from oortgate.bucket_controls import load_public_access_block
from oortgate.bucket_policy.parse import MAX_POLICY_BYTES
from oortgate.errors import ACCESS_DENIED, MALFORMED_XML, S3Error
from oortgate.ops.context import Context
from oortgate.ops.response import Response, empty, xml_response
from oortgate.xml.controls import policy_status_document

TOO_LARGE = "Policy exceeds the maximum allowed document size."


async def put_bucket_policy(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    try:
        body = await ctx.body.read(MAX_POLICY_BYTES)
    except S3Error as err:
        if err.code != MALFORMED_XML:  # Body.read's "too large"
            raise
        raise S3Error("MalformedPolicy", TOO_LARGE) from None
    try:
        policy = bucket_policy.parse_policy(body, bucket.name)
    except bucket_policy.PolicyError as err:
        raise S3Error("MalformedPolicy", str(err)) from None
    block = load_public_access_block(bucket.public_access_block)
    if block.BlockPublicPolicy and bucket_policy.is_public(policy):
        raise S3Error(ACCESS_DENIED)
    await ctx.meta.set_bucket_policy(bucket.id, body.decode("utf-8"))
    return empty(204)


async def get_bucket_policy(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    if bucket.policy is None:
        raise S3Error("NoSuchBucketPolicy", BucketName=bucket.name)
    return Response(200, [("content-type", "application/json")], bucket.policy.encode("utf-8"))


async def delete_bucket_policy(ctx: Context) -> Response:
    await ctx.meta.set_bucket_policy(ctx.granted_bucket.id, None)
    return empty(204)


async def get_bucket_policy_status(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    if bucket.policy is None:
        raise S3Error("NoSuchBucketPolicy", BucketName=bucket.name)
    policy = bucket_policy.stored_policy(bucket.policy, bucket.name)
    return xml_response(policy_status_document(bucket_policy.is_public(policy)))
