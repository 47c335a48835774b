"""Hostile clients cannot lock others out: idle TLS connections and stalled signed
uploads, more than granian's defaults held (about 1,024 with 2 workers), leave a normal
client's GET fast; connections that never send a request are closed after
--header-timeout. Floods come from bench/connection_flood.py, on 127.0.0.1, bounded.

The normal client's p99 must stay under a second, or, on a machine so busy that even
without a flood its fresh-connection GETs take longer, under ten times what it measured
just before the flood: a lockout (a client waiting for a slot that an idle connection
holds) costs tens of seconds, not a busy machine's factor.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from bench import connection_flood
from tests.protocol._server import REGION, ServerProcess

P99_LIMIT_MS = 1000.0
OPEN_TIMEOUT = 60  # seconds the flood may take to open: only catches a hang
BUSY_FACTOR = 10.0  # x the p99 without a flood, where that is past P99_LIMIT_MS / 10


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Default connection settings, 2 workers (as measured), but for the idle timeout:
    a busy machine may take most of a minute to open the flood, and each connection is
    to be held meanwhile (a harder flood than one the timeout thins). No rate limit, so
    stalled uploads are held rather than answered 503 SlowDown. The flood and the normal
    client share 127.0.0.1 here, so the per-client request cap is off
    (test_client_slots.py)."""
    server = ServerProcess(tmp_path_factory.mktemp("flood") / "data", workers=2,
                           extra_args=["--max-requests-per-client", "0",
                                       "--header-timeout", str(OPEN_TIMEOUT + 30)])  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _baseline_p99_ms(server: ServerProcess) -> float:
    """The normal client's p99 on this machine now, without a flood."""
    alone = connection_flood.probe_alone(server.endpoint, server.cert, seconds=2.0).summary()
    assert alone["probe_errors"] == 0 and isinstance(alone["p99_ms"], float), alone
    return alone["p99_ms"]


def _assert_fast(summary: dict[str, Any], baseline_ms: float) -> None:
    limit = max(P99_LIMIT_MS, BUSY_FACTOR * baseline_ms)
    assert summary["probe_errors"] == 0, summary
    assert summary["p99_ms"] is not None and summary["p99_ms"] < limit, (summary, baseline_ms)


def _flood(server: ServerProcess, *args: str) -> dict[str, Any]:
    """The normal client's GETs run while the flood opens and while it is held (a lockout
    shows as probes that time out: errors)."""
    argv = ["--endpoint", server.endpoint, "--cafile", server.cert, "--hold", "3",
            "--probe-during-open", "--open-timeout", str(OPEN_TIMEOUT), *args]  # fmt: skip
    result = asyncio.run(connection_flood.run(connection_flood.parse_args(argv)))
    return result.summary()


def _presigned_put(server: ServerProcess) -> str:
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name=REGION,
                      aws_access_key_id=server.root_access_key,
                      aws_secret_access_key=server.root_secret_key, verify=server.cert,
                      config=Config(s3={"addressing_style": "path"}))  # fmt: skip
    s3.create_bucket(Bucket="stalled")
    return str(s3.generate_presigned_url("put_object", Params={"Bucket": "stalled", "Key": "k"}))


def test_2000_idle_tls_connections_leave_get_fast(two_workers: ServerProcess) -> None:
    baseline = _baseline_p99_ms(two_workers)
    summary = _flood(two_workers, "--mode", "tls", "--count", "2000")
    assert summary["opened"] == 2000, summary
    _assert_fast(summary, baseline)


def test_1100_stalled_uploads_leave_get_fast(two_workers: ServerProcess) -> None:
    url = _presigned_put(two_workers)
    baseline = _baseline_p99_ms(two_workers)
    summary = _flood(two_workers, "--mode", "upload", "--presigned-put", url,
                     "--count", "1100")  # fmt: skip
    assert summary["opened"] == 1100, summary
    _assert_fast(summary, baseline)


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection, None if it did not."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return None
    except (OSError, ssl.SSLError):
        pass
    return time.monotonic() - started


def test_header_timeout_closes_idle_keepalive_and_unfinished_handshake(tmp_path: Path) -> None:
    """Idle TLS and keep-alive connections go after --header-timeout; one that never
    starts its handshake after that too, but no sooner than granian's own 10 s floor."""
    with ServerProcess(tmp_path / "data", extra_args=["--header-timeout", "2"]) as server:
        context = ssl.create_default_context(cafile=server.cert)
        context.check_hostname = False
        address = ("127.0.0.1", server.port)
        no_handshake = socket.create_connection(address)
        idle = context.wrap_socket(socket.create_connection(address))
        keepalive = context.wrap_socket(socket.create_connection(address))
        keepalive.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert keepalive.recv(4096).startswith(b"HTTP/1.1 ")
        for sock, limit in ((idle, 5), (keepalive, 5), (no_handshake, 15)):
            with sock:
                closed_after = _closed_within(sock, limit)
                assert closed_after is not None, (sock, limit)
