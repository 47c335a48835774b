"""Multipart uploads through real clients: the AWS CLI (high-level and s3api), minio-py,
and a 1 GiB boto3 stream up and down while the server's resident memory is sampled.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

from ._server import ServerProcess

MiB = 1024 * 1024


def mp_etag(data: bytes, part_size: int) -> str:
    digests = b"".join(
        hashlib.md5(data[i : i + part_size]).digest() for i in range(0, len(data), part_size)
    )
    n = (len(data) + part_size - 1) // part_size
    return f'"{hashlib.md5(digests).hexdigest()}-{n}"'


def file_md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(4 * MiB):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- AWS CLI
def test_aws_s3_cp_100mib(aws: Callable[..., Any], bucket: str, tmp_path: Path) -> None:
    data = random.Random(100).randbytes(100 * MiB)
    src = tmp_path / "hundred.bin"
    src.write_bytes(data)
    aws("s3", "cp", str(src), f"s3://{bucket}/cli/hundred.bin")
    dst = tmp_path / "back.bin"
    aws("s3", "cp", f"s3://{bucket}/cli/hundred.bin", str(dst))
    assert dst.stat().st_size == len(data)
    assert file_md5(dst) == hashlib.md5(data).hexdigest()
    head = json.loads(
        aws("s3api", "head-object", "--bucket", bucket, "--key", "cli/hundred.bin").stdout
    )
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-13"'), head["ETag"]  # 8 MiB parts
    assert head["ETag"] == mp_etag(data, 8 * MiB)


def test_aws_s3api_multipart(aws: Callable[..., Any], bucket: str, tmp_path: Path) -> None:
    key = "cli/s3api object"
    p1, p2 = os.urandom(5 * MiB), os.urandom(1234)
    (tmp_path / "p1").write_bytes(p1)
    (tmp_path / "p2").write_bytes(p2)
    create = json.loads(
        aws(
            "s3api",
            "create-multipart-upload",
            "--bucket",
            bucket,
            "--key",
            key,
            "--content-type",
            "text/x-cli",
            "--metadata",
            "origin=cli",
        ).stdout
    )
    uid = create["UploadId"]
    etags = {}
    for n in (2, 1):  # out of order
        out = aws(
            "s3api",
            "upload-part",
            "--bucket",
            bucket,
            "--key",
            key,
            "--upload-id",
            uid,
            "--part-number",
            str(n),
            "--body",
            str(tmp_path / f"p{n}"),
        ).stdout
        etags[n] = json.loads(out)["ETag"]
    listed = json.loads(
        aws("s3api", "list-parts", "--bucket", bucket, "--key", key, "--upload-id", uid).stdout
    )
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [(1, len(p1)), (2, len(p2))]
    manifest = tmp_path / "parts.json"
    manifest.write_text(
        json.dumps({"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2)]})
    )
    done = json.loads(
        aws(
            "s3api",
            "complete-multipart-upload",
            "--bucket",
            bucket,
            "--key",
            key,
            "--upload-id",
            uid,
            "--multipart-upload",
            f"file://{manifest}",
        ).stdout
    )
    assert done["ETag"] == mp_etag(p1 + p2, 5 * MiB)
    out = tmp_path / "out"
    head = json.loads(aws("s3api", "get-object", "--bucket", bucket, "--key", key, str(out)).stdout)
    assert out.read_bytes() == p1 + p2
    assert head["ETag"] == done["ETag"]
    assert head["ContentType"] == "text/x-cli"
    assert head["Metadata"] == {"origin": "cli"}


# --------------------------------------------------------------------------- minio-py
def test_minio_fput_fget(minio_client: Any, bucket: str, tmp_path: Path) -> None:
    data = os.urandom(12 * MiB + 321)
    src, dst = tmp_path / "m.bin", tmp_path / "m.out"
    src.write_bytes(data)
    res = minio_client.fput_object(bucket, "minio/obj.bin", str(src), part_size=5 * MiB)
    assert res.etag == mp_etag(data, 5 * MiB).strip('"')
    minio_client.fget_object(bucket, "minio/obj.bin", str(dst))
    assert dst.read_bytes() == data
    st = minio_client.stat_object(bucket, "minio/obj.bin")
    assert st.etag.endswith("-3"), st.etag
    assert st.etag == mp_etag(data, 5 * MiB).strip('"')
    assert st.size == len(data)


# --------------------------------------------------------------------------- memory
def _group_rss_kib(pgid: int) -> int:
    """Sum of VmRSS over every process of the process group ``pgid``."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != pgid:  # state, ppid, pgrp, ...
                continue
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue  # the process went away
    return total


class RssSampler:
    def __init__(self, pgid: int, interval: float = 0.05) -> None:
        self.pgid = pgid
        self.interval = interval
        self.peak_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = _group_rss_kib(self.pgid)
            self.peak_kib = max(self.peak_kib, rss)
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


class GeneratedStream:
    """A read-only, non-seekable file of ``size`` pseudo-random bytes made on demand;
    hashes what it hands out."""

    def __init__(self, size: int, seed: int) -> None:
        self.remaining = size
        self.rng = random.Random(seed)
        self.md5 = hashlib.md5()

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.remaining
        n = min(n, self.remaining)
        if n <= 0:
            return b""
        data = self.rng.randbytes(n)
        self.remaining -= n
        self.md5.update(data)
        return data


def test_memory_stays_bounded_1gib(s3: Any, bucket: str, server: ServerProcess) -> None:
    assert server.proc is not None
    size = 1024 * MiB
    limit_kib = 300 * 1000  # 300 MB
    stream = GeneratedStream(size, seed=7)
    cfg = TransferConfig(
        multipart_threshold=8 * MiB,
        multipart_chunksize=16 * MiB,
        max_concurrency=4,
        preferred_transfer_client="classic",
    )
    start = time.monotonic()
    baseline = _group_rss_kib(server.proc.pid)
    assert baseline > 0, "could not read the server's RSS"
    with RssSampler(server.proc.pid) as up:
        s3.upload_fileobj(stream, bucket, "huge.bin", Config=cfg)
    assert stream.remaining == 0
    up_time = time.monotonic() - start
    head = s3.head_object(Bucket=bucket, Key="huge.bin")
    assert head["ContentLength"] == size
    assert head["ETag"].endswith('-64"'), head["ETag"]

    with RssSampler(server.proc.pid) as down:
        body = s3.get_object(Bucket=bucket, Key="huge.bin")["Body"]
        h = hashlib.md5()
        n = 0
        for chunk in body.iter_chunks(1 * MiB):
            h.update(chunk)
            n += len(chunk)
    assert n == size
    assert h.hexdigest() == stream.md5.hexdigest()
    s3.delete_object(Bucket=bucket, Key="huge.bin")

    assert up.samples > 10 and down.samples > 10
    report = (
        f"baseline {baseline / 1000:.0f} MB, peak up {up.peak_kib / 1000:.0f} MB, "
        f"peak down {down.peak_kib / 1000:.0f} MB, upload {up_time:.1f}s"
    )
    print(report)
    assert up.peak_kib < limit_kib, report
    assert down.peak_kib < limit_kib, report
