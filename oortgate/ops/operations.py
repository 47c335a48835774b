"""The S3 operations routing can name, and the parameters routing parses for them.

``Op`` is a StrEnum: logs, metrics and the access log keep showing the same strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum, unique


@unique
class Op(StrEnum):
    ListBuckets = "ListBuckets"
    CreateBucket = "CreateBucket"
    DeleteBucket = "DeleteBucket"
    HeadBucket = "HeadBucket"
    GetBucketLocation = "GetBucketLocation"
    GetBucketVersioning = "GetBucketVersioning"
    PutBucketVersioning = "PutBucketVersioning"
    ListObjects = "ListObjects"
    ListObjectsV2 = "ListObjectsV2"
    ListObjectVersions = "ListObjectVersions"
    GetObject = "GetObject"
    HeadObject = "HeadObject"
    PutObject = "PutObject"
    CopyObject = "CopyObject"
    DeleteObject = "DeleteObject"
    DeleteObjects = "DeleteObjects"
    CreateMultipartUpload = "CreateMultipartUpload"
    UploadPart = "UploadPart"
    UploadPartCopy = "UploadPartCopy"
    CompleteMultipartUpload = "CompleteMultipartUpload"
    AbortMultipartUpload = "AbortMultipartUpload"
    ListParts = "ListParts"
    ListMultipartUploads = "ListMultipartUploads"
    GetBucketAcl = "GetBucketAcl"
    PutBucketAcl = "PutBucketAcl"
    GetObjectAcl = "GetObjectAcl"
    PutObjectAcl = "PutObjectAcl"
    PostObject = "PostObject"
    PutBucketCors = "PutBucketCors"
    GetBucketCors = "GetBucketCors"
    DeleteBucketCors = "DeleteBucketCors"
    RestoreObject = "RestoreObject"
    GetObjectAttributes = "GetObjectAttributes"
    PutObjectTagging = "PutObjectTagging"
    GetObjectTagging = "GetObjectTagging"
    DeleteObjectTagging = "DeleteObjectTagging"
    PutBucketTagging = "PutBucketTagging"
    GetBucketTagging = "GetBucketTagging"
    DeleteBucketTagging = "DeleteBucketTagging"
    PutBucketOwnershipControls = "PutBucketOwnershipControls"
    GetBucketOwnershipControls = "GetBucketOwnershipControls"
    DeleteBucketOwnershipControls = "DeleteBucketOwnershipControls"
    PutPublicAccessBlock = "PutPublicAccessBlock"
    GetPublicAccessBlock = "GetPublicAccessBlock"
    DeletePublicAccessBlock = "DeletePublicAccessBlock"
    PutBucketPolicy = "PutBucketPolicy"
    GetBucketPolicy = "GetBucketPolicy"
    DeleteBucketPolicy = "DeleteBucketPolicy"
    GetBucketPolicyStatus = "GetBucketPolicyStatus"
    PutBucketLifecycleConfiguration = "PutBucketLifecycleConfiguration"
    GetBucketLifecycleConfiguration = "GetBucketLifecycleConfiguration"
    DeleteBucketLifecycle = "DeleteBucketLifecycle"
    PutObjectLockConfiguration = "PutObjectLockConfiguration"
    GetObjectLockConfiguration = "GetObjectLockConfiguration"
    PutObjectRetention = "PutObjectRetention"
    GetObjectRetention = "GetObjectRetention"
    PutObjectLegalHold = "PutObjectLegalHold"
    GetObjectLegalHold = "GetObjectLegalHold"
    Preflight = "Preflight"  # a browser's CORS OPTIONS request
    # Answered by the server itself, never by a handler:
    Health = "Health"
    NotImplemented = "NotImplemented"  # a sub-resource S3 defines and this gateway lacks


@dataclass(slots=True)  # one per request: not frozen, for a cheap __init__
class Route:
    """What a request asks for. The parameters are the query's, parsed once
    by ops/params.py before any handler runs."""

    op: Op
    bucket: str | None = None
    key: str | None = None
    upload_id: str = ""  # ?uploadId (multipart operations); "" if absent
    part_number: int | None = None  # ?partNumber, 1..10000
    version_id: str | None = None  # ?versionId as given ("null" or an id); None: absent
