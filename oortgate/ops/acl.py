"""Get/PutBucketAcl and Get/PutObjectAcl, and the ACL a write asks for in its headers
(x-amz-acl or x-amz-grant-*): canned ACLs and explicit grants."""

from __future__ import annotations

from collections.abc import Callable

from oortgate import acl_grants, policy
from oortgate.bucket_controls import BUCKET_OWNER_ENFORCED
from oortgate.errors import S3Error
from oortgate.meta.models import Bucket
from oortgate.ops.context import Context
from oortgate.ops.response import Response, empty, xml_response
from oortgate.ops.version_ids import stored
from oortgate.xml import acl as acl_xml
from oortgate.xml.acl import ShownGrant

MAX_ACL_XML = 64 * 1024


async def _user_ids(
    ctx: Context, requested: list[acl_grants.Requested]
) -> Callable[[str], int | None]:
    """canonical id -> user id (None: no such user), for resolving grants: the ids the
    grants name, looked up first. Ids are hex, which AWS accepts in either case."""
    found: dict[str, int] = {}
    for item in requested:
        if item.kind == acl_grants.ID and item.value not in found:
            user = await ctx.meta.get_user_by_canonical_id(item.value.lower())
            if user is not None:
                found[item.value] = user.id
    return found.get


async def header_acl(ctx: Context) -> str | None:
    """The ACL the x-amz-acl or x-amz-grant-* headers ask for (None: they ask for none)."""
    canned = ctx.headers.get("x-amz-acl")
    if not acl_grants.has_grant_headers(ctx.headers):
        return None if canned is None else policy.canned_acl(canned)
    if canned is not None:
        raise S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not "
                      "allowed")  # fmt: skip
    requested = acl_grants.header_grants(ctx.headers)
    return policy.dumps_grants(acl_grants.resolve(requested, await _user_ids(ctx, requested)))


async def new_object_acl(ctx: Context, bucket: Bucket) -> str:
    """The ACL of an object being written into ``bucket``, if the bucket admits it."""
    acl = await header_acl(ctx)
    if acl is None:
        return "private"
    policy.admit_acl(bucket, acl, policy.new_object_owner(bucket, acl, ctx.caller_id))
    return acl


async def new_bucket_acl(ctx: Context, ownership: str | None) -> str:
    """The ACL of a bucket being created with this ObjectOwnership."""
    acl = await header_acl(ctx) or "private"
    if ownership == BUCKET_OWNER_ENFORCED and acl not in ("private", "bucket-owner-full-control"):
        raise S3Error("InvalidBucketAclWithObjectOwnership", "Bucket cannot have ACLs set with "
                      "ObjectOwnership's BucketOwnerEnforced setting")  # fmt: skip
    return acl


def _shown_grants(acl: str, owner: int | None, bucket_owner: int) -> list[policy.Grant]:
    """The grants to list: a canned bucket-owner-* grant adds nothing (and is not listed)
    when the bucket owner is the owner, or on a bucket."""
    found = policy.grants(acl)
    if policy.is_explicit(acl) or owner != bucket_owner:
        return list(found)
    return [g for g in found if g.grantee != policy.BUCKET_OWNER]


def _is_group(grantee: str | int) -> bool:
    return isinstance(grantee, str) and grantee not in (policy.OWNER, policy.BUCKET_OWNER)


def _granted_user(grantee: str | int, owner: int | None, bucket_owner: int) -> int | None:
    """The user a (non-group) grant names; None: anonymous."""
    if grantee == policy.OWNER:
        return owner
    return bucket_owner if grantee == policy.BUCKET_OWNER else int(grantee)


async def _policy_document(
    ctx: Context, acl: str, owner_id: int | None, bucket_owner_id: int
) -> bytes:
    owner = await ctx.owner_info(owner_id)
    shown = []
    for grant in _shown_grants(acl, owner_id, bucket_owner_id):
        if _is_group(grant.grantee):
            grantee: str | acl_xml.Owner = str(grant.grantee)
        else:
            grantee = await ctx.owner_info(_granted_user(grant.grantee, owner_id, bucket_owner_id))
        shown.append(ShownGrant(grantee, grant.permission))
    return acl_xml.policy_document(owner, shown)


async def _requested_acl(ctx: Context, owner_id: int | None) -> str:
    """The ACL a PutXAcl asks for: in headers, or as an AccessControlPolicy body whose
    Owner must be the resource's owner."""
    from_headers = await header_acl(ctx)
    body = await ctx.body.read(MAX_ACL_XML)
    if from_headers is not None:
        if body.strip():
            raise S3Error("UnexpectedContent", "This request does not support content")
        return from_headers
    if not body.strip():
        raise S3Error("MissingSecurityHeader", "Your request was missing a required header",
                      MissingHeaderName="x-amz-acl")  # fmt: skip
    named_owner, requested = acl_xml.parse_policy(body)
    if named_owner != (await ctx.owner_info(owner_id))[0]:
        raise S3Error("AccessDenied")  # an ACL cannot give the resource away
    return policy.dumps_grants(acl_grants.resolve(requested, await _user_ids(ctx, requested)))


async def get_bucket_acl(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    acl = "private" if policy.acls_disabled(bucket) else bucket.acl
    return xml_response(await _policy_document(ctx, acl, bucket.owner_id, bucket.owner_id))


async def put_bucket_acl(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    acl = await _requested_acl(ctx, bucket.owner_id)
    policy.admit_acl(bucket, acl, bucket.owner_id)
    await ctx.meta.set_bucket_acl(bucket.id, acl)
    return empty(200)


async def get_object_acl(ctx: Context) -> Response:
    bucket, record = ctx.granted_bucket, ctx.granted_object
    acl = "private" if policy.acls_disabled(bucket) else record.acl
    owner = policy.object_owner(bucket, record.owner_id)
    return xml_response(await _policy_document(ctx, acl, owner, bucket.owner_id))


async def put_object_acl(ctx: Context) -> Response:
    bucket, record = ctx.granted_bucket, ctx.granted_object
    owner = policy.object_owner(bucket, record.owner_id)
    acl = await _requested_acl(ctx, owner)
    policy.admit_acl(bucket, acl, owner)
    version = None if ctx.route.version_id is None else stored(ctx.route.version_id)
    if not await ctx.meta.set_object_acl(bucket.id, ctx.key, acl, version):
        raise S3Error("NoSuchKey", Key=ctx.key)
    return empty(200)
