"""Bad input: each gets its S3 error, the server keeps serving, nothing stored changes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator

import pytest
import requests

from ._s3raw import (
    STREAMING_UNSIGNED_TRAILER,
    RawClient,
    build_head,
    checksum_b64,
    error_code,
    md5_b64,
    read_response,
    tls_connect,
    unsigned_chunked_body,
)
from ._server import ServerProcess
from ._types import S3Client
from ._util import all_files, etag, rand

SENTINEL = rand(4096, seed=1234)


@pytest.fixture
def sentinel(s3: S3Client, bucket: str) -> Iterator[str]:
    """An object that must survive every bad request unchanged."""
    s3.put_object(Bucket=bucket, Key="sentinel", Body=SENTINEL, Metadata={"s": "1"})
    yield bucket
    # the server still serves, and nothing stored changed
    s3.list_buckets()
    got = s3.get_object(Bucket=bucket, Key="sentinel")
    assert got["Body"].read() == SENTINEL
    assert got["ETag"] == etag(SENTINEL)
    assert got["Metadata"] == {"s": "1"}


def _keys(s3: S3Client, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


# ------------------------------------------------------------------------- XML
@pytest.mark.parametrize(
    "body",
    [
        b"<Delete><Object><Key>sentinel</Key></Object>",  # unterminated
        b"this is not xml",
        b"<Delete><Object><Key>sentinel</Key></Objekt></Delete>",
        b"<NotDelete><Object><Key>sentinel</Key></Object></NotDelete>",
        b"",
    ],
    ids=["truncated", "garbage", "mismatched-tag", "wrong-root", "empty"],
)
def test_malformed_delete_objects_xml(
    s3: S3Client, raw: RawClient, sentinel: str, body: bytes
) -> None:
    resp = raw.request(
        "POST", sentinel, query={"delete": ""}, body=body, headers={"Content-MD5": md5_b64(body)}
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "MalformedXML", resp.text
    assert _keys(s3, sentinel) == ["sentinel"]


def test_xml_entity_expansion_rejected(s3: S3Client, raw: RawClient, sentinel: str) -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "sentinel">]>'
        b"<Delete><Object><Key>&a;</Key></Object></Delete>"
    )
    resp = raw.request(
        "POST", sentinel, query={"delete": ""}, body=body, headers={"Content-MD5": md5_b64(body)}
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "MalformedXML", resp.text
    assert _keys(s3, sentinel) == ["sentinel"]


# ------------------------------------------------------------------------- truncated body
def _truncated_put(
    server: ServerProcess, raw: RawClient, bucket: str, key: str, declared: int, sent: int
) -> None:
    url = raw.url(bucket, key)
    signed = raw.signed_headers("PUT", url, {"Content-Length": str(declared)}, "UNSIGNED-PAYLOAD")
    head = {"Host": server.host, **signed.headers}
    s = tls_connect(server.port, server.cert)
    try:
        s.sendall(build_head("PUT", url[len(server.endpoint) :], head))
        s.sendall(b"t" * sent)
        time.sleep(0.2)
    finally:
        s.close()  # the client goes away mid-body


@pytest.mark.parametrize("key", ["sentinel", "fresh"])
def test_truncated_body_stores_nothing(
    s3: S3Client, server: ServerProcess, raw: RawClient, sentinel: str, key: str
) -> None:
    _truncated_put(server, raw, sentinel, key, declared=100_000, sent=50_000)
    for _ in range(3):
        # give the server time to notice; the object must never appear half-written
        assert _keys(s3, sentinel) == ["sentinel"]
        time.sleep(0.3)


def test_truncated_large_body_leaves_no_temp_file(
    s3: S3Client, server: ServerProcess, raw: RawClient, sentinel: str
) -> None:
    """Cut off while batches of the body are being hashed and written on a thread: the
    abort waits for the thread, then removes the temp file."""
    _truncated_put(server, raw, sentinel, "large", declared=8 << 20, sent=(7 << 20) // 2)
    deadline = time.monotonic() + 10
    while all_files(server.data_dir / "tmp") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not all_files(server.data_dir / "tmp")  # (the workers' session directories stay)
    assert _keys(s3, sentinel) == ["sentinel"]
    data = os.urandom(3 << 20)  # and the next large upload is whole
    s3.put_object(Bucket=sentinel, Key="after", Body=data)
    assert s3.get_object(Bucket=sentinel, Key="after")["Body"].read() == data
    s3.delete_object(Bucket=sentinel, Key="after")


def test_truncated_body_then_half_closed(
    s3: S3Client, server: ServerProcess, raw: RawClient, sentinel: str
) -> None:
    """Client shuts down its sending side early: 400 IncompleteBody or no answer at all."""
    url = raw.url(sentinel, "half")
    signed = raw.signed_headers("PUT", url, {"Content-Length": "1000"}, "UNSIGNED-PAYLOAD")
    head = {"Host": server.host, **signed.headers}
    with tls_connect(server.port, server.cert, timeout=15) as s:
        s.sendall(build_head("PUT", url[len(server.endpoint) :], head) + b"h" * 10)
        # keep the connection open but send nothing more: the server must not store
        time.sleep(0.5)
        assert _keys(s3, sentinel) == ["sentinel"]
    time.sleep(0.3)
    assert _keys(s3, sentinel) == ["sentinel"]


# ------------------------------------------------------------------------- digests
def test_wrong_content_md5_raw(s3: S3Client, raw: RawClient, sentinel: str) -> None:
    resp = raw.request(
        "PUT",
        sentinel,
        "sentinel",
        body=b"replacement",
        headers={"Content-MD5": md5_b64(b"something else")},
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "BadDigest", resp.text


def test_wrong_checksum_header_raw(s3: S3Client, raw: RawClient, sentinel: str) -> None:
    resp = raw.request(
        "PUT",
        sentinel,
        "sentinel",
        body=b"replacement",
        headers={"x-amz-checksum-sha256": checksum_b64("SHA256", b"nope")},
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "BadDigest", resp.text


def test_malformed_checksum_header(s3: S3Client, raw: RawClient, sentinel: str) -> None:
    resp = raw.request(
        "PUT",
        sentinel,
        "sentinel",
        body=b"replacement",
        headers={"x-amz-checksum-crc32": "not-base64!"},
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) in ("InvalidRequest", "InvalidArgument", "BadDigest")


def test_wrong_sha256_payload_hash(s3: S3Client, raw: RawClient, sentinel: str) -> None:
    resp = raw.request(
        "PUT",
        sentinel,
        "sentinel",
        body=b"replacement",
        payload_hash=hashlib.sha256(b"x").hexdigest(),
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "XAmzContentSHA256Mismatch", resp.text


# ------------------------------------------------------------------------- aws-chunked framing
def _chunked_put(
    raw: RawClient,
    bucket: str,
    key: str,
    framed: bytes,
    decoded_len: int,
    trailer: str | None = "x-amz-checksum-crc32",
) -> requests.Response:
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(decoded_len),
        "Content-Length": str(len(framed)),
    }
    if trailer:
        headers["x-amz-trailer"] = trailer
    return raw.request(
        "PUT", bucket, key, headers=headers, body=framed, payload_hash=STREAMING_UNSIGNED_TRAILER
    )


FRAMING_ERRORS = (
    "IncompleteBody",
    "InvalidChunkSizeError",
    "InvalidRequest",
    "InvalidArgument",
    "MalformedTrailerError",
    "BadDigest",
)


def test_good_unsigned_trailer_framing(s3: S3Client, raw: RawClient, sentinel: str) -> None:
    """Sanity check of the framing helper: a correct body is accepted."""
    data = b"chunked data " * 1000
    framed = unsigned_chunked_body(
        data, 4096, {"x-amz-checksum-crc32": checksum_b64("CRC32", data)}
    )
    resp = _chunked_put(raw, sentinel, "good", framed, len(data))
    assert resp.status_code == 200, resp.text
    assert resp.headers["ETag"] == etag(data)
    got = s3.get_object(Bucket=sentinel, Key="good")
    assert got["Body"].read() == data
    assert "aws-chunked" not in got.get("ContentEncoding", "")
    s3.delete_object(Bucket=sentinel, Key="good")


def _bad_framings() -> dict[str, tuple[bytes, int]]:
    data = b"0123456789" * 100
    crc = checksum_b64("CRC32", data)
    good_trailer = f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    return {
        "non-hex-size": (b"zz\r\n" + data + b"\r\n0\r\n" + good_trailer, len(data)),
        "size-too-small": (b"10\r\n" + data + b"\r\n0\r\n" + good_trailer, len(data)),
        "size-too-large": (b"1000\r\n" + data + b"\r\n0\r\n" + good_trailer, len(data)),
        "no-final-chunk": (b"3e8\r\n" + data + b"\r\n", len(data)),
        "missing-crlf": (b"3e8\r\n" + data + b"0\r\n" + good_trailer, len(data)),
        "decoded-length-mismatch": (b"3e8\r\n" + data + b"\r\n0\r\n" + good_trailer, 999),
        "bad-trailer-line": (b"3e8\r\n" + data + b"\r\n0\r\nno colon here\r\n\r\n", len(data)),
        "wrong-trailer-checksum": (
            b"3e8\r\n"
            + data
            + b"\r\n0\r\n"
            + f"x-amz-checksum-crc32:{checksum_b64('CRC32', b'x')}\r\n\r\n".encode(),
            len(data),
        ),
    }


@pytest.mark.parametrize("case", list(_bad_framings()))
def test_bad_aws_chunked_framing(s3: S3Client, raw: RawClient, sentinel: str, case: str) -> None:
    framed, decoded = _bad_framings()[case]
    for key in ("sentinel", "framing-new"):
        resp = _chunked_put(raw, sentinel, key, framed, decoded)
        assert resp.status_code == 400, (case, resp.status_code, resp.text)
        code = error_code(resp.content)
        if case == "wrong-trailer-checksum":
            assert code == "BadDigest", resp.text
        else:
            assert code in FRAMING_ERRORS, resp.text
    assert _keys(s3, sentinel) == ["sentinel"]


# ------------------------------------------------------------------------- oversized header
def test_oversized_header(server: ServerProcess, raw: RawClient, sentinel: str) -> None:
    url = raw.url(sentinel, "sentinel")
    body = b"should not be stored"
    signed = raw.signed_headers("PUT", url, {}, hashlib.sha256(body).hexdigest())
    headers = {**signed.headers, "X-Junk": "j" * 65536}
    resp = raw.send("PUT", url, headers, body)
    assert resp.status_code == 400, (resp.status_code, resp.text[:500])
    assert error_code(resp.content) == "RequestHeaderSectionTooLarge", resp.text[:500]


def test_oversized_metadata_header(s3: S3Client, raw: RawClient, sentinel: str) -> None:
    body = b"should not be stored"
    resp = raw.request(
        "PUT", sentinel, "sentinel", body=body, headers={"x-amz-meta-big": "m" * 65536}
    )
    assert resp.status_code == 400, resp.text[:500]
    assert error_code(resp.content) in ("MetadataTooLarge", "RequestHeaderSectionTooLarge")


def test_many_headers(server: ServerProcess, raw: RawClient, sentinel: str) -> None:
    url = raw.url(sentinel, "sentinel")
    body = b"many headers"
    signed = raw.signed_headers("PUT", url, {}, hashlib.sha256(body).hexdigest())
    headers = dict(signed.headers)
    for i in range(80):  # ~13 KB in total: past S3's 8 KB, under any header-count cap
        headers[f"X-Filler-{i}"] = "f" * 150
    resp = raw.send("PUT", url, headers, body)
    assert resp.status_code == 400, resp.text[:500]
    assert error_code(resp.content) == "RequestHeaderSectionTooLarge", resp.text[:500]


# ------------------------------------------------------------------------- other junk
def test_invalid_bucket_name_raw(raw: RawClient, sentinel: str) -> None:
    resp = raw.request("PUT", "Invalid_Bucket_Name")
    assert resp.status_code == 400
    assert error_code(resp.content) == "InvalidBucketName"


def test_garbage_request_line_then_serving(
    server: ServerProcess, s3: S3Client, sentinel: str
) -> None:
    with tls_connect(server.port, server.cert, timeout=10) as s:
        s.sendall(b"\x00\x01GARBAGE / HTTP/9.9\r\n\r\n")
        with contextlib.suppress(OSError):
            s.recv(1024)
    s3.list_buckets()


def test_garbage_authorization_header(server: ServerProcess, raw: RawClient, sentinel: str) -> None:
    url = raw.url(sentinel, "sentinel")
    resp = raw.send(
        "PUT",
        url,
        {
            "Authorization": "AWS4-HMAC-SHA256 garbage",
            "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
            "x-amz-date": "20240101T000000Z",
        },
        b"junk",
    )
    assert 400 <= resp.status_code < 500, resp.text
    assert error_code(resp.content) in (
        "AuthorizationHeaderMalformed",
        "InvalidArgument",
        "AccessDenied",
        "InvalidRequest",
        "SignatureDoesNotMatch",
    ), resp.text


def test_raw_socket_put_with_keepalive_reuse(
    server: ServerProcess, raw: RawClient, s3: S3Client, sentinel: str
) -> None:
    """Two requests on one connection after a rejected one: the server keeps the framing."""
    url = raw.url(sentinel, "ka")
    bad = raw.signed_headers(
        "PUT",
        url,
        {"Content-Length": "5", "Content-MD5": md5_b64(b"zzz")},
        hashlib.sha256(b"hello").hexdigest(),
    )
    good = raw.signed_headers(
        "PUT", url, {"Content-Length": "5"}, hashlib.sha256(b"hello").hexdigest()
    )
    path = url[len(server.endpoint) :]
    with tls_connect(server.port, server.cert) as s:
        s.sendall(build_head("PUT", path, {"Host": server.host, **bad.headers}) + b"hello")
        status, headers, body = read_response(s, "PUT")
        assert status == 400 and error_code(body) == "BadDigest", body
        if headers.get("connection", "").lower() == "close":
            return
        s.sendall(build_head("PUT", path, {"Host": server.host, **good.headers}) + b"hello")
        status, _, body = read_response(s, "PUT")
        assert status == 200, body
    assert s3.get_object(Bucket=sentinel, Key="ka")["Body"].read() == b"hello"
    s3.delete_object(Bucket=sentinel, Key="ka")
