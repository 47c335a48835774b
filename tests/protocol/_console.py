"""A console client for the protocol tests: ``requests`` over TLS, as a browser would
send it (same-origin Origin header, the session cookie, the page's CSRF token)."""

from __future__ import annotations

import re
from typing import Any

import requests

from ._server import ServerProcess

CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class ConsoleClient:
    def __init__(self, server: ServerProcess) -> None:
        self.base = server.endpoint + "/_console/"
        self.origin = server.endpoint
        self.http = requests.Session()
        self.http.trust_env = False  # REQUESTS_CA_BUNDLE would override the session's verify
        self.http.verify = server.cert
        self.csrf = ""

    def get(self, path: str = "", **kwargs: Any) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        return self.http.get(self.base + path, timeout=30, **kwargs)

    def post_form(
        self, path: str, data: dict[str, str], origin: str | None = ""
    ) -> requests.Response:
        headers = {} if origin is None else {"Origin": origin or self.origin}
        return self.http.post(
            self.base + path, data=data, headers=headers, allow_redirects=False, timeout=30
        )

    def sign_in(self, access_key: str, secret_key: str, next_page: str = "") -> requests.Response:
        data = {"access_key": access_key, "secret_key": secret_key}
        if next_page:
            data["next"] = next_page
        answer = self.post_form("signin", data)
        if answer.status_code == 303:
            self.refresh_csrf()
        return answer

    def refresh_csrf(self) -> None:
        page = self.get("")
        found = CSRF_RE.search(page.text)
        assert found, page.text[:500]
        self.csrf = found.group(1)

    def action(self, path: str, body: dict[str, Any], csrf: str | None = None,
               origin: str | None = None) -> requests.Response:  # fmt: skip
        headers = {"Origin": origin or self.origin, "Content-Type": "application/json"}
        token = self.csrf if csrf is None else csrf
        if token:
            headers["X-CSRF-Token"] = token
        return self.http.post(self.base + path, json=body, headers=headers, timeout=30)

    def presign(self, op: str, bucket: str = "", key: str = "", **extra: Any) -> requests.Response:
        return self.action("api/presign", {"op": op, "bucket": bucket, "key": key, **extra})

    def url(self, op: str, bucket: str = "", key: str = "", **extra: Any) -> str:
        answer = self.presign(op, bucket, key, **extra)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["absolute"])
