"""AWS Signature Version 2 for S3: ``Authorization: AWS AK:sig`` and presigned queries.

Still what boto3 presigns with in us-east-1 unless told otherwise, and what s3cmd speaks
with ``signature_v2 = True``. Sans-I/O, like sigv4: ``parse`` then ``verify``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from oortgate.auth.clock import check_expiry, check_skew, signed_request_time
from oortgate.auth.sigv4 import RequestView
from oortgate.errors import S3Error
from oortgate.headertext import is_text
from oortgate.numbers import parse_count

# The query sub-resources that belong in the canonical resource (botocore's list).
SUBRESOURCES: Final = frozenset(
    "accelerate acl cors defaultObjectAcl location logging partNumber policy requestPayment "
    "torrent versioning versionId versions website uploads uploadId response-content-type "
    "response-content-language response-expires response-cache-control "
    "response-content-disposition response-content-encoding delete lifecycle tagging restore "
    "storageClass notification replication analytics metrics inventory select select-type "
    "object-lock".split()
)
_LAST_SECOND: Final = 253402300799  # 9999-12-31T23:59:59Z, the last one datetime holds
_MAX_EXPIRES_DIGITS: Final = 64  # a bound on int()'s work; far past any real deadline


@dataclass(frozen=True)
class SigV2Credentials:
    access_key: str
    signature: str
    presigned: bool
    expires: int | None  # epoch seconds, presigned only


def parse(view: RequestView) -> SigV2Credentials:
    auth = view.headers.get("authorization")
    if auth is not None:
        body = auth[4:] if auth.startswith("AWS ") else ""
        access_key, sep, signature = body.strip().rpartition(":")
        if not sep or not access_key or not signature or not is_text(auth):
            raise S3Error(
                "InvalidArgument",
                "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
                ArgumentName="Authorization",
                ArgumentValue=auth,
            )
        return SigV2Credentials(access_key, signature, False, None)
    query = dict(view.query)
    try:
        access_key, signature = query["AWSAccessKeyId"], query["Signature"]
        expires = _parse_expires(query["Expires"])
    except (KeyError, ValueError) as exc:
        raise S3Error(
            "AccessDenied",
            "Query-string authentication requires the Signature, "
            "Expires and AWSAccessKeyId parameters",
        ) from exc
    return SigV2Credentials(access_key, signature, True, expires)


def _parse_expires(value: str) -> int:
    """Epoch seconds, in ASCII digits (int() also takes "+1", " 1", other scripts' digits)."""
    expires = parse_count(value, max_digits=_MAX_EXPIRES_DIGITS) if value.isdigit() else None
    if expires is None:
        raise ValueError(value)
    return expires


def canonical_resource(view: RequestView, path: str | None = None) -> str:
    path = view.path if path is None else path
    pairs = sorted((k, v) for k, v in view.query if k in SUBRESOURCES)
    if not pairs:
        return path
    return path + "?" + "&".join(f"{k}={v}" if v else k for k, v in pairs)


def _paths(view: RequestView) -> list[str]:
    """AWS's canonical resource of a bucket is "/bucket/" (what botocore signs even for
    the path-style URL "/bucket"); other clients sign the path as sent."""
    if view.path.count("/") == 1 and len(view.path) > 1:
        return [view.path + "/", view.path]
    return [view.path]


def string_to_sign(view: RequestView, date_line: str, path: str | None = None) -> str:
    headers = view.headers
    amz = sorted((k, v) for k, v in headers.items() if k.startswith("x-amz-"))
    lines = [
        view.method,
        headers.get("content-md5", ""),
        headers.get("content-type", ""),
        date_line,
    ]
    # A value is signed as sent (trimmed); repeated headers arrive joined with ",", which
    # is also how the signers join them.
    lines.extend(f"{k}:{v.strip()}" for k, v in amz)
    lines.append(canonical_resource(view, path))
    return "\n".join(lines)


def _date_lines(view: RequestView, creds: SigV2Credentials) -> list[str]:
    if creds.presigned:
        return [str(creds.expires)]
    # With x-amz-date, AWS signs an empty Date line; botocore signs Date regardless.
    lines = [view.headers.get("date", "")]
    if "x-amz-date" in view.headers:
        lines.insert(0, "")
    return lines


def _check_time(view: RequestView, creds: SigV2Credentials, now: datetime) -> None:
    if creds.presigned:
        assert creds.expires is not None
        # Any number of digits may be signed; past year 9999 it never expires anyway.
        deadline = datetime.fromtimestamp(min(creds.expires, _LAST_SECOND), UTC)
        check_expiry(deadline, now, {})
        return
    # x-amz-date wins over Date even when empty: AWS then refuses the request.
    headers = view.headers
    raw = headers["x-amz-date"] if "x-amz-date" in headers else headers.get("date")
    check_skew(signed_request_time(raw, iso=False), raw or "", now)


def verify(view: RequestView, creds: SigV2Credentials, secret_key: str, *, now: datetime) -> None:
    _check_time(view, creds, now)
    provided = creds.signature.encode()
    tried = ""
    for date_line in _date_lines(view, creds):
        for path in _paths(view):
            tried = string_to_sign(view, date_line, path)
            signed = tried.encode("utf-8", "surrogateescape")  # undecodable bytes as sent
            digest = hmac.new(secret_key.encode(), signed, hashlib.sha1).digest()
            if hmac.compare_digest(base64.b64encode(digest), provided):
                return
    raise S3Error(
        "SignatureDoesNotMatch",
        AWSAccessKeyId=creds.access_key,
        StringToSign=tried,
        SignatureProvided=creds.signature,
    )
