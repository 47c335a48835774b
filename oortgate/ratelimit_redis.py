"""A rate limiter shared by every gateway: GCRA on Redis (``rate_limit_url``).

One Lua script per request (EVALSHA; on NOSCRIPT it is loaded and retried once) keeps,
per identity, the theoretical arrival time (TAT) of the next request, on Redis's own
clock (``TIME``), so gateways' clocks do not matter. It is the in-host token bucket
(oortgate.ratelimit) in another form: ``burst`` requests at once from idle, then
``rate`` per second; per-key rates are the ``rate`` argument of each call.

Every call has 50 ms; a failure opens the circuit breaker for a second, and meanwhile
the fallback decides (oortgate.ratelimit_fallback). A pooled connection that Redis
closed (it restarted, or CLIENT KILL) is no failure: the call is made once more, on a
new connection, within the same 50 ms. Each gateway also heartbeats a
member of a sorted set, so that the ``local`` fallback knows how many share the budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from oortgate.ratelimit_base import RateLimiter
from oortgate.ratelimit_fallback import CircuitBreaker, Fallback

TIMEOUT = 0.05  # every Redis call on the request path, connecting included
STARTUP_TIMEOUT = 3.0  # the check at start (DNS, TLS handshake to a remote Redis)
HEARTBEAT_SECONDS = 2.0
GATEWAY_TTL = 3 * HEARTBEAT_SECONDS  # a gateway not heard from for this long is gone
HEALTH_CACHE = 1.0
KEY_PREFIX = "oortgate:rl:"

# KEYS[1]: the identity's TAT (microseconds on Redis's clock). ARGV: the emission interval
# (microseconds per request, 1e6 / rate) and the burst. Returns 0 if admitted (and
# stores the new TAT, expiring when it is in the past), else the microseconds to wait.
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local next_tat = tat + interval
local wait = next_tat - now - burst * interval
if wait > 1 then return math.ceil(wait) end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat),
           'PX', math.ceil((next_tat - now) / 1000) + 1)
return 0
"""
# KEYS[1]: the live gateways (member: gateway, score: last heartbeat on Redis's clock).
# ARGV: this gateway, the seconds after which a silent one is dropped. Returns how many.
HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('EXPIRE', KEYS[1], math.ceil(ttl * 2))
return redis.call('ZCARD', KEYS[1])
"""
FAILURES = (redis.exceptions.RedisError, OSError, TimeoutError)
T = TypeVar("T")


def _stale(exc: BaseException) -> bool:
    """Whether a call failed because Redis had closed the connection it was sent on:
    then Redis may well be there (a restart drops every pooled connection, and each
    would fail once). Not a timeout (it spent the budget already), nor a refused
    connect, a refused login or Redis loading its data (asking again would not help)."""
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return True
    if type(exc) is not redis.exceptions.ConnectionError:  # subclasses: auth, loading
        return False
    return not isinstance(exc.__context__, ConnectionRefusedError)


def _sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()


def _client(url: str, timeout: float) -> aioredis.Redis:
    # No retries: past the timeout the fallback answers, a retry would only add delay.
    return aioredis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0), health_check_interval=0,
    )  # fmt: skip


class RedisRateLimiter:
    def __init__(self, url: str, where: str, gateway: str, fallback: str,
                 local: RateLimiter | None, prefix: str = KEY_PREFIX,
                 timeout: float = TIMEOUT) -> None:  # fmt: skip
        self._timeout = timeout
        self._redis = _client(url, timeout)
        self._prefix = prefix
        self._gateway = gateway  # the same in every worker of one gateway
        self.breaker = CircuitBreaker()
        self.fallback = Fallback(fallback, local, where)
        self._local = local
        self.gateways = 1  # as Redis last counted them (1 until it has)
        self._beat_due = 0.0
        self._beat: asyncio.Task[None] | None = None
        self._health: tuple[float, str | None] = (-HEALTH_CACHE, None)

    async def take(self, identity: str, rate: float, burst: int) -> float:
        """RateLimiter.take. Raises S3Error ServiceUnavailable if Redis is unusable and
        the fallback is ``closed``."""
        if rate <= 0:
            return 0.0
        now = time.monotonic()
        self._heartbeat_if_due(now)
        if self.breaker.allows(now):
            interval = 1e6 / rate
            try:
                async with asyncio.timeout(self._timeout):
                    waited = await self._eval(GCRA, self._prefix + identity,
                                              repr(interval), str(max(1, burst)))  # fmt: skip
            except FAILURES as exc:
                self._failed(exc)
            except BaseException:
                self.breaker.abandoned()
                raise
            else:
                self.breaker.succeeded()
                if not waited:
                    await self.fallback.shadow(identity, rate, burst, self.gateways)
                return int(waited) / 1e6
        return await self.fallback.take(identity, rate, burst, self.gateways)

    async def _once_more_if_stale(self, call: Callable[[], Awaitable[T]]) -> T:
        """call(), and once more if it met a connection Redis had closed (see _stale)."""
        try:
            return await call()
        except FAILURES as exc:
            if not _stale(exc):
                raise
        # The other idle connections are most likely stale too (a restart): drop them,
        # so that the second try gets a new one rather than another dead one.
        await self._redis.connection_pool.disconnect(inuse_connections=False)
        return await call()

    async def _eval(self, script: str, *keys_then_args: str) -> Any:
        return await self._once_more_if_stale(lambda: self._eval_once(script, *keys_then_args))

    async def _eval_once(self, script: str, *keys_then_args: str) -> Any:
        """EVALSHA; on NOSCRIPT (a restarted or flushed Redis) load the script, retry once."""
        sha, key, *args = _sha(script), *keys_then_args
        try:
            return await self._redis.evalsha(sha, 1, key, *args)
        except redis.exceptions.NoScriptError:
            await self._redis.script_load(script)
            return await self._redis.evalsha(sha, 1, key, *args)

    def _failed(self, exc: BaseException) -> None:
        self.breaker.failed(time.monotonic())
        reason = _reason(exc, self._timeout)
        self._health = (time.monotonic(), reason)
        self.fallback.degraded(reason, self.gateways)

    def _heartbeat_if_due(self, now: float) -> None:
        if now < self._beat_due or (self._beat is not None and not self._beat.done()):
            return
        self._beat_due = now + HEARTBEAT_SECONDS
        if self.breaker.is_open:
            return  # the probing request will tell whether Redis is back
        self._beat = asyncio.get_running_loop().create_task(self.heartbeat())

    async def heartbeat(self) -> None:
        """Tell Redis this gateway is alive and learn how many are."""
        try:
            async with asyncio.timeout(self._timeout):
                count = await self._eval(HEARTBEAT, self._prefix + "gateways",
                                         self._gateway, str(GATEWAY_TTL))  # fmt: skip
        except FAILURES as exc:
            self._failed(exc)
        else:
            self.gateways = max(1, int(count))

    async def health(self) -> str | None:
        """RateLimiter.health: None while Redis answers, else why not (asked at most
        once per HEALTH_CACHE; a failure on the request path counts as an answer)."""
        checked, problem = self._health
        now = time.monotonic()
        if now - checked >= HEALTH_CACHE:
            try:
                async with asyncio.timeout(self._timeout):
                    await self._once_more_if_stale(self._redis.ping)
                problem = None
            except FAILURES as exc:
                problem = _reason(exc, self._timeout)
            self._health = (now, problem)
        if problem is None:
            return None
        return f"rate limit store (Redis) unusable: {problem}; fallback {self.fallback.mode}"

    async def close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError, *FAILURES):
                await self._beat
        with contextlib.suppress(*FAILURES):
            await self._redis.aclose()
        if self._local is not None:
            await self._local.close()


def _reason(exc: BaseException, timeout: float = TIMEOUT) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout * 1000:.0f} ms"
    return f"{type(exc).__name__}: {exc}"[:200]


def check_reachable(url: str, timeout: float = STARTUP_TIMEOUT) -> str | None:
    """At start: None if Redis answers PING within ``timeout``, else why not."""

    async def ping() -> None:
        client = _client(url, timeout)
        try:
            async with asyncio.timeout(timeout):
                await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(ping())
    except FAILURES as exc:
        return _reason(exc, timeout)
    return None
