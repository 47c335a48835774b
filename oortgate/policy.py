"""Who may do what: one permission per operation, granted by owners and ACLs.

Pure: decisions from the caller, the resource's owner and its ACL, as AWS's legacy ACL
model defines them (objects belong to their writer), within what the bucket's Object
Ownership setting and PublicAccessBlock allow. An ACL is stored as a canned name, or as
explicit grants in JSON (``[[grantee, permission], ...]``, a grantee being a user id or a
group URI).

A resource's owner holds every permission whatever its ACL says (AWS keeps READ_ACP and
WRITE_ACP for owners; this gateway has no IAM policies through which an owner could be
given the rest back, so it never lets owners lock themselves out). A bucket policy's
explicit Deny is decided before these (oortgate.bucket_policy, ops/permissions.py).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Final

from oortgate.bucket_controls import (
    BUCKET_OWNER_ENFORCED,
    BUCKET_OWNER_PREFERRED,
    load_public_access_block,
)
from oortgate.errors import S3Error
from oortgate.meta.models import Bucket

READ: Final = "READ"
WRITE: Final = "WRITE"
READ_ACP: Final = "READ_ACP"
WRITE_ACP: Final = "WRITE_ACP"
FULL_CONTROL: Final = "FULL_CONTROL"
PERMISSIONS: Final = (READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL)

ALL_USERS: Final = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS: Final = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY: Final = "http://acs.amazonaws.com/groups/s3/LogDelivery"  # stored, no effect
GROUPS: Final = (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY)
PUBLIC_GROUPS: Final = (ALL_USERS, AUTHENTICATED_USERS)  # what AWS calls a public ACL
OWNER: Final = "owner"  # the resource's owner
BUCKET_OWNER: Final = "bucket-owner"  # the owner of the bucket holding an object

# Canned ACL -> grants beyond the owner's FULL_CONTROL, in the order AWS lists them.
CANNED: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "private": (),
    "public-read": ((ALL_USERS, READ),),
    "public-read-write": ((ALL_USERS, READ), (ALL_USERS, WRITE)),
    "authenticated-read": ((AUTHENTICATED_USERS, READ),),
    "bucket-owner-read": ((BUCKET_OWNER, READ),),
    "bucket-owner-full-control": ((BUCKET_OWNER, FULL_CONTROL),),
}
BUCKET_OWNER_FULL_CONTROL: Final = "bucket-owner-full-control"
# On a bucket, the bucket-owner-* ACLs mean nothing beyond "private" (AWS ignores them).
BUCKET_ACLS: Final = frozenset(CANNED)


@dataclass(frozen=True, slots=True)
class Grant:
    grantee: str | int  # OWNER, BUCKET_OWNER, a group URI, or a user id
    permission: str


_CANNED_GRANTS: Final = {
    name: (Grant(OWNER, FULL_CONTROL), *(Grant(g, p) for g, p in extra))
    for name, extra in CANNED.items()
}


def is_explicit(acl: str) -> bool:
    """Explicit grants (JSON), not a canned name."""
    return acl.startswith("[")


def dumps_grants(grants: list[Grant]) -> str:
    return json.dumps([[g.grantee, g.permission] for g in grants], separators=(",", ":"))


@functools.lru_cache(maxsize=4096)  # parsed once per distinct ACL, not once per request
def grants(acl: str) -> tuple[Grant, ...]:
    """The full grant list of a stored ACL (canned: the owner's FULL_CONTROL first)."""
    if is_explicit(acl):
        return tuple(Grant(g, p) for g, p in json.loads(acl))
    return _CANNED_GRANTS[acl]


def canned_acl(value: str | None) -> str:
    """Validate an x-amz-acl header (default: private)."""
    if value is None:
        return "private"
    if value not in CANNED:
        raise S3Error("InvalidArgument", f"Invalid canned ACL: {value}", ArgumentName="x-amz-acl",
                      ArgumentValue=value)  # fmt: skip
    return value


def is_public(acl: str) -> bool:
    return any(g.grantee in PUBLIC_GROUPS for g in grants(acl))


def allows(
    acl: str,
    permission: str,
    caller: int | None,
    owner: int | None,
    bucket_owner: int | None = None,
    *,
    ignore_public: bool = False,
) -> bool:
    """Does ``caller`` (a user id, None if anonymous) hold ``permission`` on a resource
    owned by ``owner`` under ``acl``? ``bucket_owner`` is given for objects;
    ``ignore_public``: grants to AllUsers and AuthenticatedUsers count for nothing."""
    if caller == owner:  # None == None: anonymous callers own what anonymous callers wrote
        return True
    for grant in grants(acl):
        if grant.permission not in (permission, FULL_CONTROL):
            continue
        grantee = grant.grantee
        if grantee == ALL_USERS or (grantee == AUTHENTICATED_USERS and caller is not None):
            if not ignore_public:
                return True
        elif grantee == BUCKET_OWNER:
            if caller is not None and caller == bucket_owner:
                return True
        elif grantee == caller:  # a user's grant
            return True
    return False


def acls_disabled(bucket: Bucket) -> bool:
    return bucket.ownership == BUCKET_OWNER_ENFORCED


def bucket_allows(bucket: Bucket, permission: str, caller: int | None) -> bool:
    # A bucket is decided as an object of its own owner's would be.
    return object_allows(bucket, bucket.acl, bucket.owner_id, permission, caller)


def object_allows(
    bucket: Bucket, acl: str, owner: int | None, permission: str, caller: int | None
) -> bool:
    """Permission on an object with this ACL and owner, in this bucket: with ACLs
    disabled only the bucket owner has any; IgnorePublicAcls voids group grants."""
    if acls_disabled(bucket):
        return caller == bucket.owner_id
    ignore = load_public_access_block(bucket.public_access_block).IgnorePublicAcls
    return allows(acl, permission, caller, owner, bucket.owner_id, ignore_public=ignore)


def object_owner(bucket: Bucket, owner: int | None) -> int | None:
    """Who owns an object now: with ACLs disabled, the bucket owner owns every object."""
    return bucket.owner_id if acls_disabled(bucket) else owner


def new_object_owner(bucket: Bucket, acl: str, writer: int | None) -> int | None:
    """The owner of an object ``writer`` is writing with ``acl``."""
    if acls_disabled(bucket):
        return bucket.owner_id
    if bucket.ownership == BUCKET_OWNER_PREFERRED and acl == BUCKET_OWNER_FULL_CONTROL:
        return bucket.owner_id
    return writer


def owner_only(acl: str, owner: int) -> bool:
    """Does the ACL grant nothing to anyone but the owner (on a bucket)?"""
    return all(g.grantee in (OWNER, BUCKET_OWNER, owner) for g in grants(acl))


def grants_only_owners(acl: str, owner: int | None, bucket_owner: int) -> bool:
    """Is the ACL bucket-owner-full-control, or its equivalent in explicit grants (the
    only ACL a bucket with ACLs disabled accepts)?"""
    if not is_explicit(acl):
        return acl == BUCKET_OWNER_FULL_CONTROL
    wanted = {Grant(bucket_owner, FULL_CONTROL)}
    if owner is not None:
        wanted.add(Grant(owner, FULL_CONTROL))
    return set(grants(acl)) == wanted


def admit_acl(bucket: Bucket, acl: str, owner: int | None) -> None:
    """Refuse an ACL a client asked for, if the bucket's settings forbid it."""
    if acls_disabled(bucket) and not grants_only_owners(acl, owner, bucket.owner_id):
        raise S3Error("AccessControlListNotSupported", "The bucket does not allow ACLs")
    if load_public_access_block(bucket.public_access_block).BlockPublicAcls and is_public(acl):
        raise S3Error("AccessDenied")
