"""What a handler returns: status, headers and a body (bytes or an async stream)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from oortgate import xml


@dataclass(slots=True)
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | AsyncIterator[bytes] = b""
    # Streamed bodies do not know their length from the body; handlers set it.
    content_length: int | None = None


def xml_response(root: xml.Node, status: int = 200) -> Response:
    return Response(status, [("content-type", "application/xml")], xml.document(root))


def empty(status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, headers or [])
