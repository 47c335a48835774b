"""The request body as an async stream of verified, decoded bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from oortgate.auth.payload import PayloadVerifier
from oortgate.errors import S3Error

Receive = Callable[[], Awaitable[dict[str, Any]]]


class Body:
    """Reads ASGI body messages once, through the payload verifier.

    The verifier decodes aws-chunked framing and checks signatures and checksums; its
    final checks run when the stream ends, so a consumer must not commit anything
    before the iteration completes.
    """

    def __init__(
        self, receive: Receive, verifier: PayloadVerifier, content_length: int | None
    ) -> None:
        self._receive = receive
        self._verifier = verifier
        self._content_length = content_length
        self._consumed = False
        self.received = 0

    @property
    def verifier(self) -> PayloadVerifier:
        return self._verifier

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._consumed:
            raise RuntimeError("request body read twice")
        self._consumed = True
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise S3Error("IncompleteBody")
            raw: bytes = message.get("body", b"")
            self.received += len(raw)
            if self._content_length is not None and self.received > self._content_length:
                raise S3Error("IncompleteBody", "The request body is longer than Content-Length.")
            data = self._verifier.feed(raw) if raw else b""
            if data:
                yield data
            if not message.get("more_body", False):
                break
        if self._content_length is not None and self.received != self._content_length:
            raise S3Error("IncompleteBody")
        self._verifier.finish()

    async def read(self, limit: int) -> bytes:
        """The whole body, for small XML documents; over ``limit`` is refused."""
        parts: list[bytes] = []
        total = 0
        async for chunk in self.chunks():
            total += len(chunk)
            if total > limit:
                raise S3Error("MalformedXML", "The XML document is too large.")
            parts.append(chunk)
        return b"".join(parts)

    async def drain(self) -> None:
        """Consume an unexpected body so its checks still run."""
        if not self._consumed:
            async for _ in self.chunks():
                pass
