"""Presigned URLs (query-string SigV4) used with a plain HTTP client."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests

from ._s3raw import error_code, error_field, fetch, patched_clock, utcnow
from ._server import ServerProcess
from ._types import ClientFor, S3Client
from ._util import TRICKY_KEYS, etag, rand


@pytest.fixture(params=["sigv2-default", "sigv4"])
def presigner(
    request: pytest.FixtureRequest, s3: S3Client, client_for: ClientFor, server: ServerProcess
) -> S3Client:
    """boto3 presigns with SigV2 in us-east-1 by default; s3v4 gives SigV4 query auth."""
    if request.param == "sigv4":
        return client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")
    return s3


@pytest.fixture
def s3v4(client_for: ClientFor, server: ServerProcess) -> S3Client:
    return client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")


def _presign_in_the_past(
    client: S3Client, method: str, params: dict[str, Any], expires: int = 60
) -> str:
    """A URL that expired about an hour ago, for either signature version."""
    with patched_clock(utcnow() - dt.timedelta(hours=1)):
        url: str = client.generate_presigned_url(method, Params=params, ExpiresIn=expires)
        return url


def test_presigned_get(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    data = rand(20_000)
    s3.put_object(Bucket=bucket, Key="p", Body=data, ContentType="image/jpeg")
    url = presigner.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p"})
    resp = requests.get(url, verify=server.cert)
    assert resp.status_code == 200, resp.text
    assert resp.content == data
    assert resp.headers["Content-Type"] == "image/jpeg"
    assert resp.headers["ETag"] == etag(data)


def test_presigned_put(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    data = rand(30_000)
    url = presigner.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"})
    resp = requests.put(url, data=data, verify=server.cert)
    assert resp.status_code == 200, resp.text
    assert resp.headers["ETag"] == etag(data)
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == data


def test_presigned_put_with_signed_content_type(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    url = presigner.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "ct", "ContentType": "text/csv"}
    )
    resp = requests.put(
        url, data=b"a,b\n", headers={"Content-Type": "text/csv"}, verify=server.cert
    )
    assert resp.status_code == 200, resp.text
    assert s3.head_object(Bucket=bucket, Key="ct")["ContentType"] == "text/csv"


@pytest.mark.parametrize("key", TRICKY_KEYS)
def test_presigned_tricky_keys(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess, key: str
) -> None:
    # http.client, not requests: urllib3 would drop "../" segments from the path
    params = {"Bucket": bucket, "Key": key}
    put_url = presigner.generate_presigned_url("put_object", Params=params)
    status, _, body = fetch(put_url, server.cert, "PUT", b"tricky")
    assert status == 200, body
    get_url = presigner.generate_presigned_url("get_object", Params=params)
    status, _, body = fetch(get_url, server.cert)
    assert status == 200, body
    assert body == b"tricky"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    del_url = presigner.generate_presigned_url("delete_object", Params=params)
    assert fetch(del_url, server.cert, "DELETE")[0] == 204
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_presigned_head_and_range(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    s3.put_object(Bucket=bucket, Key="h", Body=b"0123456789")
    url = presigner.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "h"})
    resp = requests.head(url, verify=server.cert)
    assert resp.status_code == 200
    assert resp.headers["Content-Length"] == "10"
    url = presigner.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "h"})
    resp = requests.get(url, headers={"Range": "bytes=2-4"}, verify=server.cert)
    assert resp.status_code == 206
    assert resp.content == b"234"


def test_presigned_expired(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    s3.put_object(Bucket=bucket, Key="old", Body=b"x")
    url = _presign_in_the_past(presigner, "get_object", {"Bucket": bucket, "Key": "old"})
    resp = requests.get(url, verify=server.cert)
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "AccessDenied", resp.text
    assert "Request has expired" in (error_field(resp.content, "Message") or ""), resp.text


def test_presigned_expired_put_does_not_store(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    url = _presign_in_the_past(presigner, "put_object", {"Bucket": bucket, "Key": "late"})
    resp = requests.put(url, data=b"late", verify=server.cert)
    assert resp.status_code == 403, resp.text
    assert "Request has expired" in resp.text
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


@pytest.mark.parametrize(
    ("expires", "code", "message"),
    [
        (604801, "AuthorizationQueryParametersError", "must be less than a week"),
        (-7, "AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative"),
        (0, "AccessDenied", "Request has expired"),
    ],
)
def test_presigned_expires_out_of_range(
    s3: S3Client,
    s3v4: S3Client,
    bucket: str,
    server: ServerProcess,
    expires: int,
    code: str,
    message: str,
) -> None:
    """What AWS answers (Ceph's s3-tests check these three against it): 403 each time."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60
    )
    # The SDKs refuse to sign some of these values: the check comes before the signature's.
    url = url.replace("X-Amz-Expires=60", f"X-Amz-Expires={expires}")
    resp = requests.get(url, verify=server.cert)
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == code, resp.text
    assert message in resp.text


def test_presigned_expires_a_week(
    s3: S3Client, s3v4: S3Client, bucket: str, server: ServerProcess
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=604800
    )
    assert requests.get(url, verify=server.cert).status_code == 200


def test_presigned_tampered_signature(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presigner.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    marker = "X-Amz-Signature=" if "X-Amz-Signature=" in url else "Signature="
    head, sig = url.split(marker, 1)
    bad = head + marker + ("A" if sig[0] != "A" else "B") + sig[1:]
    resp = requests.get(bad, verify=server.cert)
    assert resp.status_code == 403
    assert error_code(resp.content) == "SignatureDoesNotMatch"


def test_presigned_url_for_other_key(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    url = presigner.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"})
    resp = requests.get(url.replace(f"/{bucket}/a?", f"/{bucket}/b?"), verify=server.cert)
    assert resp.status_code == 403
    assert error_code(resp.content) == "SignatureDoesNotMatch"


def test_presigned_get_missing_key(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    url = presigner.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "none"})
    resp = requests.get(url, verify=server.cert)
    assert resp.status_code == 404
    assert error_code(resp.content) == "NoSuchKey"


@pytest.mark.parametrize("sigv", ["s3", "s3v4"])
def test_presigned_unknown_key(
    client_for: ClientFor, s3: S3Client, bucket: str, server: ServerProcess, sigv: str
) -> None:
    c = client_for(
        "AKIDOESNOTEXIST00000", "secretsecretsecretsecretsecretsecret0000", signature_version=sigv
    )
    url = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    resp = requests.get(url, verify=server.cert)
    assert resp.status_code == 403
    assert error_code(resp.content) == "InvalidAccessKeyId"


def test_presigned_list_objects(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    s3.put_object(Bucket=bucket, Key="listed", Body=b"x")
    url = presigner.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket})
    resp = requests.get(url, verify=server.cert)
    assert resp.status_code == 200, (url, resp.text)
    assert b"<Key>listed</Key>" in resp.content
