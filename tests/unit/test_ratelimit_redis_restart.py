"""The Redis rate limiter's pooled connections after Redis closed them (a restart, a
CLIENT KILL): Redis is back at once, so the next call is decided by Redis on a new
connection, and the breaker stays closed. Redis really gone still opens it.

Who decided is told by the ``open`` fallback (it admits everything, and counts it) and
by the rate: at 0.1/s with a burst of 1, Redis admits one request and refuses the next.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis

from tests.redis_service import PrivateRedis, unique_prefix
from tests.unit._redis_limiter import (
    decisions,
    limiter_for,
    private_server,  # noqa: F401 - the "private" fixture
    run,
)

SLOW = 0.1  # requests per second: no token comes back during a test


def _drop_connections(private: PrivateRedis, how: str) -> None:
    if how == "restart":
        private.stop()
        private.start()
        return
    admin = redis.Redis.from_url(private.url)
    try:
        assert admin.client_kill_filter(_type="normal", skipme=True) >= 1
    finally:
        admin.close()


@pytest.mark.parametrize("how", ["restart", "client-kill"])
def test_connections_redis_closed_are_replaced_not_counted_as_a_failure(
    private: PrivateRedis, tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    prefix = unique_prefix()
    limiter = limiter_for(private.url, tmp_path, fallback="open", prefix=prefix)

    async def main() -> list[float]:
        await limiter.heartbeat()  # a second pooled connection, which goes stale too
        waits = [await limiter.take("warm", 10, 1)]  # the pooled connection exists
        _drop_connections(private, how)
        waits += [await limiter.take("k", SLOW, 1), await limiter.take("k", SLOW, 1)]
        health = await limiter.health()
        await limiter.close()
        assert health is None
        return waits

    with caplog.at_level(logging.ERROR, logger="oortgate"):
        waits = run(main)
    assert waits[:2] == [0.0, 0.0] and waits[2] > 1, waits  # the second refused: by Redis
    assert not limiter.breaker.is_open
    assert decisions(limiter.fallback, "admitted") == 0
    assert not [r for r in caplog.records if "unusable" in r.getMessage()]
    assert redis.Redis.from_url(private.url).exists(prefix + "k")


def test_redis_gone_with_a_pooled_connection_still_opens_the_breaker(
    private: PrivateRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The stale connection's second try meets a refused connect: that is an outage."""
    limiter = limiter_for(private.url, tmp_path, fallback="open")

    async def main() -> list[float]:
        waits = [await limiter.take("k", SLOW, 1)]  # through Redis: the burst is spent
        private.stop()
        try:
            waits += [await limiter.take("k", SLOW, 1) for _ in range(3)]
            assert limiter.breaker.is_open
        finally:
            private.start()
        await limiter.close()
        return waits

    with caplog.at_level(logging.ERROR, logger="oortgate"):
        waits = run(main)
    assert waits == [0.0] * 4  # the open fallback admitted the three Redis would refuse
    assert decisions(limiter.fallback, "admitted") == 3
    lines = [r.getMessage() for r in caplog.records if "unusable" in r.getMessage()]
    assert len(lines) == 1, lines
