"""Request times, shared by SigV4 and SigV2: clock skew and presigned-URL expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from oortgate.errors import S3Error

MAX_SKEW: Final = timedelta(minutes=15)


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
