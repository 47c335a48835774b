"""Request times, shared by SigV4 and SigV2: clock skew and presigned-URL expiry."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final

from oortgate.errors import S3Error

MAX_SKEW: Final = timedelta(minutes=15)
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NO_VALID_DATE: Final = "AWS authentication requires a valid Date or x-amz-date header"
ISO_BASIC: Final = "%Y%m%dT%H%M%SZ"  # x-amz-date, as SigV4 signs it


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_skew(sent: datetime, sent_raw: str, now: datetime) -> None:
    """RequestTimeTooSkewed when a signed request's time is over 15 minutes off."""
    if abs(now - sent) > MAX_SKEW:
        raise S3Error(
            "RequestTimeTooSkewed",
            RequestTime=sent_raw,
            ServerTime=iso(now),
            MaxAllowedSkewMilliseconds=str(int(MAX_SKEW.total_seconds() * 1000)),
        )


def check_expiry(deadline: datetime, now: datetime, fields: dict[str, str]) -> None:
    """AccessDenied "Request has expired" past a presigned URL's deadline."""
    if now > deadline:
        exc = S3Error("AccessDenied", "Request has expired")
        # Set after construction: "X-Amz-Expires" is not a Python identifier.
        exc.fields.update({**fields, "Expires": iso(deadline), "ServerTime": iso(now)})
        raise exc


def is_iso_basic(value: str) -> bool:
    """Exactly YYYYMMDDTHHMMSSZ, as every SDK sends it."""
    return (
        len(value) == 16
        and value[8] == "T"
        and value[15] == "Z"
        and value[:8].isdigit()
        and value[9:15].isdigit()
        and value.isascii()
    )


@functools.lru_cache(maxsize=1024)  # a second's requests, and a presigned URL's, share it
def parse_iso(value: str) -> datetime | None:
    value = value.strip()
    try:
        if is_iso_basic(value):  # the common form, without strptime's cost
            return datetime(int(value[:4]), int(value[4:6]), int(value[6:8]),
                            int(value[9:11]), int(value[11:13]), int(value[13:15]),
                            tzinfo=UTC)  # fmt: skip
        return datetime.strptime(value, ISO_BASIC).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value.strip())
        # OverflowError: "31 Dec 9999 23:59:59 -2359" is past year 9999 in UTC.
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def signed_request_time(raw: str | None, *, iso: bool) -> datetime:
    """The time a header-signed request claims (``iso``: ISO 8601 basic accepted too).

    AccessDenied when it is missing, unreadable or before 1970: AWS answers a date
    before the epoch that way, not with RequestTimeTooSkewed (ceph's s3-tests)."""
    parsed = None if raw is None else (iso and parse_iso(raw)) or parse_http_date(raw)
    if parsed is None or parsed < EPOCH:
        raise S3Error("AccessDenied", _NO_VALID_DATE)
    return parsed
