"""Every SigV4 payload mode, built by hand: UNSIGNED-PAYLOAD, a hex SHA-256, signed
aws-chunked (with and without a signed trailer) and the unsigned trailer; chunk
signatures and trailing checksums verified; aws-chunked never stored."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import requests

from ._s3raw import (
    ALGORITHMS,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
    UNSIGNED,
    RawClient,
    checksum_b64,
    checksum_header,
    error_code,
    signed_chunked_body,
    unsigned_chunked_body,
)
from ._types import S3Client
from ._util import etag, rand

DATA = rand(200_000, seed=99)


def _get(s3: S3Client, bucket: str, key: str) -> dict[str, Any]:
    resp: dict[str, Any] = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    return resp


def test_unsigned_payload(s3: S3Client, raw: RawClient, bucket: str) -> None:
    resp = raw.request("PUT", bucket, "u", body=DATA, payload_hash=UNSIGNED)
    assert resp.status_code == 200, resp.text
    assert resp.headers["ETag"] == etag(DATA)
    assert _get(s3, bucket, "u")["Body"].read() == DATA


def test_hex_sha256_payload(s3: S3Client, raw: RawClient, bucket: str) -> None:
    resp = raw.request("PUT", bucket, "h", body=DATA)  # payload hash = sha256(body)
    assert resp.status_code == 200, resp.text
    assert _get(s3, bucket, "h")["Body"].read() == DATA


def _streaming_put(
    raw: RawClient,
    bucket: str,
    key: str,
    mode: str,
    data: bytes,
    *,
    trailer_alg: str | None = None,
    content_encoding: str | None = None,
    chunk: int = 65536,
    corrupt_chunk: int | None = None,
    corrupt_trailer_signature: bool = False,
    wrong_trailer_value: bool = False,
) -> requests.Response:
    url = raw.url(bucket, key)
    headers = {
        "Content-Encoding": "aws-chunked"
        if not content_encoding
        else f"{content_encoding},aws-chunked",
        "x-amz-decoded-content-length": str(len(data)),
    }
    trailers = None
    if trailer_alg:
        name = checksum_header(trailer_alg)
        headers["x-amz-trailer"] = name
        value = checksum_b64(trailer_alg, b"wrong" if wrong_trailer_value else data)
        trailers = {name: value}
    if mode == STREAMING_UNSIGNED_TRAILER:
        framed = unsigned_chunked_body(data, chunk, trailers)
        headers["Content-Length"] = str(len(framed))
        signed = raw.signed_headers("PUT", url, headers, mode)
    else:
        # the framed length is needed before signing; compute it with a dummy signature
        probe = raw.signed_headers("PUT", url, dict(headers, **{"Content-Length": "0"}), mode)
        length = len(signed_chunked_body(probe, data, chunk, trailers))
        headers["Content-Length"] = str(length)
        signed = raw.signed_headers("PUT", url, headers, mode)
        framed = signed_chunked_body(
            signed,
            data,
            chunk,
            trailers,
            corrupt_chunk=corrupt_chunk,
            corrupt_trailer_signature=corrupt_trailer_signature,
        )
        assert len(framed) == length
    return raw.send("PUT", url, signed.headers, framed)


def test_streaming_signed_payload(s3: S3Client, raw: RawClient, bucket: str) -> None:
    resp = _streaming_put(raw, bucket, "s", STREAMING_SIGNED, DATA)
    assert resp.status_code == 200, resp.text
    assert resp.headers["ETag"] == etag(DATA)
    got = _get(s3, bucket, "s")
    assert got["Body"].read() == DATA
    assert "aws-chunked" not in got.get("ContentEncoding", "")


def test_streaming_signed_payload_small_chunks(s3: S3Client, raw: RawClient, bucket: str) -> None:
    data = b"tiny chunks " * 50
    resp = _streaming_put(raw, bucket, "sc", STREAMING_SIGNED, data, chunk=7)
    assert resp.status_code == 200, resp.text
    assert _get(s3, bucket, "sc")["Body"].read() == data


def test_streaming_signed_empty_body(s3: S3Client, raw: RawClient, bucket: str) -> None:
    resp = _streaming_put(raw, bucket, "se", STREAMING_SIGNED, b"")
    assert resp.status_code == 200, resp.text
    assert _get(s3, bucket, "se")["ContentLength"] == 0


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_streaming_signed_payload_trailer(
    s3: S3Client, raw: RawClient, bucket: str, algorithm: str
) -> None:
    resp = _streaming_put(raw, bucket, "st", STREAMING_SIGNED_TRAILER, DATA, trailer_alg=algorithm)
    assert resp.status_code == 200, resp.text
    got = _get(s3, bucket, "st")
    assert got["Body"].read() == DATA
    assert got.get("Checksum" + algorithm) == checksum_b64(algorithm, DATA)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_streaming_unsigned_trailer(
    s3: S3Client, raw: RawClient, bucket: str, algorithm: str
) -> None:
    resp = _streaming_put(
        raw, bucket, "ut", STREAMING_UNSIGNED_TRAILER, DATA, trailer_alg=algorithm
    )
    assert resp.status_code == 200, resp.text
    got = _get(s3, bucket, "ut")
    assert got["Body"].read() == DATA
    assert got.get("Checksum" + algorithm) == checksum_b64(algorithm, DATA)


@pytest.mark.parametrize("mode", [STREAMING_UNSIGNED_TRAILER, STREAMING_SIGNED_TRAILER])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_wrong_trailing_checksum_bad_digest(
    s3: S3Client, raw: RawClient, bucket: str, mode: str, algorithm: str
) -> None:
    s3.put_object(Bucket=bucket, Key="wt", Body=b"before")
    resp = _streaming_put(
        raw, bucket, "wt", mode, DATA, trailer_alg=algorithm, wrong_trailer_value=True
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "BadDigest", resp.text
    assert s3.get_object(Bucket=bucket, Key="wt")["Body"].read() == b"before"


@pytest.mark.parametrize("which", [0, 2, 4])  # first, middle, final (zero-length) chunk
def test_bad_chunk_signature(s3: S3Client, raw: RawClient, bucket: str, which: int) -> None:
    s3.put_object(Bucket=bucket, Key="bc", Body=b"before")
    resp = _streaming_put(raw, bucket, "bc", STREAMING_SIGNED, DATA, corrupt_chunk=which)
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "SignatureDoesNotMatch", resp.text
    assert s3.get_object(Bucket=bucket, Key="bc")["Body"].read() == b"before"


def test_bad_trailer_signature(s3: S3Client, raw: RawClient, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="bt", Body=b"before")
    resp = _streaming_put(
        raw,
        bucket,
        "bt",
        STREAMING_SIGNED_TRAILER,
        DATA,
        trailer_alg="CRC32",
        corrupt_trailer_signature=True,
    )
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "SignatureDoesNotMatch", resp.text
    assert s3.get_object(Bucket=bucket, Key="bt")["Body"].read() == b"before"


@pytest.mark.parametrize("mode", [STREAMING_SIGNED, STREAMING_UNSIGNED_TRAILER])
def test_aws_chunked_stripped_from_content_encoding(
    s3: S3Client, raw: RawClient, bucket: str, mode: str
) -> None:
    kw: dict[str, Any] = {"trailer_alg": "CRC32"} if mode == STREAMING_UNSIGNED_TRAILER else {}
    resp = _streaming_put(raw, bucket, "ce", mode, DATA, content_encoding="gzip", **kw)
    assert resp.status_code == 200, resp.text
    head = s3.head_object(Bucket=bucket, Key="ce")
    assert head["ContentEncoding"] == "gzip"


def test_decoded_length_mismatch(s3: S3Client, raw: RawClient, bucket: str) -> None:
    url = raw.url(bucket, "dl")
    data = b"x" * 1000
    framed = unsigned_chunked_body(data, 100, {"x-amz-checksum-crc32": checksum_b64("CRC32", data)})
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": "2000",
        "x-amz-trailer": "x-amz-checksum-crc32",
        "Content-Length": str(len(framed)),
    }
    signed = raw.signed_headers("PUT", url, headers, STREAMING_UNSIGNED_TRAILER)
    resp = raw.send("PUT", url, signed.headers, framed)
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) in ("IncompleteBody", "InvalidRequest", "BadDigest"), resp.text
    assert raw.request("HEAD", bucket, "dl").status_code == 404


def test_header_checksum_with_sha256_payload(s3: S3Client, raw: RawClient, bucket: str) -> None:
    data = b"header + payload hash"
    resp = raw.request(
        "PUT",
        bucket,
        "hp",
        body=data,
        headers={"x-amz-checksum-crc32c": checksum_b64("CRC32C", data)},
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers.get("x-amz-checksum-crc32c") == checksum_b64("CRC32C", data)
    assert _get(s3, bucket, "hp").get("ChecksumCRC32C") == checksum_b64("CRC32C", data)


def test_boto3_put_sends_streaming_trailer(s3: S3Client, bucket: str) -> None:
    """The default boto3 PutObject (aws-chunked + CRC32 trailer over TLS) round-trips."""
    body = hashlib.sha256(b"x").digest() * 1000
    resp = s3.put_object(Bucket=bucket, Key="b3", Body=body)
    assert resp.get("ChecksumCRC32") == checksum_b64("CRC32", body)
    assert s3.get_object(Bucket=bucket, Key="b3")["Body"].read() == body
