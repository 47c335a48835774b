"""HTTP plumbing of the console: the request it sees, the headers every answer carries,
bounded body reading, redirects and JSON answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

from oortgate.ops.body import Receive
from oortgate.ops.response import Response

PREFIX = "/_console/"
MAX_FORM = 64 * 1024  # every console form and JSON body is small
# No inline script or style at all: every script and style sheet is a file of ours.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
]


class TooLarge(Exception):
    pass


@dataclass(slots=True)
class Incoming:
    method: str
    path: str  # after PREFIX, percent-decoded
    query: dict[str, str]
    headers: dict[str, str]
    client: str
    receive: Receive
    request_id: str
    set_cookies: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.headers.get("host", "")

    async def body(self, limit: int = MAX_FORM) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def form(self) -> dict[str, str]:
        text = (await self.body()).decode("utf-8", "replace")
        return dict(parse_qsl(text, keep_blank_values=True))

    async def json(self) -> dict[str, Any]:
        try:
            value = json.loads(await self.body())
        except (ValueError, UnicodeDecodeError):
            return {}
        return value if isinstance(value, dict) else {}

    def same_origin(self) -> bool:
        """A state change must come from a page of this origin. Its Origin header names
        it; under our Referrer-Policy (no-referrer) a browser sends "Origin: null" for a
        form, and then its Sec-Fetch-Site must say same-origin. SameSite=Strict alone
        would trust older browsers."""
        origin = self.headers.get("origin")
        if origin is not None and origin != "null":
            return origin == f"https://{self.host}"
        return self.headers.get("sec-fetch-site") == "same-origin"


def finish(response: Response, incoming: Incoming, *, cache: bool = False) -> Response:
    response.headers.extend(SECURITY_HEADERS)
    if not cache:
        response.headers.append(("cache-control", "no-store"))
    response.headers.extend(("set-cookie", c) for c in incoming.set_cookies)
    return response


def html(body: str, status: int = 200) -> Response:
    return Response(status, [("content-type", "text/html; charset=utf-8")], body.encode())


def text(status: int, message: str) -> Response:
    return Response(status, [("content-type", "text/plain; charset=utf-8")], message.encode())


def redirect(location: str) -> Response:
    return Response(303, [("location", location)])


def to_signin(incoming: Incoming) -> Response:
    """Back to sign-in, remembering the page (a console path only, never another site)."""
    here = PREFIX + quote(incoming.path, safe="/")
    if incoming.query:
        here += "?" + "&".join(
            f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in incoming.query.items()
        )
    return redirect(PREFIX + "signin?next=" + quote(here, safe=""))


def safe_next(value: str | None) -> str:
    if value and value.startswith(PREFIX) and "//" not in value and "\\" not in value:
        return value
    return PREFIX


def as_json(value: object, status: int = 200) -> Response:
    body = json.dumps(value).encode()
    return Response(status, [("content-type", "application/json")], body)


def json_error(status: int, message: str) -> Response:
    return as_json({"error": message}, status)
