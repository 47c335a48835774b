"""Helpers of the Redis rate limiter's unit tests (test_ratelimit_redis*.py)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from oortgate.ratelimit import SharedRateLimiter
from oortgate.ratelimit_fallback import Fallback
from oortgate.ratelimit_redis import TIMEOUT, RedisRateLimiter
from tests.redis_service import PrivateRedis, private_redis, unique_prefix

T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def wrapped() -> T:
        return await main()

    return asyncio.run(wrapped())


# The arithmetic's tests give Redis a second: on a busy 2-core machine 50 ms can pass
# before the event loop runs again, and a fallback would answer instead. The tests of
# failures keep the real 50 ms (STRICT).
PATIENT, STRICT = 1.0, TIMEOUT


def limiter_for(url: str, tmp_path: Path, *, fallback: str = "local", prefix: str = "",
             gateway: str = "gw-a", timeout: float = PATIENT) -> RedisRateLimiter:  # fmt: skip
    local = SharedRateLimiter(tmp_path / f"local-{gateway}.bin")
    return RedisRateLimiter(url, "test", gateway, fallback, local, prefix or unique_prefix(),
                            timeout)  # fmt: skip


def decisions(fallback: Fallback, decision: str) -> float:
    if fallback.counter is None:
        return 0.0
    for metric in fallback.counter.collect():
        for sample in metric.samples:
            labels = sample.labels
            if sample.name.endswith("_total") and labels["decision"] == decision:
                return float(sample.value)
    return 0.0


@pytest.fixture(scope="module", name="private")
def private_server() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


class Blackhole:
    """A port that accepts connections and never answers; counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()




def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on return: connections are refused
