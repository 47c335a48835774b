"""What the current object must be for a conditional write or delete to go ahead. Pure.

The store checks a ``Precondition`` inside the write's own transaction, against the row
as committed (the authoritative check: of two racing ``If-None-Match: *`` writes, the
second to commit fails); handlers may run the same check early, on what the reader sees,
so that a write bound to fail is refused before its body is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from oortgate.errors import S3Error

ANY_ETAG = "*"


class Current(NamedTuple):
    """What a precondition compares: the object at the key now."""

    etag: str
    size: int
    last_modified: float


@dataclass(frozen=True, slots=True)
class Precondition:
    # If-Match: bare ETags (no quotes), or {"*"}; the object must exist and match one.
    if_match: frozenset[str] | None = None
    # If-None-Match: * : no object may exist at the key.
    if_none_match: bool = False
    # x-amz-if-match-size / -last-modified-time (DeleteObject(s) only): checked when
    # the object exists; a missing object passes (as AWS documents).
    size: int | None = None
    last_modified: int | None = None  # epoch seconds (Last-Modified's resolution)


def check(condition: Precondition | None, current: Current | None, key: str) -> None:
    """Raise 412 PreconditionFailed (or 404 NoSuchKey: If-Match on a missing key) unless
    ``current`` satisfies the condition."""
    if condition is None:
        return
    if condition.if_none_match and current is not None:
        raise S3Error("PreconditionFailed", Condition="If-None-Match")
    if condition.if_match is not None:
        if current is None:
            raise S3Error("NoSuchKey", Key=key)
        if ANY_ETAG not in condition.if_match and current.etag not in condition.if_match:
            raise S3Error("PreconditionFailed", Condition="If-Match")
    if current is None:
        return
    if condition.size is not None and condition.size != current.size:
        raise S3Error("PreconditionFailed", Condition="x-amz-if-match-size")
    if condition.last_modified is not None and condition.last_modified != int(
        current.last_modified
    ):
        raise S3Error("PreconditionFailed", Condition="x-amz-if-match-last-modified-time")
