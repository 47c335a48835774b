"""The in-process harness: the gateway's ASGI app over stores in a temporary directory,
driven on one event loop, with requests signed by botocore's SigV4 signer.

No sockets, no TLS, no server process: a request is a scope, one body message and the
messages the app sends back. Users, keys and buckets are made through the store, so a
test of one handler does not depend on another handler working.
"""

from __future__ import annotations

import asyncio
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from oortgate.config import Settings
from oortgate.http.server import Gateway
from oortgate.meta.base import MetaStore
from oortgate.meta.models import Bucket, User

T = TypeVar("T")
HOST = "localhost"
REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header's values joined by ", "
    body: bytes

    def xml(self) -> ET.Element:
        """The body as XML, namespaces dropped (a test names <Key>, not {ns}Key)."""
        root = ET.fromstring(self.body)
        for element in root.iter():
            element.tag = element.tag.rpartition("}")[2]
        return root

    @property
    def code(self) -> str | None:
        """The S3 error code of an error body (None if the body is not an error)."""
        if not self.body.startswith(b"<"):
            return None
        root = self.xml()
        return root.findtext("Code") if root.tag == "Error" else None

    @property
    def error(self) -> tuple[int, str | None]:
        return self.status, self.code

    def texts(self, path: str) -> list[str]:
        return [e.text or "" for e in self.xml().iterfind(path)]


class Harness:
    """One gateway over ``data_dir``; every coroutine runs on the harness's loop."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        values: dict[str, Any] = {"rate_limit": 0, "space_reserve": "0", "min_free_space": "0"}
        values |= {"gc_interval": 3600.0, "hsts_max_age": 0, "console": False, **settings}
        self.data_dir = data_dir
        self.runner = asyncio.Runner()
        self.gateway = self.runner.run(_build(Settings(data_dir=data_dir, **values)))

    @property
    def meta(self) -> MetaStore:
        return self.gateway.services.meta

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def close(self) -> None:
        try:
            self.run(self.gateway.services.close())
        finally:
            self.runner.close()

    def user(self, name: str) -> Client:
        """A new user with one access key, and a client signing as it."""
        user = self.run(self.meta.create_user(name))
        access_key = "AK" + secrets.token_hex(9).upper()
        secret_key = secrets.token_urlsafe(30)
        self.run(self.meta.create_key(user.id, access_key, secret_key))
        return Client(self, Credentials(access_key, secret_key), user)

    def anonymous(self) -> Client:
        return Client(self, None, None)

    def bucket(self, owner: Client, name: str, acl: str = "private", **fields: Any) -> Bucket:
        """A bucket made through the store (no CreateBucket handler involved)."""
        assert owner.user is not None
        return self.run(self.meta.create_bucket(name, owner.user.id, REGION, 100, acl, **fields))

    def get_bucket(self, name: str) -> Bucket | None:
        self.run(self.meta.refresh())
        return self.run(self.meta.get_bucket(name))


async def _build(settings: Settings) -> Gateway:
    return Gateway(settings)  # on the loop: what the stores start belongs to it


class Client:
    """Requests as one user (signed with SigV4) or as nobody (``credentials`` None)."""

    def __init__(self, harness: Harness, credentials: Credentials | None, user: User | None):
        self.harness, self.credentials, self.user = harness, credentials, user

    @property
    def canonical_id(self) -> str:
        assert self.user is not None
        return self.user.canonical_id

    def request(
        self,
        method: str,
        path: str = "/",
        query: str = "",
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """``path`` and ``query`` unencoded ("/bucket/some key", "acl", "prefix=a/b");
        both are percent-encoded here, as a client sends them."""
        scope = self.scope(method, path, query, body, headers)
        return self.harness.run(_exchange(self.harness.gateway, scope, body))

    def scope(
        self,
        method: str,
        path: str = "/",
        query: str = "",
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The ASGI scope of ``request`` (signed for ``body``), for a test that sends
        the body itself."""
        raw_path = quote(path, safe="/~")
        query = _encode_query(query)
        fields = {"host": HOST, **(headers or {})}
        if self.credentials is not None:
            url = f"http://{HOST}{raw_path}" + (f"?{query}" if query else "")
            signed = AWSRequest(method=method, url=url, data=body, headers=fields)
            S3SigV4Auth(self.credentials, "s3", REGION).add_auth(signed)
            fields = {k.lower(): str(v) for k, v in signed.headers.items()}
        if body or method in ("PUT", "POST"):
            fields.setdefault("content-length", str(len(body)))
        scope = {
            "type": "http",
            "method": method,
            "path": unquote(raw_path),
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "scheme": "http",
            "http_version": "1.1",
            "client": ("127.0.0.1", 1),
            "headers": [(k.lower().encode(), v.encode()) for k, v in fields.items()],
        }
        return scope

    # Shortcuts for the requests most tests make on the way to the one they test.
    def put(self, bucket: str, key: str, data: bytes = b"data", **headers: str) -> Reply:
        return self.request("PUT", f"/{bucket}/{key}", body=data, headers=_names(headers))

    def get(self, bucket: str, key: str, query: str = "", **headers: str) -> Reply:
        return self.request("GET", f"/{bucket}/{key}", query, headers=_names(headers))


def _encode_query(query: str) -> str:
    """Each name and value percent-encoded (SigV4's encoding); a bare name stays bare."""
    parts = []
    for part in query.split("&") if query else []:
        name, eq, value = part.partition("=")
        parts.append(quote(name, safe="~") + eq + quote(value, safe="~"))
    return "&".join(parts)


def _names(headers: Mapping[str, str]) -> dict[str, str]:
    """Keyword arguments as header names: content_type -> content-type."""
    return {k.replace("_", "-"): v for k, v in headers.items()}


async def _exchange(gateway: Gateway, scope: dict[str, Any], body: bytes) -> Reply:
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:  # the app asks again only after the whole body: wait as a client would
            await asyncio.sleep(3600)
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await asyncio.wait_for(gateway(scope, receive, send), timeout=30)
    return reply(sent)


def reply(sent: list[dict[str, Any]]) -> Reply:
    """The reply the ASGI messages ``sent`` by the app make up."""
    start = sent[0]
    assert start["type"] == "http.response.start"
    headers: dict[str, str] = {}
    for name, value in start["headers"]:
        key = bytes(name).decode("latin-1").lower()
        text = bytes(value).decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    content = b"".join(m.get("body", b"") for m in sent[1:])
    return Reply(start["status"], headers, content)
