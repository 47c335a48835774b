"""The RestoreRequest document of RestoreObject."""

from __future__ import annotations

from oortgate.errors import S3Error
from oortgate.numbers import parse_count
from oortgate.xml.core import child_text, parse

MAX_RESTORE_DAYS = 1_000_000  # some 2,700 years: the expiry date must stay a date


def parse_restore_days(body: bytes) -> int:
    """The Days a RestoreRequest asks for (1 for an empty body or no Days)."""
    if not body.strip():
        return 1
    root = parse(body)
    value = child_text(root, "Days")
    days = parse_count(value) if value is not None else 1
    if root.tag != "RestoreRequest" or days is None:
        raise S3Error("MalformedXML")
    if not 1 <= days <= MAX_RESTORE_DAYS:
        raise S3Error("InvalidArgument", f"Days must be a positive integer up to "
                      f"{MAX_RESTORE_DAYS}", ArgumentName="Days")  # fmt: skip
    return days
