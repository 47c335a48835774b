"""What the shared (Redis) rate limiter does while Redis is unusable: the circuit breaker
that stops asking it for a while, and the fallback policy that decides meanwhile.

``local`` (the default): this host's own limiter at the rate divided by the gateways
Redis last reported alive, so N gateways together stay near the configured rate.
``open``: admit everything (availability over the limit). ``closed``: refuse with 503
ServiceUnavailable and Retry-After (AWS's answer when the service cannot serve, which
the SDKs retry; SlowDown would tell the client that it, not the gateway, is too fast).
"""

from __future__ import annotations

import math
from typing import Any

from oortgate.errors import S3Error
from oortgate.logs import ThrottledLog
from oortgate.ratelimit_base import RateLimiter

BREAKER_SECONDS = 1.0  # after a failure, Redis is not asked again for this long
LOG_EVERY = 10.0  # while degraded, one log line at most this often


class CircuitBreaker:
    """Closed (ask Redis) until a failure; then open for ``seconds``; then one request
    probes Redis (half-open) while the others keep using the fallback."""

    def __init__(self, seconds: float = BREAKER_SECONDS) -> None:
        self.seconds = seconds
        self._open_until = 0.0  # 0: closed
        self._probing = False

    def allows(self, now: float) -> bool:
        if not self._open_until:
            return True
        if now < self._open_until or self._probing:
            return False
        self._probing = True
        return True

    @property
    def is_open(self) -> bool:
        return bool(self._open_until)

    def abandoned(self) -> None:
        """The probe was cancelled (its client went away): another request may probe."""
        self._probing = False

    def succeeded(self) -> None:
        self._open_until, self._probing = 0.0, False

    def failed(self, now: float) -> None:
        self._open_until, self._probing = now + self.seconds, False


class Fallback:
    """The decision while Redis is unusable, one log line per LOG_EVERY and a counter."""

    def __init__(self, mode: str, local: RateLimiter | None, where: str) -> None:
        self.mode = mode
        self._local = local
        self._where = where  # host:port, never the URL (it may hold a password)
        self._log = ThrottledLog(interval=LOG_EVERY)
        self.counter: Any = None  # prometheus-client's, made on first use
        self.failures: Any = None

    async def take(self, identity: str, rate: float, burst: int, gateways: int) -> float:
        wait = 0.0
        if self.mode == "closed":
            self._count("refused")
            raise S3Error("ServiceUnavailable", headers={"retry-after": "1"})
        if self.mode == "local" and self._local is not None:
            wait = await self._local.take(identity, *_share(rate, burst, gateways))
        self._count("refused" if wait else "admitted")
        return wait

    async def shadow(self, identity: str, rate: float, burst: int, gateways: int) -> None:
        """A request Redis admitted spends this host's share too (microseconds), so that
        the local buckets are as full as they should be when Redis fails, not fresh:
        a failover gives away no extra burst."""
        if self.mode == "local" and self._local is not None:
            await self._local.take(identity, *_share(rate, burst, gateways))

    def degraded(self, reason: str, gateways: int) -> None:
        """Called on each failure of Redis: counted, and a line at most every LOG_EVERY
        seconds (the repeats folded into a count on the next)."""
        self._count("")
        policy = {"local": f"this host's limiter at rate / {max(1, gateways)} gateways",
                  "open": "every request admitted",
                  "closed": "requests refused with 503 ServiceUnavailable"}[self.mode]  # fmt: skip
        self._log.error("redis", f"rate limit: Redis at {self._where} unusable ({reason}); "
                        f"for {BREAKER_SECONDS:.0f} s: {policy}")  # fmt: skip

    def _count(self, decision: str) -> None:
        """A fallback decision (admitted, refused), or "": a failure of Redis."""
        if self.counter is None:
            # Imported late, in the worker: prometheus-client picks its multiprocess
            # mode from the environment at import time (see oortgate.metrics).
            from prometheus_client import Counter

            self.counter = Counter(
                "oortgate_rate_limit_fallback_decisions",
                "Rate-limit decisions taken without Redis, by fallback and decision",
                ["fallback", "decision"], registry=None,
            )  # fmt: skip
            self.failures = Counter("oortgate_rate_limit_redis_failures", "Calls to Redis "
                                    "that failed or timed out (each opens the breaker)",
                                    registry=None)  # fmt: skip
        if decision:
            self.counter.labels(self.mode, decision).inc()
        else:
            self.failures.inc()


def _share(rate: float, burst: int, gateways: int) -> tuple[float, int]:
    """This gateway's part of the budget: each of N admits a rate / N, burst / N."""
    share = max(1, gateways)
    return rate / share, max(1, math.ceil(burst / share))
