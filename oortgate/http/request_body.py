"""The request body as the server's error path sees it: how much of it was read, what is
left dropped (bounded) before an error answer, and when the connection must close."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from oortgate.ops.body import Receive
from oortgate.ops.response import Response

Scope = dict[str, Any]


class TrackedReceive:
    """ASGI receive that remembers whether the request body was read to its end."""

    # An error answered while the client is still sending makes the server close the
    # connection with unread bytes, and the client may see a reset instead of the
    # answer. Reading (and dropping) a bounded remainder first lets the answer arrive.
    DISCARD_LIMIT = 1024 * 1024
    DISCARD_SECONDS = 2.0

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.started = False
        self.finished = False
        self.received = 0  # body bytes

    async def __call__(self) -> dict[str, Any]:
        self.started = True
        message = await self._receive()
        self.received += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            self.finished = True
        return message

    async def discard_rest(self, awaiting_continue: bool) -> None:
        # A client waiting for "100 Continue" has sent nothing: asking for the body
        # would invite it to upload what is about to be refused.
        if self.finished or (awaiting_continue and not self.started):
            return
        dropped = 0
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.DISCARD_SECONDS):
                while not self.finished and dropped < self.DISCARD_LIMIT:
                    dropped += len((await self()).get("body", b""))


async def settle_body(scope: Scope, tracked: TrackedReceive, response: Response) -> None:
    """Before an error answer: drop what is left of the body (bounded). If some of it
    stays unread (a client awaiting "100 Continue" never sends it, or more is left than
    the bound), the connection cannot carry another request: the server and the client
    would disagree on where it starts. Say so, and the connection is closed after the
    answer."""
    await tracked.discard_rest(expects_continue(scope))
    if not tracked.finished and _declares_body(scope):
        response.headers.append(("connection", "close"))


def _declares_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        name = name.lower()
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def expects_continue(scope: Scope) -> bool:
    return any(
        name.lower() == b"expect" and value.lower() == b"100-continue"
        for name, value in scope["headers"]
    )
