"""Presigned S3 requests for the signed-in key (SigV4 query authentication).

The browser makes every object and bucket request itself, with a URL minted here: the S3
API then checks it as any other request, so the console can do nothing the key could not
do with boto3. Only the operations the pages use are offered, each with the query
parameters it may carry; the console's server side signs a few more for its own
server-rendered pages (SERVER_OPERATIONS), which the browser is never given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from oortgate.auth.sigv4_keys import sign, signing_key
from oortgate.lifecycle.rules import MINIMUM_SIZES
from oortgate.ops.bucket_lifecycle import MINIMUM_SIZE

UNRESERVED = "-_.~"
SHORT_EXPIRY = 15 * 60  # what the pages' own requests get at most
MAX_EXPIRY = 7 * 24 * 3600  # a share link: SigV4's limit
MAX_KEY_BYTES = 1024
_CANNED = frozenset({"private", "public-read"})
_LIST_PARAMS = frozenset({"prefix", "delimiter", "continuation-token", "max-keys", "start-after"})
_VERSION_LIST_PARAMS = frozenset({"prefix", "max-keys", "key-marker", "version-id-marker"})
_VERSION = frozenset({"versionId"})
_MD5 = (("content-md5", None),)  # S3 requires it of these documents
# The minimum size of a transition is a header of the request, not of the document.
_LIFECYCLE_HEADERS = (*_MD5, (MINIMUM_SIZE, frozenset(MINIMUM_SIZES)))


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    needs_bucket: bool
    needs_key: bool
    fixed: tuple[tuple[str, str], ...] = ()  # query parameters the operation is made of
    allowed: frozenset[str] = frozenset()  # those the browser may set
    shareable: bool = False  # may live up to MAX_EXPIRY
    # headers the signature covers, each with the values the browser may give it (None:
    # any value, as the Content-MD5 of a body)
    headers: tuple[tuple[str, frozenset[str] | None], ...] = ()


OPERATIONS = {
    "ListBuckets": Operation("GET", False, False),
    "ListObjectsV2": Operation("GET", True, False, (("list-type", "2"),), _LIST_PARAMS),
    "CreateBucket": Operation("PUT", True, False),
    "DeleteBucket": Operation("DELETE", True, False),
    "GetObject": Operation(
        "GET", True, True, allowed=frozenset({"response-content-disposition"}), shareable=True
    ),
    "HeadObject": Operation("HEAD", True, True),
    "GetObjectTagging": Operation("GET", True, True, (("tagging", ""),)),
    "PutObject": Operation("PUT", True, True),
    "DeleteObject": Operation("DELETE", True, True),
    "CreateMultipartUpload": Operation("POST", True, True, (("uploads", ""),)),
    "UploadPart": Operation("PUT", True, True, allowed=frozenset({"partNumber", "uploadId"})),
    "CompleteMultipartUpload": Operation("POST", True, True, allowed=frozenset({"uploadId"})),
    "AbortMultipartUpload": Operation("DELETE", True, True, allowed=frozenset({"uploadId"})),
    "RestoreObject": Operation("POST", True, True, (("restore", ""),)),
    "GetBucketAcl": Operation("GET", True, False, (("acl", ""),)),
    # Public or private: canned ACLs, so that PublicAccessBlock and the owner checks apply.
    # As in S3, a public bucket lists its keys to anyone; an object is read by anyone
    # only if it is public itself.
    "PutBucketAcl": Operation(
        "PUT", True, False, (("acl", ""),), headers=(("x-amz-acl", _CANNED),)
    ),
    "GetObjectAcl": Operation("GET", True, True, (("acl", ""),)),
    "PutObjectAcl": Operation("PUT", True, True, (("acl", ""),), headers=(("x-amz-acl", _CANNED),)),
    "GetBucketCors": Operation("GET", True, False, (("cors", ""),)),
    "PutBucketCors": Operation("PUT", True, False, (("cors", ""),)),
    "DeleteBucketCors": Operation("DELETE", True, False, (("cors", ""),)),
}
# What the console's server side signs for the signed-in key, for its own pages (the
# bucket settings and versions pages, console/s3_inprocess.py): the browser's, and the
# versions, object lock, policy and lifecycle operations, which the browser never signs.
SERVER_OPERATIONS = {
    **OPERATIONS,
    "GetObject": Operation("GET", True, True, allowed=_VERSION | {"response-content-disposition"}),
    "DeleteObject": Operation("DELETE", True, True, allowed=_VERSION),
    "HeadObject": Operation("HEAD", True, True, allowed=_VERSION),
    "GetBucketVersioning": Operation("GET", True, False, (("versioning", ""),)),
    "PutBucketVersioning": Operation("PUT", True, False, (("versioning", ""),)),
    "ListObjectVersions": Operation("GET", True, False, (("versions", ""),), _VERSION_LIST_PARAMS),
    "GetObjectLockConfiguration": Operation("GET", True, False, (("object-lock", ""),)),
    "PutObjectLockConfiguration": Operation(
        "PUT", True, False, (("object-lock", ""),), headers=_MD5
    ),
    "GetBucketPolicy": Operation("GET", True, False, (("policy", ""),)),
    "PutBucketPolicy": Operation("PUT", True, False, (("policy", ""),)),
    "DeleteBucketPolicy": Operation("DELETE", True, False, (("policy", ""),)),
    "GetBucketLifecycleConfiguration": Operation("GET", True, False, (("lifecycle", ""),)),
    "PutBucketLifecycleConfiguration": Operation(
        "PUT", True, False, (("lifecycle", ""),), headers=_LIFECYCLE_HEADERS
    ),
    "DeleteBucketLifecycle": Operation("DELETE", True, False, (("lifecycle", ""),)),
}


class BadPresign(ValueError):
    """The request for a URL is not one the console signs; the message says why."""


@dataclass(frozen=True, slots=True)
class Signed:
    method: str
    url: str  # path and query: the browser resolves it against the console's origin


def _quote(text: str, safe: str = UNRESERVED) -> str:
    return quote(text, safe=safe)


def _path(bucket: str, key: str) -> str:
    if not bucket:
        return "/"
    return "/" + _quote(bucket) + "/" + _quote(key, "/" + UNRESERVED)


def _check_headers(op_name: str, op: Operation, headers: dict[str, str]) -> None:
    wanted = dict(op.headers)
    for name, value in headers.items():
        if name not in wanted:
            raise BadPresign(f"{op_name} signs no header {name}")
        allowed = wanted[name]
        if allowed is not None and value not in allowed:
            raise BadPresign(f"{name} is one of {', '.join(sorted(allowed))}")
    missing = sorted(set(wanted) - set(headers))
    if missing:
        raise BadPresign(f"{op_name} needs the header {', '.join(missing)}")


def check(op_name: str, bucket: str, key: str, params: dict[str, str], expires: int,
          headers: dict[str, str] | None = None,
          operations: Mapping[str, Operation] = OPERATIONS) -> Operation:  # fmt: skip
    op = operations.get(op_name)
    if op is None:
        raise BadPresign(f"the console does not sign {op_name!r}")
    if op.needs_bucket != bool(bucket) or (op.needs_bucket and ("/" in bucket or len(bucket) > 63)):
        raise BadPresign("a bucket name is needed" if op.needs_bucket else "no bucket here")
    if op.needs_key != bool(key) or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise BadPresign("an object key is needed (at most 1024 bytes)" if op.needs_key else
                         "no object key here")  # fmt: skip
    unknown = sorted(set(params) - op.allowed)
    if unknown:
        raise BadPresign(f"{op_name} takes no parameter {', '.join(unknown)}")
    limit = MAX_EXPIRY if op.shareable else SHORT_EXPIRY
    if not 1 <= expires <= limit:
        raise BadPresign(f"the lifetime of a {op_name} URL is 1 to {limit} seconds")
    _check_headers(op_name, op, headers or {})
    return op


def presign(
    op_name: str, bucket: str, key: str, params: dict[str, str], expires: int, *,
    host: str, access_key: str, secret_key: str, region: str, now: datetime | None = None,
    headers: dict[str, str] | None = None, operations: Mapping[str, Operation] = OPERATIONS,
) -> Signed:  # fmt: skip
    """A URL for one request, valid ``expires`` seconds, signed for ``host`` and for
    ``headers`` (which the browser must then send with exactly these values)."""
    op = check(op_name, bucket, key, params, expires, headers, operations)
    signed = sorted({"host": host, **(headers or {})}.items())
    names = ";".join(name for name, _ in signed)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    query = [
        *op.fixed,
        *params.items(),
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", f"{access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", names),
    ]
    canonical_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query))
    path = _path(bucket, key)
    lines = "".join(f"{name}:{value}\n" for name, value in signed)
    canonical = "\n".join((op.method, path, canonical_query, lines, names, "UNSIGNED-PAYLOAD"))
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{digest}"
    key_bytes = signing_key(secret_key, amz_date[:8], region, "s3")
    signature = sign(key_bytes, to_sign).decode("ascii")
    return Signed(op.method, f"{path}?{canonical_query}&X-Amz-Signature={signature}")
