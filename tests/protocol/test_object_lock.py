"""S3 Object Lock (issue 20) as AWS does it, with boto3: buckets created with a lock,
Put/GetObjectLockConfiguration and its default retention, Put/GetObjectRetention and
Put/GetObjectLegalHold per version, the x-amz-object-lock-* headers on PutObject and
CopyObject (shown back on GET and HEAD), and what a lock refuses: deleting a version
under a legal hold or a retention (GOVERNANCE gives way to the bucket owner's bypass,
COMPLIANCE to nobody), shortening a retention, suspending versioning."""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
from typing import Any

import pytest

from ._util import s3_error

UTC = datetime.UTC
FAR = datetime.datetime(2100, 1, 1, tzinfo=UTC)  # retained for the whole test run
LATER = datetime.datetime(2101, 6, 1, tzinfo=UTC)


@pytest.fixture
def locked(s3: Any, unique_name: Any) -> str:
    """A bucket created with object lock (its locked versions outlive the test)."""
    name: str = unique_name("lock")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def test_bucket_created_with_lock(s3: Any, locked: str) -> None:
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    got = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert got == {"ObjectLockEnabled": "Enabled"}
    with s3_error("InvalidBucketState", 409):
        s3.put_bucket_versioning(Bucket=locked, VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_versioning(Bucket=locked, VersioningConfiguration={"Status": "Enabled"})


def test_lock_configuration_on_a_plain_bucket(s3: Any, bucket: str) -> None:
    with s3_error("ObjectLockConfigurationNotFoundError", 404):
        s3.get_object_lock_configuration(Bucket=bucket)
    config = {"ObjectLockEnabled": "Enabled"}
    with s3_error("InvalidBucketState", 409):  # versioning must be Enabled first
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=config)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with s3_error("InvalidRequest", 400):
        s3.put_object_retention(
            Bucket=bucket, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": FAR}
        )
    with s3_error("InvalidRequest", 400):
        s3.get_object_legal_hold(Bucket=bucket, Key="k")
    with s3_error("InvalidRequest", 400):
        s3.put_object(Bucket=bucket, Key="k2", Body=b"x", ObjectLockLegalHoldStatus="ON")
    # As AWS allows since 2023: a versioned bucket may get a lock afterwards.
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration=config)
    got = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert got == config


def test_default_retention(s3: Any, locked: str) -> None:
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    got = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert got["Rule"] == rule
    put = s3.put_object(Bucket=locked, Key="k", Body=b"data")
    head = s3.head_object(Bucket=locked, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    until = head["ObjectLockRetainUntilDate"]
    expected = head["LastModified"] + datetime.timedelta(days=2)
    assert abs((until - expected).total_seconds()) < 60
    assert head["ObjectLockLegalHoldStatus"] == "OFF"
    retention = s3.get_object_retention(Bucket=locked, Key="k", VersionId=put["VersionId"])
    assert retention["Retention"] == {"Mode": "GOVERNANCE", "RetainUntilDate": until}
    with s3_error("AccessDenied", 403):
        s3.delete_object(Bucket=locked, Key="k", VersionId=put["VersionId"])
    s3.delete_object(Bucket=locked, Key="k", VersionId=put["VersionId"],
                     BypassGovernanceRetention=True)  # fmt: skip


@pytest.mark.parametrize(
    ("retention", "code"),
    [
        ({"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, "MalformedXML"),
        ({"Mode": "GOVERNANCE"}, "MalformedXML"),
        ({"Mode": "GOVERNANCE", "Days": 0}, "InvalidArgument"),
        ({"Mode": "FOREVER", "Days": 1}, "MalformedXML"),
    ],
)
def test_bad_default_retention(s3: Any, locked: str, retention: Any, code: str) -> None:
    config = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}}
    with s3_error(code, 400):
        s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration=config)


def test_lock_headers_on_put_and_copy(s3: Any, locked: str) -> None:
    put = s3.put_object(Bucket=locked, Key="k", Body=b"data", ObjectLockMode="COMPLIANCE",
                        ObjectLockRetainUntilDate=FAR, ObjectLockLegalHoldStatus="ON")  # fmt: skip
    for got in (s3.head_object(Bucket=locked, Key="k"), s3.get_object(Bucket=locked, Key="k")):
        assert got["ObjectLockMode"] == "COMPLIANCE"
        assert got["ObjectLockRetainUntilDate"] == FAR
        assert got["ObjectLockLegalHoldStatus"] == "ON"
    hold = s3.get_object_legal_hold(Bucket=locked, Key="k", VersionId=put["VersionId"])
    assert hold["LegalHold"] == {"Status": "ON"}
    # A copy gets its own request's lock, never the source's.
    s3.copy_object(Bucket=locked, Key="c", CopySource={"Bucket": locked, "Key": "k"})
    copied = s3.head_object(Bucket=locked, Key="c")
    assert "ObjectLockMode" not in copied and "ObjectLockLegalHoldStatus" not in copied
    s3.copy_object(Bucket=locked, Key="c2", CopySource={"Bucket": locked, "Key": "k"},
                   ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=FAR)  # fmt: skip
    assert s3.head_object(Bucket=locked, Key="c2")["ObjectLockMode"] == "GOVERNANCE"
    with s3_error("NoSuchObjectLockConfiguration", 404):
        s3.get_object_retention(Bucket=locked, Key="c")


