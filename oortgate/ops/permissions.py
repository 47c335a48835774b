"""PERMISSION[op]: what a caller must hold for each operation. Context.authorize checks
it once, before the handler runs, and keeps what it looked up for the handler.

The decisions themselves (owners, ACLs, Object Ownership, PublicAccessBlock) are
oortgate.policy's; this table only says which one each operation asks for.

ACTION[op] is the operation's name in a bucket policy (oortgate.bucket_policy). The
bucket's policy is asked first (ops/policy_gate.py): an explicit Deny refuses whatever the
ACLs grant, an Allow grants whatever they do not, and otherwise PERMISSION decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from oortgate import policy
from oortgate.bucket_policy import Decision
from oortgate.errors import ACCESS_DENIED, NO_SUCH_KEY, S3Error
from oortgate.meta.models import Bucket, ObjectRecord
from oortgate.ops.operations import Op

READ: Final = policy.READ
WRITE: Final = policy.WRITE
READ_ACP: Final = policy.READ_ACP
WRITE_ACP: Final = policy.WRITE_ACP
FULL_CONTROL: Final = policy.FULL_CONTROL
OWNER_ONLY: Final = "OWNER_ONLY"  # the bucket's owner alone, whatever its ACL grants


@dataclass(frozen=True, slots=True)
class Permission:
    """Each field is one more check; all of them must pass."""

    signed_in: bool = False  # any authenticated caller (no bucket is looked up for it)
    bucket: str | None = None  # on the route's bucket: an ACL permission, or OWNER_ONLY
    object: str | None = None  # on the route's object, by its ACL
    bucket_owner_too: bool = False  # the bucket's owner holds ``object`` on every object
    source: bool = False  # READ on the x-amz-copy-source object (CopyObject, UploadPartCopy)
    # The caller is the form's signer (PostObject), known only once the form's fields
    # are read: the handler checks ``bucket`` for that caller (Context.authorize_form).
    form: bool = False
    # Each key named in the body is checked by the handler (DeleteObjects), against the
    # bucket policy for that key (Context.may_delete); without a policy, ``bucket`` is
    # checked once as usual.
    per_key: bool = False


NONE = Permission()  # answered without a bucket: Health, NotImplemented
SIGNED_IN = Permission(signed_in=True)
BUCKET_READ = Permission(bucket=READ)
BUCKET_WRITE = Permission(bucket=WRITE)
BUCKET_OWNER_ONLY = Permission(bucket=OWNER_ONLY)
OBJECT_READ = Permission(object=READ)
# An object's tags are read by whoever may read it and written by its owner (or a
# FULL_CONTROL grantee); the bucket's owner may do both (AWS's default s3:*ObjectTagging).
TAGS_READ = Permission(object=READ, bucket_owner_too=True)
TAGS_WRITE = Permission(object=FULL_CONTROL, bucket_owner_too=True)
# A version's retention and legal hold: the bucket owner's (on AWS its account's), on
# an object the route names (the object check finds the version; the owner passes it).
OBJECT_LOCK = Permission(bucket=OWNER_ONLY, object=READ, bucket_owner_too=True)
SOURCE_READ = OBJECT_READ  # what ``source`` asks of the copy source

PERMISSION: Final[dict[Op, Permission]] = {
    Op.ListBuckets: SIGNED_IN,  # lists the caller's own buckets
    Op.CreateBucket: SIGNED_IN,
    Op.DeleteBucket: BUCKET_OWNER_ONLY,
    Op.HeadBucket: BUCKET_READ,
    Op.GetBucketLocation: BUCKET_OWNER_ONLY,
    Op.GetBucketVersioning: BUCKET_OWNER_ONLY,
    Op.PutBucketVersioning: BUCKET_OWNER_ONLY,
    Op.ListObjects: BUCKET_READ,
    Op.ListObjectsV2: BUCKET_READ,
    Op.ListObjectVersions: BUCKET_READ,
    Op.GetObject: OBJECT_READ,
    Op.HeadObject: OBJECT_READ,
    Op.PutObject: BUCKET_WRITE,
    Op.CopyObject: Permission(bucket=WRITE, source=True),
    Op.DeleteObject: BUCKET_WRITE,
    Op.DeleteObjects: Permission(bucket=WRITE, per_key=True),
    Op.CreateMultipartUpload: BUCKET_WRITE,
    Op.UploadPart: BUCKET_WRITE,
    Op.UploadPartCopy: Permission(bucket=WRITE, source=True),
    Op.CompleteMultipartUpload: BUCKET_WRITE,
    Op.AbortMultipartUpload: BUCKET_WRITE,
    Op.ListParts: BUCKET_READ,
    Op.ListMultipartUploads: BUCKET_READ,
    Op.GetBucketAcl: Permission(bucket=READ_ACP),
    Op.PutBucketAcl: Permission(bucket=WRITE_ACP),
    Op.GetObjectAcl: Permission(object=READ_ACP),
    Op.PutObjectAcl: Permission(object=WRITE_ACP),
    Op.PostObject: Permission(bucket=WRITE, form=True),
    Op.PutBucketCors: BUCKET_OWNER_ONLY,
    Op.GetBucketCors: BUCKET_OWNER_ONLY,
    Op.DeleteBucketCors: BUCKET_OWNER_ONLY,
    Op.RestoreObject: Permission(bucket=WRITE, object=READ),
    Op.GetObjectAttributes: OBJECT_READ,
    Op.PutObjectTagging: TAGS_WRITE,
    Op.GetObjectTagging: TAGS_READ,
    Op.DeleteObjectTagging: TAGS_WRITE,
    Op.PutBucketTagging: BUCKET_OWNER_ONLY,
    Op.GetBucketTagging: BUCKET_OWNER_ONLY,
    Op.DeleteBucketTagging: BUCKET_OWNER_ONLY,
    Op.PutBucketOwnershipControls: BUCKET_OWNER_ONLY,
    Op.GetBucketOwnershipControls: BUCKET_OWNER_ONLY,
    Op.DeleteBucketOwnershipControls: BUCKET_OWNER_ONLY,
    Op.PutPublicAccessBlock: BUCKET_OWNER_ONLY,
    Op.GetPublicAccessBlock: BUCKET_OWNER_ONLY,
    Op.DeletePublicAccessBlock: BUCKET_OWNER_ONLY,
    Op.PutBucketPolicy: BUCKET_OWNER_ONLY,
    Op.GetBucketPolicy: BUCKET_OWNER_ONLY,
    Op.DeleteBucketPolicy: BUCKET_OWNER_ONLY,
    Op.GetBucketPolicyStatus: BUCKET_OWNER_ONLY,
    Op.PutBucketLifecycleConfiguration: BUCKET_OWNER_ONLY,
    Op.GetBucketLifecycleConfiguration: BUCKET_OWNER_ONLY,
    Op.DeleteBucketLifecycle: BUCKET_OWNER_ONLY,
    Op.PutObjectLockConfiguration: BUCKET_OWNER_ONLY,
    Op.GetObjectLockConfiguration: BUCKET_OWNER_ONLY,
    Op.PutObjectRetention: OBJECT_LOCK,
    Op.GetObjectRetention: OBJECT_LOCK,
    Op.PutObjectLegalHold: OBJECT_LOCK,
    Op.GetObjectLegalHold: OBJECT_LOCK,
    # Unauthenticated by design: the bucket's CORS rules decide (ops/cors_ops.py), after
    # the request names an origin and a method.
    Op.Preflight: NONE,
    Op.Health: NONE,
    Op.NotImplemented: NONE,
}


# The s3: action each operation is in a bucket policy. None: no policy decides it (no
# bucket yet; or the policy operations, the bucket owner's alone whatever the policy
# says, as AWS's account root always may manage its bucket's policy).
ACTION: Final[dict[Op, str | None]] = {
    Op.ListBuckets: None,
    Op.CreateBucket: None,
    Op.DeleteBucket: "s3:DeleteBucket",
    Op.HeadBucket: "s3:ListBucket",
    Op.GetBucketLocation: "s3:GetBucketLocation",
    Op.GetBucketVersioning: "s3:GetBucketVersioning",
    Op.PutBucketVersioning: "s3:PutBucketVersioning",
    Op.ListObjects: "s3:ListBucket",
    Op.ListObjectsV2: "s3:ListBucket",
    Op.ListObjectVersions: "s3:ListBucketVersions",
    Op.GetObject: "s3:GetObject",
    Op.HeadObject: "s3:GetObject",
    Op.PutObject: "s3:PutObject",
    Op.CopyObject: "s3:PutObject",  # and s3:GetObject on the source
    Op.DeleteObject: "s3:DeleteObject",
    Op.DeleteObjects: "s3:DeleteObject",  # each key (ops/delete.py asks per key)
    Op.CreateMultipartUpload: "s3:PutObject",
    Op.UploadPart: "s3:PutObject",
    Op.UploadPartCopy: "s3:PutObject",
    Op.CompleteMultipartUpload: "s3:PutObject",
    Op.AbortMultipartUpload: "s3:AbortMultipartUpload",
    Op.ListParts: "s3:ListMultipartUploadParts",
    Op.ListMultipartUploads: "s3:ListBucketMultipartUploads",
    Op.GetBucketAcl: "s3:GetBucketAcl",
    Op.PutBucketAcl: "s3:PutBucketAcl",
    Op.GetObjectAcl: "s3:GetObjectAcl",
    Op.PutObjectAcl: "s3:PutObjectAcl",
    Op.PostObject: "s3:PutObject",
    Op.PutBucketCors: "s3:PutBucketCORS",
    Op.GetBucketCors: "s3:GetBucketCORS",
    Op.DeleteBucketCors: "s3:PutBucketCORS",
    Op.RestoreObject: "s3:RestoreObject",
    Op.GetObjectAttributes: "s3:GetObjectAttributes",
    Op.PutObjectTagging: "s3:PutObjectTagging",
    Op.GetObjectTagging: "s3:GetObjectTagging",
    Op.DeleteObjectTagging: "s3:DeleteObjectTagging",
    Op.PutBucketTagging: "s3:PutBucketTagging",
    Op.GetBucketTagging: "s3:GetBucketTagging",
    Op.DeleteBucketTagging: "s3:PutBucketTagging",
    Op.PutBucketOwnershipControls: "s3:PutBucketOwnershipControls",
    Op.GetBucketOwnershipControls: "s3:GetBucketOwnershipControls",
    Op.DeleteBucketOwnershipControls: "s3:PutBucketOwnershipControls",
    Op.PutPublicAccessBlock: "s3:PutBucketPublicAccessBlock",
    Op.GetPublicAccessBlock: "s3:GetBucketPublicAccessBlock",
    Op.DeletePublicAccessBlock: "s3:PutBucketPublicAccessBlock",
    Op.PutBucketPolicy: None,
    Op.GetBucketPolicy: None,
    Op.DeleteBucketPolicy: None,
    Op.GetBucketPolicyStatus: None,
    Op.PutBucketLifecycleConfiguration: "s3:PutLifecycleConfiguration",
    Op.GetBucketLifecycleConfiguration: "s3:GetLifecycleConfiguration",
    Op.DeleteBucketLifecycle: "s3:PutLifecycleConfiguration",
    Op.PutObjectLockConfiguration: "s3:PutBucketObjectLockConfiguration",
    Op.GetObjectLockConfiguration: "s3:GetBucketObjectLockConfiguration",
    Op.PutObjectRetention: "s3:PutObjectRetention",
    Op.GetObjectRetention: "s3:GetObjectRetention",
    Op.PutObjectLegalHold: "s3:PutObjectLegalHold",
    Op.GetObjectLegalHold: "s3:GetObjectLegalHold",
    Op.Preflight: None,
    Op.Health: None,
    Op.NotImplemented: None,
}

# The action instead when the request names a version (?versionId, or a copy source's),
# as AWS asks: a policy can keep old versions from being read or removed.
VERSION_ACTION: Final[dict[Op, str]] = {
    Op.GetObject: "s3:GetObjectVersion",
    Op.HeadObject: "s3:GetObjectVersion",
    Op.DeleteObject: "s3:DeleteObjectVersion",
    Op.DeleteObjects: "s3:DeleteObjectVersion",
    Op.GetObjectAcl: "s3:GetObjectVersionAcl",
    Op.PutObjectAcl: "s3:PutObjectVersionAcl",
    Op.GetObjectAttributes: "s3:GetObjectVersionAttributes",
    Op.PutObjectTagging: "s3:PutObjectVersionTagging",
    Op.GetObjectTagging: "s3:GetObjectVersionTagging",
    Op.DeleteObjectTagging: "s3:DeleteObjectVersionTagging",
}


def policy_action(op: Op, version: str | None) -> str | None:
    """ACTION[op], or its version action when a version is named."""
    return VERSION_ACTION.get(op, ACTION[op]) if version is not None else ACTION[op]


def check_bucket(
    permission: str, bucket: Bucket, caller: int | None, verdict: Decision = Decision.NONE
) -> None:
    """AccessDenied unless ``caller`` (None: anonymous) holds ``permission`` on the bucket,
    or the bucket policy's ``verdict`` allows it."""
    if verdict is Decision.DENY:
        raise S3Error(ACCESS_DENIED)
    if verdict is Decision.ALLOW:
        return
    if permission == OWNER_ONLY:
        granted = caller is not None and caller == bucket.owner_id
    else:
        granted = policy.bucket_allows(bucket, permission, caller)
    if not granted:
        raise S3Error(ACCESS_DENIED)


