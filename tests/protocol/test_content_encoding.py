"""Content-Encoding is stored and returned exactly as the client sent it, spacing and
order included, minus the aws-chunked token (transport framing, never the object's)."""

from __future__ import annotations

from typing import Any

import pytest

from ._s3raw import STREAMING_UNSIGNED_TRAILER, checksum_b64, unsigned_chunked_body

DATA = b"content-encoding test body " * 100


def _head_encoding(s3: Any, bucket: str, key: str) -> str | None:
    head = s3.head_object(Bucket=bucket, Key=key)
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == DATA
    assert got.get("ContentEncoding") == head.get("ContentEncoding")
    value: str | None = head["ResponseMetadata"]["HTTPHeaders"].get("content-encoding")
    return value


def test_raw_put_keeps_encoding_as_sent(s3: Any, raw: Any, bucket: str) -> None:
    headers = {"Content-Encoding": "deflate, gzip"}
    resp = raw.request("PUT", bucket, "ce", headers=headers, body=DATA)
    assert resp.status_code == 200, resp.text
    assert _head_encoding(s3, bucket, "ce") == "deflate, gzip"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("gzip,aws-chunked", "gzip"),
        ("deflate, gzip, aws-chunked", "deflate, gzip"),
        ("aws-chunked, br", "br"),
        ("aws-chunked", None),
    ],
)
def test_streaming_put_drops_only_aws_chunked(
    s3: Any, raw: Any, bucket: str, sent: str, stored: str | None
) -> None:
    url = raw.url(bucket, "chunked")
    trailer = {"x-amz-checksum-crc32": checksum_b64("CRC32", DATA)}
    framed = unsigned_chunked_body(DATA, 1000, trailer)
    headers = {
        "Content-Encoding": sent,
        "x-amz-decoded-content-length": str(len(DATA)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "Content-Length": str(len(framed)),
    }
    signed = raw.signed_headers("PUT", url, headers, STREAMING_UNSIGNED_TRAILER)
    resp = raw.send("PUT", url, signed.headers, framed)
    assert resp.status_code == 200, resp.text
    assert _head_encoding(s3, bucket, "chunked") == stored


def test_boto3_put_copy_and_multipart_keep_encoding(s3: Any, bucket: str) -> None:
    # boto3 sends its CRC32 in an aws-chunked trailer: the token is added to the header.
    s3.put_object(Bucket=bucket, Key="put", Body=DATA, ContentEncoding="deflate, gzip")
    assert _head_encoding(s3, bucket, "put") == "deflate, gzip"

    s3.copy_object(
        Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "put"},
        MetadataDirective="REPLACE", ContentEncoding="br,  gzip",
    )  # fmt: skip
    assert _head_encoding(s3, bucket, "copy") == "br,  gzip"

    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ContentEncoding="gzip, br")
    part = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=DATA
    )
    s3.complete_multipart_upload(
        Bucket=bucket, Key="mp", UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )  # fmt: skip
    assert _head_encoding(s3, bucket, "mp") == "gzip, br"
