"""The request body's idle timeout: a receive that waits too long is RequestTimeout; a
slow but steady body, time spent between receives, and someone else's cancel are not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from oortgate.auth.payload import PayloadVerifier
from oortgate.errors import S3Error
from oortgate.ops.body import Body


def _feeder(delays: list[float], chunk: bytes = b"a") -> Any:
    """An ASGI receive answering one message per delay, the last with more_body False."""
    remaining = list(delays)

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(remaining.pop(0))
        return {"type": "http.request", "body": chunk, "more_body": bool(remaining)}

    return receive


def _body(delays: list[float], timeout: float) -> Body:
    return Body(_feeder(delays), PayloadVerifier({}, None), len(delays), None, timeout)


async def _collect(body: Body, pause: float = 0.0) -> bytes:
    parts = []
    async for chunk in body.chunks():
        parts.append(chunk)
        await asyncio.sleep(pause)  # the consumer's own work: never counted as idle
    return b"".join(parts)


def test_a_stalled_receive_is_request_timeout() -> None:
    with pytest.raises(S3Error) as caught:
        asyncio.run(_collect(_body([0.0, 0.5], timeout=0.05)))
    assert caught.value.code == "RequestTimeout"


def test_steady_messages_and_slow_consumer_within_the_timeout_pass() -> None:
    # Eight receives of 0.01 s and consumer pauses of 0.1 s: far longer than the
    # 0.3 s timeout in total, no single receive near it (even on a busy machine).
    body = _body([0.01] * 8, timeout=0.3)
    assert asyncio.run(_collect(body, pause=0.1)) == b"a" * 8


def test_an_outside_cancel_stays_a_cancel() -> None:
    async def main() -> None:
        task = asyncio.ensure_future(_collect(_body([0.0, 5.0], timeout=10.0)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_no_timer_is_left_once_the_body_is_read() -> None:
    async def main() -> int:
        await _collect(_body([0.0, 0.0, 0.0], timeout=30.0))
        loop = asyncio.get_running_loop()
        return len([h for h in getattr(loop, "_scheduled", []) if not h.cancelled()])

    assert asyncio.run(main()) == 0
