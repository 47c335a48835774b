"""What the server records of each request: the access log line and the metrics.

`_http` creates one `Exchange` per request; routing and authentication fill in what they
learn (operation, bucket, key, access key); once the response is sent, `Observer.finish`
writes the log line and updates the metrics. With neither enabled there is no observer,
and the exchange is a few attribute stores.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from oortgate.access_log import AccessLog, clip, timestamp
from oortgate.config import Settings

Send = Callable[[dict[str, Any]], Awaitable[None]]
UNROUTED = "-"  # the operation of a request refused before it was routed


class Exchange:
    """One request, as far as it is known."""

    __slots__ = ("access_key", "bucket", "bytes_out", "error_code", "key", "operation",
                 "owner_id", "refused", "remote", "request_id", "slot", "started", "status",
                 "user_id")  # fmt: skip

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.started = time.perf_counter()
        self.operation = UNROUTED
        self.bucket: str | None = None
        self.key: str | None = None
        self.access_key: str | None = None
        self.user_id: int | None = None  # the signed-in user's
        self.owner_id: int | None = None  # the route's bucket's owner, once looked up
        self.remote: str | None = None
        self.slot: str | None = None  # the client whose request slot this holds
        self.refused = False  # authentication failed
        self.status = 0
        self.error_code: str | None = None
        self.bytes_out = 0


class Observer:
    """One per worker process, when the access log or the metrics are on."""

    def __init__(self, settings: Settings) -> None:
        self.access_log = AccessLog(settings.access_log) if settings.access_log else None
        self.metrics = None
        if settings.metrics_port:
            from oortgate.metrics import RequestMetrics

            self.metrics = RequestMetrics()

    def counting(self, send: Send, exchange: Exchange) -> Send:
        """`send`, counting the response body bytes that went out."""

        async def counted(message: dict[str, Any]) -> None:
            await send(message)
            exchange.bytes_out += len(message.get("body", b""))

        return counted

    def start(self) -> None:
        if self.metrics is not None:
            self.metrics.in_flight.inc()

    def finish(self, exchange: Exchange, scope: dict[str, Any], bytes_in: int) -> None:
        seconds = time.perf_counter() - exchange.started
        if self.metrics is not None:
            self._count(exchange, seconds, bytes_in)
        if self.access_log is not None:
            self.access_log.write(_log_fields(exchange, scope, seconds, bytes_in))

    def _count(self, exchange: Exchange, seconds: float, bytes_in: int) -> None:
        metrics = self.metrics
        assert metrics is not None
        metrics.in_flight.dec()
        metrics.observe(exchange.operation, exchange.status, seconds, bytes_in,
                        exchange.bytes_out)  # fmt: skip
        if exchange.error_code == "SlowDown":
            metrics.throttled.inc()
        if exchange.refused:
            metrics.refused.labels(exchange.error_code or "").inc()

    def close(self) -> None:
        if self.access_log is not None:
            self.access_log.close()


def _log_fields(
    exchange: Exchange, scope: dict[str, Any], seconds: float, bytes_in: int
) -> dict[str, Any]:
    remote = exchange.remote or str((scope.get("client") or ("",))[0])
    agent = next((v for k, v in scope["headers"] if k.lower() == b"user-agent"), b"")
    return {
        "time": timestamp(time.time()),
        "request_id": exchange.request_id,
        "remote": remote,
        "access_key": exchange.access_key,
        "method": scope["method"],
        "operation": exchange.operation,
        "bucket": exchange.bucket,
        "key": exchange.key,
        "status": exchange.status,
        "error_code": exchange.error_code,
        "bytes_in": bytes_in,
        "bytes_out": exchange.bytes_out,
        "duration_ms": round(seconds * 1000, 3),
        "user_agent": clip(agent.decode("latin-1")),
    }
