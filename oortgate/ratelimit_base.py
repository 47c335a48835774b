"""The rate limiter interface: token buckets per identity (an access key or a client
address) shared by every process that serves one gateway.

``oortgate.ratelimit.SharedRateLimiter``: a memory-mapped table for the worker processes
of one host. ``oortgate.ratelimit_redis.RedisRateLimiter``: one budget for every gateway.
"""

from __future__ import annotations

from typing import Protocol


class RateLimiter(Protocol):
    async def take(self, identity: str, rate: float, burst: int) -> float:
        """Admit one request of ``identity`` at ``rate`` per second with bursts of up to
        ``burst``: 0.0 if admitted (a token is spent), else the seconds until one would
        be (nothing is spent). A rate of 0 or less admits everything. May raise an
        S3Error (503 ServiceUnavailable) when it cannot decide and must not admit."""
        ...

    async def health(self) -> str | None:
        """None if the limiter works as configured, else why it is degraded (for the
        readiness check: a degraded limiter still admits or refuses, so still ready)."""
        ...

    async def close(self) -> None: ...
