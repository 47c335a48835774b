"""`oortgate admin stats`: every number it reports, on a server of its own (so that each
count is exact), read while the server runs."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from oortgate.config import Settings

from ._s3raw import RawClient, build_head, tls_connect
from ._server import REGION, ServerProcess
from ._util import stats

INLINE_MAX = Settings().inline_max_size
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def stats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(data_dir=tmp_path_factory.mktemp("stats") / "data") as srv:
        yield srv


def _client(srv: ServerProcess) -> Any:
    return boto3.session.Session().client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
        aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
    )  # fmt: skip


@contextlib.contextmanager
def _upload_in_flight(srv: ServerProcess, bucket: str) -> Iterator[None]:
    """A PUT whose body has only partly arrived (the connection is held open)."""
    raw = RawClient(srv.endpoint, srv.host, srv.cert, srv.root_access_key, srv.root_secret_key)
    url = raw.url(bucket, "in-flight")
    signed = raw.signed_headers("PUT", url, {"Content-Length": str(8 * MiB)})
    sock = tls_connect(srv.port, srv.cert)
    try:
        sock.sendall(
            build_head("PUT", url[len(srv.endpoint) :], {"Host": srv.host, **signed.headers})
        )
        sock.sendall(b"x" * MiB)
        yield
    finally:
        sock.close()


def _wait_for(srv: ServerProcess, ready: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while not ready(counts := stats(srv)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return counts


def _fill(srv: ServerProcess) -> None:
    """Inline and file-backed objects, an overwrite (its blob queued as garbage), an open
    multipart upload with two parts, a second user with a key."""
    s3 = _client(srv)
    s3.create_bucket(Bucket="one")
    s3.create_bucket(Bucket="two")
    s3.put_object(Bucket="one", Key="small", Body=b"12345")
    s3.put_object(Bucket="one", Key="empty", Body=b"")
    s3.put_object(Bucket="one", Key="big", Body=b"a" * (INLINE_MAX + 1))
    s3.put_object(Bucket="two", Key="big", Body=b"b" * (INLINE_MAX + 1))
    s3.put_object(Bucket="two", Key="big", Body=b"c" * (INLINE_MAX + 2))  # overwrite
    upload = s3.create_multipart_upload(Bucket="two", Key="parts")["UploadId"]
    for number in (1, 2):
        s3.upload_part(Bucket="two", Key="parts", UploadId=upload, PartNumber=number,
                       Body=b"p" * (5 * MiB))  # fmt: skip
    srv.create_user("second")
    srv.create_key("second")


def test_stats_counts_every_kind_of_thing(stats_server: ServerProcess) -> None:
    srv = stats_server
    _fill(srv)
    counts = stats(srv)
    assert counts["objects"] == 4
    assert counts["bytes"] == 5 + 0 + (INLINE_MAX + 1) + (INLINE_MAX + 2)
    assert counts["inline"] == {"objects": 2, "bytes": 5, "blobs": 2}
    assert counts["blobs"] == {
        "objects": 2, "upload_parts": 2, "counted": 4, "pending": 0, "garbage_due": 0,
        "garbage_in_grace": 1, "files": 5, "orphans": 0,
    }  # fmt: skip
    assert counts["temp_files"] == 0
    # Every worker registered a session (the archive port's too, if any), none is dead.
    assert counts["sessions"]["live"] >= 1 and counts["sessions"]["dead"] == 0
    assert (counts["uploads"], counts["buckets"]) == (1, 2)
    assert (counts["users"], counts["keys"]) == (2, 2)  # the root user and "second"
    assert srv.proc is not None
    assert counts["server"] == {"running": True, "pid": srv.proc.pid}

    # With no grace, the overwritten blob counts as due.
    due = stats(srv, "--gc-grace", "0")["blobs"]
    assert (due["garbage_due"], due["garbage_in_grace"]) == (1, 0)


def test_stats_sees_pending_blobs_temp_files_and_orphans(stats_server: ServerProcess) -> None:
    srv = stats_server
    s3 = _client(srv)
    s3.create_bucket(Bucket="flight")
    before = stats(srv)["blobs"]
    orphan = secrets.token_hex(16)
    path = srv.data_dir / "blobs" / orphan[:2] / orphan[2:4] / orphan
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"nobody knows me")
    with _upload_in_flight(srv, "flight"):
        counts = _wait_for(srv, lambda c: c["blobs"]["pending"] == 1 and c["temp_files"] == 1)
        assert counts["blobs"]["pending"] == 1
        assert counts["temp_files"] == 1
        assert counts["blobs"]["orphans"] == before["orphans"] + 1
        assert counts["blobs"]["files"] == before["files"] + 1
    after = _wait_for(srv, lambda c: c["blobs"]["pending"] == 0 and c["temp_files"] == 0)
    assert (after["blobs"]["pending"], after["temp_files"]) == (0, 0)


def test_stats_plain_output_is_an_aligned_table(stats_server: ServerProcess) -> None:
    res = stats_server.admin("stats")
    lines = res.stdout.splitlines()
    labels = [line.split("  ")[0] for line in lines]
    assert "objects" in labels and "blobs orphans (files no row knows)" in labels
    columns = {
        len(line) - len(line[len(label) :].lstrip())
        for line, label in zip(lines, labels, strict=True)
    }
    assert len(columns) == 1, res.stdout  # every value starts in the same column
    assert lines[-1].split()[-1].rstrip(")").isdigit(), res.stdout  # the server's pid


def test_stats_on_a_directory_without_data_says_so(tmp_path: Path) -> None:
    srv = ServerProcess(data_dir=tmp_path)
    res = srv.admin("stats", "--json", check=False)
    assert res.returncode == 2 and "no gateway data" in res.stderr, res.stderr
