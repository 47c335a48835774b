"""Get/PutBucketAcl and Get/PutObjectAcl: canned ACLs and their equivalent grant XML."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from oortgate import policy, xml
from oortgate.errors import S3Error
from oortgate.http.context import Context
from oortgate.http.response import Response, empty, xml_response
from oortgate.ops.metadata import check_version_id

MAX_ACL_XML = 64 * 1024
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _policy_document(owner: tuple[str, str], acl: str, bucket_owner: tuple[str, str]) -> xml.Node:
    root = xml.Node("AccessControlPolicy")
    node = root.add("Owner")
    node.add("ID", owner[0])
    node.add("DisplayName", owner[1])
    grants = root.add("AccessControlList")
    for grant in policy.grants(acl):
        element = grants.add("Grant")
        grantee = element.add("Grantee")
        grantee.attrs["xmlns:xsi"] = XSI
        if grant.grantee in (policy.OWNER, policy.BUCKET_OWNER):
            who = owner if grant.grantee == policy.OWNER else bucket_owner
            grantee.attrs["xsi:type"] = "CanonicalUser"
            grantee.add("ID", who[0])
            grantee.add("DisplayName", who[1])
        else:
            grantee.attrs["xsi:type"] = "Group"
            grantee.add("URI", grant.grantee)
        element.add("Permission", grant.permission)
    return root


def _canned_from_xml(root: Element, owner_id: str, bucket_owner_id: str) -> str:
    """The canned ACL whose grants the document lists (other grant sets: unsupported)."""
    if root.tag != "AccessControlPolicy":
        raise S3Error("MalformedACLError", "The XML you provided was not well-formed or did "
                      "not validate against our published schema", status=400)  # fmt: skip
    found: set[tuple[str, str]] = set()
    for grant in root.iter("Grant"):
        permission = xml.child_text(grant, "Permission") or ""
        grantee = grant.find("Grantee")
        if grantee is None or permission not in (
            policy.READ,
            policy.WRITE,
            policy.READ_ACP,
            policy.WRITE_ACP,
            policy.FULL_CONTROL,
        ):
            raise S3Error("MalformedACLError", "The XML you provided was not well-formed or "
                          "did not validate against our published schema", status=400)  # fmt: skip
        uri, user = xml.child_text(grantee, "URI"), xml.child_text(grantee, "ID")
        if user == owner_id:
            who = policy.OWNER
        elif user is not None and user == bucket_owner_id:
            who = policy.BUCKET_OWNER
        else:
            who = uri or f"user:{user}"
        found.add((who, permission))
    for name in policy.CANNED:
        if found == {(g.grantee, g.permission) for g in policy.grants(name)}:
            return name
    raise S3Error("NotImplemented", "Only the grants of a canned ACL (private, public-read, "
                  "public-read-write, authenticated-read, bucket-owner-read, "
                  "bucket-owner-full-control) are supported.")  # fmt: skip


async def _requested_acl(ctx: Context, owner_id: str, bucket_owner_id: str) -> str:
    header = ctx.headers.get("x-amz-acl")
    body = await ctx.body.read(MAX_ACL_XML)
    if header is not None:
        if body.strip():
            raise S3Error("UnexpectedContent", "This request does not support content")
        return policy.canned_acl(header)
    if not body.strip():
        raise S3Error("MissingSecurityHeader", "Your request was missing a required header",
                      MissingHeaderName="x-amz-acl")  # fmt: skip
    return _canned_from_xml(xml.parse(body), owner_id, bucket_owner_id)


async def get_bucket_acl(ctx: Context) -> Response:
    bucket = await ctx.owned_bucket()
    owner = await ctx.owner_info(bucket.owner_id)
    return xml_response(_policy_document(owner, bucket.acl, owner))


async def put_bucket_acl(ctx: Context) -> Response:
    bucket = await ctx.owned_bucket()
    owner = await ctx.owner_info(bucket.owner_id)
    acl = await _requested_acl(ctx, owner[0], owner[0])
    await ctx.services.db(ctx.meta.set_bucket_acl, bucket.id, acl)
    return empty(200)


async def _acl_target(
    ctx: Context, permission: str
) -> tuple[str, tuple[str, str], tuple[str, str]]:
    """(acl, owner, bucket owner) of the route's object, if the caller holds permission."""
    bucket = await ctx.bucket()
    check_version_id(ctx.query)
    record = ctx.services.reader.get_object(bucket.id, ctx.key)
    if record is None:
        readable = policy.allows(bucket.acl, policy.READ, ctx.caller_id, bucket.owner_id)
        raise S3Error("NoSuchKey", Key=ctx.key) if readable else S3Error("AccessDenied")
    if not policy.allows(record.acl, permission, ctx.caller_id, record.owner_id, bucket.owner_id):
        raise S3Error("AccessDenied")
    return record.acl, await ctx.owner_info(record.owner_id), await ctx.owner_info(bucket.owner_id)


async def get_object_acl(ctx: Context) -> Response:
    acl, owner, bucket_owner = await _acl_target(ctx, policy.READ_ACP)
    return xml_response(_policy_document(owner, acl, bucket_owner))


async def put_object_acl(ctx: Context) -> Response:
    _, owner, bucket_owner = await _acl_target(ctx, policy.WRITE_ACP)
    acl = await _requested_acl(ctx, owner[0], bucket_owner[0])
    bucket = await ctx.bucket()
    if not await ctx.services.db(ctx.meta.set_object_acl, bucket.id, ctx.key, acl):
        raise S3Error("NoSuchKey", Key=ctx.key)
    return empty(200)
