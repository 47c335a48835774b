"""The console's request checks (pure): where sign-in may return to, which POSTs count as
same-origin, and which paths are the console's."""

from __future__ import annotations

from typing import Any

import pytest

from oortgate.console.hook import ConsoleHook
from oortgate.console.web import Incoming, safe_next, to_signin
from oortgate.endpoints import Addressed


async def _no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _incoming(
    headers: dict[str, str], path: str = "", query: dict[str, str] | None = None
) -> Incoming:
    return Incoming("POST", path, query or {}, {"host": "gw.example:8443", **headers}, "1.2.3.4",
                    _no_body, "REQ")  # fmt: skip


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/_console/keys", "/_console/keys"),
        ("/_console/b/x/?prefix=a%2F", "/_console/b/x/?prefix=a%2F"),
        (None, "/_console/"),
        ("", "/_console/"),
        ("https://evil.example/_console/", "/_console/"),
        ("//evil.example/_console/", "/_console/"),
        ("/_console//evil.example", "/_console/"),
        ("/_console/\\evil", "/_console/"),
        ("/other", "/_console/"),
    ],
)
def test_sign_in_returns_only_to_console_pages(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


@pytest.mark.parametrize(
    ("headers", "same"),
    [
        ({"origin": "https://gw.example:8443"}, True),
        ({"origin": "https://evil.example"}, False),
        ({"origin": "http://gw.example:8443"}, False),  # not over HTTPS
        ({"origin": "null", "sec-fetch-site": "same-origin"}, True),  # a form under no-referrer
        ({"origin": "null", "sec-fetch-site": "cross-site"}, False),
        ({"origin": "null"}, False),
        ({"sec-fetch-site": "same-origin"}, True),
        ({"origin": "https://evil.example", "sec-fetch-site": "same-origin"}, False),
        ({}, False),
    ],
)
def test_what_counts_as_same_origin(headers: dict[str, str], same: bool) -> None:
    assert _incoming(headers).same_origin() is same


def test_sign_in_remembers_the_page() -> None:
    answer = to_signin(_incoming({}, "b/my bucket/", {"prefix": "a/b c&d"}))
    assert answer.status == 303
    location = dict(answer.headers)["location"]
    assert (
        location
        == "/_console/signin?next=%2F_console%2Fb%2Fmy%2520bucket%2F%3Fprefix%3Da%252Fb%2520c%2526d"
    )


@pytest.mark.parametrize(
    ("path", "addressed", "wanted"),
    [
        ("/_console/", Addressed(None, None), True),
        ("/_console", Addressed(None, None), True),
        ("/_console/static/console.js", Addressed("standard", None), True),
        ("/_consolex/", Addressed(None, None), False),
        ("/_console/", Addressed("standard", "bucket"), False),  # a key in a virtual host
        ("/bucket/_console/", Addressed(None, None), False),
    ],
)
def test_console_paths(path: str, addressed: Addressed, wanted: bool) -> None:
    assert ConsoleHook.wants(path, addressed) is wanted
