"""The web console mounted on the gateway: one hook per worker (the console itself is on
only for the Standard HTTPS listener), asked after the client and endpoint are known and
before S3 routing, and told every answer's status for its dashboard."""

from __future__ import annotations

from typing import Any

from oortgate.console.app import App
from oortgate.console.hook import ConsoleHook
from oortgate.endpoints import Addressed
from oortgate.http.observe import Exchange
from oortgate.ops.body import Receive
from oortgate.ops.context import Services
from oortgate.ops.response import Response
from oortgate.ratelimit_base import RateLimiter


def mount_console(
    services: Services, limiter: RateLimiter | None, app: App, port_tier: str | None
) -> ConsoleHook:
    """A listener that stands for one endpoint (``port_tier``: the archive port) has none."""
    return ConsoleHook(services, limiter, app, port_tier is None)


async def answer_console(
    console: ConsoleHook,
    scope: dict[str, Any],
    receive: Receive,
    raw_path: str,
    headers: dict[str, str],
    addressed: Addressed,
    client: str,
    exchange: Exchange,
) -> Response | None:
    """The console's answer for a ``/_console/`` path (path style), else None."""
    if not console.wants(raw_path, addressed):
        return None
    exchange.operation = "Console"
    return await console(scope, receive, headers, addressed, client, exchange.request_id)
