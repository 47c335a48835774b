"""The web console: sign-in, sessions, and the dispatch of its pages and actions.

Served under ``/_console/`` by the gateway's ASGI entry (see http/server.py). Pages are
rendered here; objects and buckets are handled by the browser through presigned S3
requests, so every permission is the S3 API's own (see console/presign.py). The bucket
settings and versions pages send theirs from the server, signed by the same key
(console/bucket_routes.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from oortgate import logs
from oortgate.console import backend
from oortgate.console.actions import Actions, Caller
from oortgate.console.bucket_routes import BucketRoutes
from oortgate.console.pages import Pages, snippets, static_response, tier_totals
from oortgate.console.session import (
    MAX_AGE,
    Sessions,
    cleared_cookie,
    cookie,
    server_secret,
    token_from,
)
from oortgate.console.traffic import last_hour
from oortgate.console.web import (
    Incoming,
    TooLarge,
    as_json,
    finish,
    html,
    json_error,
    redirect,
    safe_next,
    text,
    to_signin,
)
from oortgate.meta.base import MAX_KEYS_PER_USER
from oortgate.ops.context import Services
from oortgate.ops.response import Response
from oortgate.ratelimit_base import RateLimiter

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
# Sign-in attempts per client address: a burst, then one every few seconds. Counted in
# the server-wide limiter that throttles refused S3 signatures.
SIGNIN_BURST = 10
SIGNIN_RATE = 1 / 6


class Console:
    def __init__(self, services: Services, limiter: RateLimiter | None, app: App) -> None:
        settings = services.settings
        self.services = services
        self.limiter = limiter
        self.sessions = Sessions(server_secret(settings.data_dir), settings.console_idle_timeout)
        self.pages = Pages()
        self.actions = Actions(services, self.sessions, app)
        self.bucket_routes = BucketRoutes(services, self.sessions, self.pages, app)

    async def handle(self, incoming: Incoming) -> Response:
        path = incoming.path
        if path.startswith("static/") and incoming.method in ("GET", "HEAD"):
            found = static_response(self.pages.assets, path[len("static/") :])
            if found is not None:
                return finish(found, incoming, cache=True)
            return finish(text(404, "no such file\n"), incoming)
        try:
            return finish(await self._dispatch(incoming), incoming)
        except TooLarge:
            return finish(text(413, "request body too large\n"), incoming)
        except Exception as exc:  # a readable answer with the request id, never a trace
            where = f"console {incoming.method} {incoming.path!r} (request {incoming.request_id})"
            logs.errors.error(logs.kind_of(exc), where, exc)
            message = f"The console failed on this request (request id {incoming.request_id})."
            if incoming.path.startswith("api/"):
                return finish(json_error(500, message), incoming)
            return finish(text(500, message + "\n"), incoming)

    async def _dispatch(self, incoming: Incoming) -> Response:
        method, path = incoming.method, incoming.path
        if path == "signin":
            if method == "POST":
                return await self._sign_in(incoming)
            return self._signin_page(incoming, safe_next(incoming.query.get("next")))
        caller = await self._caller(incoming)
        if method == "POST":
            if not incoming.same_origin():
                return text(403, "cross-origin request refused\n")
            if caller is None:
                return (
                    json_error(401, "signed out")
                    if path.startswith("api/")
                    else to_signin(incoming)
                )
            return await self._post(incoming, caller)
        if method not in ("GET", "HEAD"):
            return text(405, "method not allowed\n")
        if caller is None:
            return json_error(401, "signed out") if path.startswith("api/") else to_signin(incoming)
        return await self._page(incoming, caller)

    async def _caller(self, incoming: Incoming) -> Caller | None:
        now = time.time()
        session = self.sessions.read(token_from(incoming.headers.get("cookie")), now)
        if session is None:
            return None
        if await self.services.meta.console_session_ended(session.sid):  # signed out
            incoming.set_cookies.append(cleared_cookie())
            return None
        found = await backend.signed_in(self.services, session.access_key)
        # A key disabled or deleted, or its secret changed: the session ends with it.
        if found is None or not self.sessions.proves(session, found[0].secret_key):
            incoming.set_cookies.append(cleared_cookie())
            return None
        fresh = self.sessions.refreshed(session, now)
        if fresh is not None:
            incoming.set_cookies.append(cookie(fresh))
        return Caller(session, found[0], found[1], self.sessions.csrf(session))

    def _signin_page(self, incoming: Incoming, next_page: str, error: str = "",
                     status: int = 200, access_key: str = "") -> Response:  # fmt: skip
        body = self.pages.render("signin.html", next=next_page, error=error, access_key=access_key)
        return html(body, status)

    async def _sign_in(self, incoming: Incoming) -> Response:
        if not incoming.same_origin():
            return text(403, "cross-origin request refused\n")
        form = await incoming.form()
        next_page = safe_next(form.get("next"))
        access_key = form.get("access_key", "").strip()
        if self.limiter is not None:
            wait = await self.limiter.take("console-signin:" + incoming.client, SIGNIN_RATE,
                                     SIGNIN_BURST)  # fmt: skip
            if wait:
                seconds = max(1, math.ceil(wait))
                page = self._signin_page(incoming, next_page,
                                         f"Too many sign-in attempts: try again in {seconds} s.",
                                         429, access_key)  # fmt: skip
                page.headers.append(("retry-after", str(seconds)))
                return page
        secret = form.get("secret_key", "")
        user = await backend.check_secret(self.services, access_key, secret) if secret else None
        if user is None:
            return self._signin_page(incoming, next_page, "Wrong access key or secret key.",
                                     401, access_key)  # fmt: skip
        token = self.sessions.issue(access_key, secret, time.time())
        incoming.set_cookies.append(cookie(token))
        return redirect(next_page)

    async def _post(self, incoming: Incoming, caller: Caller) -> Response:
        if incoming.path == "signout":
            form = await incoming.form()
            if not self.sessions.csrf_ok(caller.session, form.get("csrf")):
                return text(403, "missing or wrong CSRF token\n")
            # Recorded in the store, not in this worker: a copy of the cookie is refused
            # by every worker from now on, not only once it idles out.
            session = caller.session
            await self.services.meta.end_console_session(session.sid, session.issued + MAX_AGE)
            incoming.set_cookies.append(cleared_cookie())
            return redirect("/_console/signin")
        if incoming.path.startswith("b/"):  # HTML forms: the CSRF token is a field
            bucket, _, what = incoming.path[2:].partition("/")
            return await self.bucket_routes.post(incoming, caller, bucket, what)
        if not self.sessions.csrf_ok(caller.session, incoming.headers.get("x-csrf-token")):
            return json_error(403, "missing or wrong CSRF token")
        return await self.actions.run(incoming, caller)

    async def _page(self, incoming: Incoming, caller: Caller) -> Response:
        path = incoming.path
        common = {"user": caller.user, "access_key": caller.key.access_key,
                  "csrf": caller.csrf, "root": backend.is_root(caller.user)}  # fmt: skip
        render = self.pages.render
        if path == "":
            return html(
                render("dashboard.html", **common, **await self._dashboard(incoming, caller))
            )
        if path == "buckets":
            buckets = await backend.bucket_usage(self.services, caller.user)
            return html(render("buckets.html", **common, buckets=buckets))
        if path.startswith("b/") and path.count("/") >= 2 and not path.endswith("/"):
            bucket, _, what = path[2:].partition("/")  # settings, versions, download
            return await self.bucket_routes.page(incoming, caller, common, bucket, what)
        if path.startswith("b/") and path.endswith("/") and path.count("/") == 2:
            bucket = path[2:-1]
            query = incoming.query  # the place: folder, filter, the name it starts after
            prefix, after = query.get("prefix", ""), query.get("after", "")
            restore = self.services.settings.archive_restore_required
            return html(render("objects.html", **common, page="objects", bucket=bucket,
                               prefix=prefix, filter=query.get("filter", ""), after=after,
                               restore_required=restore))  # fmt: skip
        if path == "keys":
            keys = await backend.keys_visible_to(self.services, caller.user)
            return html(render("keys.html", **common, keys=keys, max_keys=MAX_KEYS_PER_USER,
                               default_rate=self.services.settings.rate_limit))  # fmt: skip
        if path == "api/traffic":
            # Root sees the server's; anyone else only their own keys' and buckets'.
            mine = None if common["root"] else caller.user.id
            data_dir = self.services.settings.data_dir
            minutes = await self.services.offload(last_hour, data_dir, user_id=mine)
            return as_json({"minutes": minutes, "scope": "server" if mine is None else "user"})
        if path == "users" and common["root"]:
            return html(render("users.html", **common, users=await backend.users(self.services)))
        if path == "users":
            return text(403, "only the root user sees users\n")
        return text(404, "no such console page\n")

    async def _dashboard(self, incoming: Incoming, caller: Caller) -> dict[str, Any]:
        settings = self.services.settings
        buckets = await backend.bucket_usage(self.services, caller.user)
        here = f"https://{incoming.host}"
        return {
            "tiers": tier_totals(buckets),
            "here": here,
            "standard": settings.endpoints.standard,
            "archive": settings.endpoints.archive,
            "region": settings.region,
            "snippets": snippets(here, settings.region, caller.key.access_key),
        }
