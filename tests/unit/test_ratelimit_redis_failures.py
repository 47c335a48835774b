"""The Redis rate limiter when Redis fails: the 50 ms timeout, the circuit breaker, each
fallback (a private redis-server stopped, a port that never answers), health, the log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio

from oortgate.errors import S3Error
from oortgate.ratelimit_fallback import CircuitBreaker, Fallback
from tests.redis_service import PrivateRedis, unique_prefix
from tests.unit._redis_limiter import (
    STRICT,
    Blackhole,
    closed_port,
    decisions,
    limiter_for,
    private_server,  # noqa: F401 - the "private" fixture
    run,
)


# --------------------------------------------------------------------------- failures
def test_a_silent_redis_costs_one_timeout_then_the_breaker_holds_for_a_second(
    tmp_path: Path,
) -> None:
    hole = Blackhole()
    limiter = limiter_for(f"redis://127.0.0.1:{hole.port}/0", tmp_path, fallback="open",
                       timeout=STRICT)

    async def main() -> tuple[float, float, int, int, int]:
        start = time.monotonic()
        assert await limiter.take("k", 10, 1) == 0  # open: admitted without Redis
        first = time.monotonic() - start
        await asyncio.sleep(0.05)  # the blackhole's thread has seen what connected
        tries = hole.accepted
        start = time.monotonic()
        for _ in range(200):
            assert await limiter.take("k", 10, 1) == 0
        rest = time.monotonic() - start
        during = hole.accepted
        await asyncio.sleep(1.05)
        await limiter.take("k", 10, 1)  # the breaker lets one probe through
        after = hole.accepted
        await limiter.close()
        return first, rest, tries, during - tries, after - during

    first, rest, tries, during, after = run(main)
    hole.close()
    assert first < 40 * STRICT, first  # one 50 ms timeout (a busy machine adds some), not a hang
    assert tries <= 2, tries  # no retries: the request's connection and the heartbeat's
    # Redis not tried while open, and no call waited for it: far less than a timeout each.
    assert during == 0 and rest < 200 * STRICT / 4, (during, rest)
    assert after == 1  # then tried again


def test_local_fallback_shares_the_rate_out_among_live_gateways(
    private: PrivateRedis, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    a = limiter_for(private.url, tmp_path, prefix=prefix, gateway="gw-a")
    b = limiter_for(private.url, tmp_path, prefix=prefix, gateway="gw-b")

    async def main() -> list[float]:
        await b.heartbeat()
        await a.heartbeat()
        assert a.gateways == 2
        private.stop()
        try:
            waits = [await a.take("k", 10, 4) for _ in range(4)]
        finally:
            private.start()
        await a.close()
        await b.close()
        return waits

    waits = run(main)
    # This gateway's half: burst 2 at 5/s (a refusal waits 1/5 s).
    assert [w == 0 for w in waits] == [True, True, False, False]
    assert 0.1 < waits[2] <= 0.2
    assert decisions(a.fallback, "admitted") == 2 and decisions(a.fallback, "refused") == 2


def test_redis_back_after_the_breaker_is_used_again(private: PrivateRedis, tmp_path: Path) -> None:
    prefix = unique_prefix()
    limiter = limiter_for(private.url, tmp_path, fallback="open", prefix=prefix)

    async def main() -> None:
        private.stop()
        try:
            assert await limiter.take("k", 10, 1) == 0
            assert limiter.breaker.is_open
        finally:
            private.start()
        await asyncio.sleep(1.05)
        # Through Redis (at 0.1/s: no token comes back meanwhile): it spends the burst.
        assert await limiter.take("k", 0.1, 1) == 0
        assert await limiter.take("k", 0.1, 1) > 0
        assert not limiter.breaker.is_open
        await limiter.close()

    run(main)
    assert redis.Redis.from_url(private.url).exists(prefix + "k")


def test_open_admits_and_closed_refuses_with_service_unavailable(tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{closed_port()}/0"
    opened = limiter_for(dead, tmp_path, fallback="open", gateway="o")
    closed = limiter_for(dead, tmp_path, fallback="closed", gateway="c")

    async def main() -> tuple[list[float], list[S3Error]]:
        admitted = [await opened.take("k", 1, 1) for _ in range(20)]
        refused = []
        for _ in range(3):
            with pytest.raises(S3Error) as caught:
                await closed.take("k", 1, 1)
            refused.append(caught.value)
        await opened.close()
        await closed.close()
        return admitted, refused

    admitted, refused = run(main)
    assert admitted == [0.0] * 20
    assert decisions(opened.fallback, "admitted") == 20
    for err in refused:
        assert (err.status, err.code, err.headers) == (503, "ServiceUnavailable",
                                                        {"retry-after": "1"})  # fmt: skip
    assert decisions(closed.fallback, "refused") == 3


def test_health_reports_redis_and_caches_the_answer(private: PrivateRedis, tmp_path: Path) -> None:
    limiter = limiter_for(private.url, tmp_path)

    async def main() -> list[Any]:
        healthy = await limiter.health()
        private.stop()
        try:
            cached = await limiter.health()  # within the second: not asked again
            await asyncio.sleep(1.05)
            down = await limiter.health()
        finally:
            private.start()
        await limiter.close()
        return [healthy, cached, down]

    healthy, cached, down = run(main)
    assert healthy is None and cached is None
    assert "Redis" in down and "fallback local" in down


def test_degraded_is_logged_at_most_every_ten_seconds(caplog: pytest.LogCaptureFixture) -> None:
    fallback = Fallback("local", None, "redis.example:6379")
    with caplog.at_level(logging.ERROR, logger="oortgate"):
        for _ in range(5):
            fallback.degraded("no answer within 50 ms", 3)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1, lines
    assert "redis.example:6379" in lines[0] and "rate / 3 gateways" in lines[0]


def test_a_late_answer_is_not_read_as_the_next_ones(private: PrivateRedis, tmp_path: Path) -> None:
    """Redis busy past the timeout (DEBUG SLEEP): that request falls back; once the
    breaker closes, answers belong to their own requests again. On a busy machine a
    call can miss the real 50 ms again: the fallback's counter tells, and those three
    takes are asked again of a fresh key after the breaker's second."""
    limiter = limiter_for(private.url, tmp_path, fallback="open", timeout=STRICT)

    def by_fallback() -> float:
        return decisions(limiter.fallback, "admitted") + decisions(limiter.fallback, "refused")

    async def main() -> list[float]:
        assert await limiter.take("warm", 10, 1) == 0  # a pooled connection exists
        blocker = redis.asyncio.Redis.from_url(private.url)
        busy = blocker.execute_command("DEBUG", "SLEEP", "0.3")  # type: ignore[no-untyped-call]
        sleeping = asyncio.ensure_future(busy)
        await asyncio.sleep(0.05)
        start = time.monotonic()
        assert await limiter.take("busy", 10, 1) == 0  # open fallback, after 50 ms
        assert time.monotonic() - start < 0.5  # 50 ms, not DEBUG SLEEP's 300
        await sleeping
        await blocker.aclose()
        for attempt in range(10):  # a bound that only catches a Redis never answering
            await asyncio.sleep(1.05)
            before = by_fallback()
            waits = [await limiter.take(f"after-{attempt}", 10, 2) for _ in range(3)]
            if by_fallback() == before:  # all three answered by Redis
                break
        await limiter.close()
        return waits

    waits = run(main)
    assert [w == 0 for w in waits] == [True, True, False] and 0 < waits[2] <= 0.1, waits


def test_a_cancelled_probe_lets_another_request_probe() -> None:
    breaker = CircuitBreaker(1.0)
    breaker.failed(now=10.0)
    assert not breaker.allows(10.5)  # open
    assert breaker.allows(11.0)  # the probe
    assert not breaker.allows(11.0)  # one at a time
    breaker.abandoned()  # its client went away before Redis answered
    assert breaker.allows(11.1)
    breaker.succeeded()
    assert breaker.allows(11.1) and breaker.allows(11.1) and not breaker.is_open


def test_a_failover_gives_away_no_fresh_burst(private: PrivateRedis, tmp_path: Path) -> None:
    """What Redis admitted was spent from the local share too: the local fallback goes on
    from there rather than from a full bucket."""
    limiter = limiter_for(private.url, tmp_path)

    async def main() -> list[float]:
        waits = [await limiter.take("k", 2, 4) for _ in range(4)]  # the burst, through Redis
        private.stop()
        try:
            waits.append(await limiter.take("k", 2, 4))
        finally:
            private.start()
        await limiter.close()
        return waits

    waits = run(main)
    assert waits[:4] == [0.0] * 4 and waits[4] > 0, waits
    assert decisions(limiter.fallback, "refused") == 1
