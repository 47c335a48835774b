"""A full data disk: a real server on a 16 MiB tmpfs the test mounts (root only).

Writes answer 507 InsufficientStorage with nothing half-written, reads and deletes keep
working, deleted space comes back, readiness says "degraded: no space", a restart on the
full disk serves reads, and min_free_space refuses writes before the disk is full.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from oortgate.storage.space import CHECK_SECONDS
from tests.protocol._server import ServerProcess
from tests.protocol._util import all_files

DISK_SIZE = "16m"
OBJECT_SIZE = 512 * 1024
BUCKET = "full"
# No inline objects (every PUT writes a file); no minimum, so that the disk really fills;
# the collector keeps no grace while space is low.
ARGS = ["--inline-max-size", "0", "--min-free-space", "0", "--gc-low-space-grace", "0"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(disk)],
                   check=True)  # fmt: skip
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def server_on(small_disk: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start a server on the small disk (its log is beside it, not on it)."""
    started: list[ServerProcess] = []

    def start(*extra: str) -> ServerProcess:
        srv = ServerProcess(data_dir=small_disk, extra_args=[*ARGS, *extra])
        srv.start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


def _status(error: ClientError) -> tuple[int, str]:
    return error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]


def _fill(s3: Any) -> list[str]:
    """PUT objects until the disk is full; the keys acknowledged."""
    acknowledged: list[str] = []
    for n in range(100):
        key = f"obj-{n:03d}"
        try:
            s3.put_object(Bucket=BUCKET, Key=key, Body=os.urandom(OBJECT_SIZE))
        except ClientError as error:
            assert _status(error) == (507, "InsufficientStorage"), error.response
            return acknowledged
        acknowledged.append(key)
    raise AssertionError("a 16 MiB disk took 50 MiB")


def _listed(s3: Any) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _ready(srv: ServerProcess) -> tuple[int, str]:
    answer = requests.get(srv.endpoint + "/_health/ready", verify=srv.cert, timeout=10)
    return answer.status_code, answer.text


def _refused(call: Callable[[], Any]) -> None:
    with pytest.raises(ClientError) as caught:
        call()
    assert _status(caught.value) == (507, "InsufficientStorage")  # parsed from the XML
    assert "delete a few objects" in caught.value.response["Error"]["Message"]


