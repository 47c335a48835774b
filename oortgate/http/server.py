"""The ASGI entry point: the only place that writes responses.

parse route -> authenticate -> parse the route's parameters (ops/params.py) -> check
PERMISSION[op] once (Context.authorize) -> dispatch to ops -> render (S3Error -> XML
error body).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from oortgate import logs, xml
from oortgate.access_log import claimed_access_key
from oortgate.auth.checksums import CHECKSUM_HEADER_PREFIX
from oortgate.auth.payload import PayloadVerifier
from oortgate.config import Settings
from oortgate.endpoints import Addressed
from oortgate.errors import BodyCut, S3Error, StoreUnavailable
from oortgate.http.authenticate import ANONYMOUS, authenticate
from oortgate.http.client_slots import ClientSlots
from oortgate.http.console_mount import answer_console, mount_console
from oortgate.http.health import PREFIX as HEALTH_PREFIX
from oortgate.http.health import health_response
from oortgate.http.hosts import resolve
from oortgate.http.observe import Exchange, Observer
from oortgate.http.proxy import origin
from oortgate.http.request_body import TrackedReceive, settle_body
from oortgate.http.routing import parse_query, route, split_path
from oortgate.http.throttle import take_slot, throttle
from oortgate.http.upkeep import Upkeep
from oortgate.networks import parse_networks
from oortgate.numbers import parse_count
from oortgate.ops import HANDLERS
from oortgate.ops.body import Body, Receive
from oortgate.ops.context import Context, Services
from oortgate.ops.cors_ops import actual_request_headers
from oortgate.ops.operations import Op
from oortgate.ops.params import parse as parse_params
from oortgate.ops.request_headers import check as check_request_headers
from oortgate.ops.response import Response
from oortgate.storage.space import StorageFull, WritesRefused
from oortgate.stores import open_stores

Send = Callable[[dict[str, Any]], Awaitable[None]]
Scope = dict[str, Any]

ENV_PORT_TIER = "OORTGATE_PORT_TIER"
MAX_HEADER_BYTES = 8 * 1024  # what S3 allows for a request header section
WRITE_METHODS = ("PUT", "POST")  # each may store something, but for:
FREEING_OPS = frozenset({Op.DeleteObjects})  # which must work on a full disk
STORE_RETRY_AFTER = 1  # seconds, on a 503 for a store that is down or overloaded


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        stores = open_stores(settings)
        self.services = Services(settings, stores.meta, stores.blobs)
        self.limiter = stores.limiter
        self.upkeep = Upkeep(settings, self.services)
        # A listener that stands for one endpoint (the archive port) sets its tier.
        self.port_tier = os.environ.get(ENV_PORT_TIER) or None
        self.trusted = parse_networks(settings.trusted_proxies)
        # Constant per settings, asked on every request: built once.
        self.endpoints = settings.endpoints
        self.hsts = (
            [("strict-transport-security", f"max-age={settings.hsts_max_age}")]
            if settings.hsts_max_age
            else []
        )
        self.client_slots = ClientSlots(settings.max_requests_per_client)
        # Request ids: 16 hex digits as AWS shows them, unique without a syscall each:
        # a random prefix per worker process, then a counter.
        prefix = secrets.token_hex(3).upper()
        self._request_ids = (f"{prefix}{n:010X}" for n in itertools.count(1))
        observed = settings.access_log or settings.metrics_port
        self.observer = Observer(settings) if observed else None
        self.console = mount_console(self.services, self.limiter, self, self.port_tier)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            self.upkeep.ensure_started()
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.upkeep.ensure_started()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.upkeep.stop()
                await self.services.close()
                if self.limiter is not None:
                    await self.limiter.close()
                if self.observer is not None:
                    self.observer.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        exchange = Exchange(next(self._request_ids))
        tracked = TrackedReceive(receive)
        observer = self.observer
        try:
            if observer is None:
                await self._respond(scope, tracked, send, exchange)
            else:
                # Recorded whatever happens, even if the client goes away mid-request.
                observer.start()
                try:
                    await self._respond(scope, tracked, observer.counting(send, exchange),
                                        exchange)  # fmt: skip
                finally:
                    observer.finish(exchange, scope, tracked.received)
        finally:
            if exchange.slot is not None:
                self.client_slots.give_back(exchange.slot)
            # The dashboard's requests per minute: the server's, the key's user's and
            # the bucket owner's.
            self.console.count(exchange.status, (exchange.user_id, exchange.owner_id))

    async def _respond(
        self, scope: Scope, tracked: TrackedReceive, send: Send, exchange: Exchange
    ) -> None:
        request_id = exchange.request_id
        method: str = scope["method"]
        try:
            response = await self._handle(scope, tracked, exchange)
        except S3Error as err:
            exchange.error_code = err.code
            response = error_response(err, request_id)
            await settle_body(scope, tracked, response)
        except StoreUnavailable as exc:  # the metadata store is down or overloaded: retry
            logs.errors.error("store-unavailable", f"{method} {scope.get('path')!r}: {exc}")
            code = "SlowDown" if exc.busy else "ServiceUnavailable"
            exchange.error_code = code
            retry = S3Error(code, headers={"retry-after": str(STORE_RETRY_AFTER)})
            response = error_response(retry, request_id)
            await settle_body(scope, tracked, response)
        except StorageFull as exc:
            if not isinstance(exc, WritesRefused):  # it ran out of space while writing
                logs.errors.error(
                    "out-of-space", f"{method} {scope.get('path')!r}: out of space: {exc}"
                )
                self.services.space.noticed_full()
            exchange.error_code = "InsufficientStorage"
            response = error_response(S3Error("InsufficientStorage"), request_id)
            await settle_body(scope, tracked, response)
        except Exception as exc:
            where = f"internal error on {method} {scope.get('path')!r} (request {request_id})"
            logs.errors.error(logs.kind_of(exc), where, exc)
            exchange.error_code = "InternalError"
            response = error_response(S3Error("InternalError"), request_id)
            await settle_body(scope, tracked, response)
        exchange.status = response.status
        if method != "OPTIONS":
            response.headers += await self._cors(scope, method)
        if self.hsts:
            response.headers += self.hsts
        await _send(send, response, request_id, head=method == "HEAD")

    async def _cors(self, scope: Scope, method: str) -> list[tuple[str, str]]:
        """A browser's cross-origin request gets the headers its bucket's rules allow."""
        origin = next((v for k, v in scope["headers"] if k.lower() == b"origin"), None)
        if origin is None:
            return []
        try:
            host = next((v for k, v in scope["headers"] if k.lower() == b"host"), b"")
            addressed = resolve(host.decode("latin-1"), self.endpoints)
            name = addressed.bucket or split_path(_raw_path(scope))[0]
            await self.services.meta.refresh()  # the request may have changed the rules
            bucket = await self.services.meta.get_bucket(name) if name else None
        except S3Error:
            return []
        return actual_request_headers(bucket, origin.decode("latin-1"), method)

    async def _handle(self, scope: Scope, receive: Receive, exchange: Exchange) -> Response:
        method: str = scope["method"]
        headers = _headers(scope)
        raw_path = _raw_path(scope)
        if raw_path.startswith(HEALTH_PREFIX):
            health = await health_response(raw_path, self.services, self.limiter)
            if health is not None:
                exchange.operation = Op.Health
                return health
        await self.services.meta.refresh()
        query_string = scope.get("query_string", b"").decode("latin-1")
        query_pairs = parse_query(query_string)
        query = dict(query_pairs)
        peer = str((scope.get("client") or ("",))[0])
        seen = origin(peer, headers, True, self.trusted)
        exchange.remote = seen.client
        take_slot(self.client_slots, seen.client)
        exchange.slot = seen.client  # given back once the response is sent
        if seen.host is not None:
            headers["host"] = seen.host  # what the client signed, behind a trusted proxy
        addressed = resolve(headers.get("host"), self.endpoints)
        if addressed.tier is None and self.port_tier is not None:
            addressed = Addressed(self.port_tier, None)
        console = await answer_console(self.console, scope, receive, raw_path, headers,
                                       addressed, seen.client, exchange)  # fmt: skip
        if console is not None:
            return console
        target = route(method, raw_path, query, headers, addressed.bucket)
        exchange.operation, exchange.bucket, exchange.key = target.op, target.bucket, target.key
        # A browser's preflight carries no credentials of its own (a presigned URL's
        # query signs the request that follows): only the CORS rules decide it.
        if target.op is Op.Preflight:
            identity = ANONYMOUS
        else:
            try:
                identity = await authenticate(
                    self.services, method, raw_path, query_pairs, headers, addressed.bucket
                )
            except S3Error:
                exchange.refused = True
                exchange.access_key = claimed_access_key(headers, query)
                # A refused attempt counts against the client's address, not the key it
                # names (anyone can name a key): guessing is throttled like any traffic.
                await throttle(self.limiter, self.settings, seen.client, ANONYMOUS)
                raise
        if identity.key is not None:
            exchange.access_key = identity.key.access_key
        if identity.user is not None:
            exchange.user_id = identity.user.id
        await throttle(self.limiter, self.settings, seen.client, identity)
        check_request_headers(target.op, headers, query)
        parse_params(target, query)
        if method in WRITE_METHODS and target.op not in FREEING_OPS:
            self.services.space.check_write(_incoming_size(headers))
        verifier = PayloadVerifier(_payload_headers(target.op, headers), identity.signing)
        body = Body(receive, verifier, _content_length(headers), headers.get("content-md5"),
                    self.settings.body_timeout)  # fmt: skip
        ctx = Context(
            self.services, target, method, headers, query, identity.user, body,
            exchange.request_id,
            addressed, seen.client, seen.https,
        )  # fmt: skip
        handler = HANDLERS.get(target.op)
        if handler is None:
            raise S3Error("NotImplemented")
        try:
            await ctx.authorize()  # PERMISSION[op], once for every handler
            return await handler(ctx)
        finally:
            exchange.owner_id = ctx.route_owner  # refused or not: the owner's to see



def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    total = 0
    for raw_name, raw_value in scope["headers"]:
        total += len(raw_name) + len(raw_value)
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("utf-8", "surrogateescape").strip()
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    if total > MAX_HEADER_BYTES:
        raise S3Error(
            "RequestHeaderSectionTooLarge",
            f"Your request header section exceeds the maximum allowed size of "
            f"{MAX_HEADER_BYTES} bytes.",
        )
    return headers


def _payload_headers(op: Op, headers: dict[str, str]) -> dict[str, str]:
    """On CompleteMultipartUpload an x-amz-checksum-* header is the checksum of the
    whole object, not of the XML body: keep it away from the body's verifier."""
    if op is not Op.CompleteMultipartUpload:
        return headers
    return {k: v for k, v in headers.items() if not k.startswith(CHECKSUM_HEADER_PREFIX)}


