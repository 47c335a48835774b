"""One ``blob_url = file:///dir`` shared by gateways (issue 19, the ``file://`` store):
nothing may assume it is alone there. Two servers, each with a data directory (and a
SQLite database) of its own, share one blob directory: each one's start-up sweep and
``oortgate gc`` leave the other's blobs, temp files and sessions alone. Alone on it, a
gateway's orphan sweep runs, but spares blobs younger than an hour; readiness fails
while the directory is gone."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ._server import PYTHON, REPO_ROOT, ServerProcess
from ._util import orphan_blob

ORPHAN_ID = "0f" * 16


def _server(data_dir: Path, shared: Path) -> ServerProcess:
    return ServerProcess(data_dir=data_dir, extra_args=[
        "--blob-url", shared.as_uri(), "--inline-max-size", "0", "--gc-grace", "0"])  # fmt: skip


def _files(root: Path) -> set[str]:
    return {p.name for p in (root / "blobs").rglob("*") if p.is_file()}


def _gc(srv: ServerProcess, shared: Path) -> dict[str, Any]:
    res = subprocess.run([PYTHON, "-m", "oortgate", "gc", "--data-dir", str(srv.data_dir),
                          "--blob-url", shared.as_uri()], cwd=str(REPO_ROOT), env=srv.env(),
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert res.returncode == 0, res.stderr
    counts = json.loads(res.stdout)
    assert isinstance(counts, dict)
    return counts


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess, Path]]:
    shared = tmp_path / "shared"
    shared.mkdir()
    a, b = _server(tmp_path / "a", shared), _server(tmp_path / "b", shared)
    a.start()
    try:
        b.start()
        try:
            yield a, b, shared
        finally:
            b.stop()
    finally:
        a.stop()


def _client(srv: ServerProcess) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3", endpoint_url=srv.endpoint, region_name="us-east-1",
        aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
        verify=srv.cert, config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip


def test_two_gateways_with_their_own_metadata_spare_each_others_blobs(
    pair: tuple[ServerProcess, ServerProcess, Path],
) -> None:
    a, b = pair[0], pair[1]
    shared = pair[2]
    ca, cb = _client(a), _client(b)
    ca.create_bucket(Bucket="bucket-a")
    cb.create_bucket(Bucket="bucket-b")
    data_a, data_b = os.urandom(100_000), os.urandom(150_000)
    ca.put_object(Bucket="bucket-a", Key="k", Body=data_a)
    (blob_a,) = _files(shared)
    cb.put_object(Bucket="bucket-b", Key="k", Body=data_b)
    (blob_b,) = _files(shared) - {blob_a}
    assert not _files(a.data_dir) | _files(b.data_dir)  # nothing under the data dirs
    assert len(os.listdir(shared / "owners")) == 2
    # b's temp files live under its own metadata store's directory, per session
    (temp_b,) = [d for d in (shared / "tmp").iterdir() if d.name in (b.data_dir /
                 "metadata.id").read_text()]  # fmt: skip
    (session_b,) = list(temp_b.iterdir())
    in_flight = session_b / f"{'ab' * 16}.0123456789abcdef"
    in_flight.write_bytes(b"an upload under way")
    old_orphan = orphan_blob(shared, 7200, ORPHAN_ID)  # looks abandoned, but whose?

    a.stop()  # the restart runs a's start-up sweep; then `oortgate gc`, online and not
    assert "orphans" not in _gc(a, shared)
    a.start()
    assert "orphans" not in _gc(a, shared)

    assert in_flight.exists() and old_orphan.exists()
    assert cb.get_object(Bucket="bucket-b", Key="k")["Body"].read() == data_b
    assert ca.get_object(Bucket="bucket-a", Key="k")["Body"].read() == data_a
    # and each one's collector deletes its own garbage only
    ca.delete_object(Bucket="bucket-a", Key="k")
    deadline = time.monotonic() + 10
    while blob_a in _files(shared) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _files(shared) == {blob_b, ORPHAN_ID}
    assert cb.get_object(Bucket="bucket-b", Key="k")["Body"].read() == data_b


def test_alone_on_a_shared_directory_readiness_and_the_orphan_sweep(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    srv = _server(tmp_path / "a", shared)
    srv.start()
    ready = f"{srv.endpoint}/_health/ready"
    assert requests.get(ready, verify=srv.cert, timeout=5).status_code == 200
    shared.rename(tmp_path / "unmounted")  # as if the share went away
    try:
        res = requests.get(ready, verify=srv.cert, timeout=5)
        assert (res.status_code, res.text) == (503, "blob directory not writable\n")
    finally:
        (tmp_path / "unmounted").rename(shared)
    assert requests.get(ready, verify=srv.cert, timeout=5).status_code == 200
    srv.stop()
    young = orphan_blob(shared, 60, "1e" * 16)  # maybe another gateway's, just committed
    old = orphan_blob(shared, 7200, ORPHAN_ID)
    counts = _gc(srv, shared)
    assert counts["orphans"] == 1
    assert young.exists() and not old.exists()
