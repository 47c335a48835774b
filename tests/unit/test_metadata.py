"""Object metadata taken from request headers."""

from __future__ import annotations

import pytest

from oortgate.ops.metadata import system_headers


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("gzip", "gzip"),
        ("deflate, gzip", "deflate, gzip"),
        ("gzip,aws-chunked", "gzip"),
        ("aws-chunked,gzip", "gzip"),
        ("gzip, aws-chunked, br", "gzip, br"),
        ("gzip, AWS-Chunked", "gzip"),
        ("aws-chunked", None),
        ("aws-chunked, ", None),
    ],
)
def test_content_encoding_as_sent_without_aws_chunked(sent: str, stored: str | None) -> None:
    assert system_headers({"content-encoding": sent}).get("content-encoding") == stored


def test_other_system_headers_untouched() -> None:
    headers = {"cache-control": "max-age=60, private", "content-language": "de-CH"}
    assert system_headers(headers) == headers
