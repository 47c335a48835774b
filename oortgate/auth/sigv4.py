"""AWS Signature Version 4 for S3: the Authorization header and presigned query forms.

Sans-I/O: ``parse`` reads what a request claims, ``verify`` checks it once the caller
has looked up the secret key. Errors are ``S3Error`` with the codes and fields AWS uses.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from oortgate.auth.clock import (
    ISO_BASIC,
    MAX_SKEW,
    check_expiry,
    check_skew,
    is_iso_basic,
    parse_iso,
    signed_request_time,
)
from oortgate.auth.signed_headers import check_all_signed
from oortgate.auth.sigv4_keys import sign, signing_key
from oortgate.errors import S3Error
from oortgate.headertext import is_text
from oortgate.numbers import MAX_DIGITS

ALGORITHM: Final = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
MAX_EXPIRES: Final = 604800
_UNRESERVED: Final = "-_.~"
_DATE_RE: Final = re.compile(r"\d{8}")
_PRESIGN_PARAMS: Final = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
_MISSING_PRESIGN: Final = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)
_BAD_CREDENTIAL: Final = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
_EXPIRES_RANGE: Final = (
    "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
    "must be less than 604800 seconds"
)
_EXPIRES_NEGATIVE: Final = "X-Amz-Expires must be non-negative"


class NotSigV4(Exception):
    """The request carries SigV2 credentials; route it to the SigV2 verifier instead."""


@dataclass(slots=True)  # one per request: not frozen, for a cheap __init__
class RequestView:
    """The parts of an HTTP request that SigV4 signs."""

    method: str
    path: str  # raw, still percent-encoded, without the query
    query: list[tuple[str, str]]  # decoded pairs, as parse_qsl(keep_blank_values=True)
    headers: Mapping[str, str]  # lowercase names, repeated values joined with ","


@dataclass(slots=True)  # one per request: slots, not frozen, for a cheap __init__
class SigV4Credentials:
    """What the request claims, before any secret key is known."""

    access_key: str
    date: str  # credential scope date, YYYYMMDD
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: datetime  # UTC
    presigned: bool
    expires: int | None
    payload_hash: str
    amz_date_raw: str = ""  # the timestamp exactly as sent (for RequestTime in errors)

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"

    @property
    def amz_date_str(self) -> str:
        raw = self.amz_date_raw
        return raw if is_iso_basic(raw) else self.amz_date.strftime(ISO_BASIC)


@dataclass(slots=True)  # one per request: not frozen, for a cheap __init__
class SigningContext:
    """What a verified request hands to the aws-chunked decoder."""

    signing_key: bytes
    seed_signature: str
    amz_date_str: str
    scope: str


# --------------------------------------------------------------------------- parsing


def parse(view: RequestView) -> SigV4Credentials | None:
    """Read SigV4 credentials from a request; None when it is anonymous.

    Raises ``NotSigV4`` for SigV2 requests and ``S3Error`` for malformed SigV4 ones.
    """
    auth = view.headers.get("authorization")
    names = {name for name, _ in view.query}
    if auth is not None:
        if "X-Amz-Algorithm" in names:
            raise S3Error(
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be "
                "specified",
            )
        if auth.startswith("AWS "):
            raise NotSigV4()
        return _parse_header(view, auth)
    if names & set(_PRESIGN_PARAMS):
        return _parse_query(view)
    if "AWSAccessKeyId" in names and "Signature" in names:
        raise NotSigV4()
    return None


def _parse_header(view: RequestView, auth: str) -> SigV4Credentials:
    algorithm, _, rest = auth.strip().partition(" ")
    if algorithm != ALGORITHM or not is_text(auth):  # a key or signature is UTF-8 text
        raise _header_malformed()
    params: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        name, sep, value = part.partition("=")
        if not sep:
            raise _header_malformed()
        params[name.strip()] = value.strip()
    try:
        credential = params["Credential"]
        signed = params["SignedHeaders"]
        signature = params["Signature"]
    except KeyError:
        raise _header_malformed() from None
    access_key, date, region, service = _split_credential(credential, presigned=False)
    signed_headers = _split_signed_headers(signed, presigned=False)
    raw_date, amz_date = _header_date(view.headers)
    payload_hash = view.headers.get("x-amz-content-sha256")
    if payload_hash is None:
        raise S3Error(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256"
        )
    return SigV4Credentials(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=signed_headers,
        signature=signature,
        amz_date=amz_date,
        presigned=False,
        expires=None,
        payload_hash=payload_hash.strip(),
        amz_date_raw=raw_date,
    )


def _parse_query(view: RequestView) -> SigV4Credentials:
    query: dict[str, str] = {}
    for name, value in view.query:
        query.setdefault(name, value)
    if any(name not in query for name in _PRESIGN_PARAMS):
        raise _query_error(_MISSING_PRESIGN)
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise _query_error('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    access_key, date, region, service = _split_credential(query["X-Amz-Credential"], presigned=True)
    raw_date = query["X-Amz-Date"]
    amz_date = parse_iso(raw_date)
    if amz_date is None:
        raise _query_error("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    return SigV4Credentials(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=_split_signed_headers(query["X-Amz-SignedHeaders"], presigned=True),
        signature=query["X-Amz-Signature"],
        amz_date=amz_date,
        presigned=True,
        expires=_parse_expires(query["X-Amz-Expires"]),
        payload_hash=query.get("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD),
        amz_date_raw=raw_date,
    )


def _split_credential(value: str, *, presigned: bool) -> tuple[str, str, str, str]:
    # rsplit: the four scope parts never contain "/", so they anchor the split.
    parts = value.strip().rsplit("/", 4)
    if (
        len(parts) != 5
        or not parts[0]
        or not _DATE_RE.fullmatch(parts[1])
        or not parts[2]
        or not parts[3]
        or parts[4] != "aws4_request"
    ):
        if presigned:
            raise _query_error("Error parsing the X-Amz-Credential parameter; " + _BAD_CREDENTIAL)
        raise _header_malformed("The authorization header is malformed; " + _BAD_CREDENTIAL)
    return parts[0], parts[1], parts[2], parts[3]


def _split_signed_headers(value: str, *, presigned: bool) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in value.split(";"))
    if "host" not in names or "" in names:
        if presigned:
            raise _query_error("Query-string authentication requires the host header be signed")
        raise _header_malformed(
            "The authorization header is malformed; the host header must be signed"
        )
    return names


def _header_date(headers: Mapping[str, str]) -> tuple[str, datetime]:
    # x-amz-date wins over Date; either may use ISO 8601 basic or the HTTP date format.
    raw = headers.get("x-amz-date", headers.get("date"))
    return raw or "", signed_request_time(raw, iso=True)


def _parse_expires(value: str) -> int:
    digits = value.removeprefix("-")  # isascii: isdigit() also takes "²", int() does not
    if not (digits.isascii() and digits.isdigit()) or len(digits) > MAX_DIGITS:
        raise _query_error("X-Amz-Expires should be a number")
    # 403, not the 400 this code has elsewhere: what AWS answers (Ceph's s3-tests check it).
    # Zero parses, and the URL is then simply expired.
    expires = int(value)
    if expires < 0:
        raise S3Error("AuthorizationQueryParametersError", _EXPIRES_NEGATIVE, status=403)
    if expires > MAX_EXPIRES:
        raise S3Error("AuthorizationQueryParametersError", _EXPIRES_RANGE, status=403)
    return expires


def _header_malformed(message: str | None = None) -> S3Error:
    return S3Error("AuthorizationHeaderMalformed", message)


def _query_error(message: str) -> S3Error:
    return S3Error("AuthorizationQueryParametersError", message)


# ------------------------------------------------------------------ canonical forms


_PLAIN = re.compile(r"[A-Za-z0-9\-_.~]*")  # what URI encoding leaves as it is
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-_.~/]*")


@functools.lru_cache(maxsize=4096)  # a client's credential, algorithm, expiry... repeat
def _encode(value: str) -> str:
    if _PLAIN.fullmatch(value):  # most names and values: no quote() call
        return value
    return urllib.parse.quote(value, safe=_UNRESERVED)


def canonical_uri(raw_path: str) -> str:
    """S3 signs the path encoded once: decode what was sent, re-encode every byte."""
    if raw_path and _PLAIN_PATH.fullmatch(raw_path):
        return raw_path
    decoded = urllib.parse.unquote_to_bytes(raw_path or "/")
    return urllib.parse.quote(decoded, safe="/" + _UNRESERVED)


def canonical_query(query: list[tuple[str, str]], *, presigned: bool) -> str:
    pairs = sorted(
        (_encode(name), _encode(value))
        for name, value in query
        if not (presigned and name == "X-Amz-Signature")
    )
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_request(view: RequestView, creds: SigV4Credentials, *, uri: str | None = None) -> str:
    """The canonical request; ``uri`` overrides the re-encoded path (see ``verify``)."""
    names = sorted(creds.signed_headers)
    headers = "".join(f"{name}:{' '.join(view.headers.get(name, '').split())}\n" for name in names)
    return "\n".join(
        (
            view.method.upper(),
            canonical_uri(view.path) if uri is None else uri,
            canonical_query(view.query, presigned=creds.presigned),
            headers,
            ";".join(names),
            creds.payload_hash,
        )
    )


def string_to_sign(creds: SigV4Credentials, canonical_request: str) -> str:
    # A header that was not UTF-8 is hashed as the bytes the client signed.
    digest = hashlib.sha256(canonical_request.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{creds.amz_date_str}\n{creds.scope}\n{digest}"


# ---------------------------------------------------------------------- verifying


def verify(
    view: RequestView,
    creds: SigV4Credentials,
    secret_key: str,
    *,
    region: str,
    now: datetime,
) -> SigningContext:
    """Check scope, time and signature; raise ``S3Error`` on the first failure."""
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    _check_scope(creds, region)
    check_all_signed(view.headers, creds.signed_headers, presigned=creds.presigned)
    if creds.presigned:
        _check_presigned_time(creds, now)
    else:
        check_skew(creds.amz_date, creds.amz_date_raw or creds.amz_date_str, now)
    key = signing_key(secret_key, creds.date, creds.region, creds.service)
    provided = creds.signature.encode("utf-8")
    first_request = canonical_request(view, creds)
    first_sts = string_to_sign(creds, first_request)
    matched = hmac.compare_digest(sign(key, first_sts), provided)
    if not matched and view.path and view.path != canonical_uri(view.path):
        # Some clients encode the path differently from botocore; accept what they sent.
        raw_sts = string_to_sign(creds, canonical_request(view, creds, uri=view.path))
        matched = hmac.compare_digest(sign(key, raw_sts), provided)
    if not matched:
        raise S3Error(
            "SignatureDoesNotMatch",
            AWSAccessKeyId=creds.access_key,
            StringToSign=first_sts,
            SignatureProvided=creds.signature,
            CanonicalRequest=first_request,
        )
    return SigningContext(key, creds.signature, creds.amz_date_str, creds.scope)


def _check_scope(creds: SigV4Credentials, region: str) -> None:
    error = _query_error if creds.presigned else _header_malformed
    what = "X-Amz-Credential parameter" if creds.presigned else "authorization header"
    if creds.service != "s3":
        raise error(
            f'The {what} is malformed; incorrect service "{creds.service}". '
            'This endpoint belongs to "s3".'
        )
    if creds.region != region:
        exc = error(
            f"The {what} is malformed; the region '{creds.region}' is wrong; expecting '{region}'"
        )
        exc.fields["Region"] = region
        raise exc
    sent_date = creds.amz_date_str[:8]
    if creds.date != sent_date:
        raise error(
            f'The {what} is malformed; Invalid credential date "{creds.date}". '
            f'This date is not the same as X-Amz-Date: "{sent_date}".'
        )


def _check_presigned_time(creds: SigV4Credentials, now: datetime) -> None:
    expires = creds.expires or 0
    # A week after a date late in year 9999 is past what datetime holds: stop at its end.
    room = datetime.max.replace(tzinfo=UTC) - creds.amz_date
    deadline = creds.amz_date + min(timedelta(seconds=expires), room)
    check_expiry(deadline, now, {"X-Amz-Expires": str(expires)})
    if creds.amz_date - now > MAX_SKEW:
        raise S3Error("AccessDenied", "Request is not valid yet")
