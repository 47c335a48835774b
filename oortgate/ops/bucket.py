"""Bucket operations: create, delete, head, location (versioning: ops/versioning.py)."""

from __future__ import annotations

import re

from oortgate.bucket_controls import ownership_header
from oortgate.endpoints import STANDARD
from oortgate.errors import S3Error
from oortgate.ops.acl import new_bucket_acl
from oortgate.ops.context import Context
from oortgate.ops.response import Response, empty, xml_response
from oortgate.xml import bucket as bucket_xml
from oortgate.xml.object_lock import LockConfig

# AWS's rules for general purpose buckets: 3-63 characters of lowercase letters, digits,
# periods and hyphens, beginning and ending with a letter or digit, no two adjacent
# periods, not an IP address, and none of the prefixes and suffixes AWS reserves.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
MAX_CONFIG_XML = 64 * 1024


def check_bucket_name(name: str) -> None:
    if (
        not _BUCKET_NAME.match(name)
        or ".." in name
        or _IP_ADDRESS.match(name)
        or name.startswith(_RESERVED_PREFIXES)
        or name.endswith(_RESERVED_SUFFIXES)
    ):
        raise S3Error("InvalidBucketName", BucketName=name)


async def create_bucket(ctx: Context) -> Response:
    name = ctx.route.bucket
    assert name is not None
    user = ctx.signed_in()
    check_bucket_name(name)
    ownership = ownership_header(ctx.headers.get("x-amz-object-ownership"))
    acl = await new_bucket_acl(ctx, ownership)
    region = ctx.services.settings.region
    body = await ctx.body.read(MAX_CONFIG_XML)
    constraint = bucket_xml.parse_location_constraint(body)
    if constraint and constraint != region:
        raise S3Error(
            "IllegalLocationConstraintException",
            f"The {constraint} location constraint is incompatible for the region "
            "specific endpoint this request was sent to.",
        )
    lock = _object_lock_header(ctx.headers.get("x-amz-bucket-object-lock-enabled"))
    limit = ctx.services.settings.max_buckets_per_user
    tier = ctx.addressed.tier or STANDARD
    config = LockConfig().dumps() if lock else None  # written with the bucket's row
    try:
        await ctx.meta.create_bucket(name, user.id, region, limit, acl, tier, ownership, config)
    except S3Error as err:
        # us-east-1 answers 200 when you re-create a bucket you own (not when a lock was
        # asked for and the bucket has none: that 200 would claim a lock it lacks).
        if err.code != "BucketAlreadyOwnedByYou" or region != "us-east-1":
            raise
        existing = await ctx.meta.get_bucket(name)
        if lock and (existing is None or existing.object_lock is None):
            raise
    return empty(200, [("location", f"/{name}")])


def _object_lock_header(value: str | None) -> bool:
    """x-amz-bucket-object-lock-enabled, a boolean as AWS parses one."""
    if value is None or value.lower() == "false":
        return False
    if value.lower() == "true":
        return True
    raise S3Error("InvalidArgument", "Invalid value for x-amz-bucket-object-lock-enabled",
                  ArgumentName="x-amz-bucket-object-lock-enabled", ArgumentValue=value)  # fmt: skip


async def delete_bucket(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    await ctx.meta.delete_bucket(bucket.id)
    return empty(204)


async def head_bucket(ctx: Context) -> Response:
    region = ctx.services.settings.region
    return empty(200, [("x-amz-bucket-region", region), ("x-amz-access-point-alias", "false")])


async def get_bucket_location(ctx: Context) -> Response:
    region = ctx.services.settings.region
    return xml_response(bucket_xml.location_document(region))

