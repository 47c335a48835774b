"""What the gateway's ASGI entry calls for ``/_console/``: the console, if it is on and
the request is path style on the Standard HTTPS listener; otherwise a plain 404 (the
path is never a bucket: "_" cannot begin a bucket name)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, unquote

from oortgate.console.app import App, Console
from oortgate.console.traffic import TrafficCounter
from oortgate.console.web import PREFIX, Incoming, redirect, text
from oortgate.endpoints import ARCHIVE, Addressed
from oortgate.ops.body import Receive
from oortgate.ops.context import Services
from oortgate.ops.response import Response
from oortgate.ratelimit_base import RateLimiter


class ConsoleHook:
    def __init__(self, services: Services, limiter: RateLimiter | None, app: App,
                 standard_listener: bool) -> None:  # fmt: skip
        settings = services.settings
        on = settings.console and standard_listener
        self._console = Console(services, limiter, app) if on else None
        # Every listener's workers count their requests for the dashboard's chart.
        self._traffic = TrafficCounter(settings.data_dir) if settings.console else None

    def count(self, status: int, users: Iterable[int | None] = ()) -> None:
        """One request answered with this status (0: the client left before an answer),
        for the server and for these users (its key's, its bucket's owner; None: none)."""
        if self._traffic is not None:
            self._traffic.count(status, users=users)

    @staticmethod
    def wants(raw_path: str, addressed: Addressed) -> bool:
        return addressed.bucket is None and (raw_path + "/").startswith(PREFIX)

    async def __call__(self, scope: dict[str, Any], receive: Receive, headers: dict[str, str],
                       addressed: Addressed, client: str, request_id: str) -> Response:  # fmt: skip
        raw_path = bytes(scope.get("raw_path") or b"").split(b"?", 1)[0].decode("latin-1")
        if self._console is None or addressed.tier == ARCHIVE:
            return text(404, "not found\n")
        if raw_path == PREFIX[:-1]:
            return redirect(PREFIX)
        query_string = bytes(scope.get("query_string", b"")).decode("latin-1")
        query = dict(parse_qsl(query_string, keep_blank_values=True))
        path = unquote(raw_path[len(PREFIX) :], errors="replace")
        incoming = Incoming(scope["method"], path, query, headers, client, receive, request_id)
        return await self._console.handle(incoming)
