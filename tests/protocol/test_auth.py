"""SigV4 authentication errors and anonymous requests."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import requests

from ._s3raw import RawClient, error_code, error_field, patched_clock, utcnow
from ._server import ServerProcess
from ._types import ClientFor, MakeUser, S3Client, UniqueName
from ._util import s3_error


def test_wrong_secret(client_for: ClientFor, server: ServerProcess) -> None:
    c = client_for(server.root_access_key, server.root_secret_key + "x")
    with s3_error("SignatureDoesNotMatch", 403):
        c.list_buckets()


def test_unknown_access_key(client_for: ClientFor) -> None:
    c = client_for("AKIDOESNOTEXIST00000", "secretsecretsecretsecretsecretsecret0000")
    with s3_error("InvalidAccessKeyId", 403):
        c.list_buckets()


def test_disabled_and_deleted_key(
    server: ServerProcess, make_user: MakeUser, client_for: ClientFor, unique_name: UniqueName
) -> None:
    user = make_user()
    c = client_for(*user)
    c.list_buckets()  # works while enabled
    name = unique_name("dk")
    c.create_bucket(Bucket=name)
    server.admin("key", "disable", user.access_key)
    c2 = client_for(*user)
    with pytest.raises(Exception) as ei:
        c2.list_buckets()
    err = ei.value.response  # type: ignore[attr-defined]
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err["Error"]["Code"] in ("InvalidAccessKeyId", "AccessDenied")
    with pytest.raises(Exception) as ei:
        c2.put_object(Bucket=name, Key="k", Body=b"x")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # type: ignore[attr-defined]
    # a second key of the same user still works, and nothing was written
    other = server.create_key(user.name)
    c3 = client_for(str(other["access_key"]), str(other["secret_key"]))
    assert c3.list_objects_v2(Bucket=name)["KeyCount"] == 0
    server.admin("key", "delete", user.access_key)
    with s3_error("InvalidAccessKeyId", 403):
        client_for(*user).list_buckets()
    c3.delete_bucket(Bucket=name)


def test_key_list_shows_keys(server: ServerProcess, make_user: MakeUser) -> None:
    user = make_user()
    out = server.admin("key", "list", user.name).stdout
    assert user.access_key in out


@pytest.mark.parametrize("minutes", [20, -20])
def test_clock_skew(raw: RawClient, minutes: int) -> None:
    when = utcnow() + dt.timedelta(minutes=minutes)
    resp = raw.request("GET", when=when)
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "RequestTimeTooSkewed", resp.text
    assert error_field(resp.content, "RequestTime")
    assert error_field(resp.content, "ServerTime")


def test_clock_skew_boto3_patched(client_for: ClientFor, server: ServerProcess) -> None:
    c = client_for(server.root_access_key, server.root_secret_key)
    skewed = utcnow() + dt.timedelta(minutes=20)
    with patched_clock(skewed), s3_error("RequestTimeTooSkewed", 403):
        c.list_buckets()


def test_small_clock_skew_is_accepted(raw: RawClient) -> None:
    resp = raw.request("GET", when=utcnow() + dt.timedelta(minutes=10))
    assert resp.status_code == 200, resp.text
    resp = raw.request("GET", when=utcnow() - dt.timedelta(minutes=10))
    assert resp.status_code == 200, resp.text


def test_wrong_region_in_scope(
    raw: RawClient, client_for: ClientFor, server: ServerProcess
) -> None:
    resp = raw.request("GET", region="eu-west-1")
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "AuthorizationHeaderMalformed", resp.text
    import boto3
    from botocore.config import Config

    c = boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="eu-west-1",
        aws_access_key_id=server.root_access_key,
        aws_secret_access_key=server.root_secret_key,
        verify=server.cert,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}),
    )
    with s3_error("AuthorizationHeaderMalformed", 400):
        c.list_buckets()


def test_wrong_service_in_scope(raw: RawClient) -> None:
    resp = raw.request("GET", service="iam")
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "AuthorizationHeaderMalformed", resp.text


def test_signed_header_tampered(raw: RawClient, bucket: str) -> None:
    url = raw.url(bucket, "tamper")
    body = b"hello"
    signed = raw.signed_headers("PUT", url, {"x-amz-meta-a": "1"}, hashlib.sha256(body).hexdigest())
    hdrs = dict(signed.headers)
    hdrs["x-amz-meta-a"] = "2"
    resp = raw.send("PUT", url, hdrs, body)
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "SignatureDoesNotMatch"
    assert raw.request("HEAD", bucket, "tamper").status_code == 404


def test_tampered_path(raw: RawClient, bucket: str) -> None:
    url = raw.url(bucket, "one")
    body = b"x"
    signed = raw.signed_headers("PUT", url, {}, hashlib.sha256(body).hexdigest())
    resp = raw.send("PUT", raw.url(bucket, "two"), signed.headers, body)
    assert resp.status_code == 403
    assert error_code(resp.content) == "SignatureDoesNotMatch"


def test_payload_hash_mismatch(raw: RawClient, bucket: str) -> None:
    resp = raw.request(
        "PUT",
        bucket,
        "sha",
        body=b"actual body",
        payload_hash=hashlib.sha256(b"other body").hexdigest(),
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "XAmzContentSHA256Mismatch", resp.text
    assert raw.request("HEAD", bucket, "sha").status_code == 404


def test_missing_date(raw: RawClient, bucket: str) -> None:
    url = raw.url(bucket)
    signed = raw.signed_headers("GET", url, {}, hashlib.sha256(b"").hexdigest())
    hdrs = {k: v for k, v in signed.headers.items() if k.lower() != "x-amz-date"}
    resp = raw.send("GET", url, hdrs)
    assert resp.status_code in (400, 403), resp.text
    assert error_code(resp.content) in (
        "AccessDenied",
        "AuthorizationHeaderMalformed",
        "SignatureDoesNotMatch",
    ), resp.text


@pytest.mark.parametrize("what", ["list-buckets", "list-objects", "get", "put", "delete"])
def test_anonymous_access_denied(
    server: ServerProcess, s3: S3Client, bucket: str, what: str
) -> None:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"private")
    base = f"{server.endpoint}"
    method, url, data = {
        "list-buckets": ("GET", f"{base}/", None),
        "list-objects": ("GET", f"{base}/{bucket}?list-type=2", None),
        "get": ("GET", f"{base}/{bucket}/obj", None),
        "put": ("PUT", f"{base}/{bucket}/obj", b"overwritten"),
        "delete": ("DELETE", f"{base}/{bucket}/obj", None),
    }[what]
    resp = requests.request(method, url, data=data, verify=server.cert)
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "AccessDenied", resp.text
    assert s3.get_object(Bucket=bucket, Key="obj")["Body"].read() == b"private"


def test_anonymous_head_is_403(server: ServerProcess, s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="obj", Body=b"private")
    resp = requests.head(f"{server.endpoint}/{bucket}/obj", verify=server.cert)
    assert resp.status_code == 403
    assert resp.content == b""


def test_error_response_shape(raw: RawClient) -> None:
    resp = raw.request("GET", region="eu-west-1")
    assert resp.headers.get("x-amz-request-id")
    assert resp.headers.get("Content-Type", "").startswith(("application/xml", "text/xml"))
    assert error_field(resp.content, "Message")
    assert error_field(resp.content, "RequestId") == resp.headers["x-amz-request-id"]
