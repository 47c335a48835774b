"""S3 requests the console's server side sends for the signed-in key, in-process.

A presigned request (console/presign.py) is handed to the gateway's own ASGI app, so it
is authenticated, authorized and carried out by exactly the code a boto3 request meets:
permissions, PublicAccessBlock, object lock and the documents' validation are the S3
API's, never the console's. Only operations with small answers go this way (settings
documents, a page of versions); object bodies never do.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from oortgate.console.presign import SERVER_OPERATIONS, presign
from oortgate.meta.models import AccessKey
from oortgate.xml.error import error_code_and_message

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
LIFETIME = 60  # seconds: the request is sent at once


@dataclass(frozen=True, slots=True)
class S3Answer:
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str:
        return "" if self.ok else error_code_and_message(self.body)[0]

    def error(self) -> str:
        """The code and message S3 answered with, for the page."""
        code, message = error_code_and_message(self.body)
        return f"{code}: {message}" if message else code


@dataclass(frozen=True, slots=True)
class S3For:
    """S3 as one signed-in key sees it, at the host the console was reached on."""

    app: App
    region: str
    key: AccessKey
    host: str
    client: str  # the browser's address: rate limits and logs see who asked

    async def __call__(
        self, op: str, bucket: str, key: str = "", params: dict[str, str] | None = None,
        body: bytes = b"", headers: dict[str, str] | None = None,
    ) -> S3Answer:  # fmt: skip
        """``headers``: x-amz-* headers the operation signs (see presign.OPERATIONS)."""
        headers = dict(headers or {})
        if any(name == "content-md5" for name, _ in SERVER_OPERATIONS[op].headers):
            headers["content-md5"] = base64.b64encode(hashlib.md5(body).digest()).decode()
        signed = presign(
            op, bucket, key, params or {}, LIFETIME, host=self.host,
            access_key=self.key.access_key, secret_key=self.key.secret_key,
            region=self.region, headers=headers, operations=SERVER_OPERATIONS,
        )  # fmt: skip
        return await self._send(signed.method, signed.url, headers, body)

    async def _send(self, method: str, url: str, headers: dict[str, str],
                    body: bytes) -> S3Answer:  # fmt: skip
        path, _, query = url.partition("?")
        raw_headers = [(b"host", self.host.encode("idna")),
                       (b"content-length", str(len(body)).encode())]  # fmt: skip
        raw_headers += [(k.encode(), v.encode()) for k, v in headers.items()]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "scheme": "https", "method": method, "path": unquote(path),
            "raw_path": path.encode("ascii"), "query_string": query.encode("ascii"),
            "headers": raw_headers, "client": (self.client, 0), "server": None,
        }  # fmt: skip
        status, chunks, pending = 500, [], [body]
        answered: dict[str, str] = {}

        async def receive() -> dict[str, Any]:
            chunk = pending.pop() if pending else b""
            return {"type": "http.request", "body": chunk, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                answered.update((k.decode().lower(), v.decode()) for k, v in message["headers"])
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        await self.app(scope, receive, send)
        return S3Answer(status, b"".join(chunks), answered)
