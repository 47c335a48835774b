"""Headers and parameters the model defines that the server honours rather than
ignores: x-amz-expected-bucket-owner (the bucket owner's canonical id),
x-amz-source-expected-bucket-owner, Content-MD5 of XML bodies, the declarations of
CompleteMultipartUpload, CopyObject's checksum algorithm, ListBuckets' bucket-region,
RestoreObject's versionId."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests

from ._s3raw import RawClient, error_code, md5_b64
from ._server import ServerProcess
from ._types import MakeBucket, MakeUser, S3Client
from ._util import s3_error

DATA = b"payload"


@pytest.fixture(scope="module")
def root_id(s3: S3Client) -> str:
    owner: str = s3.list_buckets()["Owner"]["ID"]
    return owner


@pytest.fixture(scope="module")
def other_id(make_user: MakeUser) -> str:
    return make_user().canonical_id


def test_expected_owner_on_a_bucket_operation(
    s3: S3Client, bucket: str, root_id: str, other_id: str
) -> None:
    assert s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner=root_id)["KeyCount"] == 0
    s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=root_id)
    # The caller owns the bucket, but named someone else as its owner.
    with s3_error("AccessDenied", 403):
        s3.list_objects_v2(Bucket=bucket, ExpectedBucketOwner=other_id)
    with s3_error("403", 403):
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=other_id)
    with s3_error("AccessDenied", 403):
        s3.delete_bucket(Bucket=bucket, ExpectedBucketOwner="123456789012")  # an AWS account id
    with s3_error("InvalidBucketOwnerAWSAccountID", 400):
        s3.get_bucket_acl(Bucket=bucket, ExpectedBucketOwner="alice")
    s3.head_bucket(Bucket=bucket)  # still there


def test_expected_owner_on_object_operations(
    s3: S3Client, bucket: str, root_id: str, other_id: str
) -> None:
    with s3_error("AccessDenied", 403):
        s3.put_object(Bucket=bucket, Key="o", Body=DATA, ExpectedBucketOwner=other_id)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="o", Body=DATA, ExpectedBucketOwner=root_id)
    got = s3.get_object(Bucket=bucket, Key="o", ExpectedBucketOwner=root_id)
    assert got["Body"].read() == DATA
    with s3_error("AccessDenied", 403):
        s3.get_object(Bucket=bucket, Key="o", ExpectedBucketOwner=other_id)
    with s3_error("AccessDenied", 403):
        s3.delete_object(Bucket=bucket, Key="o", ExpectedBucketOwner=other_id)
    with s3_error("AccessDenied", 403):
        s3.create_multipart_upload(Bucket=bucket, Key="mp", ExpectedBucketOwner=other_id)
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == DATA


def test_expected_owner_of_a_copy_source(
    s3: S3Client, make_bucket: MakeBucket, root_id: str, other_id: str
) -> None:
    source, target = make_bucket(), make_bucket()
    s3.put_object(Bucket=source, Key="src", Body=DATA)
    copy = {"Bucket": target, "CopySource": {"Bucket": source, "Key": "src"}}
    s3.copy_object(Key="a", ExpectedSourceBucketOwner=root_id, ExpectedBucketOwner=root_id, **copy)
    assert s3.get_object(Bucket=target, Key="a")["Body"].read() == DATA
    with s3_error("AccessDenied", 403):
        s3.copy_object(Key="b", ExpectedSourceBucketOwner=other_id, **copy)
    with s3_error("AccessDenied", 403):  # the destination's owner header is not the source's
        s3.copy_object(Key="b", ExpectedBucketOwner=other_id, ExpectedSourceBucketOwner=root_id,
                       **copy)  # fmt: skip
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=target)["Contents"]] == ["a"]
    upload_id = s3.create_multipart_upload(Bucket=target, Key="mp")["UploadId"]
    part = {"Bucket": target, "Key": "mp", "UploadId": upload_id, "PartNumber": 1,
            "CopySource": {"Bucket": source, "Key": "src"}}  # fmt: skip
    with s3_error("AccessDenied", 403):
        s3.upload_part_copy(ExpectedSourceBucketOwner=other_id, **part)
    assert not s3.list_parts(Bucket=target, Key="mp", UploadId=upload_id).get("Parts")
    s3.upload_part_copy(ExpectedSourceBucketOwner=root_id, **part)
    assert len(s3.list_parts(Bucket=target, Key="mp", UploadId=upload_id)["Parts"]) == 1


CORS = b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"  # noqa: E501


def test_content_md5_of_xml_documents_is_checked(raw: RawClient, s3: S3Client, bucket: str) -> None:
    wrong = {"content-md5": md5_b64(b"something else")}
    resp = raw.request("PUT", bucket, query={"cors": ""}, headers=wrong, body=CORS)
    assert (resp.status_code, error_code(resp.content)) == (400, "BadDigest"), resp.text
    with s3_error("NoSuchCORSConfiguration", 404):
        s3.get_bucket_cors(Bucket=bucket)
    acl = b"<AccessControlPolicy/>"
    resp = raw.request("PUT", bucket, query={"acl": ""}, headers=wrong, body=acl)
    assert (resp.status_code, error_code(resp.content)) == (400, "BadDigest"), resp.text
    right = {"content-md5": md5_b64(CORS)}
    resp = raw.request("PUT", bucket, query={"cors": ""}, headers=right, body=CORS)
    assert resp.status_code == 200, resp.text
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"]


def _one_part_upload(s3: S3Client, bucket: str, **create: Any) -> dict[str, Any]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp", **create)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=DATA)
    entry = {"PartNumber": 1, "ETag": part["ETag"]}
    if "ChecksumCRC32" in part:
        entry["ChecksumCRC32"] = part["ChecksumCRC32"]
    return {"Bucket": bucket, "Key": "mp", "UploadId": upload_id,
            "MultipartUpload": {"Parts": [entry]}}  # fmt: skip


def test_complete_checks_declared_size_and_checksum_type(s3: S3Client, bucket: str) -> None:
    complete = _one_part_upload(s3, bucket, ChecksumAlgorithm="CRC32")
    with s3_error("InvalidRequest", 400):
        s3.complete_multipart_upload(MpuObjectSize=len(DATA) + 1, **complete)
    with s3_error("BadDigest", 400):
        s3.complete_multipart_upload(ChecksumType="FULL_OBJECT", **complete)
    with s3_error("404", 404):
        s3.head_object(Bucket=bucket, Key="mp")
    done = s3.complete_multipart_upload(MpuObjectSize=len(DATA), ChecksumType="COMPOSITE",
                                        **complete)  # fmt: skip
    assert done["ETag"]
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == DATA


def test_copy_object_checksum_algorithm(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=DATA, ChecksumAlgorithm="CRC32")
    copy = {"Bucket": bucket, "CopySource": {"Bucket": bucket, "Key": "src"}}
    s3.copy_object(Key="same", ChecksumAlgorithm="CRC32", **copy)  # the source has it: kept
    with s3_error("NotImplemented", 501):
        s3.copy_object(Key="other", ChecksumAlgorithm="SHA256", **copy)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["same", "src"]


def test_list_buckets_bucket_region(s3: S3Client, bucket: str) -> None:
    assert bucket in [b["Name"] for b in s3.list_buckets(BucketRegion="us-east-1")["Buckets"]]
    assert s3.list_buckets(BucketRegion="eu-west-3")["Buckets"] == []


def test_restore_object_version_id(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=DATA)
    with s3_error("InvalidArgument", 400):
        s3.restore_object(Bucket=bucket, Key="o", VersionId="3HL4kqtJlcpXroDTDmJ")


def test_abort_if_match_initiated_time(s3: S3Client, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    (upload,) = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    abort = {"Bucket": bucket, "Key": "mp", "UploadId": upload_id}
    with s3_error("PreconditionFailed", 412):
        s3.abort_multipart_upload(IfMatchInitiatedTime=upload["Initiated"] - timedelta(days=1),
                                  **abort)  # fmt: skip
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    for _ in range(2):  # an upload already gone: a success too, with the condition
        resp = s3.abort_multipart_upload(IfMatchInitiatedTime=upload["Initiated"], **abort)
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    with s3_error("NoSuchUpload", 404):
        s3.abort_multipart_upload(**abort)


def test_website_redirect_location_is_stored_and_returned(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="r", Body=DATA, WebsiteRedirectLocation="/other")
    assert s3.head_object(Bucket=bucket, Key="r")["WebsiteRedirectLocation"] == "/other"
    got = s3.get_object(Bucket=bucket, Key="r")
    assert got["WebsiteRedirectLocation"] == "/other"
    with s3_error("InvalidArgument", 400):
        s3.put_object(Bucket=bucket, Key="bad", Body=DATA, WebsiteRedirectLocation="elsewhere")
    # Each object's own: a copy does not inherit it, but may set one (even onto itself).
    copy = {"Bucket": bucket, "CopySource": {"Bucket": bucket, "Key": "r"}}
    s3.copy_object(Key="c", **copy)
    assert "WebsiteRedirectLocation" not in s3.head_object(Bucket=bucket, Key="c")
    s3.copy_object(Key="r", WebsiteRedirectLocation="https://example.com/x", **copy)
    head = s3.head_object(Bucket=bucket, Key="r")
    assert head["WebsiteRedirectLocation"] == "https://example.com/x"
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="mp",
                                           WebsiteRedirectLocation="/mp")["UploadId"]  # fmt: skip
    part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=DATA)
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload_id,
                                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                                             "ETag": part["ETag"]}]})  # fmt: skip
    assert s3.head_object(Bucket=bucket, Key="mp")["WebsiteRedirectLocation"] == "/mp"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["c", "mp", "r"]


def test_website_redirect_location_in_a_browser_form(
    s3: S3Client, bucket: str, server: ServerProcess
) -> None:
    name = "x-amz-website-redirect-location"
    for key, value, status in (("ok", "/ok", 204), ("bad", "nowhere", 400)):
        form = s3.generate_presigned_post(bucket, key, Fields={name: value},
                                          Conditions=[{name: value}])  # fmt: skip
        parts: list[tuple[str, tuple[Any, ...]]] = [
            (k, (None, v)) for k, v in form["fields"].items()
        ]
        parts.append(("file", ("f.txt", DATA, "text/plain")))
        resp = requests.post(form["url"], files=parts, verify=server.cert, timeout=60)
        assert resp.status_code == status, resp.text
    assert s3.head_object(Bucket=bucket, Key="ok")["WebsiteRedirectLocation"] == "/ok"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["ok"]
