"""Tag sets of objects and buckets: parsing and AWS's limits (the XML document is in
oortgate.xml.tagging). Pure.

A tag set arrives as a ``Tagging`` XML document (Put*Tagging, a POST form's ``tagging``
field) or as the URL-query-encoded ``x-amz-tagging`` header (PutObject, CopyObject,
CreateMultipartUpload). Either way it becomes a dict, sorted by key (S3 gives tags back
in key order).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from urllib.parse import unquote_to_bytes

from oortgate.errors import S3Error
from oortgate.xml.tagging import parse_tagging

Tags = dict[str, str]

OBJECT_LIMIT = 10
BUCKET_LIMIT = 50
MAX_KEY_LENGTH = 128  # UTF-16 code units, as S3 counts them
MAX_VALUE_LENGTH = 256
MAX_DOCUMENT = 64 * 1024
RESERVED_PREFIX = "aws:"
_SYMBOLS = frozenset(" _.:/=+-@")
_BAD_HEADER = (
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
    "parameters without tag name duplicates."
)
_TOO_MANY = {
    OBJECT_LIMIT: "Object tags cannot be greater than 10",
    BUCKET_LIMIT: "Bucket tag count cannot be greater than 50",
}


def _allowed(text: str) -> bool:
    """Unicode letters, numbers and spaces, and the symbols _ . : / = + - @ (AWS)."""
    return all(c in _SYMBOLS or unicodedata.category(c)[0] in "LNZ" for c in text)


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def validate(pairs: Iterable[tuple[str, str]], limit: int) -> Tags:
    """Check each tag in order (the first bad one is the error), then the count."""
    tags: Tags = {}
    for key, value in pairs:
        if not key or _length(key) > MAX_KEY_LENGTH or not _allowed(key):
            raise S3Error("InvalidTag", "The TagKey you have provided is invalid", TagKey=key)
        if key.lower().startswith(RESERVED_PREFIX):
            raise S3Error("InvalidTag", "Your TagKey cannot be prefixed with aws:", TagKey=key)
        if _length(value) > MAX_VALUE_LENGTH or not _allowed(value):
            raise S3Error("InvalidTag", "The TagValue you have provided is invalid",
                          TagKey=key, TagValue=value)  # fmt: skip
        if key in tags:
            raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key",
                          TagKey=key)  # fmt: skip
        tags[key] = value
    if len(tags) > limit:
        raise S3Error("BadRequest", _TOO_MANY[limit])
    return dict(sorted(tags.items()))


def parse_document(body: bytes, limit: int) -> Tags:
    """A ``<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>`` document."""
    return validate(parse_tagging(body), limit)


def parse_form_field(value: str | None) -> Tags:
    """A POST form's ``tagging`` field: a Tagging XML document, as in the AWS docs."""
    return parse_document(value.encode("utf-8"), OBJECT_LIMIT) if value else {}


def parse_header(value: str | None) -> Tags:
    """``x-amz-tagging: k1=v1&k2`` (form-encoded; a key alone has the empty value)."""
    if not value:
        return {}
    pairs = []
    for part in value.split("&"):
        if not part:
            continue
        if part.count("=") > 1:
            raise _bad_header(value)
        key, _, val = part.partition("=")
        pairs.append((_form_decode(key, value), _form_decode(val, value)))
    keys = [key for key, _ in pairs]
    if "" in keys or len(set(keys)) != len(keys):
        raise _bad_header(value)
    return validate(pairs, OBJECT_LIMIT)


def _form_decode(text: str, header: str) -> str:
    try:
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        raise _bad_header(header) from None


def _bad_header(value: str) -> S3Error:
    return S3Error("InvalidArgument", _BAD_HEADER, ArgumentName="x-amz-tagging",
                   ArgumentValue=value)  # fmt: skip


def copied(headers: Mapping[str, str], source: Tags) -> Tags:
    """CopyObject's tags: the source's (COPY, the default) or x-amz-tagging's (REPLACE)."""
    directive = headers.get("x-amz-tagging-directive", "COPY")
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown tagging directive.",
                      ArgumentName="x-amz-tagging-directive", ArgumentValue=directive)  # fmt: skip
    return parse_header(headers.get("x-amz-tagging")) if directive == "REPLACE" else source
