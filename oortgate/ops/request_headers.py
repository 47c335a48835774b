"""Which request headers each operation honours, and the one check that refuses the rest.

The rule: a header the AWS S3 model defines for an operation is either honoured here or
refused with AWS's 501 NotImplemented, never accepted and ignored. Headers the model
does not define for the operation (x-foo, a stray Content-MD5 on a GET) are ignored,
as AWS ignores them. ``tests/unit/test_request_headers.py`` walks botocore's model and
fails on any header this table leaves unclassified.

One line per header: to implement one, flip its REFUSE to HONOUR (or move it out of a
refused group). Query parameters are listed in ``QUERY`` the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from oortgate.errors import S3Error

HONOUR: Final = True
REFUSE: Final = False
Decisions = dict[str, bool]

NOT_IMPLEMENTED = "A header you provided implies functionality that is not implemented"

# Every operation that names a bucket: Context.bucket (ops/context.py) compares the
# value with the bucket owner's canonical id. The requester agreeing to pay changes nothing here (no
# one is charged), so x-amz-request-payer is accepted wherever the model has it.
COMMON: Final[Decisions] = {
    "x-amz-expected-bucket-owner": HONOUR,
    "x-amz-request-payer": HONOUR,
}
# The body's checksums: auth/payload.py verifies them as the body streams (Body.read
# checks Content-MD5 of XML documents; PutObject/UploadPart compare it with the blob's).
CHECKSUM_VALUES: Final[Decisions] = {
    "x-amz-checksum-crc32": HONOUR,
    "x-amz-checksum-crc32c": HONOUR,
    "x-amz-checksum-crc64nvme": HONOUR,
    "x-amz-checksum-sha1": HONOUR,
    "x-amz-checksum-sha256": HONOUR,
}
BODY_CHECKSUMS: Final[Decisions] = {
    **CHECKSUM_VALUES,
    "content-md5": HONOUR,
    "x-amz-sdk-checksum-algorithm": HONOUR,
}
# Algorithms auth/checksums.py does not compute: a value that cannot be checked.
NEW_CHECKSUMS: Final[Decisions] = {
    "x-amz-checksum-sha512": REFUSE,
    "x-amz-checksum-md5": REFUSE,
    "x-amz-checksum-xxhash64": REFUSE,
    "x-amz-checksum-xxhash3": REFUSE,
    "x-amz-checksum-xxhash128": REFUSE,
}
# Stored with the object and returned on GET/HEAD (ops/metadata.py).
CONTENT: Final[Decisions] = {
    "content-type": HONOUR,
    "cache-control": HONOUR,
    "content-disposition": HONOUR,
    "content-encoding": HONOUR,
    "content-language": HONOUR,
    "expires": HONOUR,
}
# Nothing is encrypted at rest: SSE (S3-, KMS- or customer-managed keys) is refused.
SSE: Final[Decisions] = {
    "x-amz-server-side-encryption": REFUSE,
    "x-amz-server-side-encryption-aws-kms-key-id": REFUSE,
    "x-amz-server-side-encryption-context": REFUSE,
    "x-amz-server-side-encryption-bucket-key-enabled": REFUSE,
}
SSE_C: Final[Decisions] = {
    "x-amz-server-side-encryption-customer-algorithm": REFUSE,
    "x-amz-server-side-encryption-customer-key": REFUSE,
    "x-amz-server-side-encryption-customer-key-md5": REFUSE,
}
SSE_C_SOURCE: Final[Decisions] = {
    "x-amz-copy-source-server-side-encryption-customer-algorithm": REFUSE,
    "x-amz-copy-source-server-side-encryption-customer-key": REFUSE,
    "x-amz-copy-source-server-side-encryption-customer-key-md5": REFUSE,
}
# A new version's lock (ops/object_lock.py; an upload's applies at Complete). Event
# holds are not implemented.
OBJECT_LOCK: Final[Decisions] = {
    "x-amz-object-lock-mode": HONOUR,
    "x-amz-object-lock-retain-until-date": HONOUR,
    "x-amz-object-lock-legal-hold": HONOUR,
    "x-amz-object-lock-event-hold": REFUSE,
    "x-amz-object-lock-event-hold-duration-days": REFUSE,
    "x-amz-object-lock-event-hold-duration-years": REFUSE,
}
# Explicit grants to canonical ids and groups (oortgate/acl_grants.py).
OBJECT_GRANTS: Final[Decisions] = {
    "x-amz-grant-full-control": HONOUR,
    "x-amz-grant-read": HONOUR,
    "x-amz-grant-read-acp": HONOUR,
    "x-amz-grant-write-acp": HONOUR,
}
BUCKET_GRANTS: Final[Decisions] = {**OBJECT_GRANTS, "x-amz-grant-write": HONOUR}
# A new object's metadata (PutObject, CopyObject, CreateMultipartUpload).
NEW_OBJECT: Final[Decisions] = {
    **COMMON,
    **CONTENT,
    **SSE,
    **SSE_C,
    **OBJECT_LOCK,
    **OBJECT_GRANTS,
    "x-amz-acl": HONOUR,  # canned ACLs (policy.canned_acl)
    "x-amz-meta-*": HONOUR,  # user metadata, 2 KB at most
    "x-amz-storage-class": HONOUR,  # the bucket's tier decides (metadata.storage_class)
    "x-amz-tagging": HONOUR,  # the object's tags (oortgate/tagging.py)
    "x-amz-website-redirect-location": HONOUR,  # stored, returned (no website serves it)
}
READ: Final[Decisions] = {
    **COMMON,
    **SSE_C,
    "if-match": HONOUR,
    "if-none-match": HONOUR,
    "if-modified-since": HONOUR,
    "if-unmodified-since": HONOUR,
    "range": HONOUR,
    "x-amz-checksum-mode": HONOUR,
}
COPY_SOURCE: Final[Decisions] = {
    **SSE_C_SOURCE,
    "x-amz-copy-source": HONOUR,
    "x-amz-copy-source-if-match": HONOUR,
    "x-amz-copy-source-if-none-match": HONOUR,
    "x-amz-copy-source-if-modified-since": HONOUR,
    "x-amz-copy-source-if-unmodified-since": HONOUR,
    "x-amz-source-expected-bucket-owner": HONOUR,
}
MULTI_FACTOR: Final[Decisions] = {
    "x-amz-mfa": REFUSE,  # MFA delete: no MFA devices here
    "x-amz-bypass-governance-retention": HONOUR,  # the bucket owner's (ops/object_lock.py)
}

HEADERS: Final[dict[str, Decisions]] = {
    "ListBuckets": {},
    "CreateBucket": {
        **BUCKET_GRANTS,
        "x-amz-acl": HONOUR,
        "x-amz-bucket-object-lock-enabled": HONOUR,  # ops/object_lock.py
        "x-amz-object-ownership": HONOUR,  # ops/bucket_controls.py
        "x-amz-bucket-namespace": REFUSE,  # account-regional namespaces: none here
    },
    "DeleteBucket": COMMON,
    "HeadBucket": COMMON,
    "GetBucketLocation": COMMON,
    "GetBucketVersioning": COMMON,
    "PutBucketVersioning": {**COMMON, **BODY_CHECKSUMS, "x-amz-mfa": REFUSE},
    "ListObjects": {**COMMON, "x-amz-optional-object-attributes": REFUSE},
    "ListObjectsV2": {**COMMON, "x-amz-optional-object-attributes": REFUSE},
    "ListObjectVersions": {**COMMON, "x-amz-optional-object-attributes": REFUSE},
    "GetObject": READ,
    "HeadObject": READ,
    "PutObject": {
        **NEW_OBJECT,
        **BODY_CHECKSUMS,
        **NEW_CHECKSUMS,
        "content-length": HONOUR,
        "if-match": HONOUR,  # conditional writes (ops/write_conditions.py)
        "if-none-match": HONOUR,
        "x-amz-write-offset-bytes": REFUSE,  # appends (directory buckets only)
    },
    "CopyObject": {
        **NEW_OBJECT,
        **COPY_SOURCE,
        "x-amz-metadata-directive": HONOUR,
        # Kept when the source has a checksum of that algorithm; else 501 (ops/object_write).
        "x-amz-checksum-algorithm": HONOUR,
        "if-match": HONOUR,  # the destination's conditions (ops/write_conditions.py)
        "if-none-match": HONOUR,
        "x-amz-tagging-directive": HONOUR,  # COPY or REPLACE (oortgate/tagging.py)
        "x-amz-object-annotation-directive": REFUSE,  # annotations: not implemented
    },
    "DeleteObject": {
        **COMMON,
        **MULTI_FACTOR,
        "if-match": HONOUR,  # conditional deletes (ops/write_conditions.py)
        "x-amz-if-match-last-modified-time": HONOUR,
        "x-amz-if-match-size": HONOUR,
    },
    "DeleteObjects": {**COMMON, **MULTI_FACTOR, **BODY_CHECKSUMS},
    "CreateMultipartUpload": {
        **NEW_OBJECT,
        "x-amz-checksum-algorithm": HONOUR,  # the parts' algorithm
        "x-amz-checksum-type": HONOUR,  # COMPOSITE or FULL_OBJECT
    },
    "UploadPart": {**COMMON, **BODY_CHECKSUMS, **NEW_CHECKSUMS, **SSE_C, "content-length": HONOUR},
    "UploadPartCopy": {**COMMON, **COPY_SOURCE, **SSE_C, "x-amz-copy-source-range": HONOUR},
    "CompleteMultipartUpload": {
        **COMMON,
        **CHECKSUM_VALUES,  # the whole object's: compared with the parts' (ops/multipart)
        **NEW_CHECKSUMS,
        **SSE_C,
        "x-amz-checksum-type": HONOUR,  # must be the upload's (BadDigest otherwise)
        "x-amz-mp-object-size": HONOUR,  # must be the parts' total (InvalidRequest otherwise)
        "if-match": HONOUR,  # conditional writes (ops/write_conditions.py)
        "if-none-match": HONOUR,
    },
    "AbortMultipartUpload": {**COMMON, "x-amz-if-match-initiated-time": HONOUR},
    "ListParts": {**COMMON, **SSE_C},
    "ListMultipartUploads": COMMON,
    "GetBucketAcl": COMMON,
    "PutBucketAcl": {**COMMON, **BODY_CHECKSUMS, **BUCKET_GRANTS, "x-amz-acl": HONOUR},
    "GetObjectAcl": COMMON,
    "PutObjectAcl": {**COMMON, **BODY_CHECKSUMS, **BUCKET_GRANTS, "x-amz-acl": HONOUR},
    "PutBucketCors": {**COMMON, **BODY_CHECKSUMS},
    "GetBucketCors": COMMON,
    "DeleteBucketCors": COMMON,
    "RestoreObject": {**COMMON, **BODY_CHECKSUMS},
    "GetObjectAttributes": {
        **COMMON,
        **SSE_C,
        "x-amz-object-attributes": HONOUR,
        "x-amz-max-parts": HONOUR,
        "x-amz-part-number-marker": HONOUR,
    },
    "PutObjectTagging": {**COMMON, **BODY_CHECKSUMS},
    "GetObjectTagging": COMMON,
    "DeleteObjectTagging": COMMON,
    "PutBucketTagging": {**COMMON, **BODY_CHECKSUMS},
    "GetBucketTagging": COMMON,
    "DeleteBucketTagging": COMMON,
    "PutBucketOwnershipControls": {**COMMON, **BODY_CHECKSUMS},
    "GetBucketOwnershipControls": COMMON,
    "DeleteBucketOwnershipControls": COMMON,
    "PutPublicAccessBlock": {**COMMON, **BODY_CHECKSUMS},
    "GetPublicAccessBlock": COMMON,
    "DeletePublicAccessBlock": COMMON,
    # The bucket owner may always change the policy later (ops/bucket_policy.py): there
    # is no access to confirm giving up, so the confirmation changes nothing.
    "PutBucketPolicy": {
        **COMMON,
        **BODY_CHECKSUMS,
        "x-amz-confirm-remove-self-bucket-access": HONOUR,
    },
    "GetBucketPolicy": COMMON,
    "DeleteBucketPolicy": COMMON,
    "GetBucketPolicyStatus": COMMON,
    # The default minimum object size of transitions (ops/bucket_lifecycle.py).
    "PutBucketLifecycleConfiguration": {
        **COMMON,
        **BODY_CHECKSUMS,
        "x-amz-transition-default-minimum-object-size": HONOUR,
    },
    "GetBucketLifecycleConfiguration": COMMON,
    "DeleteBucketLifecycle": COMMON,
    # Object lock (ops/object_lock.py). The token was for enabling a lock on an existing
    # bucket through AWS support: not needed here, and refused rather than ignored.
    "PutObjectLockConfiguration": {
        **COMMON,
        **BODY_CHECKSUMS,
        "x-amz-bucket-object-lock-token": REFUSE,
    },
    "GetObjectLockConfiguration": COMMON,
    "PutObjectRetention": {
        **COMMON,
        **BODY_CHECKSUMS,
        "x-amz-bypass-governance-retention": HONOUR,
    },
    "GetObjectRetention": COMMON,
    "PutObjectLegalHold": {**COMMON, **BODY_CHECKSUMS},
    "GetObjectLegalHold": COMMON,
    # Not in the model: a browser's form (its fields are checked by ops/post_object.py),
    # a CORS preflight, and sub-resources answered 501 anyway.
    "PostObject": {},
    "Preflight": {},
    "NotImplemented": {},
}


# Query parameters the model defines, per operation (uploadId and partNumber of the
# multipart operations, and the sub-resource names, pick the operation in routing.py).
# All honoured today. x-id, which SDKs add to name the operation, is no member of any
# input: ignored, as AWS does.
def _honoured(names: str) -> Decisions:
    return dict.fromkeys(names.split(), HONOUR)


LISTING = "delimiter encoding-type max-keys prefix"
OVERRIDES = (
    "response-cache-control response-content-disposition response-content-encoding "
    "response-content-language response-content-type response-expires"
)
QUERY: Final[dict[str, Decisions]] = {
    "ListBuckets": _honoured("max-buckets continuation-token prefix bucket-region"),
    "ListObjects": _honoured(f"{LISTING} marker"),
    "ListObjectsV2": _honoured(f"{LISTING} continuation-token fetch-owner start-after"),
    "ListObjectVersions": _honoured(f"{LISTING} key-marker version-id-marker"),
    "ListMultipartUploads": _honoured(f"{LISTING} key-marker upload-id-marker max-uploads"),
    "ListParts": _honoured("uploadId max-parts part-number-marker"),
    # versionId: "null" or a version id (ops/params.py; unknown ones: NoSuchVersion).
    "GetObject": _honoured(f"versionId partNumber {OVERRIDES}"),
    "HeadObject": _honoured(f"versionId partNumber {OVERRIDES}"),
    "DeleteObject": _honoured("versionId"),
    "GetObjectAcl": _honoured("versionId"),
    "PutObjectAcl": _honoured("versionId"),
    "RestoreObject": _honoured("versionId"),
    "GetObjectAttributes": _honoured("versionId"),
    "GetObjectTagging": _honoured("versionId"),
    "PutObjectTagging": _honoured("versionId"),
    "DeleteObjectTagging": _honoured("versionId"),
    "PutObjectRetention": _honoured("versionId"),
    "GetObjectRetention": _honoured("versionId"),
    "PutObjectLegalHold": _honoured("versionId"),
    "GetObjectLegalHold": _honoured("versionId"),
    "UploadPart": _honoured("uploadId partNumber"),
    "UploadPartCopy": _honoured("uploadId partNumber"),
    "CompleteMultipartUpload": _honoured("uploadId"),
    "AbortMultipartUpload": _honoured("uploadId"),
}


def _refused(decisions: Decisions) -> frozenset[str]:
    return frozenset(name for name, decision in decisions.items() if decision is REFUSE)


REFUSED: Final[dict[str, frozenset[str]]] = {op: _refused(d) for op, d in HEADERS.items()}
REFUSED_QUERY: Final[dict[str, frozenset[str]]] = {op: _refused(d) for op, d in QUERY.items()}
NO_QUERY_REFUSED: Final = frozenset[str]()


def check(op: str, headers: Mapping[str, str], query: Mapping[str, str]) -> None:
    """Refuse (501 NotImplemented) a header or query parameter the operation defines but
    does not honour. ``headers``: lowercase names. An operation the header table does
    not know is a bug (a KeyError here; the unit test catches it first)."""
    refused = REFUSED[op]
    if not refused.isdisjoint(headers):
        name = next(name for name in headers if name in refused)
        raise S3Error("NotImplemented", NOT_IMPLEMENTED, Header=name)
    trailer = headers.get("x-amz-trailer")
    if trailer is not None:  # a trailing header counts as sent (x-amz-checksum-sha512...)
        for name in (part.strip().lower() for part in trailer.split(",")):
            if name in refused:
                raise S3Error("NotImplemented", NOT_IMPLEMENTED, Header=name)
    refused = REFUSED_QUERY.get(op, NO_QUERY_REFUSED)
    if not refused.isdisjoint(query):
        name = next(name for name in query if name in refused)
        raise S3Error("NotImplemented", "A parameter you provided implies functionality that "
                      "is not implemented", ParameterName=name)  # fmt: skip
