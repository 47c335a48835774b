"""Conditional requests (If-Match & co.) with AWS's precedence rules. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from oortgate.errors import S3Error


def parse_etags(header: str) -> frozenset[str]:
    """The ETags an If-Match/If-None-Match list names, bare (no quotes, no W/); "*" kept."""
    tags = set()
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        tags.add(candidate if candidate == "*" else candidate.strip('"'))
    return frozenset(tags)


def etag_matches(header: str, etag: str) -> bool:
    """True if the If-Match/If-None-Match list names this ETag (or is '*')."""
    tags = parse_etags(header)
    return "*" in tags or etag in tags


def parse_http_date(value: str) -> float | None:
    """Epoch seconds of an HTTP date, or None if it is not one (then ignored, as AWS does)."""
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def evaluate(
    headers: Mapping[str, str], etag: str, last_modified: float, *, prefix: str = "if-"
) -> str | None:
    """Check the conditions; returns None (go ahead), "not-modified", or raises 412.

    AWS: If-Match true wins over If-Unmodified-Since false; If-None-Match false wins
    over If-Modified-Since true. Times compare at one-second resolution, as
    Last-Modified carries them.
    """
    modified = int(last_modified)
    if_match = headers.get(prefix + "match")
    if_none_match = headers.get(prefix + "none-match")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            raise S3Error("PreconditionFailed", Condition="If-Match")
    elif (since := _date(headers, prefix + "unmodified-since")) is not None and modified > since:
        raise S3Error("PreconditionFailed", Condition="If-Unmodified-Since")
    if if_none_match is not None:
        if etag_matches(if_none_match, etag):
            return "not-modified"
    elif (since := _date(headers, prefix + "modified-since")) is not None and modified <= since:
        return "not-modified"
    return None


def _date(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    parsed = parse_http_date(value)
    return None if parsed is None else int(parsed)
