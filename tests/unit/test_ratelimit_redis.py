"""The Redis rate limiter against a real Redis: the GCRA script's arithmetic, two limiter
instances (two gateways) sharing one budget, NOSCRIPT, the 50 ms timeout, the circuit
breaker and each fallback (a private redis-server stopped, a port that never answers).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio

from oortgate.errors import S3Error
from oortgate.ratelimit import SharedRateLimiter
from oortgate.ratelimit_fallback import CircuitBreaker, Fallback
from oortgate.ratelimit_redis import TIMEOUT, RedisRateLimiter
from tests.redis_service import PrivateRedis, private_redis, redis_url, unique_prefix

T = TypeVar("T")


def run(main: Callable[[], Awaitable[T]]) -> T:
    async def wrapped() -> T:
        return await main()

    return asyncio.run(wrapped())


# The arithmetic's tests give Redis a second: on a busy 2-core machine 50 ms can pass
# before the event loop runs again, and a fallback would answer instead. The tests of
# failures keep the real 50 ms (STRICT).
PATIENT, STRICT = 1.0, TIMEOUT


def _limiter(url: str, tmp_path: Path, *, fallback: str = "local", prefix: str = "",
             gateway: str = "gw-a", timeout: float = PATIENT) -> RedisRateLimiter:  # fmt: skip
    local = SharedRateLimiter(tmp_path / f"local-{gateway}.bin")
    return RedisRateLimiter(url, "test", gateway, fallback, local, prefix or unique_prefix(),
                            timeout)  # fmt: skip


def _decisions(fallback: Fallback, decision: str) -> float:
    if fallback.counter is None:
        return 0.0
    for metric in fallback.counter.collect():
        for sample in metric.samples:
            labels = sample.labels
            if sample.name.endswith("_total") and labels["decision"] == decision:
                return float(sample.value)
    return 0.0


@pytest.fixture(scope="module")
def private() -> Iterator[PrivateRedis]:
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


# --------------------------------------------------------------------------- arithmetic
def test_burst_then_the_rate_with_the_wait_until_the_next(tmp_path: Path) -> None:
    """At 2/s (long intervals: a busy machine's delays do not change the counts)."""
    limiter = _limiter(redis_url(), tmp_path)

    async def main() -> tuple[list[float], float]:
        start = time.monotonic()
        waits = [await limiter.take("k", 2, 3) for _ in range(5)]
        spent = time.monotonic() - start
        await asyncio.sleep(waits[-1])  # as told: then one is admitted, the next is not
        later = [await limiter.take("k", 2, 3) for _ in range(2)]
        await limiter.close()
        return waits + later, spent

    waits, spent = run(main)
    assert [w == 0 for w in waits] == [True] * 3 + [False] * 2 + [True, False]
    # 1/rate from the moment the burst was spent (and nothing spent by a refusal).
    assert 0.5 - spent - 0.01 < waits[3] <= 0.5 and abs(waits[4] - waits[3]) < spent + 0.01


def test_admitted_at_the_rate_over_a_second(tmp_path: Path) -> None:
    limiter = _limiter(redis_url(), tmp_path)

    async def main() -> tuple[int, int, float]:
        admitted, asked, start = 0, 0, time.monotonic()
        while time.monotonic() - start < 1.0:
            admitted += await limiter.take("k", 50, 5) == 0
            asked += 1
            await asyncio.sleep(0.002)
        elapsed = time.monotonic() - start
        await limiter.close()
        return admitted, asked, elapsed

    admitted, asked, elapsed = run(main)
    assert asked > 2 * 50 * elapsed, (asked, elapsed)  # the limit, not the loop, decided
    # The upper bound is the limit's; the lower one leaves room for a busy machine's
    # pauses (while the loop sleeps, nothing is asked).
    assert 0.8 * 50 * elapsed <= admitted <= 5 + 1.1 * 50 * elapsed + 1, (admitted, elapsed)


def test_each_call_carries_its_keys_rate_and_zero_is_unlimited(tmp_path: Path) -> None:
    limiter = _limiter(redis_url(), tmp_path)

    async def pair(identity: str, rate: float) -> tuple[float, float, float]:
        start = time.monotonic()
        first, second = await limiter.take(identity, rate, 1), await limiter.take(identity, rate, 1)
        return first, second, time.monotonic() - start

    async def main() -> list[tuple[float, float, float]]:
        out = [await pair("slow", 2), await pair("fast", 5)]
        free = [await limiter.take("free", 0, 0) for _ in range(50)]
        await limiter.close()
        return [*out, (sum(free), 0.0, 0.0)]

    (s1, s2, s_dt), (f1, f2, f_dt), (free, _, _) = run(main)
    assert s1 == 0 and 0.5 - s_dt - 0.01 < s2 <= 0.5  # 2/s: half a second
    assert f1 == 0 and 0.2 - f_dt - 0.01 < f2 <= 0.2  # 5/s: a fifth
    assert free == 0.0


def test_two_gateways_share_one_budget(tmp_path: Path) -> None:
    prefix = unique_prefix()
    a = _limiter(redis_url(), tmp_path, prefix=prefix, gateway="gw-a")
    b = _limiter(redis_url(), tmp_path, prefix=prefix, gateway="gw-b")

    async def main() -> tuple[list[float], int, int]:
        waits = []
        for i in range(10):
            waits.append(await (a if i % 2 else b).take("key:shared", 10, 6))
        await a.heartbeat()
        await b.heartbeat()
        counts = a.gateways, b.gateways
        await a.close()
        await b.close()
        return waits, *counts

    waits, seen_by_a, seen_by_b = run(main)
    assert sum(w == 0 for w in waits) == 6  # one burst for both, not one each
    assert seen_by_a == seen_by_b == 2  # the heartbeats count the gateways


def test_a_flushed_script_cache_is_reloaded(private: PrivateRedis, tmp_path: Path) -> None:
    limiter = _limiter(private.url, tmp_path)

    async def main() -> list[float]:
        first = await limiter.take("k", 10, 2)
        redis.Redis.from_url(private.url).script_flush()
        second = await limiter.take("k", 10, 2)
        third = await limiter.take("k", 10, 2)
        await limiter.close()
        return [first, second, third]

    assert [w == 0 for w in run(main)] == [True, True, False]  # still counting the same key
    assert not limiter.breaker.is_open


# --------------------------------------------------------------------------- failures
def test_a_silent_redis_costs_one_timeout_then_the_breaker_holds_for_a_second(
    tmp_path: Path,
) -> None:
    hole = Blackhole()
    limiter = _limiter(f"redis://127.0.0.1:{hole.port}/0", tmp_path, fallback="open",
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
    assert first < 0.5, first  # 50 ms (a busy machine may add some)
    assert tries <= 2, tries  # no retries: the request's connection and the heartbeat's
    assert during == 0 and rest < 0.5, (during, rest)  # Redis not tried while open
    assert after == 1  # then tried again


def test_local_fallback_shares_the_rate_out_among_live_gateways(
    private: PrivateRedis, tmp_path: Path
) -> None:
    prefix = unique_prefix()
    a = _limiter(private.url, tmp_path, prefix=prefix, gateway="gw-a")
    b = _limiter(private.url, tmp_path, prefix=prefix, gateway="gw-b")

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
    assert _decisions(a.fallback, "admitted") == 2 and _decisions(a.fallback, "refused") == 2


def test_redis_back_after_the_breaker_is_used_again(private: PrivateRedis, tmp_path: Path) -> None:
    prefix = unique_prefix()
    limiter = _limiter(private.url, tmp_path, fallback="open", prefix=prefix)

    async def main() -> None:
        private.stop()
        try:
            assert await limiter.take("k", 10, 1) == 0
            assert limiter.breaker.is_open
        finally:
            private.start()
        await asyncio.sleep(1.05)
        assert await limiter.take("k", 10, 1) == 0  # through Redis: it spends the burst
        assert await limiter.take("k", 10, 1) > 0
        assert not limiter.breaker.is_open
        await limiter.close()

    run(main)
    assert redis.Redis.from_url(private.url).exists(prefix + "k")


def test_open_admits_and_closed_refuses_with_service_unavailable(tmp_path: Path) -> None:
    dead = f"redis://127.0.0.1:{_closed_port()}/0"
    opened = _limiter(dead, tmp_path, fallback="open", gateway="o")
    closed = _limiter(dead, tmp_path, fallback="closed", gateway="c")

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
    assert _decisions(opened.fallback, "admitted") == 20
    for err in refused:
        assert (err.status, err.code, err.headers) == (503, "ServiceUnavailable",
                                                        {"retry-after": "1"})  # fmt: skip
    assert _decisions(closed.fallback, "refused") == 3


def test_health_reports_redis_and_caches_the_answer(private: PrivateRedis, tmp_path: Path) -> None:
    limiter = _limiter(private.url, tmp_path)

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


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on return: connections are refused


def test_a_late_answer_is_not_read_as_the_next_ones(private: PrivateRedis, tmp_path: Path) -> None:
    """Redis busy past the timeout (DEBUG SLEEP): that request falls back; once the
    breaker closes, answers belong to their own requests again."""
    limiter = _limiter(private.url, tmp_path, fallback="open", timeout=STRICT)

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
        await asyncio.sleep(1.05)
        waits = [await limiter.take("after", 10, 2) for _ in range(3)]
        await limiter.close()
        return waits

    waits = run(main)
    assert [w == 0 for w in waits] == [True, True, False] and 0 < waits[2] <= 0.1


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
    limiter = _limiter(private.url, tmp_path)

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
    assert _decisions(limiter.fallback, "refused") == 1
