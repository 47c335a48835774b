"""A client whose request body stops arriving is answered 400 RequestTimeout once
--body-timeout passes without progress: it cannot hold a request open for good, and
nothing of what it sent is stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from ._s3raw import build_head, error_code, read_response, tls_connect
from ._server import REGION, ServerProcess

TIMEOUT = 1.5


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("slow") / "data"
    with ServerProcess(data_dir, extra_args=["--body-timeout", str(TIMEOUT)]) as server:
        yield server


@pytest.fixture(scope="module")
def client(srv: ServerProcess) -> Any:
    s3 = boto3.client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
        aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )  # fmt: skip
    s3.create_bucket(Bucket="slow")
    return s3


@pytest.mark.parametrize("key", ["stalled", "stalled-big"])
def test_a_stalled_body_times_out(srv: ServerProcess, client: Any, key: str) -> None:
    declared = 100 if key == "stalled" else 50_000_000  # inline and file-backed uploads
    url = urlsplit(client.generate_presigned_url(
        "put_object", Params={"Bucket": "slow", "Key": key}, ExpiresIn=300
    ))  # fmt: skip
    head = build_head("PUT", f"{url.path}?{url.query}", {
        "Host": url.netloc, "Content-Length": str(declared),
    })  # fmt: skip
    with tls_connect(srv.port, srv.cert, timeout=30) as sock:
        started = time.monotonic()
        sock.sendall(head + b"abc")  # and then nothing
        status, _, body = read_response(sock, "PUT")
        waited = time.monotonic() - started
    assert status == 400, body
    assert error_code(body) == "RequestTimeout"
    assert TIMEOUT <= waited < TIMEOUT + 10
    assert client.list_objects_v2(Bucket="slow")["KeyCount"] == 0


def test_a_slow_but_steady_body_is_fine(srv: ServerProcess, client: Any) -> None:
    """The timeout is on progress, not on the whole upload."""
    url = urlsplit(client.generate_presigned_url(
        "put_object", Params={"Bucket": "slow", "Key": "steady"}, ExpiresIn=300
    ))  # fmt: skip
    pieces = [b"x" * 1000] * 6
    head = build_head("PUT", f"{url.path}?{url.query}", {
        "Host": url.netloc, "Content-Length": str(sum(map(len, pieces))),
    })  # fmt: skip
    with tls_connect(srv.port, srv.cert, timeout=30) as sock:
        sock.sendall(head)
        for piece in pieces:  # 6 x 0.5 s: longer than the timeout in all, never idle as long
            time.sleep(TIMEOUT / 3)
            sock.sendall(piece)
        status, _, body = read_response(sock, "PUT")
    assert status == 200, body
    assert client.head_object(Bucket="slow", Key="steady")["ContentLength"] == 6000
    client.delete_object(Bucket="slow", Key="steady")


def test_body_timeout_must_be_positive(tmp_path: Path) -> None:
    from oortgate.config import ConfigError, load

    with pytest.raises(ConfigError, match="body_timeout"):
        load({"body_timeout": 0, "data_dir": str(tmp_path)}, None, {})
