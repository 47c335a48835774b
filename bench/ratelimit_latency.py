"""What one rate-limit decision costs a request: RedisRateLimiter.take (one EVALSHA of the
GCRA script, awaited on the event loop) against the in-host SharedRateLimiter.take, one
decision after the other, 100 identities in turn, nothing refused.

    .venv/bin/python -m bench.ratelimit_latency [--url redis://127.0.0.1:6379/0] [-n 20000]

Uses its own key prefix; the keys expire by themselves (each within a millisecond).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from oortgate.ratelimit import SharedRateLimiter
from oortgate.ratelimit_base import RateLimiter
from oortgate.ratelimit_redis import RedisRateLimiter


async def _timings(limiter: RateLimiter, n: int) -> list[float]:
    for i in range(500):  # connections open, script loaded
        await limiter.take(f"warm{i % 10}", 1e6, 1000)
    out = []
    for i in range(n):
        start = time.perf_counter()
        await limiter.take(f"id{i % 100}", 1e6, 1000)
        out.append(time.perf_counter() - start)
    return sorted(out)


def _line(name: str, t: list[float]) -> str:
    n = len(t)
    return (f"{name}: median {t[n // 2] * 1e6:.0f} µs, p90 {t[n * 9 // 10] * 1e6:.0f} µs, "
            f"p99 {t[n * 99 // 100] * 1e6:.0f} µs over {n} decisions")  # fmt: skip


async def _main(url: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        local = SharedRateLimiter(Path(tmp) / "local.bin")
        shared = RedisRateLimiter(url, url, "bench", "open", None, f"bench:{uuid.uuid4().hex}:")
        try:
            print(_line("redis (EVALSHA)", await _timings(shared, n)))
            print(_line("in-host (mmap)", await _timings(local, n)))
        finally:
            await shared.close()
            await local.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("-n", type=int, default=20000)
    args = parser.parse_args()
    asyncio.run(_main(args.url, args.n))


if __name__ == "__main__":
    main()
