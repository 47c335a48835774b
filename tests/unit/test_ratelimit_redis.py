"""The Redis rate limiter against a real Redis: the GCRA script's arithmetic, per-key
rates, two limiter instances (two gateways) sharing one budget, NOSCRIPT. The failures
(timeouts, breaker, fallbacks) are in test_ratelimit_redis_failures.py.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import redis

from tests.redis_service import PrivateRedis, redis_url, unique_prefix
from tests.unit._redis_limiter import limiter_for, private_server, run  # noqa: F401


# --------------------------------------------------------------------------- arithmetic
def test_burst_then_the_rate_with_the_wait_until_the_next(tmp_path: Path) -> None:
    """At 2/s (long intervals: a busy machine's delays do not change the counts)."""
    limiter = limiter_for(redis_url(), tmp_path)

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


def test_admitted_at_the_rate_over_two_seconds(tmp_path: Path) -> None:
    """At 10/s with a burst of 5: a pause of the loop shorter than the burst's half second
    (a busy machine's) loses no token, and the loop asks far more often than the rate."""
    limiter = limiter_for(redis_url(), tmp_path)

    async def main() -> tuple[int, int, float]:
        admitted, asked, start = 0, 0, time.monotonic()
        while time.monotonic() - start < 2.0:
            admitted += await limiter.take("k", 10, 5) == 0
            asked += 1
            await asyncio.sleep(0.002)
        elapsed = time.monotonic() - start
        await limiter.close()
        return admitted, asked, elapsed

    admitted, asked, elapsed = run(main)
    assert asked > 2 * 10 * elapsed, (asked, elapsed)  # the limit, not the loop, decided
    # The upper bound is the limit's; the lower one leaves room for a busy machine's
    # pauses (while the loop sleeps, nothing is asked).
    assert 0.8 * 10 * elapsed <= admitted <= 5 + 1.1 * 10 * elapsed + 1, (admitted, elapsed)


def test_each_call_carries_its_keys_rate_and_zero_is_unlimited(tmp_path: Path) -> None:
    limiter = limiter_for(redis_url(), tmp_path)

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
    a = limiter_for(redis_url(), tmp_path, prefix=prefix, gateway="gw-a")
    b = limiter_for(redis_url(), tmp_path, prefix=prefix, gateway="gw-b")

    async def main() -> tuple[list[float], int, int]:
        waits = []
        for i in range(10):  # at 0.1/s: no token comes back while the loop runs
            waits.append(await (a if i % 2 else b).take("key:shared", 0.1, 6))
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
    limiter = limiter_for(private.url, tmp_path)

    async def main() -> list[float]:
        first = await limiter.take("k", 0.1, 2)  # 0.1/s: no token comes back meanwhile
        redis.Redis.from_url(private.url).script_flush()
        second = await limiter.take("k", 0.1, 2)
        third = await limiter.take("k", 0.1, 2)
        await limiter.close()
        return [first, second, third]

    assert [w == 0 for w in run(main)] == [True, True, False]  # still counting the same key
    assert not limiter.breaker.is_open
