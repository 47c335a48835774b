"""SigV2 (``Authorization: AWS AK:signature``) for every operation family.

boto3 with ``signature_version="s3"`` drives the operations; a hand-written SigV2 signer
checks error cases boto3 cannot produce (an old Date); s3cmd runs with
``signature_v2 = True``.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import os
import subprocess
from pathlib import Path
from typing import cast

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from ._s3raw import error_code, error_field
from ._server import VENV_BIN, ServerProcess
from ._types import ClientFor, MakeUser, RunCli, S3Client, UniqueName
from ._util import TRICKY_KEYS, etag, rand, s3_error

# Keys the brief names explicitly, plus the shared list of troublemakers.
V2_KEYS = [
    "with space.txt",
    "plus+sign.txt",
    "equals=sign=x",
    "percent%20literal%2Fx",
    "unicodé/日本語/ключ-😀.bin",
    "../../etc/passwd",
    "dir/../up/./dot",
]


@pytest.fixture
def v2(server: ServerProcess, client_for: ClientFor) -> S3Client:
    """Root client signing with SigV2 (header auth)."""
    return client_for(server.root_access_key, server.root_secret_key, signature_version="s3")


@pytest.fixture
def v2_noretry(server: ServerProcess, client_for: ClientFor) -> S3Client:
    return client_for(
        server.root_access_key,
        server.root_secret_key,
        signature_version="s3",
        retries={"total_max_attempts": 1},
    )


def _code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


# --------------------------------------------------------------------------- buckets
def test_bucket_lifecycle(v2: S3Client, unique_name: UniqueName) -> None:
    name = unique_name("v2b")
    v2.create_bucket(Bucket=name)
    try:
        assert v2.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
        names = [b["Name"] for b in v2.list_buckets()["Buckets"]]
        assert name in names
        assert v2.list_objects(Bucket=name).get("Contents", []) == []
    finally:
        v2.delete_bucket(Bucket=name)
    with s3_error("404"):
        v2.head_bucket(Bucket=name)
    assert name not in [b["Name"] for b in v2.list_buckets()["Buckets"]]


def test_bucket_not_empty(v2: S3Client, bucket: str) -> None:
    v2.put_object(Bucket=bucket, Key="x", Body=b"x")
    with s3_error("BucketNotEmpty", 409):
        v2.delete_bucket(Bucket=bucket)


def test_get_missing_object_and_bucket(v2: S3Client, bucket: str, unique_name: UniqueName) -> None:
    with s3_error("NoSuchKey", 404):
        v2.get_object(Bucket=bucket, Key="nope")
    with s3_error("NoSuchBucket", 404):
        v2.list_objects_v2(Bucket=unique_name("missing"))


# --------------------------------------------------------------------------- objects
@pytest.mark.parametrize("key", V2_KEYS)
def test_object_roundtrip_tricky_keys(v2: S3Client, bucket: str, key: str) -> None:
    data = rand(5000)
    put = v2.put_object(
        Bucket=bucket,
        Key=key,
        Body=data,
        ContentType="application/x-test",
        Metadata={"colour": "blue"},
    )
    assert put["ETag"] == etag(data)
    got = v2.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == data
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"colour": "blue"}
    head = v2.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == 5000
    assert head["ETag"] == etag(data)
    assert [o["Key"] for o in v2.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    # copy to another tricky key and back
    dst = key + ".copy"
    v2.copy_object(Bucket=bucket, Key=dst, CopySource={"Bucket": bucket, "Key": key})
    assert v2.get_object(Bucket=bucket, Key=dst)["Body"].read() == data
    v2.delete_object(Bucket=bucket, Key=key)
    v2.delete_object(Bucket=bucket, Key=dst)
    assert v2.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


@pytest.mark.parametrize("key", [k for k in TRICKY_KEYS if k not in V2_KEYS])
def test_object_roundtrip_more_tricky_keys(v2: S3Client, bucket: str, key: str) -> None:
    v2.put_object(Bucket=bucket, Key=key, Body=b"tricky")
    assert v2.get_object(Bucket=bucket, Key=key)["Body"].read() == b"tricky"
    assert v2.head_object(Bucket=bucket, Key=key)["ContentLength"] == 6
    assert [o["Key"] for o in v2.list_objects(Bucket=bucket)["Contents"]] == [key]
    v2.delete_object(Bucket=bucket, Key=key)
    assert v2.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_ranges(v2: S3Client, bucket: str) -> None:
    data = bytes(range(256)) * 40
    v2.put_object(Bucket=bucket, Key="r", Body=data)
    got = v2.get_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert got["Body"].read() == data[10:20]
    assert got["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert v2.get_object(Bucket=bucket, Key="r", Range="bytes=-5")["Body"].read() == data[-5:]
    assert (
        v2.get_object(Bucket=bucket, Key="r", Range="bytes=10000-")["Body"].read() == (data[10000:])
    )
    with s3_error("InvalidRange", 416):
        v2.get_object(Bucket=bucket, Key="r", Range=f"bytes={len(data)}-")


def test_copy_with_metadata_replace(v2: S3Client, bucket: str) -> None:
    v2.put_object(Bucket=bucket, Key="src", Body=b"abc", Metadata={"a": "1"})
    v2.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"b": "2"},
        ContentType="text/plain",
    )
    head = v2.head_object(Bucket=bucket, Key="dst")
    assert head["Metadata"] == {"b": "2"}
    assert head["ContentType"] == "text/plain"
    v2.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src")
    assert v2.head_object(Bucket=bucket, Key="dst2")["Metadata"] == {"a": "1"}


# --------------------------------------------------------------------------- listing
@pytest.fixture
def tree(v2: S3Client, bucket: str) -> tuple[str, list[str]]:
    keys = ["a/1", "a/2", "a/b/3", "b/4", "c", "d e/5", "d+e/6"]
    for k in keys:
        v2.put_object(Bucket=bucket, Key=k, Body=b"x")
    return bucket, keys


def test_list_v1_prefix_delimiter(v2: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, keys = tree
    resp = v2.list_objects(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in resp.get("Contents", [])] == ["c"]
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["a/", "b/", "d e/", "d+e/"]
    resp = v2.list_objects(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["a/b/"]
    resp = v2.list_objects(Bucket=bucket, Prefix="d e/")
    assert [o["Key"] for o in resp["Contents"]] == ["d e/5"]
    resp = v2.list_objects(Bucket=bucket, Prefix="d+e/")
    assert [o["Key"] for o in resp["Contents"]] == ["d+e/6"]
    page = v2.list_objects(Bucket=bucket, MaxKeys=2)
    assert page["IsTruncated"] is True
    assert [o["Key"] for o in page["Contents"]] == sorted(keys)[:2]
    rest = v2.list_objects(Bucket=bucket, Marker=page["Contents"][-1]["Key"])
    assert [o["Key"] for o in rest["Contents"]] == sorted(keys)[2:]


def test_list_v2_prefix_delimiter_pagination(v2: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, keys = tree
    resp = v2.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == ["a/1", "a/2"]
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["a/b/"]
    seen = []
    token = None
    while True:
        kw: dict[str, str] = {"ContinuationToken": token} if token else {}
        page = v2.list_objects_v2(Bucket=bucket, MaxKeys=3, **kw)
        seen += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == sorted(keys)
    resp = v2.list_objects_v2(Bucket=bucket, StartAfter="b/4")
    assert [o["Key"] for o in resp["Contents"]] == ["c", "d e/5", "d+e/6"]


def test_delete_objects(v2: S3Client, bucket: str) -> None:
    keys = ["one", "two two", "th+ree", "fo=ur", "unicodé"]
    for k in keys:
        v2.put_object(Bucket=bucket, Key=k, Body=b"x")
    resp = v2.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": k} for k in [*keys, "missing"]]}
    )
    assert sorted(d["Key"] for d in resp["Deleted"]) == sorted([*keys, "missing"])
    assert not resp.get("Errors")
    assert v2.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# --------------------------------------------------------------------------- multipart
def test_multipart_complete(v2: S3Client, bucket: str) -> None:
    key = "mp key+=.bin"
    parts_data = [rand(5 * 1024 * 1024, seed=1), rand(1234, seed=2)]
    mpu = v2.create_multipart_upload(Bucket=bucket, Key=key, Metadata={"m": "v"})
    uid = mpu["UploadId"]
    parts = []
    for n, data in enumerate(parts_data, start=1):
        r = v2.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=data)
        assert r["ETag"] == etag(data)
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    listed = v2.list_parts(Bucket=bucket, Key=key, UploadId=uid)
    assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [
        (1, len(parts_data[0])),
        (2, len(parts_data[1])),
    ]
    ups = v2.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in ups.get("Uploads", [])] == [(key, uid)]
    done = v2.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": parts}
    )
    md5s = b"".join(hashlib.md5(d).digest() for d in parts_data)
    assert done["ETag"] == f'"{hashlib.md5(md5s).hexdigest()}-2"'
    got = v2.get_object(Bucket=bucket, Key=key)
    assert got["Body"].read() == b"".join(parts_data)
    assert got["Metadata"] == {"m": "v"}


def test_multipart_copy_part(v2: S3Client, bucket: str) -> None:
    src = rand(6 * 1024 * 1024, seed=3)
    v2.put_object(Bucket=bucket, Key="src", Body=src)
    uid = v2.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r1 = v2.upload_part_copy(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "src"},
        CopySourceRange="bytes=0-5242879",
    )
    r2 = v2.upload_part(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=2, Body=b"tail")
    v2.complete_multipart_upload(
        Bucket=bucket,
        Key="dst",
        UploadId=uid,
        MultipartUpload={
            "Parts": [
                {"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]},
                {"PartNumber": 2, "ETag": r2["ETag"]},
            ]
        },
    )
    assert v2.get_object(Bucket=bucket, Key="dst")["Body"].read() == src[:5242880] + b"tail"


def test_multipart_abort(v2: S3Client, bucket: str) -> None:
    uid = v2.create_multipart_upload(Bucket=bucket, Key="ab")["UploadId"]
    v2.upload_part(Bucket=bucket, Key="ab", UploadId=uid, PartNumber=1, Body=b"x" * 100)
    v2.abort_multipart_upload(Bucket=bucket, Key="ab", UploadId=uid)
    with s3_error("NoSuchUpload", 404):
        v2.list_parts(Bucket=bucket, Key="ab", UploadId=uid)
    assert not v2.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert v2.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# --------------------------------------------------------------------------- ACL, CORS
def test_object_acl(v2: S3Client, bucket: str, server: ServerProcess) -> None:
    v2.put_object(Bucket=bucket, Key="acl obj", Body=b"x")
    acl = v2.get_object_acl(Bucket=bucket, Key="acl obj")
    owner = acl["Owner"]["ID"]
    assert [(g["Grantee"].get("ID"), g["Permission"]) for g in acl["Grants"]] == [
        (owner, "FULL_CONTROL")
    ]
    v2.put_object_acl(Bucket=bucket, Key="acl obj", ACL="public-read")
    acl = v2.get_object_acl(Bucket=bucket, Key="acl obj")
    uris = {
        (g["Grantee"].get("URI"), g["Permission"]) for g in acl["Grants"] if "URI" in g["Grantee"]
    }
    assert uris == {("http://acs.amazonaws.com/groups/global/AllUsers", "READ")}
    anon = requests.get(f"{server.endpoint}/{bucket}/acl%20obj", verify=server.cert)
    assert anon.status_code == 200 and anon.content == b"x"
    v2.put_object_acl(Bucket=bucket, Key="acl obj", ACL="private")
    anon = requests.get(f"{server.endpoint}/{bucket}/acl%20obj", verify=server.cert)
    assert anon.status_code == 403


def test_bucket_acl(v2: S3Client, bucket: str) -> None:
    v2.put_bucket_acl(Bucket=bucket, ACL="public-read")
    grants = v2.get_bucket_acl(Bucket=bucket)["Grants"]
    assert any(
        g["Grantee"].get("URI") == "http://acs.amazonaws.com/groups/global/AllUsers"
        and g["Permission"] == "READ"
        for g in grants
    )
    v2.put_bucket_acl(Bucket=bucket, ACL="private")
    grants = v2.get_bucket_acl(Bucket=bucket)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]


def test_bucket_cors(v2: S3Client, bucket: str) -> None:
    rules = [
        {
            "AllowedOrigins": ["https://example.com"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 300,
        }
    ]
    with s3_error("NoSuchCORSConfiguration", 404):
        v2.get_bucket_cors(Bucket=bucket)
    v2.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    got = v2.get_bucket_cors(Bucket=bucket)["CORSRules"]
    assert got[0]["AllowedOrigins"] == ["https://example.com"]
    assert sorted(got[0]["AllowedMethods"]) == ["GET", "PUT"]
    assert got[0]["MaxAgeSeconds"] == 300
    v2.delete_bucket_cors(Bucket=bucket)
    with s3_error("NoSuchCORSConfiguration", 404):
        v2.get_bucket_cors(Bucket=bucket)


# --------------------------------------------------------------------------- errors
def test_wrong_secret(server: ServerProcess, client_for: ClientFor, bucket: str) -> None:
    c = client_for(
        server.root_access_key,
        server.root_secret_key + "x",
        signature_version="s3",
        retries={"total_max_attempts": 1},
    )
    with s3_error("SignatureDoesNotMatch", 403):
        c.list_buckets()
    with s3_error("SignatureDoesNotMatch", 403):
        c.put_object(Bucket=bucket, Key="nope", Body=b"x")
    with s3_error("SignatureDoesNotMatch", 403):
        c.list_objects(Bucket=bucket)


def test_signature_does_not_match_has_string_to_sign(
    server: ServerProcess, client_for: ClientFor
) -> None:
    """AWS includes StringToSign (and the AWSAccessKeyId) in SigV2 signature errors."""
    c = client_for(server.root_access_key, "wrong", signature_version="s3")
    with s3_error("SignatureDoesNotMatch", 403) as ei:
        c.list_buckets()
    err = cast(dict[str, str], ei.value.response["Error"])
    assert err.get("StringToSign", "").startswith("GET\n"), err
    assert err.get("AWSAccessKeyId") == server.root_access_key, err


def test_unknown_access_key(client_for: ClientFor) -> None:
    c = client_for(
        "AKIDOESNOTEXIST00000",
        "secretsecretsecretsecretsecretsecret0000",
        signature_version="s3",
        retries={"total_max_attempts": 1},
    )
    with s3_error("InvalidAccessKeyId", 403):
        c.list_buckets()


def test_other_user_bucket_denied(
    make_user: MakeUser, client_for: ClientFor, bucket: str, v2: S3Client
) -> None:
    v2.put_object(Bucket=bucket, Key="secret", Body=b"s")
    other = client_for(*make_user(), signature_version="s3")
    with s3_error("AccessDenied", 403):
        other.get_object(Bucket=bucket, Key="secret")
    with s3_error("AccessDenied", 403):
        other.put_object(Bucket=bucket, Key="x", Body=b"x")
    with s3_error("AccessDenied", 403):
        other.list_objects(Bucket=bucket)
    assert [o["Key"] for o in v2.list_objects_v2(Bucket=bucket)["Contents"]] == ["secret"]


def test_disabled_key_refused(
    server: ServerProcess, make_user: MakeUser, client_for: ClientFor
) -> None:
    user = make_user()
    c = client_for(*user, signature_version="s3", retries={"total_max_attempts": 1})
    c.list_buckets()
    server.admin("key", "disable", user.access_key)
    with pytest.raises(Exception) as ei:
        c.list_buckets()
    resp = ei.value.response  # type: ignore[attr-defined]
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert resp["Error"]["Code"] in ("InvalidAccessKeyId", "AccessDenied")
    server.admin("key", "enable", user.access_key)
    c.list_buckets()


# --------------------------------------------------------------------------- raw SigV2
def _v2_sign(secret: str, string_to_sign: str) -> str:
    mac = hmac.new(secret.encode(), string_to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def _raw_v2(
    server: ServerProcess,
    method: str,
    path: str,
    *,
    date: dt.datetime | None = None,
    use_amz_date: bool = False,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    secret: str | None = None,
) -> requests.Response:
    """A SigV2 header-signed request built by hand (path: already URL-encoded)."""
    when = date or dt.datetime.now(dt.UTC)
    datestr = email.utils.format_datetime(when.astimezone(dt.UTC), usegmt=True)
    hdrs = dict(headers or {})
    if use_amz_date:
        hdrs["x-amz-date"] = datestr
    else:
        hdrs["Date"] = datestr
    lower = {k.lower(): v.strip() for k, v in hdrs.items()}
    amz = "".join(f"{k}:{lower[k]}\n" for k in sorted(lower) if k.startswith("x-amz-"))
    sts = "\n".join(
        [
            method,
            lower.get("content-md5", ""),
            lower.get("content-type", ""),
            "" if use_amz_date else datestr,
        ]
    )
    sts += "\n" + amz + path
    sig = _v2_sign(secret or server.root_secret_key, sts)
    hdrs["Authorization"] = f"AWS {server.root_access_key}:{sig}"
    return requests.request(
        method, server.endpoint + path, headers=hdrs, data=body, verify=server.cert, timeout=30
    )


def test_raw_v2_request_is_accepted(server: ServerProcess, bucket: str) -> None:
    """Our own signer agrees with the server (sanity check for the skew tests)."""
    resp = _raw_v2(server, "GET", "/")
    assert resp.status_code == 200, resp.text
    resp = _raw_v2(
        server,
        "PUT",
        f"/{bucket}/raw%20v2",
        headers={"Content-Type": "text/plain", "x-amz-meta-Foo": "bar"},
        body=b"hello",
    )
    assert resp.status_code == 200, resp.text
    resp = _raw_v2(server, "GET", f"/{bucket}/raw%20v2")
    assert resp.status_code == 200, resp.text
    assert resp.content == b"hello"
    assert resp.headers["x-amz-meta-foo"] == "bar"
    # the ?acl sub-resource is part of the string to sign
    resp = _raw_v2(server, "GET", f"/{bucket}/raw%20v2?acl")
    assert resp.status_code == 200, resp.text
    assert b"AccessControlPolicy" in resp.content


def test_raw_v2_x_amz_date_is_accepted(server: ServerProcess, bucket: str) -> None:
    """x-amz-date instead of Date (what s3cmd sends): the Date line is empty and the
    header is canonicalized as ``x-amz-date:Wed, 25 Nov 2026 ...``, comma-space kept."""
    resp = _raw_v2(server, "PUT", f"/{bucket}/amzdate", body=b"d", use_amz_date=True)
    assert resp.status_code == 200, resp.text
    resp = _raw_v2(server, "GET", f"/{bucket}/amzdate", use_amz_date=True)
    assert resp.status_code == 200, resp.text
    assert resp.content == b"d"


@pytest.mark.parametrize("minutes", [-20, 20])
@pytest.mark.parametrize("use_amz_date", [False, True], ids=["Date", "x-amz-date"])
def test_raw_v2_clock_skew(server: ServerProcess, minutes: int, use_amz_date: bool) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    resp = _raw_v2(server, "GET", "/", date=when, use_amz_date=use_amz_date)
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "RequestTimeTooSkewed", resp.text
    assert error_field(resp.content, "RequestTime"), resp.text
    assert error_field(resp.content, "ServerTime"), resp.text


def test_raw_v2_old_date_put_does_not_store(
    server: ServerProcess, bucket: str, v2: S3Client
) -> None:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    resp = _raw_v2(server, "PUT", f"/{bucket}/late", date=when, body=b"late")
    assert resp.status_code == 403
    assert error_code(resp.content) == "RequestTimeTooSkewed", resp.text
    assert v2.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_raw_v2_small_skew_accepted(server: ServerProcess) -> None:
    when = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    resp = _raw_v2(server, "GET", "/", date=when)
    assert resp.status_code == 200, resp.text


def test_raw_v2_missing_date(server: ServerProcess) -> None:
    sig = _v2_sign(server.root_secret_key, "GET\n\n\n\n/")
    resp = requests.get(
        server.endpoint + "/",
        headers={"Authorization": f"AWS {server.root_access_key}:{sig}"},
        verify=server.cert,
    )
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "AccessDenied", resp.text


def test_raw_v2_tampered_header(server: ServerProcess, bucket: str) -> None:
    """A signed x-amz-* header changed after signing -> SignatureDoesNotMatch."""
    when = dt.datetime.now(dt.UTC)
    datestr = email.utils.format_datetime(when, usegmt=True)
    path = f"/{bucket}/tamper"
    sts = f"PUT\n\ntext/plain\n{datestr}\nx-amz-meta-a:1\n{path}"
    sig = _v2_sign(server.root_secret_key, sts)
    hdrs = {
        "Date": datestr,
        "Content-Type": "text/plain",
        "x-amz-meta-a": "2",
        "Authorization": f"AWS {server.root_access_key}:{sig}",
    }
    resp = requests.put(server.endpoint + path, headers=hdrs, data=b"x", verify=server.cert)
    assert resp.status_code == 403
    assert error_code(resp.content) == "SignatureDoesNotMatch", resp.text
    hdrs["x-amz-meta-a"] = "1"
    resp = requests.put(server.endpoint + path, headers=hdrs, data=b"x", verify=server.cert)
    assert resp.status_code == 200, resp.text


# --------------------------------------------------------------------------- s3cmd v2
@pytest.fixture
def s3cmd_v2(server: ServerProcess, tmp_path: Path) -> RunCli:
    cfg = tmp_path / "s3cfg-v2"
    cfg.write_text(
        "[default]\n"
        f"access_key = {server.root_access_key}\n"
        f"secret_key = {server.root_secret_key}\n"
        f"host_base = {server.host}\n"
        f"host_bucket = {server.host}\n"
        "use_https = True\n"
        "check_ssl_certificate = True\n"
        "check_ssl_hostname = True\n"
        f"ca_certs_file = {server.cert}\n"
        "signature_v2 = True\n"
        "bucket_location = us-east-1\n"
        "progress_meter = False\n"
        "guess_mime_type = True\n"
    )

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
        cmd = [str(VENV_BIN / "s3cmd"), "-c", str(cfg), "--debug", *args]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
        if check and res.returncode != 0:
            raise AssertionError(
                f"s3cmd {' '.join(args)} -> {res.returncode}\nstdout:\n{res.stdout}\n"
                f"stderr:\n{res.stderr[-4000:]}"
            )
        return res

    return run


def _assert_v2_on_wire(res: subprocess.CompletedProcess[str]) -> None:
    """s3cmd --debug logs the Authorization header; it must be SigV2 ("AWS AK:sig")."""
    assert "'Authorization': 'AWS " in res.stderr or "Authorization': 'AWS " in res.stderr, (
        res.stderr[-2000:]
    )
    assert "AWS4-HMAC-SHA256" not in res.stderr


def test_s3cmd_v2_basic(
    s3cmd_v2: RunCli, unique_name: UniqueName, tmp_path: Path, s3: S3Client
) -> None:
    name = unique_name("s3cv2")
    res = s3cmd_v2("mb", f"s3://{name}")
    _assert_v2_on_wire(res)
    try:
        src = tmp_path / "hello world.txt"
        data = rand(10_000)
        src.write_bytes(data)
        s3cmd_v2("put", str(src), f"s3://{name}/dir/hello world+x.txt")
        assert s3.get_object(Bucket=name, Key="dir/hello world+x.txt")["Body"].read() == data
        out = s3cmd_v2("ls", f"s3://{name}/dir/").stdout
        assert f"s3://{name}/dir/hello world+x.txt" in out
        out = s3cmd_v2("ls", f"s3://{name}").stdout
        assert f"s3://{name}/dir/" in out
        assert name in s3cmd_v2("ls").stdout
        dst = tmp_path / "back.bin"
        s3cmd_v2("get", f"s3://{name}/dir/hello world+x.txt", str(dst))
        assert dst.read_bytes() == data
        s3cmd_v2("del", f"s3://{name}/dir/hello world+x.txt")
        assert s3.list_objects_v2(Bucket=name)["KeyCount"] == 0
        s3cmd_v2("rb", f"s3://{name}")
        assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        from .conftest import empty_and_delete

        empty_and_delete(s3, name)


def test_s3cmd_v2_multipart(s3cmd_v2: RunCli, bucket: str, tmp_path: Path, s3: S3Client) -> None:
    data = rand(20 * 1024 * 1024, seed=7)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    res = s3cmd_v2("put", "--multipart-chunk-size-mb=5", str(src), f"s3://{bucket}/big file.bin")
    _assert_v2_on_wire(res)
    head = s3.head_object(Bucket=bucket, Key="big file.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-4"'), head["ETag"]
    dst = tmp_path / "big.out"
    s3cmd_v2("get", f"s3://{bucket}/big file.bin", str(dst))
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_s3cmd_v2_wrong_secret(server: ServerProcess, tmp_path: Path, bucket: str) -> None:
    cfg = tmp_path / "bad.cfg"
    cfg.write_text(
        "[default]\n"
        f"access_key = {server.root_access_key}\n"
        "secret_key = definitely-wrong\n"
        f"host_base = {server.host}\nhost_bucket = {server.host}\n"
        f"use_https = True\nca_certs_file = {server.cert}\nsignature_v2 = True\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    res = subprocess.run(
        [str(VENV_BIN / "s3cmd"), "-c", str(cfg), "ls", f"s3://{bucket}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode != 0
    assert "SignatureDoesNotMatch" in res.stderr + res.stdout


# --------------------------------------------------------------------------- misc
def test_v2_unsigned_payload_with_content_md5(v2_noretry: S3Client, bucket: str) -> None:
    """Content-MD5 is part of the V2 string to sign; a wrong MD5 is BadDigest/InvalidDigest."""
    data = b"payload"
    good = base64.b64encode(hashlib.md5(data).digest()).decode()
    v2_noretry.put_object(Bucket=bucket, Key="md5", Body=data, ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(Exception) as ei:
        v2_noretry.put_object(Bucket=bucket, Key="md5bad", Body=data, ContentMD5=bad)
    assert _code(ei.value) == "BadDigest"  # type: ignore[arg-type]
    assert [o["Key"] for o in v2_noretry.list_objects_v2(Bucket=bucket)["Contents"]] == ["md5"]


def test_v2_client_config_is_v2(server: ServerProcess) -> None:
    """Guard: the fixture really signs with SigV2."""
    import boto3

    c = boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=server.root_access_key,
        aws_secret_access_key=server.root_secret_key,
        verify=server.cert,
        config=Config(signature_version="s3", s3={"addressing_style": "path"}),
    )
    seen: list[str] = []
    c.meta.events.register(
        "before-send.s3.*", lambda request, **_: seen.append(request.headers["Authorization"])
    )
    c.list_buckets()
    assert seen and seen[0].startswith(b"AWS " if isinstance(seen[0], bytes) else "AWS ")


def test_v2_amz_header_value_with_comma_space(v2: S3Client, bucket: str) -> None:
    """A single x-amz-* header whose value contains ", " is signed as sent (AWS's own
    example: ``x-amz-date:Tue, 27 Mar 2007 21:20:26 +0000``); only repeated headers are
    joined with ","."""
    v2.put_object(Bucket=bucket, Key="c", Body=b"x", Metadata={"list": "a, b,  c"})
    assert v2.head_object(Bucket=bucket, Key="c")["Metadata"] == {"list": "a, b,  c"}
