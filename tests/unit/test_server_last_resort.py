"""The server's last resort: an unexpected exception is still an S3 XML 500, logged.

Bad input must never get there (the property tests and the fuzz loop check that); this
checks the net itself, by making the router fail in a way no request can."""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from oortgate.config import Settings
from oortgate.http import server


def test_unexpected_exception_is_an_xml_500_with_a_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_route(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug, not bad input")

    monkeypatch.setattr(server, "route", broken_route)
    gateway = server.Gateway(Settings(data_dir=tmp_path, rate_limit=0))
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/b/k", "raw_path": b"/b/k",
             "query_string": b"", "headers": [(b"host", b"localhost")], "client": ("1", 1)}

    async def call() -> None:
        try:
            await gateway._http(scope, receive, send)
        finally:
            await gateway.services.close()

    with caplog.at_level(logging.ERROR, logger="oortgate"):
        asyncio.run(call())
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    assert start["status"] == 500
    assert (b"content-type", b"application/xml") in start["headers"]
    assert ET.fromstring(body).findtext("Code") == "InternalError"
    assert any("internal error on GET" in r.getMessage() for r in caplog.records)
    assert "a bug, not bad input" in caplog.text
