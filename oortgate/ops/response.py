"""What a handler returns: status, headers and a body (bytes or an async stream)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass(slots=True)
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | AsyncIterator[bytes] = b""
    # Streamed bodies do not know their length from the body; handlers set it.
    content_length: int | None = None


def xml_response(body: bytes, status: int = 200) -> Response:
    """A response carrying an XML document (built by one of the oortgate.xml modules)."""
    return Response(status, [("content-type", "application/xml")], body)


def empty(status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, headers or [])