def _wait_writable(s3: Any, key: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            s3.put_object(Bucket=BUCKET, Key=key, Body=os.urandom(OBJECT_SIZE))
            return
        except ClientError as error:
            assert _status(error)[0] == 507
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_full_disk_refuses_writes_and_deletes_free_space(
    server_on: Callable[..., ServerProcess], client_of: Callable[..., Any], small_disk: Path
) -> None:
    srv = server_on()
    s3 = client_of(srv)
    s3.create_bucket(Bucket=BUCKET)
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=BUCKET, Key="mp", UploadId=upload, PartNumber=1, Body=b"p" * 1000)
    parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    acknowledged = _fill(s3)
    assert len(acknowledged) >= 4
    # Nothing half-written: the listing is what was acknowledged, no temp file is left.
    assert _listed(s3) == acknowledged
    assert all_files(small_disk / "tmp") == []
    # Every kind of write is refused alike, reads still work, readiness says why.
    _refused(lambda: s3.put_object(Bucket=BUCKET, Key="more", Body=b"x" * OBJECT_SIZE))
    _refused(lambda: s3.create_multipart_upload(Bucket=BUCKET, Key="mp2"))
    _refused(lambda: s3.upload_part(Bucket=BUCKET, Key="mp", UploadId=upload, PartNumber=2,
                                    Body=b"p" * OBJECT_SIZE))  # fmt: skip
    _refused(lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=upload,
                                                  MultipartUpload=parts))  # fmt: skip
    form = s3.generate_presigned_post(BUCKET, "posted")
    posted = requests.post(form["url"], data=form["fields"], files={"file": b"f" * OBJECT_SIZE},
                           verify=srv.cert, timeout=30)  # fmt: skip
    assert posted.status_code == 507 and b"<Code>InsufficientStorage</Code>" in posted.content
    assert all_files(small_disk / "tmp") == []
    source = {"Bucket": BUCKET, "Key": acknowledged[0]}
    _refused(lambda: s3.copy_object(Bucket=BUCKET, Key="copy", CopySource=source))
    assert len(s3.get_object(Bucket=BUCKET, Key=acknowledged[0])["Body"].read()) == OBJECT_SIZE
    status, text = _ready(srv)
    assert status == 200 and text.startswith("degraded: no space"), text
    # Deletes work on the full disk (even with not one byte left: the metadata's
    # journal must grow), and the space they free comes back for writes.
    _fill_up(small_disk / "filler")
    s3.delete_object(Bucket=BUCKET, Key=acknowledged[0])
    doomed = acknowledged[1 : len(acknowledged) // 2]
    answer = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in doomed]})
    assert sorted(d["Key"] for d in answer["Deleted"]) == doomed
    assert not answer.get("Errors")
    kept = acknowledged[len(acknowledged) // 2 :]
    assert _listed(s3) == kept
    _wait_writable(s3, "after-delete")
    assert _ready(srv) == (200, "ready\n")
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mp", UploadId=upload, MultipartUpload=parts)
    assert _listed(s3) == sorted(["after-delete", *kept, "mp"])


def test_restart_on_a_full_disk_serves_reads(
    server_on: Callable[..., ServerProcess], client_of: Callable[..., Any]
) -> None:
    srv = server_on()
    s3 = client_of(srv)
    s3.create_bucket(Bucket=BUCKET)
    acknowledged = _fill(s3)
    s3.delete_object(Bucket=BUCKET, Key=acknowledged[-1])  # garbage for the start-up sweep
    srv.stop()
    srv.start()
    s3 = client_of(srv)
    assert _listed(s3) == acknowledged[:-1]
    for key in acknowledged[:2]:
        assert len(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == OBJECT_SIZE
    s3.delete_object(Bucket=BUCKET, Key=acknowledged[0])
    assert _listed(s3) == acknowledged[1:-1]


def test_min_free_space_refuses_writes_early(
    server_on: Callable[..., ServerProcess], client_of: Callable[..., Any], small_disk: Path
) -> None:
    srv = server_on("--min-free-space", "50%")
    s3 = client_of(srv)
    s3.create_bucket(Bucket=BUCKET)
    acknowledged = _fill(s3)
    stat = os.statvfs(small_disk)
    assert stat.f_bavail / stat.f_blocks >= 0.4  # refused long before the disk is full
    assert _listed(s3) == acknowledged
    # A write declared larger than what is left above the minimum is refused at once.
    _refused(lambda: s3.put_object(Bucket=BUCKET, Key="big", Body=b"x" * (8 << 20)))


def _fill_up(path: Path) -> None:
    """Another program takes every byte left."""
    with open(path, "ab", buffering=0) as filler, contextlib.suppress(OSError):
        while True:
            filler.write(b"\0" * 4096)


def test_delete_on_a_disk_filled_by_another_program(
    server_on: Callable[..., ServerProcess], client_of: Callable[..., Any], small_disk: Path
) -> None:
    srv = server_on()
    s3 = client_of(srv)
    s3.create_bucket(Bucket=BUCKET)
    acknowledged = _fill(s3)
    srv.stop()  # the WAL is checkpointed and removed: a write must grow it again
    _fill_up(small_disk / "filler")
    assert os.statvfs(small_disk).f_bavail == 0
    srv.rate_limit = 100
    srv.start()
    s3 = client_of(srv)
    assert len(s3.get_object(Bucket=BUCKET, Key=acknowledged[0])["Body"].read()) == OBJECT_SIZE
    # The start-up sweep may have freed a blob (a write the full disk had cut off, now
    # garbage): the other program takes that space too.
    _fill_up(small_disk / "filler")
    assert os.statvfs(small_disk).f_bavail == 0
    deadline = time.monotonic() + 3 * CHECK_SECONDS  # the server reads statvfs once a second
    status, text = 0, ""
    while True:
        try:
            status, text = _ready(srv)
        except requests.ConnectionError as exc:  # a probe is polled: a load balancer's too
            status, text = 0, f"{exc!r}\n{srv.log_text()}"  # (reset once in a loaded CI)
        if text.startswith("degraded: no space") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 200 and text.startswith("degraded: no space"), text
    _refused(lambda: s3.put_object(Bucket=BUCKET, Key="more", Body=b"x"))
    s3.delete_object(Bucket=BUCKET, Key=acknowledged[0])
    assert _listed(s3) == acknowledged[1:]


@pytest.mark.parametrize("removal", ["bucket", "object-tags", "bucket-tags", "bucket-cors"])
def test_every_delete_works_on_a_full_disk(
    server_on: Callable[..., ServerProcess],
    client_of: Callable[..., Any],
    small_disk: Path,
    removal: str,
) -> None:
    """DeleteBucket and the sub-resource deletes free or shrink metadata: like
    DeleteObject, each must work with not one byte left (the journal must grow)."""
    srv = server_on()
    s3 = client_of(srv)
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket="empty")
    tags = {"TagSet": [{"Key": "k", "Value": "v"}]}
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging=tags)
    rules = {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration=rules)
    s3.put_object(Bucket=BUCKET, Key="tagged", Body=b"t", Tagging="k=v")
    _fill(s3)
    srv.stop()  # the WAL is checkpointed and removed: a write must grow it again
    _fill_up(small_disk / "filler")
    assert os.statvfs(small_disk).f_bavail == 0
    srv.start()
    s3 = client_of(srv)
    if removal == "bucket":
        s3.delete_bucket(Bucket="empty")
        assert "empty" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    elif removal == "object-tags":
        s3.delete_object_tagging(Bucket=BUCKET, Key="tagged")
        assert s3.get_object_tagging(Bucket=BUCKET, Key="tagged")["TagSet"] == []
    elif removal == "bucket-tags":
        s3.delete_bucket_tagging(Bucket=BUCKET)
        with pytest.raises(ClientError) as caught:
            s3.get_bucket_tagging(Bucket=BUCKET)
        assert _status(caught.value) == (404, "NoSuchTagSet")
    else:
        s3.delete_bucket_cors(Bucket=BUCKET)
        with pytest.raises(ClientError) as caught:
            s3.get_bucket_cors(Bucket=BUCKET)
        assert _status(caught.value) == (404, "NoSuchCORSConfiguration")
