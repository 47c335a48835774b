"""Who may do what: one permission per operation, granted by owners and canned ACLs.

Pure: decisions from the caller, the resource's owner and its canned ACL, as AWS's
legacy ACL model defines them (objects belong to their writer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from oortgate.errors import S3Error

READ: Final = "READ"
WRITE: Final = "WRITE"
READ_ACP: Final = "READ_ACP"
WRITE_ACP: Final = "WRITE_ACP"
FULL_CONTROL: Final = "FULL_CONTROL"

ALL_USERS: Final = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS: Final = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
OWNER: Final = "owner"  # the resource's owner
BUCKET_OWNER: Final = "bucket-owner"  # the owner of the bucket holding an object

# Canned ACL -> grants beyond the owner's FULL_CONTROL.
CANNED: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "private": (),
    "public-read": ((ALL_USERS, READ),),
    "public-read-write": ((ALL_USERS, READ), (ALL_USERS, WRITE)),
    "authenticated-read": ((AUTHENTICATED_USERS, READ),),
    "bucket-owner-read": ((BUCKET_OWNER, READ),),
    "bucket-owner-full-control": ((BUCKET_OWNER, FULL_CONTROL),),
}
# On a bucket, the bucket-owner-* ACLs mean nothing beyond "private" (AWS ignores them).
BUCKET_ACLS: Final = frozenset(CANNED)


@dataclass(frozen=True, slots=True)
class Grant:
    grantee: str  # OWNER, BUCKET_OWNER or a group URI
    permission: str


def grants(acl: str) -> list[Grant]:
    """The full grant list of a canned ACL, the owner's FULL_CONTROL first."""
    return [Grant(OWNER, FULL_CONTROL), *(Grant(g, p) for g, p in CANNED[acl])]


def canned_acl(value: str | None) -> str:
    """Validate an x-amz-acl header (default: private)."""
    if value is None:
        return "private"
    if value not in CANNED:
        raise S3Error("InvalidArgument", f"Invalid canned ACL: {value}", ArgumentName="x-amz-acl",
                      ArgumentValue=value)  # fmt: skip
    return value


def allows(
    acl: str,
    permission: str,
    caller: int | None,
    owner: int | None,
    bucket_owner: int | None = None,
) -> bool:
    """Does ``caller`` (a user id, None if anonymous) hold ``permission`` on a resource
    owned by ``owner`` under ``acl``? ``bucket_owner`` is given for objects."""
    if caller == owner:  # None == None: anonymous callers own what anonymous callers wrote
        return True
    for grantee, granted in CANNED.get(acl, ()):
        if granted not in (permission, FULL_CONTROL):
            continue
        if grantee == ALL_USERS:
            return True
        if grantee == AUTHENTICATED_USERS and caller is not None:
            return True
        if grantee == BUCKET_OWNER and caller is not None and caller == bucket_owner:
            return True
    return False
