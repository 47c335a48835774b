"""The request body as an async stream of verified, decoded bytes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from oortgate.auth.checksums import decode_md5
from oortgate.auth.payload import PayloadVerifier
from oortgate.errors import S3Error

Receive = Callable[[], Awaitable[dict[str, Any]]]
REQUEST_TIMEOUT = (
    "Your socket connection to the server was not read from or written to within the "
    "timeout period. Idle connections will be closed."
)


class Body:
    """Reads ASGI body messages once, through the payload verifier.

    The verifier decodes aws-chunked framing and checks signatures and checksums; its
    final checks run when the stream ends, so a consumer must not commit anything
    before the iteration completes.
    """

    def __init__(
        self,
        receive: Receive,
        verifier: PayloadVerifier,
        content_length: int | None,
        content_md5: str | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        self._receive = receive
        self._idle_timeout = idle_timeout
        self._content_md5 = content_md5  # checked by read(); streaming writers check theirs
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
            message = await self._next_message()
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

    async def _next_message(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(self._idle_timeout):
                return await self._receive()
        except TimeoutError:
            raise S3Error("RequestTimeout", REQUEST_TIMEOUT) from None

    async def read(self, limit: int) -> bytes:
        """The whole body, for small XML documents; over ``limit`` is refused."""
        parts: list[bytes] = []
        total = 0
        async for chunk in self.chunks():
            total += len(chunk)
            if total > limit:
                raise S3Error("MalformedXML", "The XML document is too large.")
            parts.append(chunk)
        body = b"".join(parts)
        if self._content_md5 is not None:
            _check_md5(body, self._content_md5)
        return body

    async def drain(self) -> None:
        """Consume an unexpected body so its checks still run."""
        if not self._consumed:
            async for _ in self.chunks():
                pass


def _check_md5(body: bytes, header: str) -> None:
    expected = decode_md5(header)
    calculated = hashlib.md5(body).digest()
    if calculated != expected:
        raise S3Error(
            "BadDigest",
            ExpectedDigest=base64.b64encode(expected).decode(),
            CalculatedDigest=base64.b64encode(calculated).decode(),
        )
