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
        # The idle timeout: one timer per body, re-armed only when it fires (see _expire),
        # not asyncio.timeout per message (a timer made and cancelled each time, ~5 us).
        self._waiting_since: float | None = None  # loop time a receive began, while waiting
        # Looked up once: on Python 3.11 each get_running_loop() is a getpid() system call.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._reader: asyncio.Task[Any] | None = None
        self._expired = False

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
        if self._idle_timeout is None:
            return await self._receive()
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        self._waiting_since = loop.time()
        self._reader = asyncio.current_task(loop)
        if self._timer is None:
            self._timer = loop.call_at(self._waiting_since + self._idle_timeout, self._expire)
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            # Our own cancel (and no one else's pending): the client stalled.
            if self._expired and self._reader is not None and self._reader.uncancel() == 0:
                raise S3Error("RequestTimeout", REQUEST_TIMEOUT) from None
            raise
        finally:
            self._waiting_since = None
        if not message.get("more_body", False) and self._timer is not None:
            self._timer.cancel()  # the last message: nothing more to wait for
            self._timer = None
        return message

    def _expire(self) -> None:
        """The timer fired: cancel the read if it has waited the whole timeout, else
        wait again until it could have (time spent outside a receive never counts)."""
        assert self._idle_timeout is not None and self._loop is not None
        loop = self._loop
        since = self._waiting_since
        if since is not None and loop.time() - since >= self._idle_timeout:
            self._timer = None
            if self._reader is not None:
                self._expired = True
                self._reader.cancel()
            return
        # Not waiting (the next receive arms a new timer; an abandoned body holds none),
        # or not waiting long enough yet.
        due = None if since is None else since + self._idle_timeout
        self._timer = None if due is None else loop.call_at(due, self._expire)

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
