"""Object metadata between HTTP headers and ObjectRecord: parsing, limits, rendering."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping

from oortgate.auth.checksums import checksum_type as values_type
from oortgate.auth.checksums import header_name
from oortgate.endpoints import ARCHIVE
from oortgate.errors import S3Error
from oortgate.headertext import is_header_name, is_header_value
from oortgate.meta.models import Bucket, ObjectRecord

META_PREFIX = "x-amz-meta-"
MAX_USER_METADATA = 2048
MAX_KEY_BYTES = 1024
REDIRECT = "x-amz-website-redirect-location"  # stored and returned; no website serves it
MAX_REDIRECT = 2048
SYSTEM_HEADERS = (
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
    REDIRECT,
)
STORAGE_CLASSES = frozenset(
    "STANDARD REDUCED_REDUNDANCY STANDARD_IA ONEZONE_IA INTELLIGENT_TIERING GLACIER "
    "DEEP_ARCHIVE OUTPOSTS GLACIER_IR SNOW EXPRESS_ONEZONE".split()
)
DEFAULT_CONTENT_TYPE = "binary/octet-stream"


def check_key(key: str) -> None:
    if "\x00" in key:  # (as oortgate.http.routing refuses it in a path)
        raise S3Error("InvalidArgument", "Object keys may not contain the character U+0000.",
                      ArgumentName="key")  # fmt: skip
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", Size=str(len(key.encode())), MaxSizeAllowed="1024")


def _kept(name: str, value: str) -> str:
    """A header value stored with the object, to be sent back on every GET and HEAD."""
    if not is_header_name(name):
        raise S3Error("InvalidArgument", "A metadata name may only hold the characters of "
                      "an HTTP header name.", ArgumentName=name)  # fmt: skip
    if not is_header_value(value):
        raise S3Error("InvalidArgument", f"The value of the {name} header is not valid UTF-8 "
                      "text, or holds control characters.", ArgumentName=name,
                      ArgumentValue=value)  # fmt: skip
    return value


def user_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    meta = {
        name[len(META_PREFIX) :]: _kept(name, value)
        for name, value in headers.items()
        if name.startswith(META_PREFIX)
    }
    size = sum(len(k.encode()) + len(v.encode()) for k, v in meta.items())
    if size > MAX_USER_METADATA:
        raise S3Error("MetadataTooLarge", Size=str(size), MaxSizeAllowed=str(MAX_USER_METADATA))
    return meta


def system_headers(headers: Mapping[str, str]) -> dict[str, str]:
    found = {name: _kept(name, headers[name]) for name in SYSTEM_HEADERS if name in headers}
    encoding = found.get("content-encoding")
    if encoding is not None:
        kept = stored_content_encoding(encoding)
        if kept:
            found["content-encoding"] = kept
        else:
            del found["content-encoding"]
    if REDIRECT in found:
        _check_redirect(found[REDIRECT])
    return found


def stored_content_encoding(value: str) -> str:
    """The Content-Encoding as sent, spacing included ("deflate, gzip"), minus the
    aws-chunked token: that is transport framing, never part of the stored object."""
    kept = [c for c in value.split(",") if c.strip().lower() != "aws-chunked"]
    return ",".join(kept).strip()


def copied_system_headers(source: Mapping[str, str], headers: Mapping[str, str]) -> dict[str, str]:
    """A copy keeps the source's headers but its redirect location, which is each
    object's own: only the request's (AWS)."""
    kept = {name: value for name, value in source.items() if name != REDIRECT}
    if REDIRECT in headers:
        _check_redirect(headers[REDIRECT])
        kept[REDIRECT] = headers[REDIRECT]
    return kept


def _check_redirect(value: str) -> None:
    if not value.startswith(("/", "http://", "https://")):
        raise S3Error("InvalidArgument", "The website redirect location must have a prefix of "
                      "'http://' or 'https://' or '/'.", ArgumentName=REDIRECT,
                      ArgumentValue=value)  # fmt: skip
    if len(value) > MAX_REDIRECT:
        raise S3Error("InvalidArgument", "The length of website redirect location cannot "
                      f"exceed {MAX_REDIRECT:,} characters.", ArgumentName=REDIRECT)  # fmt: skip


def content_type(headers: Mapping[str, str]) -> str:
    value = headers.get("content-type")
    return _kept("content-type", value) if value else DEFAULT_CONTENT_TYPE


def storage_class(headers: Mapping[str, str], bucket: Bucket, archive_class: str) -> str:
    """A bucket's tier decides its objects' class: STANDARD on the standard tier, the
    configured archive class (default GLACIER_IR) on the archive tier. Asking for the
    other tier's class is refused: objects change tier by being copied into a bucket of
    the other tier."""
    own = archive_class if bucket.tier == ARCHIVE else "STANDARD"
    value = headers.get("x-amz-storage-class", own)
    if value not in STORAGE_CLASSES:
        raise S3Error(
            "InvalidStorageClass",
            "The storage class you specified is not valid",
            StorageClassRequested=value,
        )
    if value != own:
        raise S3Error(
            "InvalidStorageClass",
            f"The storage class {value} is not offered by the {bucket.tier} tier of bucket "
            f"{bucket.name} (its objects are {own}); copy the object into a bucket of the "
            "other tier to move it.",
            StorageClassRequested=value,
        )
    return value


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(epoch: float) -> str:
    """RFC 7231 date, as email.utils.formatdate(usegmt=True) writes it (in English, not
    the locale's names), in a fraction of its time: every GET and HEAD shows one."""
    return _http_date(int(epoch))


@functools.lru_cache(maxsize=4096)
def _http_date(second: int) -> str:
    t = time.gmtime(second)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def object_headers(record: ObjectRecord, *, checksums: bool) -> list[tuple[str, str]]:
    headers = [
        ("etag", f'"{record.etag}"'),
        ("last-modified", http_date(record.last_modified)),
        ("content-type", record.content_type),
        ("accept-ranges", "bytes"),
    ]
    headers.extend(record.system_headers.items())
    headers.extend((META_PREFIX + k, v) for k, v in record.user_metadata.items())
    if record.storage_class != "STANDARD":
        headers.append(("x-amz-storage-class", record.storage_class))
    if record.tags:
        headers.append(("x-amz-tagging-count", str(len(record.tags))))
    if checksums:
        headers.extend(checksum_headers(record))
    return headers


def checksum_headers(record: ObjectRecord) -> list[tuple[str, str]]:
    headers = [(header_name(alg), value) for alg, value in record.checksums.items()]
    if headers:
        headers.append(("x-amz-checksum-type", checksum_type(record)))
    return headers


def checksum_type(record: ObjectRecord) -> str:
    return values_type(record.checksums)
