"""Conditional writes and deletes: their headers, and the early check.

The store checks the condition again inside the write's transaction (the check that
counts); the early one only spares uploading a body that is bound to be refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from oortgate.errors import S3Error
from oortgate.meta.models import ObjectRecord
from oortgate.meta.preconditions import Current, Precondition, check
from oortgate.numbers import parse_count
from oortgate.ops.conditions import parse_etags, parse_http_date
from oortgate.ops.context import Context


def write_condition(headers: Mapping[str, str]) -> Precondition | None:
    """If-Match / If-None-Match of PutObject, CopyObject (the destination) and
    CompleteMultipartUpload. AWS takes only "*" for If-None-Match on a write."""
    if_match = headers.get("if-match")
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None and if_none_match.strip() != "*":
        raise S3Error("NotImplemented", Header="If-None-Match", additionalMessage=(
            "We don't accept the provided value of If-None-Match header for this API"))  # fmt: skip
    if if_match is None and if_none_match is None:
        return None
    etags = None if if_match is None else parse_etags(if_match)
    return Precondition(if_match=etags, if_none_match=if_none_match is not None)


def delete_condition(headers: Mapping[str, str]) -> Precondition | None:
    """If-Match, x-amz-if-match-size and x-amz-if-match-last-modified-time of DeleteObject."""
    if_match = headers.get("if-match")
    size = headers.get("x-amz-if-match-size")
    modified = headers.get("x-amz-if-match-last-modified-time")
    if if_match is None and size is None and modified is None:
        return None
    if size is not None and parse_count(size) is None:
        raise S3Error("InvalidArgument", "x-amz-if-match-size must be a non-negative integer.",
                      ArgumentName="x-amz-if-match-size", ArgumentValue=size)  # fmt: skip
    when = None if modified is None else parse_http_date(modified)
    if modified is not None and when is None:
        raise S3Error("InvalidArgument", "x-amz-if-match-last-modified-time must be an HTTP date.",
                      ArgumentName="x-amz-if-match-last-modified-time",
                      ArgumentValue=modified)  # fmt: skip
    return Precondition(
        if_match=None if if_match is None else parse_etags(if_match),
        size=parse_count(size),
        last_modified=None if when is None else int(when),
    )


def object_condition(
    etag: str | None, size: str | None, modified: str | None
) -> Precondition | None:
    """The ETag, Size and LastModifiedTime of one <Object> of DeleteObjects."""
    if etag is None and size is None and modified is None:
        return None
    if size is not None and parse_count(size) is None:
        raise S3Error("MalformedXML")
    when = None if modified is None else _timestamp(modified.strip())
    return Precondition(
        if_match=None if etag is None else parse_etags(etag),
        size=parse_count(size),
        last_modified=when,
    )


def _timestamp(text: str) -> int:
    """Epoch seconds of an XML timestamp: botocore writes RFC 822 (the model says so for
    LastModifiedTime); ISO 8601 is accepted too (a zone-less one is UTC)."""
    parsed = parse_http_date(text)
    if parsed is not None:
        return int(parsed)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise S3Error("MalformedXML") from None
    return int(when.replace(tzinfo=when.tzinfo or UTC).timestamp())


def current(record: ObjectRecord | None) -> Current | None:
    return None if record is None else Current(record.etag, record.size, record.last_modified)


async def check_early(
    ctx: Context, bucket_id: int, key: str, condition: Precondition | None
) -> None:
    """Refuse now a write whose condition already fails on what the reader sees."""
    if condition is not None:
        check(condition, current(await ctx.meta.get_object(bucket_id, key)), key)


def lost_race(err: S3Error) -> S3Error:
    """What to answer when the store's check, inside the write's transaction, refuses a
    condition the early check found true: a concurrent write won the race meanwhile.
    AWS answers that 409 ConditionalRequestConflict (retry), keeping 412 for a condition
    that was false when the request came."""
    if err.code != "PreconditionFailed":
        return err
    return S3Error("ConditionalRequestConflict", Condition=err.fields.get("Condition", ""))
