"""A graceful shutdown (SIGTERM) finishes the requests in flight: an upload still
arriving is stored and acknowledged, a download under way gets every byte, and then the
server exits."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests

from tests.protocol._server import ServerProcess

MiB = 1024 * 1024


def _slowly(data: bytes, pieces: int, seconds: float) -> Iterator[bytes]:
    step = len(data) // pieces
    for start in range(0, len(data), step):
        yield data[start : start + step]
        time.sleep(seconds / pieces)


def test_sigterm_finishes_requests_in_flight(crash_server: ServerProcess, client_of: Any) -> None:
    srv = crash_server
    client = client_of(srv)
    client.create_bucket(Bucket="shutdown")
    download = os.urandom(32 * MiB)
    client.put_object(Bucket="shutdown", Key="download", Body=download)
    upload = os.urandom(8 * MiB)
    put_url = client.generate_presigned_url(
        "put_object", Params={"Bucket": "shutdown", "Key": "upload"}, ExpiresIn=300
    )
    get_url = client.generate_presigned_url(
        "get_object", Params={"Bucket": "shutdown", "Key": "download"}, ExpiresIn=300
    )
    results: dict[str, Any] = {}

    def put() -> None:
        body = _slowly(upload, 16, 3.0)  # chunked, still arriving when SIGTERM comes
        results["put"] = requests.put(put_url, data=body, verify=srv.cert, timeout=60)

    def get() -> None:
        with requests.get(get_url, verify=srv.cert, timeout=60, stream=True) as resp:
            digest, size = hashlib.md5(), 0
            for chunk in resp.iter_content(MiB):
                digest.update(chunk)
                size += len(chunk)
                time.sleep(0.05)  # a slow reader: the transfer outlasts the signal
            results["get"] = (resp.status_code, size, digest.hexdigest())

    threads = [threading.Thread(target=put), threading.Thread(target=get)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # both under way
    assert srv.proc is not None
    os.killpg(srv.proc.pid, signal.SIGTERM)
    for thread in threads:
        thread.join(60)
    assert results["put"].status_code == 200, results["put"].text
    assert results["put"].headers["ETag"] == f'"{hashlib.md5(upload).hexdigest()}"'
    assert results["get"] == (200, len(download), hashlib.md5(download).hexdigest())
    assert srv.proc.wait(30) is not None  # and then it exits
    srv.start()  # the upload was stored durably
    stored = client_of(srv).get_object(Bucket="shutdown", Key="upload")["Body"].read()
    assert stored == upload
