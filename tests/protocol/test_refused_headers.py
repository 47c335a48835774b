"""Headers the S3 model defines but the server does not implement are refused with
501 NotImplemented (never accepted and ignored), before anything is stored; headers
the model does not define for an operation are ignored, as AWS does."""

from __future__ import annotations

import pytest
import requests

from oortgate.ops.request_headers import REFUSED

from ._s3raw import (
    STREAMING_UNSIGNED_TRAILER,
    RawClient,
    error_code,
    error_field,
    md5_b64,
    unsigned_chunked_body,
)
from ._types import S3Client, UniqueName
from ._util import s3_error

DATA = b"payload"


def refused(op: str) -> list[str]:
    return sorted(REFUSED[op])


def assert_refused(resp: requests.Response, header: str, *, head: bool = False) -> None:
    assert resp.status_code == 501, (header, resp.status_code, resp.text)
    if not head:
        assert error_code(resp.content) == "NotImplemented", resp.text
        assert error_field(resp.content, "Header") == header, resp.text


@pytest.fixture
def src(s3: S3Client, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="src", Body=DATA)
    return bucket


@pytest.mark.parametrize("header", refused("PutObject"))
def test_put_object_refuses(raw: RawClient, s3: S3Client, bucket: str, header: str) -> None:
    resp = raw.request("PUT", bucket, "k", headers={header: "x"}, body=DATA)
    assert_refused(resp, header)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("header", refused("CopyObject"))
def test_copy_object_refuses(raw: RawClient, s3: S3Client, src: str, header: str) -> None:
    headers = {"x-amz-copy-source": f"/{src}/src", header: "x"}
    assert_refused(raw.request("PUT", src, "dst", headers=headers), header)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=src)["Contents"]] == ["src"]


@pytest.mark.parametrize("header", refused("CreateMultipartUpload"))
def test_create_multipart_upload_refuses(
    raw: RawClient, s3: S3Client, bucket: str, header: str
) -> None:
    resp = raw.request("POST", bucket, "mp", query={"uploads": ""}, headers={header: "x"})
    assert_refused(resp, header)
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")


@pytest.mark.parametrize("header", refused("UploadPart"))
def test_upload_part_refuses(raw: RawClient, s3: S3Client, bucket: str, header: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    query = {"partNumber": "1", "uploadId": upload_id}
    assert_refused(raw.request("PUT", bucket, "mp", query=query, headers={header: "x"}), header)
    assert not s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload_id).get("Parts")


@pytest.mark.parametrize("header", refused("GetObject"))
def test_get_object_refuses(raw: RawClient, src: str, header: str) -> None:
    assert_refused(raw.request("GET", src, "src", headers={header: "x"}), header)


@pytest.mark.parametrize("header", refused("HeadObject"))
def test_head_object_refuses(raw: RawClient, src: str, header: str) -> None:
    assert_refused(raw.request("HEAD", src, "src", headers={header: "x"}), header, head=True)


@pytest.mark.parametrize("header", refused("CreateBucket"))
def test_create_bucket_refuses(
    raw: RawClient, s3: S3Client, unique_name: UniqueName, header: str
) -> None:
    name = unique_name("refused")
    assert_refused(raw.request("PUT", name, headers={header: "x"}), header)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


@pytest.mark.parametrize("header", refused("DeleteObject"))
def test_delete_object_refuses(raw: RawClient, s3: S3Client, src: str, header: str) -> None:
    assert_refused(raw.request("DELETE", src, "src", headers={header: "x"}), header)
    assert s3.get_object(Bucket=src, Key="src")["Body"].read() == DATA


def test_boto3_sse_and_lock_parameters_refused(s3: S3Client, bucket: str) -> None:
    """What a user asking boto3 for encryption or a lock gets: an error, not a silent no
    (a lock where the bucket has none: AWS's InvalidRequest; test_object_lock has more)."""
    with s3_error("NotImplemented", 501):
        s3.put_object(Bucket=bucket, Key="e", Body=DATA, ServerSideEncryption="AES256")
    with s3_error("InvalidRequest", 400):
        s3.put_object(Bucket=bucket, Key="e", Body=DATA, ObjectLockLegalHoldStatus="ON")
    with s3_error("NotImplemented", 501):
        s3.put_object(Bucket=bucket, Key="e", Body=DATA, SSECustomerAlgorithm="AES256",
                      SSECustomerKey="k" * 32)  # fmt: skip
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_refused_where_defined_ignored_elsewhere(raw: RawClient, bucket: str) -> None:
    # An append offset is a PutObject header, not a GetObject one (AWS ignores it
    # there); x-foo is no S3 header at all.
    name = "x-amz-write-offset-bytes"
    headers = {name: "0", "x-foo": "1"}
    assert_refused(raw.request("PUT", bucket, "k", headers=headers, body=DATA), name)
    assert raw.request("PUT", bucket, "k", headers={"x-foo": "1"}, body=DATA).status_code == 200
    resp = raw.request("GET", bucket, "k", headers=headers)
    assert (resp.status_code, resp.content) == (200, DATA)


def test_honoured_headers_beside_a_refused_one(raw: RawClient, s3: S3Client, bucket: str) -> None:
    headers = {
        "x-amz-request-payer": "requester",  # nothing is charged: harmless
        "x-amz-storage-class": "STANDARD",
        "x-amz-meta-s3cmd-attrs": "uid:0",
        "content-md5": md5_b64(DATA),
        "cache-control": "no-cache",
    }
    lock = {**headers, "x-amz-object-lock-event-hold": "ON"}  # event holds: not implemented
    assert_refused(
        raw.request("PUT", bucket, "k", headers=lock, body=DATA), "x-amz-object-lock-event-hold"
    )
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    resp = raw.request("PUT", bucket, "k", headers=headers, body=DATA)
    assert resp.status_code == 200, resp.text
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["CacheControl"] == "no-cache"
    assert got["Metadata"] == {"s3cmd-attrs": "uid:0"}


def test_trailing_checksum_of_an_unsupported_algorithm(
    raw: RawClient, s3: S3Client, bucket: str
) -> None:
    """Declared in x-amz-trailer rather than sent as a header: refused all the same."""
    url = raw.url(bucket, "t")
    name = "x-amz-checksum-sha512"
    framed = unsigned_chunked_body(DATA, 4, {name: "A" * 88})
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": str(len(DATA)),
        "x-amz-trailer": name,
        "Content-Length": str(len(framed)),
    }
    signed = raw.signed_headers("PUT", url, headers, STREAMING_UNSIGNED_TRAILER)
    assert_refused(raw.send("PUT", url, signed.headers, framed), name)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
