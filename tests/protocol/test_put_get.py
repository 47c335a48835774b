"""PutObject / GetObject: bodies, metadata, content headers, limits, digests, checksums."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import os
import time
from pathlib import Path

import pytest

from ._s3raw import (
    ALGORITHMS,
    RawClient,
    build_head,
    checksum_b64,
    error_code,
    md5_b64,
    read_response,
    tls_connect,
)
from ._server import ServerProcess
from ._types import S3Client
from ._util import TRICKY_KEYS, blob_files, etag, local_blobs_only, rand, s3_error


def test_put_get_roundtrip(s3: S3Client, bucket: str) -> None:
    data = rand(10_000)
    put = s3.put_object(Bucket=bucket, Key="obj", Body=data)
    assert put["ETag"] == etag(data)
    get = s3.get_object(Bucket=bucket, Key="obj")
    assert get["Body"].read() == data
    assert get["ETag"] == etag(data)
    assert get["ContentLength"] == len(data)
    now = dt.datetime.now(dt.UTC)
    assert abs((now - get["LastModified"]).total_seconds()) < 120
    head = s3.head_object(Bucket=bucket, Key="obj")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == etag(data)
    assert head["LastModified"] == get["LastModified"]
    assert head["ResponseMetadata"]["HTTPHeaders"].get("accept-ranges") == "bytes"


def test_empty_object(s3: S3Client, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert put["ETag"] == etag(b"")
    get = s3.get_object(Bucket=bucket, Key="empty")
    assert get["Body"].read() == b""
    assert get["ContentLength"] == 0
    assert get["ETag"] == etag(b"")


def test_default_content_type(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="noctype", Body=b"abc")
    head = s3.head_object(Bucket=bucket, Key="noctype")
    assert head["ContentType"] in ("binary/octet-stream", "application/octet-stream")


def test_overwrite(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"first", Metadata={"v": "1"})
    s3.put_object(Bucket=bucket, Key="k", Body=b"second!")
    get = s3.get_object(Bucket=bucket, Key="k")
    assert get["Body"].read() == b"second!"
    assert get["Metadata"] == {}
    assert get["ETag"] == etag(b"second!")


def test_metadata_and_content_headers(s3: S3Client, bucket: str) -> None:
    expires = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    body = b"\x1f\x8b not really gzip"
    s3.put_object(
        Bucket=bucket,
        Key="hdrs",
        Body=body,
        Metadata={"alpha": "one", "Mixed-Case": "Value With Spaces", "empty": ""},
        ContentType="text/x-oortgate; charset=utf-8",
        ContentEncoding="gzip",
        ContentDisposition='attachment; filename="a b.txt"',
        ContentLanguage="de-CH",
        CacheControl="max-age=3600, private",
        Expires=expires,
    )
    for resp in (
        s3.get_object(Bucket=bucket, Key="hdrs"),
        s3.head_object(Bucket=bucket, Key="hdrs"),
    ):
        assert resp["Metadata"] == {"alpha": "one", "mixed-case": "Value With Spaces", "empty": ""}
        assert resp["ContentType"] == "text/x-oortgate; charset=utf-8"
        # aws-chunked (added by botocore for the CRC32 trailer) must never be stored
        assert resp["ContentEncoding"] == "gzip"
        assert resp["ContentDisposition"] == 'attachment; filename="a b.txt"'
        assert resp["ContentLanguage"] == "de-CH"
        assert resp["CacheControl"] == "max-age=3600, private"
        hdr = resp["ResponseMetadata"]["HTTPHeaders"]["expires"]
        assert hdr == "Thu, 02 Jan 2031 03:04:05 GMT"
    assert s3.get_object(Bucket=bucket, Key="hdrs")["Body"].read() == body


def test_aws_chunked_not_stored_as_content_encoding(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="plain", Body=b"data")
    head = s3.head_object(Bucket=bucket, Key="plain")
    assert "aws-chunked" not in head.get("ContentEncoding", "")
    assert "aws-chunked" not in head["ResponseMetadata"]["HTTPHeaders"].get("content-encoding", "")


def test_metadata_special_ascii_value(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="m", Body=b"x", Metadata={"k": "v=1;w=2 ~!*"})
    assert s3.head_object(Bucket=bucket, Key="m")["Metadata"] == {"k": "v=1;w=2 ~!*"}


def test_metadata_too_large(s3: S3Client, bucket: str) -> None:
    with s3_error("MetadataTooLarge", 400):
        s3.put_object(Bucket=bucket, Key="big-meta", Body=b"x", Metadata={"big": "v" * 2100})
    with s3_error("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key="big-meta")
    # many small entries adding up past 2 KB
    meta = {f"key{i:03d}": "v" * 40 for i in range(60)}
    with s3_error("MetadataTooLarge", 400):
        s3.put_object(Bucket=bucket, Key="big-meta", Body=b"x", Metadata=meta)


def test_metadata_under_limit(s3: S3Client, bucket: str) -> None:
    meta = {"a": "v" * 1500}
    s3.put_object(Bucket=bucket, Key="ok-meta", Body=b"x", Metadata=meta)
    assert s3.head_object(Bucket=bucket, Key="ok-meta")["Metadata"] == meta


def test_key_length_limit(s3: S3Client, bucket: str) -> None:
    k1024 = "k" * 1024
    s3.put_object(Bucket=bucket, Key=k1024, Body=b"max")
    assert s3.get_object(Bucket=bucket, Key=k1024)["Body"].read() == b"max"
    with s3_error("KeyTooLongError", 400):
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    # the limit is in UTF-8 bytes, not characters: 513 x 'é' = 1026 bytes
    with s3_error("KeyTooLongError", 400):
        s3.put_object(Bucket=bucket, Key="é" * 513, Body=b"x")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [k1024]


def test_content_md5_good(s3: S3Client, bucket: str) -> None:
    data = rand(5000)
    resp = s3.put_object(Bucket=bucket, Key="md5", Body=data, ContentMD5=md5_b64(data))
    assert resp["ETag"] == etag(data)
    assert s3.get_object(Bucket=bucket, Key="md5")["Body"].read() == data


def test_content_md5_bad_digest(s3_noretry: S3Client, bucket: str) -> None:
    s3 = s3_noretry
    s3.put_object(Bucket=bucket, Key="md5", Body=b"original")
    with s3_error("BadDigest", 400):
        s3.put_object(Bucket=bucket, Key="md5", Body=b"new body", ContentMD5=md5_b64(b"other"))
    assert s3.get_object(Bucket=bucket, Key="md5")["Body"].read() == b"original"
    with s3_error("BadDigest", 400):
        s3.put_object(Bucket=bucket, Key="md5-new", Body=b"new body", ContentMD5=md5_b64(b"x"))
    with s3_error("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key="md5-new")


@pytest.mark.parametrize(
    "value",
    ["not base64!!", base64.b64encode(b"short").decode(), "AAAA"],
    ids=["garbage", "wrong-length", "3-bytes"],
)
def test_content_md5_malformed(raw: RawClient, bucket: str, value: str) -> None:
    resp = raw.request("PUT", bucket, "bad-md5", headers={"Content-MD5": value}, body=b"hello")
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "InvalidDigest", resp.text
    assert raw.request("GET", bucket, "bad-md5").status_code == 404


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_checksum_algorithm_stored_and_returned(s3: S3Client, bucket: str, algorithm: str) -> None:
    data = rand(70_000)
    expected = checksum_b64(algorithm, data)
    field = "Checksum" + algorithm
    put = s3.put_object(
        Bucket=bucket, Key=f"ck-{algorithm}", Body=data, ChecksumAlgorithm=algorithm
    )
    assert put.get(field) == expected
    assert put["ETag"] == etag(data)
    get = s3.get_object(Bucket=bucket, Key=f"ck-{algorithm}", ChecksumMode="ENABLED")
    assert get["Body"].read() == data
    assert get.get(field) == expected
    head = s3.head_object(Bucket=bucket, Key=f"ck-{algorithm}", ChecksumMode="ENABLED")
    assert head.get(field) == expected


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_checksum_value_in_header(s3: S3Client, bucket: str, algorithm: str) -> None:
    # A precomputed value goes in the x-amz-checksum-* header instead of a trailer.
    data = b"header checksum " * 100
    field = "Checksum" + algorithm
    value = checksum_b64(algorithm, data)
    put = s3.put_object(Bucket=bucket, Key="hc", Body=data, **{field: value})
    assert put.get(field) == value
    head = s3.head_object(Bucket=bucket, Key="hc", ChecksumMode="ENABLED")
    assert head.get(field) == value


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_checksum_wrong_value_bad_digest(s3_noretry: S3Client, bucket: str, algorithm: str) -> None:
    s3 = s3_noretry
    s3.put_object(Bucket=bucket, Key="wc", Body=b"old")
    field = "Checksum" + algorithm
    wrong = checksum_b64(algorithm, b"something else")
    with s3_error("BadDigest", 400):
        s3.put_object(Bucket=bucket, Key="wc", Body=b"new data", **{field: wrong})
    assert s3.get_object(Bucket=bucket, Key="wc")["Body"].read() == b"old"


def test_default_crc32_checksum_returned(s3: S3Client, bucket: str) -> None:
    # boto3 sends a CRC32 trailer by default; the server keeps and returns it.
    data = b"default checksum"
    s3.put_object(Bucket=bucket, Key="d", Body=data)
    head = s3.head_object(Bucket=bucket, Key="d", ChecksumMode="ENABLED")
    assert head.get("ChecksumCRC32") == checksum_b64("CRC32", data)


def test_large_body_file_like_with_expect_continue(s3: S3Client, bucket: str) -> None:
    # A file-like body makes botocore send "Expect: 100-continue".
    data = rand(1024 * 1024 + 17)
    resp = s3.put_object(Bucket=bucket, Key="big", Body=io.BytesIO(data))
    assert resp["ETag"] == etag(data)
    got = s3.get_object(Bucket=bucket, Key="big")["Body"].read()
    assert hashlib.md5(got).hexdigest() == hashlib.md5(data).hexdigest()


def test_upload_download_file(s3: S3Client, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    data = rand(300_000)
    src.write_bytes(data)
    s3.upload_file(str(src), bucket, "dir/file.bin")
    dst = tmp_path / "dst.bin"
    s3.download_file(bucket, "dir/file.bin", str(dst))
    assert dst.read_bytes() == data


def test_expect_100_continue_raw(server: ServerProcess, raw: RawClient, bucket: str) -> None:
    """The server answers 100 Continue before the body is sent, then stores it."""
    data = b"continue body " * 1000
    url = raw.url(bucket, "expect")
    hdrs = {"Content-Length": str(len(data)), "Expect": "100-continue"}
    signed = raw.signed_headers("PUT", url, hdrs, hashlib.sha256(data).hexdigest())
    head = {"Host": server.host, **signed.headers}
    with tls_connect(server.port, server.cert) as s:
        s.sendall(build_head("PUT", url[len(server.endpoint) :], head))
        s.settimeout(5)
        interim = b""
        while b"\r\n\r\n" not in interim:
            chunk = s.recv(1)
            assert chunk, "connection closed before 100 Continue"
            interim += chunk
        assert interim.startswith(b"HTTP/1.1 100"), interim
        s.settimeout(30)
        s.sendall(data)
        status, headers, body = read_response(s, "PUT")
    assert status == 200, body
    assert headers["etag"] == etag(data)
    assert raw.request("GET", bucket, "expect").content == data


def test_missing_content_length(server: ServerProcess, raw: RawClient, bucket: str) -> None:
    url = raw.url(bucket, "nolength")
    signed = raw.signed_headers("PUT", url, {}, "UNSIGNED-PAYLOAD")
    head = {"Host": server.host, **signed.headers, "Connection": "close"}
    with tls_connect(server.port, server.cert) as s:
        s.sendall(build_head("PUT", url[len(server.endpoint) :], head))
        status, _, body = read_response(s, "PUT")
    assert status == 411, body
    assert error_code(body) == "MissingContentLength", body


def test_entity_too_large_declared(server: ServerProcess, raw: RawClient, bucket: str) -> None:
    # A single PUT over 5 GiB is refused from its Content-Length, before any body.
    size = 5 * 1024**3 + 1
    url = raw.url(bucket, "huge")
    signed = raw.signed_headers("PUT", url, {"Content-Length": str(size)}, "UNSIGNED-PAYLOAD")
    head = {"Host": server.host, **signed.headers, "Connection": "close"}
    with tls_connect(server.port, server.cert) as s:
        s.sendall(build_head("PUT", url[len(server.endpoint) :], head))
        s.sendall(b"x" * 1024)
        status, _, body = read_response(s, "PUT")
    assert status == 400, body
    assert error_code(body) == "EntityTooLarge", body


def test_get_missing_key(s3: S3Client, bucket: str) -> None:
    with s3_error("NoSuchKey", 404) as ei:
        s3.get_object(Bucket=bucket, Key="nope")
    assert ei.value.response["Error"].get("Key") in (None, "nope")


@pytest.mark.parametrize("key", TRICKY_KEYS)
def test_tricky_key_put_get_head(s3: S3Client, bucket: str, key: str) -> None:
    data = key.encode() + b"|payload"
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(data)
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == [key]
    s3.delete_object(Bucket=bucket, Key=key)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_last_modified_changes_on_overwrite(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="t", Body=b"1")
    first = s3.head_object(Bucket=bucket, Key="t")["LastModified"]
    time.sleep(1.1)
    s3.put_object(Bucket=bucket, Key="t", Body=b"2")
    second = s3.head_object(Bucket=bucket, Key="t")["LastModified"]
    assert second > first


def _evict_from_page_cache(path: Path) -> bool:
    """Drop a (clean, fsynced) file's pages from the page cache; True if a read of its
    first byte would now have to wait for the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        try:
            os.preadv(fd, [bytearray(1)], 0, os.RWF_NOWAIT)
        except BlockingIOError:
            return True
        return False
    finally:
        os.close(fd)



