"""Map a request to a typed S3 operation. Pure: no I/O, unit-tested without a server.

The operation depends on the method, on query sub-resources and on headers
(``x-amz-copy-source``), so a path router alone cannot pick it (Garage does the same).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from urllib.parse import unquote, unquote_to_bytes

from oortgate.errors import S3Error
from oortgate.ops.operations import Op, Route


def parse_query(query_string: str) -> list[tuple[str, str]]:
    """The decoded (name, value) pairs, as parse_qsl(keep_blank_values=True) gives them,
    without its cost for the common case of parts with nothing to decode."""
    pairs = []
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = _form_decode(name)
        if "%" in value or "+" in value:
            value = _form_decode(value)
        pairs.append((name, value))
    return pairs


@functools.lru_cache(maxsize=4096)  # a client's credential scope repeats on every request
def _form_decode(text: str) -> str:
    return unquote(text.replace("+", " "))


# Sub-resources S3 defines that this gateway does not implement: a request naming one
# answers 501 NotImplemented rather than being mistaken for a plain GET/PUT. (object-lock,
# retention and legal-hold are implemented for GET and PUT, matched before these sets
# are asked: another method naming them must not become a DeleteBucket or a PutObject.)
UNSUPPORTED_BUCKET = frozenset(
    "accelerate analytics encryption intelligent-tiering inventory "
    "logging metrics notification object-lock "
    "replication requestPayment website metadataTable session "
    "metadataConfiguration abac".split()
)
UNSUPPORTED_OBJECT = frozenset(
    "legal-hold retention torrent attributes select renameObject".split()
)


def split_path(raw_path: str) -> tuple[str | None, str | None]:
    """'/bucket/some/key' -> ('bucket', 'some/key'); the key is percent-decoded UTF-8."""
    path = raw_path.split("?", 1)[0]
    if not path.startswith("/"):
        raise S3Error("InvalidURI", "Couldn't parse the specified URI.")
    bucket_raw, _, key_raw = path[1:].partition("/")
    bucket = _decode(bucket_raw) or None
    key = _decode(key_raw) or None
    if bucket is None and key is not None:
        raise S3Error("InvalidURI", "Couldn't parse the specified URI.")
    if key is not None and "\x00" in key:
        # No key holds U+0000, on any metadata store (PostgreSQL text cannot; XML 1.0
        # cannot carry it in a listing): refused the same way everywhere.
        raise S3Error("InvalidURI", "Object keys may not contain the character U+0000.")
    return bucket, key


def _decode(part: str) -> str:
    if "%" not in part and part.isascii():  # nothing to decode
        return part
    try:
        return unquote_to_bytes(part).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise S3Error("InvalidURI", "Couldn't parse the specified URI.") from exc


def route(
    method: str,
    raw_path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    vhost_bucket: str | None = None,
) -> Route:
    """``vhost_bucket``: the bucket named by a virtual host; the whole path is the key."""
    bucket, key = split_path(raw_path)
    if vhost_bucket is not None:
        path = raw_path.split("?", 1)[0]
        bucket, key = vhost_bucket, _decode(path[1:] if path.startswith("/") else path) or None
    if method == "OPTIONS" and bucket is not None:
        return Route(Op.Preflight, bucket, key)
    if bucket is None:
        return Route(_service_op(method, query))
    if key is None:
        return Route(_bucket_op(method, query), bucket)
    return Route(_object_op(method, query, headers), bucket, key)


def _service_op(method: str, query: Mapping[str, str]) -> Op:
    if method in ("GET", "HEAD") and "Action" not in query:
        return Op.ListBuckets
    # Not S3 at all (an IAM/STS form POST sent to the wrong endpoint, say).
    raise S3Error("MethodNotAllowed", ResourceType="SERVICE", Method=method)


def _bucket_op(method: str, query: Mapping[str, str]) -> Op:
    unsupported = next((q for q in query if q in UNSUPPORTED_BUCKET), None)
    if method == "GET":
        if "location" in query:
            return Op.GetBucketLocation
        if "versioning" in query:
            return Op.GetBucketVersioning
        if "versions" in query:
            return Op.ListObjectVersions
        if "uploads" in query:
            return Op.ListMultipartUploads
        if "acl" in query:
            return Op.GetBucketAcl
        if "cors" in query:
            return Op.GetBucketCors
        if "tagging" in query:
            return Op.GetBucketTagging
        if "ownershipControls" in query:
            return Op.GetBucketOwnershipControls
        if "publicAccessBlock" in query:
            return Op.GetPublicAccessBlock
        if "policy" in query:
            return Op.GetBucketPolicy
        if "policyStatus" in query:
            return Op.GetBucketPolicyStatus
        if "lifecycle" in query:
            return Op.GetBucketLifecycleConfiguration
        if "object-lock" in query:
            return Op.GetObjectLockConfiguration
        if unsupported:
            return Op.NotImplemented
        return Op.ListObjectsV2 if query.get("list-type") == "2" else Op.ListObjects
    if method == "HEAD":
        return Op.HeadBucket
    if method == "PUT":
        if "acl" in query:
            return Op.PutBucketAcl
        if "cors" in query:
            return Op.PutBucketCors
        if "tagging" in query:
            return Op.PutBucketTagging
        if "ownershipControls" in query:
            return Op.PutBucketOwnershipControls
        if "publicAccessBlock" in query:
            return Op.PutPublicAccessBlock
        if "policy" in query:
            return Op.PutBucketPolicy
        if "lifecycle" in query:
            return Op.PutBucketLifecycleConfiguration
        if "versioning" in query:
            return Op.PutBucketVersioning
        if "object-lock" in query:
            return Op.PutObjectLockConfiguration
        if unsupported:
            return Op.NotImplemented
        return Op.CreateBucket
    if method == "DELETE":
        if "cors" in query:
            return Op.DeleteBucketCors
        if "tagging" in query:
            return Op.DeleteBucketTagging
        if "ownershipControls" in query:
            return Op.DeleteBucketOwnershipControls
        if "publicAccessBlock" in query:
            return Op.DeletePublicAccessBlock
        if "policy" in query:
            return Op.DeleteBucketPolicy
        if "lifecycle" in query:
            return Op.DeleteBucketLifecycle
        return Op.NotImplemented if unsupported else Op.DeleteBucket
    if method == "POST":
        if "delete" in query:
            return Op.DeleteObjects
        if unsupported:
            return Op.NotImplemented
        return Op.PostObject  # a browser form upload
    raise S3Error("MethodNotAllowed", ResourceType="BUCKET", Method=method)


def _object_op(method: str, query: Mapping[str, str], headers: Mapping[str, str]) -> Op:
    unsupported = any(q in UNSUPPORTED_OBJECT for q in query)
    multipart = "uploadId" in query
    if method in ("GET", "HEAD"):
        if method == "GET" and "attributes" in query:
            return Op.GetObjectAttributes
        if method == "GET" and "retention" in query:
            return Op.GetObjectRetention
        if method == "GET" and "legal-hold" in query:
            return Op.GetObjectLegalHold
        if unsupported:
            return Op.NotImplemented
        if method == "GET" and multipart:
            return Op.ListParts
        if method == "GET" and "acl" in query:
            return Op.GetObjectAcl
        if method == "GET" and "tagging" in query:
            return Op.GetObjectTagging
        return Op.GetObject if method == "GET" else Op.HeadObject
    if method == "PUT":
        if "acl" in query:
            return Op.PutObjectAcl
        if "tagging" in query:
            return Op.PutObjectTagging
        if "retention" in query:
            return Op.PutObjectRetention
        if "legal-hold" in query:
            return Op.PutObjectLegalHold
        if unsupported:
            return Op.NotImplemented
        copy = "x-amz-copy-source" in headers
        if multipart or "partNumber" in query:
            return Op.UploadPartCopy if copy else Op.UploadPart
        return Op.CopyObject if copy else Op.PutObject
    if method == "DELETE":
        if unsupported:
            return Op.NotImplemented
        if "tagging" in query:
            return Op.DeleteObjectTagging
        return Op.AbortMultipartUpload if multipart else Op.DeleteObject
    if method == "POST":
        if "restore" in query:
            return Op.RestoreObject
        if "uploads" in query:
            return Op.CreateMultipartUpload
        if multipart:
            return Op.CompleteMultipartUpload
        return Op.NotImplemented
    raise S3Error("MethodNotAllowed", ResourceType="OBJECT", Method=method)