def test_multipart_upload_lock(s3: Any, locked: str) -> None:
    """CreateMultipartUpload's lock headers are kept by the upload and applied at
    Complete; an upload without them gets the bucket's default retention."""
    def upload(key: str, **lock: Any) -> str:
        up = s3.create_multipart_upload(Bucket=locked, Key=key, **lock)["UploadId"]
        etag = s3.upload_part(Bucket=locked, Key=key, UploadId=up, PartNumber=1,
                              Body=b"part")["ETag"]  # fmt: skip
        done = s3.complete_multipart_upload(Bucket=locked, Key=key, UploadId=up,
                                            MultipartUpload={"Parts": [
                                                {"PartNumber": 1, "ETag": etag}]})  # fmt: skip
        return str(done["VersionId"])

    vid = upload("m", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=FAR,
                 ObjectLockLegalHoldStatus="ON")  # fmt: skip
    head = s3.head_object(Bucket=locked, Key="m", VersionId=vid)
    assert (head["ObjectLockMode"], head["ObjectLockRetainUntilDate"]) == ("COMPLIANCE", FAR)
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    plain = s3.head_object(Bucket=locked, Key="plain", VersionId=upload("plain"))
    assert "ObjectLockMode" not in plain
    rule = {"DefaultRetention": {"Mode": "GOVERNANCE", "Years": 1}}
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": rule}
    )
    vid = upload("d")
    assert s3.head_object(Bucket=locked, Key="d")["ObjectLockMode"] == "GOVERNANCE"
    with s3_error("AccessDenied", 403):
        s3.delete_object(Bucket=locked, Key="d", VersionId=vid)
    with s3_error("InvalidArgument", 400):
        s3.create_multipart_upload(Bucket=locked, Key="x", ObjectLockMode="GOVERNANCE")


def test_bad_lock_headers(s3: Any, locked: str, raw: Any) -> None:
    past = datetime.datetime(2001, 1, 1, tzinfo=UTC)
    with s3_error("InvalidArgument", 400):
        s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE")
    with s3_error("InvalidArgument", 400):
        s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                      ObjectLockRetainUntilDate=past)  # fmt: skip
    with s3_error("InvalidArgument", 400):
        s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockLegalHoldStatus="MAYBE")
    headers = {"x-amz-object-lock-legal-hold": "ON"}
    resp = raw.request("PUT", locked, "k", headers=headers, body=b"x")  # no Content-MD5
    assert resp.status_code == 400 and b"<Code>InvalidRequest</Code>" in resp.content
    assert b"Content-MD5 OR x-amz-checksum- HTTP header is required" in resp.content
    resp = raw.request("PUT", locked, "k", headers={**headers, "content-md5": _md5(b"x")},
                       body=b"x")  # fmt: skip
    assert resp.status_code == 200, resp.content
    body = b"<LegalHold><Status>OFF</Status></LegalHold>"
    resp = raw.request("PUT", locked, "k", query={"legal-hold": ""}, body=body)
    assert resp.status_code == 400 and b"<Code>InvalidRequest</Code>" in resp.content
    with s3_error("MalformedXML", 400):
        s3.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "MAYBE"})


def test_legal_hold_blocks_version_deletes(s3: Any, locked: str) -> None:
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"x")["VersionId"]
    s3.put_object_legal_hold(Bucket=locked, Key="k", VersionId=vid, LegalHold={"Status": "ON"})
    with s3_error("AccessDenied", 403):
        s3.delete_object(Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    got = s3.delete_objects(Bucket=locked, Delete={"Objects": [{"Key": "k", "VersionId": vid}]})
    assert [e["Code"] for e in got["Errors"]] == ["AccessDenied"]
    marker = s3.delete_object(Bucket=locked, Key="k")  # a delete marker is always allowed
    assert marker["DeleteMarker"] is True
    assert s3.get_object(Bucket=locked, Key="k", VersionId=vid)["Body"].read() == b"x"
    s3.put_object_legal_hold(Bucket=locked, Key="k", VersionId=vid, LegalHold={"Status": "OFF"})
    got = s3.delete_objects(Bucket=locked, Delete={"Objects": [{"Key": "k", "VersionId": vid}]})
    assert [d["VersionId"] for d in got["Deleted"]] == [vid] and "Errors" not in got
    with s3_error("NoSuchVersion", 404):
        s3.get_object_legal_hold(Bucket=locked, Key="k", VersionId=vid)


def test_governance_bypass(s3: Any, locked: str) -> None:
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                        ObjectLockRetainUntilDate=LATER)["VersionId"]  # fmt: skip
    with s3_error("AccessDenied", 403):
        s3.delete_object(Bucket=locked, Key="k", VersionId=vid)
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": FAR}
    with s3_error("AccessDenied", 403):
        s3.put_object_retention(Bucket=locked, Key="k", VersionId=vid, Retention=shorter)
    s3.put_object_retention(Bucket=locked, Key="k", VersionId=vid, Retention=shorter,
                            BypassGovernanceRetention=True)  # fmt: skip
    got = s3.get_object_retention(Bucket=locked, Key="k", VersionId=vid)["Retention"]
    assert got == shorter
    got = s3.delete_objects(Bucket=locked, BypassGovernanceRetention=True,
                            Delete={"Objects": [{"Key": "k", "VersionId": vid}]})  # fmt: skip
    assert [d["VersionId"] for d in got["Deleted"]] == [vid]


