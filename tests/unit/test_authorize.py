"""Context.authorize, in process (the gateway's ASGI app over temporary stores): PERMISSION
is checked before the handler runs, and what it looked up is what the handler uses, so a
small GET, HEAD or PUT looks its bucket and object up once, as before the table."""

from __future__ import annotations

import asyncio
import hashlib
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from oortgate import integrity
from oortgate.config import Settings
from oortgate.http.server import Gateway
from oortgate.meta.models import InlineBody, ObjectRecord

DATA = b"small object bytes"


class Counted:
    """Wraps an async lookup, counting its calls (the real lookup still runs)."""

    def __init__(self, fn: Callable[..., Awaitable[Any]]) -> None:
        self.fn, self.calls = fn, 0

    async def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return await self.fn(*args)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    gw = Gateway(Settings(data_dir=tmp_path, rate_limit=0, space_reserve="0", min_free_space="0"))
    meta = gw.services.meta

    async def fill() -> None:
        owner = await meta.create_user("owner")
        buckets = (("pub", "public-read"), ("priv", "private"), ("open", "public-read-write"))
        for name, acl in buckets:
            bucket = await meta.create_bucket(name, owner.id, "us-east-1", 100, acl)
            body = InlineBody(DATA, integrity.of(DATA))
            record = ObjectRecord(bucket.id, "obj", body, len(DATA), hashlib.md5(DATA).hexdigest(),
                                  time.time(), acl=acl, owner_id=owner.id)  # fmt: skip
            await meta.put_object(record)

    asyncio.run(fill())
    yield gw
    asyncio.run(gw.services.close())


def request(
    gw: Gateway, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One anonymous request: (status, body)."""
    sent: list[dict[str, Any]] = []
    fields = {"host": "localhost", "content-length": str(len(body)), **(headers or {})}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    path, _, query = path.partition("?")
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": query.encode(), "client": ("127.0.0.1", 1),
             "headers": [(k.encode(), v.encode()) for k, v in fields.items()]}  # fmt: skip
    asyncio.run(gw._http(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def code(body: bytes) -> str | None:
    return ET.fromstring(body).findtext("Code")


def test_anonymous_access_follows_the_table(gateway: Gateway) -> None:
    assert request(gateway, "GET", "/pub/obj") == (200, DATA)
    status, body = request(gateway, "GET", "/priv/obj")
    assert (status, code(body)) == (403, "AccessDenied")
    # A missing key: NoSuchKey to whoever may list the bucket, AccessDenied to others.
    status, body = request(gateway, "GET", "/pub/missing")
    assert (status, code(body)) == (404, "NoSuchKey")
    status, body = request(gateway, "HEAD", "/priv/missing")
    assert status == 403
    status, body = request(gateway, "PUT", "/pub/new", b"x")
    assert (status, code(body)) == (403, "AccessDenied")
    status, body = request(gateway, "GET", "/pub?location")
    assert (status, code(body)) == (403, "AccessDenied")  # owner-only
    status, body = request(gateway, "GET", "/")
    assert (status, code(body)) == (403, "AccessDenied")  # ListBuckets: signed in only


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/pub/obj", b""), ("HEAD", "/pub/obj", b""), ("PUT", "/open/new", b"new bytes"),
])  # fmt: skip
def test_one_lookup_of_the_bucket_and_the_object(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch, method: str, path: str, body: bytes
) -> None:
    services = gateway.services
    buckets = Counted(services.meta.get_bucket)
    objects = Counted(services.meta.get_object)
    monkeypatch.setattr(services.meta, "get_bucket", buckets)
    monkeypatch.setattr(services.meta, "get_object", objects)
    status, _ = request(gateway, method, path, body)
    assert status == 200
    assert buckets.calls == 1
    assert objects.calls == (0 if method == "PUT" else 1)
