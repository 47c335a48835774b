"""Small objects kept in the metadata store (inline): every read path serves their
bytes, copies share them, overwrites and deletes drop them, and no file is written.

Within one test the server serves only this test (xdist runs a worker's tests one after
another), so counting inline rows before and after is exact; blob files are compared by
name, because the collector may still be deleting an earlier test's garbage.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from oortgate.config import Settings

from ._server import REGION, ServerProcess
from ._util import blob_files, inline_blob_count, rand, s3_error, stats

INLINE_MAX = Settings().inline_max_size
MiB = 1024 * 1024


def _files(server: ServerProcess) -> set[str]:
    return {p.name for p in blob_files(server.data_dir)}


@pytest.mark.parametrize("size", [0, 1, 4096, INLINE_MAX])
def test_small_put_is_inline_and_every_read_serves_it(
    server: ServerProcess, s3: Any, bucket: str, size: int
) -> None:
    data = rand(size)
    files, rows = _files(server), inline_blob_count(server)
    put = s3.put_object(Bucket=bucket, Key="small", Body=data, ChecksumAlgorithm="CRC32C")
    assert _files(server) <= files, "a small object must not create a blob file"
    assert inline_blob_count(server) == rows + 1
    md5 = hashlib.md5(data).hexdigest()
    assert put["ETag"] == f'"{md5}"'

    got = s3.get_object(Bucket=bucket, Key="small", ChecksumMode="ENABLED")
    assert got["Body"].read() == data
    assert got["ETag"] == f'"{md5}"' and got["ContentLength"] == size
    assert got["ChecksumCRC32C"] == put["ChecksumCRC32C"]
    head = s3.head_object(Bucket=bucket, Key="small")
    assert head["ContentLength"] == size and head["ETag"] == f'"{md5}"'
    part = s3.get_object(Bucket=bucket, Key="small", PartNumber=1)
    assert part["Body"].read() == data
    if size >= 3:
        ranged = s3.get_object(Bucket=bucket, Key="small", Range="bytes=1-2")
        assert ranged["Body"].read() == data[1:3]
        assert ranged["ContentRange"] == f"bytes 1-2/{size}"
        assert (
            s3.get_object(Bucket=bucket, Key="small", Range="bytes=-3")["Body"].read()
            == (data[-3:])
        )


def test_one_byte_over_the_limit_is_a_file(server: ServerProcess, s3: Any, bucket: str) -> None:
    data = rand(INLINE_MAX + 1)
    files, rows = _files(server), inline_blob_count(server)
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    assert len(_files(server) - files) == 1
    assert inline_blob_count(server) == rows
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == data


def test_overwrites_and_deletes_leave_no_row_behind(
    server: ServerProcess, s3: Any, bucket: str
) -> None:
    rows = inline_blob_count(server)
    s3.put_object(Bucket=bucket, Key="k", Body=b"one")
    s3.put_object(Bucket=bucket, Key="k", Body=b"two")
    assert inline_blob_count(server) == rows + 1
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    big = rand(INLINE_MAX + 10)
    s3.put_object(Bucket=bucket, Key="k", Body=big)  # replaced by a file
    assert inline_blob_count(server) == rows
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == big
    s3.put_object(Bucket=bucket, Key="k", Body=b"three")  # and back
    assert inline_blob_count(server) == rows + 1
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})
    assert inline_blob_count(server) == rows
    with s3_error("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key="k")


def test_copies_share_bytes_and_outlive_the_source(
    server: ServerProcess, s3: Any, bucket: str
) -> None:
    data = rand(1000)
    rows = inline_blob_count(server)
    s3.put_object(Bucket=bucket, Key="src", Body=data, Metadata={"a": "1"})
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert inline_blob_count(server) == rows + 1  # shared, not duplicated
    s3.delete_object(Bucket=bucket, Key="src")
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == data and got["Metadata"] == {"a": "1"}
    assert inline_blob_count(server) == rows + 1
    s3.delete_object(Bucket=bucket, Key="dst")
    assert inline_blob_count(server) == rows


def test_upload_part_copy_reads_an_inline_source(s3: Any, bucket: str) -> None:
    small = rand(5000)
    first = rand(5 * MiB)
    s3.put_object(Bucket=bucket, Key="small", Body=small)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    p1 = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=first)
    p2 = s3.upload_part_copy(
        Bucket=bucket, Key="mp", UploadId=uid, PartNumber=2,
        CopySource={"Bucket": bucket, "Key": "small"}, CopySourceRange="bytes=100-3099",
    )  # fmt: skip
    parts = [
        {"PartNumber": 1, "ETag": p1["ETag"]},
        {"PartNumber": 2, "ETag": p2["CopyPartResult"]["ETag"]},
    ]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": parts}
    )
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == first + small[100:3100]


def test_bad_digest_stores_nothing(server: ServerProcess, s3_noretry: Any, bucket: str) -> None:
    rows = inline_blob_count(server)
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with s3_error("BadDigest", 400):
        s3_noretry.put_object(Bucket=bucket, Key="bad", Body=b"payload", ContentMD5=wrong)
    assert inline_blob_count(server) == rows
    with s3_error("NoSuchKey", 404):
        s3_noretry.get_object(Bucket=bucket, Key="bad")


@pytest.fixture(scope="module")
def no_inline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("no-inline")
    with ServerProcess(data_dir=base / "data", extra_args=["--inline-max-size", "0"]) as srv:
        yield srv


def test_inline_max_size_zero_keeps_every_object_in_files(no_inline_server: ServerProcess) -> None:
    srv = no_inline_server
    s3 = boto3.session.Session().client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION,
        aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
        verify=srv.cert,
    )  # fmt: skip
    s3.create_bucket(Bucket="files")
    s3.put_object(Bucket="files", Key="tiny", Body=b"x")
    counts = stats(srv)
    assert (counts["blobs"]["files"], counts["inline"]["blobs"]) == (1, 0)
    assert s3.get_object(Bucket="files", Key="tiny")["Body"].read() == b"x"


def test_listing_shows_inline_objects_like_any_other(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"12345")
    s3.put_object(Bucket=bucket, Key="b", Body=rand(INLINE_MAX + 1))
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("a", 5), ("b", INLINE_MAX + 1)]
