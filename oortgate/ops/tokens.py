"""Opaque continuation tokens: the last name returned, so paging resumes after it."""

from __future__ import annotations

import base64
import binascii

from oortgate.errors import S3Error


def encode(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii")


def decode(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise S3Error(
            "InvalidArgument",
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
        ) from exc


def int_param(value: str | None, name: str, default: int, maximum: int) -> int:
    """A non-negative integer query parameter, capped at maximum as S3 caps max-keys."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise S3Error(
            "InvalidArgument",
            f"Provided {name} not an integer or within integer range",
            ArgumentName=name,
            ArgumentValue=value,
        ) from exc
    if number < 0:
        raise S3Error(
            "InvalidArgument",
            f"Argument {name} must be an integer between 0 and 2147483647",
            ArgumentName=name,
            ArgumentValue=value,
        )
    return min(number, maximum)
