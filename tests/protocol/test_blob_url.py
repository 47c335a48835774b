"""Where blobs live (issue 19): ``archive_blob_url`` gives the Archive tier's objects a
blob directory of their own, and every path that writes or reads blobs (PUT, multipart,
copies between the tiers, GET, the collector) goes to the bucket's tier's store; a bad
blob_url stops the start with exit 2 naming the setting.

The tier comes from the port: buckets made through the archive HTTPS port are Archive
buckets, those made through the main port Standard ones; the main port's IP address
serves buckets of either tier (path style), which copies between tiers go through.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from ._server import PYTHON, REGION, REPO_ROOT, ServerProcess, free_port
from ._util import etag, wait_until

MiB = 1 << 20


class TwoStores:
    """A server whose Archive tier keeps its blobs in ``archive_dir``, the Standard tier
    in the data directory; objects are never inline (every byte goes to a blob)."""

    def __init__(self, base: Path) -> None:
        self.archive_dir = base / "archive-blobs"
        self.archive_dir.mkdir()
        self.archive_port = free_port()
        self.srv = ServerProcess(data_dir=base / "data", extra_args=[
            "--archive-https-port", str(self.archive_port), "--inline-max-size", "0",
            "--gc-grace", "0", "--archive-blob-url", self.archive_dir.as_uri(),
        ])  # fmt: skip

    def start(self) -> None:
        self.srv.start()
        deadline = time.monotonic() + 20
        while True:  # the archive listener is a process of its own
            try:
                url = f"https://127.0.0.1:{self.archive_port}/_health/live"
                requests.get(url, verify=self.srv.cert, timeout=2)
                return
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError("archive port not ready:\n" + self.srv.log_text()) from None
                time.sleep(0.1)

    def client(self, port: int) -> Any:
        return boto3.session.Session().client(
            "s3", endpoint_url=f"https://127.0.0.1:{port}", region_name=REGION,
            aws_access_key_id=self.srv.root_access_key,
            aws_secret_access_key=self.srv.root_secret_key, verify=self.srv.cert,
            config=Config(s3={"addressing_style": "path"}),
        )  # fmt: skip

    @property
    def std(self) -> Any:
        return self.client(self.srv.port)

    @property
    def arc(self) -> Any:
        return self.client(self.archive_port)

    def standard_files(self) -> set[str]:
        return _blob_files(self.srv.data_dir / "blobs")

    def archive_files(self) -> set[str]:
        return _blob_files(self.archive_dir / "blobs")


def _blob_files(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def two(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoStores]:
    server = TwoStores(tmp_path_factory.mktemp("two-stores"))
    server.start()
    try:
        yield server
    finally:
        server.srv.stop()


@pytest.fixture
def buckets(two: TwoStores) -> Callable[[str], tuple[str, str]]:
    """A fresh (standard, archive) bucket pair."""

    def make(name: str) -> tuple[str, str]:
        std, arc = f"{name}-std-{os.urandom(3).hex()}", f"{name}-arc-{os.urandom(3).hex()}"
        two.std.create_bucket(Bucket=std)
        two.arc.create_bucket(Bucket=arc)
        return std, arc

    return make


def test_an_archive_put_stores_its_bytes_in_the_archive_directory(
    two: TwoStores, buckets: Callable[[str], tuple[str, str]]
) -> None:
    std, arc = buckets("put")
    before_std, before_arc = two.standard_files(), two.archive_files()
    data = os.urandom(300_000)
    two.arc.put_object(Bucket=arc, Key="a", Body=data)
    new_arc = two.archive_files() - before_arc
    assert len(new_arc) == 1 and two.standard_files() == before_std
    assert two.arc.get_object(Bucket=arc, Key="a")["Body"].read() == data
    got = two.arc.get_object(Bucket=arc, Key="a", Range="bytes=1000-1999")["Body"].read()
    assert got == data[1000:2000]
    # and a Standard PUT the other way round
    two.std.put_object(Bucket=std, Key="s", Body=data)
    assert len(two.standard_files() - before_std) == 1
    assert two.archive_files() == before_arc | new_arc


def test_an_archive_multipart_upload_stays_in_the_archive_directory(
    two: TwoStores, buckets: Callable[[str], tuple[str, str]], tmp_path: Path
) -> None:
    _, arc = buckets("mpu")
    before_std, before_arc = two.standard_files(), two.archive_files()
    data = os.urandom(11 * MiB + 3)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    parts = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    two.arc.upload_file(str(source), arc, "big", Config=parts)
    assert len(two.archive_files() - before_arc) == 3  # one blob per part
    assert two.standard_files() == before_std
    got = two.arc.get_object(Bucket=arc, Key="big")
    assert got["ETag"].endswith('-3"') and got["Body"].read() == data


def test_copies_between_the_tiers_move_the_bytes_to_the_other_store(
    two: TwoStores, buckets: Callable[[str], tuple[str, str]]
) -> None:
    std, arc = buckets("copy")
    data = os.urandom(200_000)
    two.std.put_object(Bucket=std, Key="orig", Body=data, Metadata={"m": "v"})
    source_blobs = two.standard_files()
    before_arc = two.archive_files()
    ip = two.std  # the main port's IP address reaches both tiers (path style)
    result = ip.copy_object(Bucket=arc, Key="moved", CopySource={"Bucket": std, "Key": "orig"})
    assert result["CopyObjectResult"]["ETag"] == etag(data)
    assert len(two.archive_files() - before_arc) == 1
    head = two.arc.head_object(Bucket=arc, Key="moved")
    assert head["ETag"] == etag(data) and head["Metadata"] == {"m": "v"}
    # the source's blob can go: the copy has bytes of its own
    ip.delete_object(Bucket=std, Key="orig")
    assert wait_until(lambda: two.standard_files() < source_blobs), "source blob never collected"
    assert two.arc.get_object(Bucket=arc, Key="moved")["Body"].read() == data
    # and back to the Standard tier
    before_std = two.standard_files()
    ip.copy_object(Bucket=std, Key="back", CopySource={"Bucket": arc, "Key": "moved"})
    assert len(two.standard_files() - before_std) == 1
    assert two.std.get_object(Bucket=std, Key="back")["Body"].read() == data
    # within a tier a copy still shares the blob
    before_std = two.standard_files()
    ip.copy_object(Bucket=std, Key="twin", CopySource={"Bucket": std, "Key": "back"})
    assert two.standard_files() == before_std


def test_a_multipart_object_copied_to_the_archive_keeps_its_parts(
    two: TwoStores, buckets: Callable[[str], tuple[str, str]]
) -> None:
    std, arc = buckets("mpcopy")
    c = two.std
    upload = c.create_multipart_upload(Bucket=std, Key="mp")["UploadId"]
    chunks = [os.urandom(5 * MiB), os.urandom(1000)]
    done = [{"PartNumber": n, "ETag": c.upload_part(Bucket=std, Key="mp", UploadId=upload,
             PartNumber=n, Body=body)["ETag"]} for n, body in enumerate(chunks, 1)]  # fmt: skip
    c.complete_multipart_upload(Bucket=std, Key="mp", UploadId=upload,
                                MultipartUpload={"Parts": done})  # fmt: skip
    before_arc = two.archive_files()
    c.copy_object(Bucket=arc, Key="mp", CopySource={"Bucket": std, "Key": "mp"})
    assert len(two.archive_files() - before_arc) == 2
    source, copied = c.head_object(Bucket=std, Key="mp"), two.arc.head_object(Bucket=arc, Key="mp")
    assert copied["ETag"] == source["ETag"] and copied["ETag"].endswith('-2"')
    part = two.arc.get_object(Bucket=arc, Key="mp", PartNumber=2)
    assert part["Body"].read() == chunks[1]
    assert two.arc.get_object(Bucket=arc, Key="mp")["Body"].read() == b"".join(chunks)


def test_the_collector_deletes_from_the_right_store(
    two: TwoStores, buckets: Callable[[str], tuple[str, str]]
) -> None:
    std, arc = buckets("gc")
    two.std.put_object(Bucket=std, Key="keep", Body=os.urandom(100_000))
    before_arc = two.archive_files()
    two.arc.put_object(Bucket=arc, Key="x", Body=os.urandom(100_000))
    (blob,) = two.archive_files() - before_arc
    standard = two.standard_files()
    two.arc.delete_object(Bucket=arc, Key="x")
    assert wait_until(lambda: blob not in two.archive_files()), "archive blob never collected"
    assert two.standard_files() >= standard


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OORTGATE_")}
    return subprocess.run([PYTHON, "-m", "oortgate", "serve", "--https-port", str(free_port()),
                           "--http-port", "0", *args], cwd=str(REPO_ROOT), env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip


@pytest.mark.parametrize(
    ("url", "words"),
    [
        # The cluster is checked before the start (tests/protocol/test_rados_backend.py):
        # here the binding or the file is missing, either way one line naming the setting.
        ("rados://pool?conf=/nonexistent/ceph.conf", ("blob_url", "rados://")),
        ("rados://pool?user=x", ("blob_url", "unknown query key", "user")),
        ("file:relative/dir", ("blob_url", "absolute")),
        ("s3://bucket", ("blob_url", "s3://", "not supported")),
        ("MISSING", ("blob_url", "does not exist", "mounted")),
    ],
)
def test_a_blob_url_that_cannot_be_used_stops_the_start(
    tmp_path: Path, url: str, words: tuple[str, ...]
) -> None:
    url = (tmp_path / "not-there").as_uri() if url == "MISSING" else url
    res = _serve("--data-dir", str(tmp_path / "d"), "--blob-url", url)
    assert res.returncode == 2, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "serving" not in res.stderr, res.stderr
    for word in words:
        assert word in lines[0], res.stderr
    assert not (tmp_path / "not-there").exists()  # never made on the local disk


def _tool(two: TwoStores, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    where = ["--data-dir", str(two.srv.data_dir), "--archive-blob-url", two.archive_dir.as_uri()]
    return subprocess.run([PYTHON, "-m", "oortgate", command, *where, *args], cwd=str(REPO_ROOT),
                          env=two.srv.env(), capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_fsck_and_stats_see_both_stores(
    two: TwoStores, buckets: Callable[[str], tuple[str, str]]
) -> None:
    std, arc = buckets("fsck")
    two.std.put_object(Bucket=std, Key="s", Body=os.urandom(50_000))
    two.arc.put_object(Bucket=arc, Key="a", Body=os.urandom(50_000))
    res = _tool(two, "fsck", "--deep", "--json", "--grace", "0")
    assert res.returncode == 0, res.stdout + res.stderr
    report = json.loads(res.stdout)
    assert report["clean"] and report["orphans"] == 0 and report["missing"] == 0
    res = _tool(two, "admin", "stats", "--json")
    assert res.returncode == 0, res.stderr
    files = json.loads(res.stdout)["blobs"]["files"]
    assert files == len(two.standard_files()) + len(two.archive_files())