def _raw_path(scope: Scope) -> str:
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw).split(b"?", 1)[0].decode("latin-1")
    return quote(scope["path"], safe="/~")


def _content_length(headers: dict[str, str]) -> int | None:
    value = headers.get("content-length")
    if value is None:
        return None
    length = parse_count(value) if value.isdigit() else None  # no spaces: granian's framing
    if length is None:
        raise S3Error("InvalidArgument", "Content-Length is not a number.")
    return length


def _incoming_size(headers: dict[str, str]) -> int:
    """The bytes a write declares it will store (an aws-chunked body's decoded size);
    0 if unknown, as for a body sent chunked."""
    length = headers.get("x-amz-decoded-content-length") or headers.get("content-length")
    return parse_count(length) or 0


def error_response(err: S3Error, request_id: str) -> Response:
    body = xml.error_document(err.code, err.message, err.fields, request_id)
    headers = [("content-type", "application/xml"), *err.headers.items()]
    return Response(err.status, headers, body)


async def _send(send: Send, response: Response, request_id: str, *, head: bool) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in response.headers]
    headers.append((b"x-amz-request-id", request_id.encode()))
    headers.append((b"x-amz-id-2", request_id.encode()))
    body = response.body
    if isinstance(body, bytes):
        length = response.content_length if response.content_length is not None else len(body)
    else:
        length = response.content_length if response.content_length is not None else -1
    if length >= 0 and response.status not in (204, 304):
        headers.append((b"content-length", str(length).encode()))
    if isinstance(body, bytes):
        await send({"type": "http.response.start", "status": response.status,
                    "headers": headers})  # fmt: skip
        empty = head or response.status in (204, 304)
        await send({"type": "http.response.body", "body": b"" if empty else body})
        return
    try:
        await send({"type": "http.response.start", "status": response.status,
                    "headers": headers})  # fmt: skip
        if head or response.status in (204, 304):
            await send({"type": "http.response.body", "body": b""})
            return
        async for chunk in body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except BodyCut:
        return  # the body stays short of its Content-Length: the connection is closed
    finally:
        await _close(body)  # a stream not read to its end still lets go of what it holds
    await send({"type": "http.response.body", "body": b""})


async def _close(body: AsyncIterator[bytes]) -> None:
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()


def create_app() -> Gateway:
    """granian's factory: each worker process builds its own gateway."""
    return Gateway(Settings.from_env())