def _evicted(path: Path) -> bool:
    """``_evict_from_page_cache``, tried again a few times: a page the kernel is still
    writing back, or another process is reading meanwhile, is not dropped at once."""
    for _ in range(50):
        if _evict_from_page_cache(path):
            return True
        time.sleep(0.05)
    return False

def test_get_of_an_object_no_longer_in_the_page_cache(
    s3: S3Client, bucket: str, server: ServerProcess
) -> None:
    """Bytes that must come from the disk are read on a blob I/O thread (not on the event
    loop): whole and ranged GETs of an evicted object still return exactly its bytes."""
    local_blobs_only(server)
    data = rand(3 * 1024 * 1024 + 17)
    s3.put_object(Bucket=bucket, Key="cold", Body=data)
    (blob,) = [p for p in blob_files(server.data_dir) if p.stat().st_size == len(data)]
    assert _evicted(blob)
    assert s3.get_object(Bucket=bucket, Key="cold")["Body"].read() == data
    assert _evicted(blob)
    part = s3.get_object(Bucket=bucket, Key="cold", Range="bytes=1000000-2500000")
    assert part["Body"].read() == data[1_000_000:2_500_001]


def test_get_of_a_multipart_object_no_longer_in_the_page_cache(
    s3: S3Client, bucket: str, server: ServerProcess
) -> None:
    """The same for a multipart object, whose parts are files of their own: the read goes
    on from one cold part into the next (on the thread), whole and across a boundary."""
    local_blobs_only(server)
    parts = [rand(5 * 1024 * 1024 + 101), rand(777_777)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="cold-mp")["UploadId"]
    etags = [
        s3.upload_part(Bucket=bucket, Key="cold-mp", UploadId=upload, PartNumber=n, Body=body)[
            "ETag"
        ]
        for n, body in enumerate(parts, 1)
    ]
    s3.complete_multipart_upload(
        Bucket=bucket, Key="cold-mp", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]},
    )  # fmt: skip
    data = b"".join(parts)
    files = [p for p in blob_files(server.data_dir) if p.stat().st_size in map(len, parts)]
    assert len(files) == 2
    assert all(_evicted(f) for f in files)
    assert s3.get_object(Bucket=bucket, Key="cold-mp")["Body"].read() == data
    assert all(_evicted(f) for f in files)
    edge = len(parts[0])
    got = s3.get_object(Bucket=bucket, Key="cold-mp", Range=f"bytes={edge - 10}-{edge + 10}")
    assert got["Body"].read() == data[edge - 10 : edge + 11]
