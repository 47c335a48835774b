"""S3 operations outside the supported set answer 501 NotImplemented with an XML body;
requests that are not S3 at all get a clear 4xx, never a 500."""

from __future__ import annotations

import pytest
import requests

from ._s3raw import RawClient, error_code
from ._server import ServerProcess
from ._types import S3Client
from ._util import s3_error


@pytest.fixture
def obj(s3: S3Client, bucket: str) -> str:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    return bucket


CALLS = {
    "GetBucketNotificationConfiguration": lambda s3, b: (
        s3.get_bucket_notification_configuration(Bucket=b)
    ),
    "GetBucketEncryption": lambda s3, b: s3.get_bucket_encryption(Bucket=b),
    "PutBucketLogging": lambda s3, b: s3.put_bucket_logging(Bucket=b, BucketLoggingStatus={}),
    "GetBucketWebsite": lambda s3, b: s3.get_bucket_website(Bucket=b),
    "GetBucketReplication": lambda s3, b: s3.get_bucket_replication(Bucket=b),
    # MFA Delete needs MFA devices, which this server has none of.
    "PutBucketVersioning (MFA Delete)": lambda s3, b: s3.put_bucket_versioning(
        Bucket=b, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"}
    ),
}


@pytest.mark.parametrize("op", list(CALLS))
def test_not_implemented(s3: S3Client, obj: str, op: str) -> None:
    with s3_error("NotImplemented", 501):
        CALLS[op](s3, obj)
    # and nothing about the bucket changed
    assert s3.get_object(Bucket=obj, Key="o")["Body"].read() == b"x"
    assert "Status" not in s3.get_bucket_versioning(Bucket=obj)


@pytest.mark.parametrize("sub", ["logging", "notification", "website", "replication"])
def test_not_implemented_raw_xml(raw: RawClient, obj: str, sub: str) -> None:
    resp = raw.request("GET", obj, query={sub: ""})
    assert resp.status_code == 501, resp.text
    assert resp.headers.get("Content-Type", "").startswith(("application/xml", "text/xml"))
    assert error_code(resp.content) == "NotImplemented", resp.text


def test_select_object_content_not_implemented(raw: RawClient, obj: str) -> None:
    body = b"<SelectObjectContentRequest/>"
    resp = raw.request("POST", obj, "o", query=[("select", None), ("select-type", "2")], body=body)
    assert resp.status_code == 501, resp.text
    assert error_code(resp.content) == "NotImplemented"


STS_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def test_stray_sts_post_anonymous(server: ServerProcess) -> None:
    resp = requests.post(server.endpoint + "/", data=STS_BODY, headers=FORM, verify=server.cert)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)


@pytest.mark.parametrize("service", ["sts", "s3", "iam"])
def test_stray_sts_post_signed(raw: RawClient, service: str) -> None:
    resp = raw.request("POST", body=STS_BODY, headers=FORM, service=service)
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)
    assert error_code(resp.content), resp.text


def test_stray_iam_post(raw: RawClient) -> None:
    body = b"Action=ListUsers&Version=2010-05-08"
    resp = raw.request("POST", body=body, headers=FORM, service="iam")
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text)


def test_unknown_method(raw: RawClient, obj: str) -> None:
    resp = raw.request("PATCH", obj, "o", body=b"x")
    assert 400 <= resp.status_code < 600 and resp.status_code != 500, resp.text
    assert resp.status_code in (405, 501), resp.text