def check_object(
    need: Permission,
    bucket: Bucket,
    key: str,
    record: ObjectRecord | None,
    caller: int | None,
    verdict: Decision = Decision.NONE,
    listing: Decision = Decision.NONE,
) -> ObjectRecord:
    """The object (None: there is none at ``key``), if ``caller`` holds need.object on it
    (or the policy's ``verdict`` allows, on an object of the bucket owner's). A missing
    key is NoSuchKey only to callers who may list the bucket (``listing``: the policy's
    s3:ListBucket verdict); others learn nothing (AccessDenied), as on AWS."""
    assert need.object is not None
    if verdict is Decision.DENY:
        raise S3Error(ACCESS_DENIED)
    if record is None:
        if listing is Decision.ALLOW or (
            listing is Decision.NONE and policy.bucket_allows(bucket, READ, caller)
        ):
            raise S3Error(NO_SUCH_KEY, Key=key)
        raise S3Error(ACCESS_DENIED)
    # A policy's Allow reaches only the bucket owner's objects (AWS): what another user
    # wrote (ObjectWriter) is shared by its own ACL.
    owned = policy.object_owner(bucket, record.owner_id) == bucket.owner_id
    if verdict is Decision.ALLOW and owned:
        return record
    if need.bucket_owner_too and caller is not None and caller == bucket.owner_id:
        return record
    if not policy.object_allows(bucket, record.acl, record.owner_id, need.object, caller):
        raise S3Error(ACCESS_DENIED)
    return record