def test_compliance_cannot_be_shortened_or_bypassed(s3: Any, locked: str) -> None:
    vid = s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockMode="COMPLIANCE",
                        ObjectLockRetainUntilDate=FAR)["VersionId"]  # fmt: skip
    with s3_error("AccessDenied", 403):
        s3.delete_object(Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    weaker = [{"Mode": "COMPLIANCE", "RetainUntilDate": FAR - datetime.timedelta(days=1)},
              {"Mode": "GOVERNANCE", "RetainUntilDate": LATER}, {}]  # fmt: skip
    for retention in weaker:
        with s3_error("AccessDenied", 403):
            s3.put_object_retention(Bucket=locked, Key="k", VersionId=vid, Retention=retention,
                                    BypassGovernanceRetention=True)  # fmt: skip
    longer = {"Mode": "COMPLIANCE", "RetainUntilDate": LATER}
    s3.put_object_retention(Bucket=locked, Key="k", VersionId=vid, Retention=longer)
    assert s3.get_object_retention(Bucket=locked, Key="k")["Retention"] == longer
    with s3_error("BucketNotEmpty", 409):
        s3.delete_bucket(Bucket=locked)


def test_retention_of_missing_versions(s3: Any, locked: str) -> None:
    retention = {"Mode": "GOVERNANCE", "RetainUntilDate": FAR}
    with s3_error("NoSuchKey", 404):
        s3.put_object_retention(Bucket=locked, Key="nothing", Retention=retention)
    s3.put_object(Bucket=locked, Key="k", Body=b"x")
    with s3_error("NoSuchVersion", 404):
        s3.get_object_retention(Bucket=locked, Key="k", VersionId="0" * 23)
    with s3_error("NoSuchObjectLockConfiguration", 404):
        s3.get_object_legal_hold(Bucket=locked, Key="k")
    with s3_error("InvalidArgument", 400):
        s3.put_object_retention(Bucket=locked, Key="k", Retention={
            "Mode": "GOVERNANCE", "RetainUntilDate": datetime.datetime(2001, 1, 1, tzinfo=UTC)})


def test_other_users_are_denied(
    s3: Any, locked: str, make_user: Any, client_for: Any
) -> None:
    s3.put_object(Bucket=locked, Key="k", Body=b"x")
    other = client_for(*make_user())
    with s3_error("AccessDenied", 403):
        other.get_object_lock_configuration(Bucket=locked)
    with s3_error("AccessDenied", 403):
        other.put_object_legal_hold(Bucket=locked, Key="k", LegalHold={"Status": "OFF"})
    with s3_error("AccessDenied", 403):
        other.get_object_retention(Bucket=locked, Key="k")


def test_lock_operations_on_a_delete_marker(s3: Any, locked: str) -> None:
    """By its version id a delete marker has no lock to show or change: 405
    MethodNotAllowed with the marker's headers; without one, a key whose current version
    is a marker is 404 NoSuchKey with x-amz-delete-marker: true, as AWS answers."""
    s3.put_object(Bucket=locked, Key="k", Body=b"x")
    marker = s3.delete_object(Bucket=locked, Key="k")["VersionId"]
    retention, hold = {"Mode": "GOVERNANCE", "RetainUntilDate": FAR}, {"Status": "ON"}
    calls = [
        functools.partial(s3.get_object_retention, Bucket=locked, Key="k"),
        functools.partial(s3.get_object_legal_hold, Bucket=locked, Key="k"),
        functools.partial(s3.put_object_retention, Bucket=locked, Key="k", Retention=retention),
        functools.partial(s3.put_object_legal_hold, Bucket=locked, Key="k", LegalHold=hold),
    ]
    for call in calls:
        with s3_error("MethodNotAllowed", 405) as ei:
            call(VersionId=marker)
        headers = ei.value.response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
        with s3_error("NoSuchKey", 404) as ei:
            call()
        headers = ei.value.response["ResponseMetadata"]["HTTPHeaders"]
        assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
    versions = s3.list_object_versions(Bucket=locked, Prefix="k")
    assert [m["VersionId"] for m in versions["DeleteMarkers"]] == [marker]
    kept = versions["Versions"][0]["VersionId"]
    assert "ObjectLockMode" not in s3.head_object(Bucket=locked, Key="k", VersionId=kept)
