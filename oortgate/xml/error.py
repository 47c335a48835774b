"""Reading an S3 error document back (the console shows what the S3 API refused)."""

from __future__ import annotations

from oortgate.errors import S3Error
from oortgate.xml.core import child_text, parse


def error_code_and_message(body: bytes) -> tuple[str, str]:
    """(Code, Message) of an S3 error document; for a body that is not one, ("Error",
    the start of the body), so the caller can still show something."""
    try:
        root = parse(body)
    except S3Error:
        return "Error", body[:200].decode("utf-8", "replace")
    return child_text(root, "Code") or "Error", child_text(root, "Message") or ""
