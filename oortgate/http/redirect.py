"""The plain-HTTP listener: every request is redirected to the same URL over HTTPS.

It reads no body and touches no state. GET and HEAD get 301; other methods get 308 so
clients re-send the body to the HTTPS URL (a 301/302 would let them turn a PUT into a
GET).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Awaitable, Callable
from typing import Any

from oortgate import xml
from oortgate.endpoints import Endpoints
from oortgate.http.hosts import resolve, strip_port
from oortgate.http.proxy import is_trusted, origin
from oortgate.networks import Network, parse_networks

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Networks = tuple[Network, ...]

ENV_HTTPS_PORT = "OORTGATE_HTTPS_PUBLIC_PORT"
ENV_DEFAULT_HOST = "OORTGATE_REDIRECT_HOST"


def https_location(host_header: str | None, default_host: str, https_port: int, target: str) -> str:
    """https://host[:port]/path?query for the Host the client used (its port dropped)."""
    host = (host_header or "").strip() or default_host
    if host.startswith("["):  # [v6]:port
        host = host[: host.find("]") + 1]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if not _plausible_host(host):
        host = default_host
    port = "" if https_port == 443 else f":{https_port}"
    return f"https://{host}{port}{target}"


def serves_host(host: str, endpoints: Endpoints, local_address: str | None) -> bool:
    """Whether a Host names this server: an endpoint, a bucket's virtual host under one,
    localhost, a loopback address or the address the connection came to. Any other host
    would make the redirect an open redirect to wherever the client pointed it."""
    name = strip_port(host)
    if name in (endpoints.standard, endpoints.archive, "localhost") or name == local_address:
        return True
    if resolve(name, endpoints).tier is not None:
        return True
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or str(address) == local_address


def _plausible_host(host: str) -> bool:
    """Never echo header junk into a Location header."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:")
    return 0 < len(host) <= 255 and set(host) <= allowed


class RedirectApp:
    def __init__(
        self,
        https_port: int,
        default_host: str,
        region: str = "us-east-1",
        endpoints: Endpoints | None = None,
    ) -> None:
        self.https_port = https_port
        self.default_host = default_host
        self.region = region
        self.endpoints = endpoints or Endpoints(default_host, default_host)

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        public_host: str | None = None,
        proxied: bool = False,
    ) -> None:
        """``public_host``: the host a trusted proxy was reached by; ``proxied``: the
        request came from a trusted proxy, which answers for the names it forwards."""
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        raw = scope.get("raw_path") or scope["path"].encode()
        target = bytes(raw).decode("latin-1")
        if not target.startswith("/"):
            target = "/" + target
        query = scope.get("query_string", b"")
        if query and "?" not in target:
            target += "?" + query.decode("latin-1")
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        local = str((scope.get("server") or ("",))[0])
        if not proxied and host and not serves_host(host, self.endpoints, local):
            await _refuse_host(send)
            return
        port = 443 if public_host else self.https_port
        location = https_location(public_host or host, self.default_host, port, target)
        status = 301 if scope["method"] in ("GET", "HEAD") else 308
        headers = [
            (b"location", location.encode("latin-1")),
            # The AWS SDKs take any 301 from S3 for "wrong region": naming the region
            # stops them probing in a loop, so they report the redirect at once.
            (b"x-amz-bucket-region", self.region.encode("latin-1")),
            (b"content-length", b"0"),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


_NOT_SERVED = xml.error_document(
    "InvalidArgument",
    "The Host header does not name an endpoint of this server.",
    {"ArgumentName": "Host"},
    "",
)


async def _refuse_host(send: Send) -> None:
    headers = [
        (b"content-type", b"application/xml"),
        (b"content-length", str(len(_NOT_SERVED)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": _NOT_SERVED})


class PlainListener:
    """Redirects, except for requests a trusted proxy received over HTTPS."""

    def __init__(
        self, redirect: RedirectApp, gateway: Callable[[], ASGIApp], trusted: Networks
    ) -> None:
        self._redirect = redirect
        self._make_gateway = gateway
        self._gateway: ASGIApp | None = None
        self._trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = str((scope.get("client") or ("",))[0])
        if scope["type"] == "http" and is_trusted(peer, self._trusted):
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            seen = origin(peer, headers, False, self._trusted)
            if seen.https:
                if self._gateway is None:
                    self._gateway = self._make_gateway()
                await self._gateway(scope, receive, send)
                return
            if seen.host and seen.host != headers.get("host"):
                # Redirect to the public name the proxy was reached by (HTTPS on 443).
                await self._redirect(scope, receive, send, public_host=seen.host, proxied=True)
                return
            await self._redirect(scope, receive, send, proxied=True)
            return
        await self._redirect(scope, receive, send)


def create_app() -> PlainListener:
    """granian's factory for the plain-HTTP listener's worker."""
    from oortgate.config import Settings
    from oortgate.http.server import Gateway

    settings = Settings.from_env()
    https_port = int(os.environ[ENV_HTTPS_PORT])
    default_host = os.environ.get(ENV_DEFAULT_HOST, "localhost")
    redirect = RedirectApp(https_port, default_host, settings.region, settings.endpoints)
    trusted = parse_networks(settings.trusted_proxies)
    return PlainListener(redirect, lambda: Gateway(settings), trusted)
