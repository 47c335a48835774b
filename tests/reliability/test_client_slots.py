"""One client address cannot take every request slot: with --max-requests-per-client N,
its next request while N are under way (here: stalled uploads) answers 503 SlowDown, any
other address is served meanwhile, and the slots come back when the stalls end."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from tests.protocol._server import REGION, ServerProcess

LIMIT = 3


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("slots") / "data", workers=1,
                           extra_args=["--max-requests-per-client", str(LIMIT)])  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _tls(server: ServerProcess, source: str) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=server.cert)
    raw = socket.create_connection(("127.0.0.1", int(urlsplit(server.endpoint).port or 443)),
                                   timeout=10, source_address=(source, 0))  # fmt: skip
    return context.wrap_socket(raw, server_hostname=urlsplit(server.endpoint).hostname)


def _request(sock: ssl.SSLSocket, url: str, method: str, tail: bytes = b"") -> None:
    parts = urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    length = "Content-Length: 100\r\n" if method == "PUT" else ""
    head = f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n{length}\r\n"
    sock.sendall(head.encode() + tail)


def _status(sock: ssl.SSLSocket) -> tuple[int, bytes]:
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        if not chunk:
            break
        answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


def _get_from(server: ServerProcess, source: str, url: str) -> tuple[int, bytes]:
    with _tls(server, source) as sock:
        _request(sock, url, "GET")
        return _status(sock)


def test_one_address_holding_its_slots_gets_slowdown_and_others_are_served(
    capped: ServerProcess,
) -> None:
    s3 = boto3.client("s3", endpoint_url=capped.endpoint, region_name=REGION,
                      aws_access_key_id=capped.root_access_key,
                      aws_secret_access_key=capped.root_secret_key, verify=capped.cert,
                      config=Config(s3={"addressing_style": "path"}))  # fmt: skip
    s3.create_bucket(Bucket="slots")
    s3.put_object(Bucket="slots", Key="k", Body=b"payload")
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "slots", "Key": "up"})
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "slots", "Key": "k"})
    assert _get_from(capped, "127.0.0.1", get_url)[0] == 200
    stalls = [_tls(capped, "127.0.0.1") for _ in range(LIMIT)]
    try:
        for sock in stalls:
            _request(sock, put_url, "PUT", b"abc")  # 100 bytes declared, 3 sent
        deadline = time.monotonic() + 10
        while (answer := _get_from(capped, "127.0.0.1", get_url))[0] != 503:
            assert time.monotonic() < deadline, answer  # the stalls take their slots
            time.sleep(0.1)
        assert b"connection: close" in answer[1].lower()
        assert _get_from(capped, "127.0.0.2", get_url)[0] == 200  # another client
    finally:
        for sock in stalls:
            sock.close()
    deadline = time.monotonic() + 10
    while (status := _get_from(capped, "127.0.0.1", get_url)[0]) != 200:
        assert time.monotonic() < deadline, status  # the slots came back
        time.sleep(0.1)
