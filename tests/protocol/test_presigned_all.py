"""Presigned URLs (SigV2 and SigV4 query auth) for every use, made by boto3 and by the AWS
CLI, used with a plain HTTP client (``requests``, or ``http.client`` where the exact path
matters)."""

from __future__ import annotations

import calendar
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from ._s3raw import error_code, error_field, fetch, findall, findtext, xml_root
from ._server import REGION, VENV_BIN, ServerProcess
from ._types import ClientFor, MakeBucket, MakeUser, S3Client
from ._util import etag, rand

PRESIGN_KEYS = [
    "with space.txt",
    "plus+sign.txt",
    "equals=sign=x",
    "percent%2Fslash",
    "a b/c+d=e%2Ff",
    "unicodé/日本語/ключ-😀.bin",
]


# --------------------------------------------------------------------------- helpers
@pytest.fixture(params=["s3", "s3v4"], ids=["sigv2", "sigv4"])
def sigv(request: pytest.FixtureRequest) -> str:
    version: str = request.param
    return version


@pytest.fixture
def presigner(sigv: str, server: ServerProcess, client_for: ClientFor) -> S3Client:
    return client_for(server.root_access_key, server.root_secret_key, signature_version=sigv)


def _is_v4(url: str) -> bool:
    return "X-Amz-Signature=" in url


def _expect_error(
    resp: requests.Response | tuple[int, Any, bytes], code: str, status: int = 403
) -> None:
    if isinstance(resp, tuple):
        st, _, body = resp
    else:
        st, body = resp.status_code, resp.content
    assert st == status, (st, body)
    assert error_code(body) == code, body


def _replace_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    q = [(k, changes.get(k, v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(q)))


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def _expires_at(url: str) -> float:
    """The moment (epoch seconds) a presigned URL expires, as it says itself."""
    q = _query(url)
    if _is_v4(url):
        signed = calendar.timegm(time.strptime(q["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
        return float(signed + int(q["X-Amz-Expires"]))
    return float(q["Expires"])


def _served_then_expired(presign: Callable[[int], str], cert: str) -> str:
    """A URL signed to expire in a few seconds is served before that moment (read from the
    URL: the client and server share this machine's clock) and refused after it; returns
    it, expired. A signer slow to start on a busy machine (the AWS CLI) may spend a short
    expiry before the first GET: then that GET must be refused too, and a URL with twice
    the time is tried."""
    for expires in (2, 4, 8, 16, 32):
        url = presign(expires)
        resp = requests.get(url, verify=cert)
        if time.time() < _expires_at(url):  # answered before its expiry: served
            assert resp.status_code == 200, (resp.status_code, resp.text)
            break
        _expect_error(resp, "AccessDenied")
    else:
        raise AssertionError("no presigned GET answered before its expiry, even at 32 s")
    time.sleep(max(0.0, _expires_at(url) - time.time()) + 1.2)  # past it (whole seconds)
    return url


@pytest.fixture
def aws_presign(server: ServerProcess, tmp_path: Path) -> Callable[..., str]:
    """``aws s3 presign`` with the CLI's default signer, or forced to SigV4."""

    def run(s3uri: str, expires: int = 60, v4: bool = False, ak: str = "", sk: str = "") -> str:
        cfg = tmp_path / ("config-v4" if v4 else "config")
        cfg.write_text(
            "[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n"
            + ("    signature_version = s3v4\n" if v4 else "")
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "AWS_CONFIG_FILE": str(cfg),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "nocreds"),
            "AWS_ACCESS_KEY_ID": ak or server.root_access_key,
            "AWS_SECRET_ACCESS_KEY": sk or server.root_secret_key,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        res = subprocess.run(
            [
                str(VENV_BIN / "aws"),
                "s3",
                "presign",
                s3uri,
                "--expires-in",
                str(expires),
                "--endpoint-url",
                server.endpoint,
                "--ca-bundle",
                server.cert,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 0, res.stderr
        url = res.stdout.strip()
        assert url.startswith(server.endpoint), url
        assert _is_v4(url) == v4, url
        return url

    return run


# --------------------------------------------------------------------------- GET / HEAD
def test_get_and_head(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    data = rand(12_345)
    s3.put_object(Bucket=bucket, Key="obj", Body=data, ContentType="image/png")
    params = {"Bucket": bucket, "Key": "obj"}
    url = presigner.generate_presigned_url("get_object", Params=params, ExpiresIn=60)
    resp = requests.get(url, verify=server.cert)
    assert resp.status_code == 200, resp.text
    assert resp.content == data
    assert resp.headers["ETag"] == etag(data)
    assert resp.headers["Content-Type"] == "image/png"
    resp = requests.get(url, headers={"Range": "bytes=100-199"}, verify=server.cert)
    assert resp.status_code == 206
    assert resp.content == data[100:200]
    url = presigner.generate_presigned_url("head_object", Params=params, ExpiresIn=60)
    resp = requests.head(url, verify=server.cert)
    assert resp.status_code == 200
    assert resp.headers["Content-Length"] == str(len(data))
    assert resp.headers["ETag"] == etag(data)
    # a GET URL is not a HEAD URL: the method is signed
    resp = requests.head(
        presigner.generate_presigned_url("get_object", Params=params), verify=server.cert
    )
    assert resp.status_code == 403


def test_get_with_response_overrides(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    s3.put_object(Bucket=bucket, Key="dl", Body=b"hello")
    url = presigner.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": "dl",
            "ResponseContentDisposition": 'attachment; filename="x y.txt"',
            "ResponseContentType": "text/x-custom",
        },
    )
    resp = requests.get(url, verify=server.cert)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Disposition"] == 'attachment; filename="x y.txt"'
    assert resp.headers["Content-Type"] == "text/x-custom"
    # response-* parameters are signed: changing one breaks the signature
    bad = _replace_query(url, **{"response-content-type": "text/html"})
    _expect_error(requests.get(bad, verify=server.cert), "SignatureDoesNotMatch")


# --------------------------------------------------------------------------- PUT
def test_put_plain(s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess) -> None:
    data = rand(40_000)
    url = presigner.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=60
    )
    resp = requests.put(url, data=data, verify=server.cert)
    assert resp.status_code == 200, resp.text
    assert resp.headers["ETag"] == etag(data)
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == data


def test_put_signed_content_type(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    url = presigner.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": "ct", "ContentType": "text/csv"},
        ExpiresIn=60,
    )
    resp = requests.put(
        url, data=b"1,2\n", headers={"Content-Type": "text/csv"}, verify=server.cert
    )
    assert resp.status_code == 200, resp.text
    assert s3.head_object(Bucket=bucket, Key="ct")["ContentType"] == "text/csv"


@pytest.mark.parametrize("sent", ["text/plain", "application/octet-stream", None])
def test_put_content_type_mismatch(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess, sent: str | None
) -> None:
    url = presigner.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": "ctbad", "ContentType": "text/csv"},
        ExpiresIn=60,
    )
    headers = {"Content-Type": sent} if sent else {}
    resp = requests.put(url, data=b"1,2\n", headers=headers, verify=server.cert)
    _expect_error(resp, "SignatureDoesNotMatch")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_put_signed_metadata(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    url = presigner.generate_presigned_url(
        "put_object",
        Params={
            "Bucket": bucket,
            "Key": "meta",
            "Metadata": {"owner": "alice", "purpose": "test"},
            "ContentType": "application/json",
        },
        ExpiresIn=60,
    )
    headers = {
        "Content-Type": "application/json",
        "x-amz-meta-owner": "alice",
        "x-amz-meta-purpose": "test",
    }
    resp = requests.put(url, data=b"{}", headers=headers, verify=server.cert)
    assert resp.status_code == 200, resp.text
    head = s3.head_object(Bucket=bucket, Key="meta")
    assert head["Metadata"] == {"owner": "alice", "purpose": "test"}
    assert head["ContentType"] == "application/json"
    # a different value for a signed metadata header is refused, nothing overwritten
    bad = dict(headers, **{"x-amz-meta-owner": "mallory"})
    resp = requests.put(url, data=b"evil", headers=bad, verify=server.cert)
    _expect_error(resp, "SignatureDoesNotMatch")
    assert s3.get_object(Bucket=bucket, Key="meta")["Body"].read() == b"{}"


def test_put_signed_metadata_v4_header_required(
    s3: S3Client, client_for: ClientFor, server: ServerProcess, bucket: str
) -> None:
    """SigV4: x-amz-meta-* are signed headers (X-Amz-SignedHeaders); omitting them fails."""
    c = client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")
    url = c.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "m", "Metadata": {"a": "b"}}
    )
    assert "x-amz-meta-a" in _query(url)["X-Amz-SignedHeaders"]
    _expect_error(requests.put(url, data=b"x", verify=server.cert), "SignatureDoesNotMatch")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


# --------------------------------------------------------------------------- DELETE
def test_delete(s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess) -> None:
    s3.put_object(Bucket=bucket, Key="gone", Body=b"x")
    url = presigner.generate_presigned_url(
        "delete_object", Params={"Bucket": bucket, "Key": "gone"}, ExpiresIn=60
    )
    resp = requests.delete(url, verify=server.cert)
    assert resp.status_code == 204, resp.text
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    # S3 DELETE is idempotent
    assert requests.delete(url, verify=server.cert).status_code == 204


# --------------------------------------------------------------------------- multipart
def test_upload_part_and_complete(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    key = "mp via presigned+ key.bin"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = [rand(5 * 1024 * 1024, seed=11), rand(777, seed=12)]
    etags = []
    for n, data in enumerate(parts, start=1):
        url = presigner.generate_presigned_url(
            "upload_part",
            Params={"Bucket": bucket, "Key": key, "UploadId": uid, "PartNumber": n},
            ExpiresIn=120,
        )
        resp = requests.put(url, data=data, verify=server.cert)
        assert resp.status_code == 200, resp.text
        assert resp.headers["ETag"] == etag(data)
        etags.append(resp.headers["ETag"])
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in listed] == [(1, etags[0]), (2, etags[1])]
    url = presigner.generate_presigned_url(
        "complete_multipart_upload",
        Params={"Bucket": bucket, "Key": key, "UploadId": uid},
        ExpiresIn=120,
    )
    xml = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
        for n, e in enumerate(etags, start=1)
    )
    xml += "</CompleteMultipartUpload>"
    resp = requests.post(url, data=xml.encode(), verify=server.cert)
    assert resp.status_code == 200, resp.text
    root = xml_root(resp.content)
    assert findtext(root, "Key") == key
    assert (findtext(root, "ETag") or "").endswith('-2"')
    listing = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listing] == [(key, sum(map(len, parts)))]
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"".join(parts)


def test_upload_part_url_bound_to_part_and_upload(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    url = presigner.generate_presigned_url(
        "upload_part",
        Params={"Bucket": bucket, "Key": "mp", "UploadId": uid, "PartNumber": 1},
        ExpiresIn=60,
    )
    _expect_error(
        requests.put(_replace_query(url, partNumber="2"), data=b"x", verify=server.cert),
        "SignatureDoesNotMatch",
    )
    assert not s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid).get("Parts")
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid)


# --------------------------------------------------------------------------- tricky keys
@pytest.mark.parametrize("key", PRESIGN_KEYS)
def test_tricky_keys(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess, key: str
) -> None:
    params = {"Bucket": bucket, "Key": key}
    put = presigner.generate_presigned_url("put_object", Params=params, ExpiresIn=60)
    st, _, body = fetch(put, server.cert, "PUT", b"tricky")
    assert st == 200, body
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    get = presigner.generate_presigned_url("get_object", Params=params, ExpiresIn=60)
    st, _, body = fetch(get, server.cert)
    assert (st, body) == (200, b"tricky")
    head = presigner.generate_presigned_url("head_object", Params=params, ExpiresIn=60)
    assert fetch(head, server.cert, "HEAD")[0] == 200
    dele = presigner.generate_presigned_url("delete_object", Params=params, ExpiresIn=60)
    assert fetch(dele, server.cert, "DELETE")[0] == 204
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_percent_2f_is_not_a_slash(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    """``a%2Fb`` (a literal percent sign) and ``a/b`` are different keys."""
    s3.put_object(Bucket=bucket, Key="a%2Fb", Body=b"percent")
    s3.put_object(Bucket=bucket, Key="a/b", Body=b"slash")
    for key, want in (("a%2Fb", b"percent"), ("a/b", b"slash")):
        url = presigner.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60
        )
        st, _, body = fetch(url, server.cert)
        assert (st, body) == (200, want), (key, url)


# --------------------------------------------------------------------------- AWS CLI
@pytest.mark.parametrize("v4", [False, True], ids=["cli-default-v2", "cli-s3v4"])
@pytest.mark.parametrize("key", ["plain.txt", "a b+c=d.txt", "pct%2Fx", "ünï/日本.txt"])
def test_aws_cli_presign(
    s3: S3Client,
    aws_presign: Callable[..., str],
    bucket: str,
    server: ServerProcess,
    key: str,
    v4: bool,
) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=b"from the cli")
    url = aws_presign(f"s3://{bucket}/{key}", 60, v4=v4)
    st, hdrs, body = fetch(url, server.cert)
    assert (st, body) == (200, b"from the cli"), (url, body)
    assert hdrs["etag"] == etag(b"from the cli")
    # the CLI presigns GET only; another method with the same URL is refused
    assert fetch(url, server.cert, "DELETE")[0] == 403
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1


@pytest.mark.parametrize("v4", [False, True], ids=["cli-default-v2", "cli-s3v4"])
def test_aws_cli_presign_expiry(
    s3: S3Client, aws_presign: Callable[..., str], bucket: str, server: ServerProcess, v4: bool
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = _served_then_expired(lambda expires: aws_presign(f"s3://{bucket}/k", expires, v4=v4),
                               server.cert)  # fmt: skip
    resp = requests.get(url, verify=server.cert)
    _expect_error(resp, "AccessDenied")
    assert "Request has expired" in (error_field(resp.content, "Message") or "")


# --------------------------------------------------------------------------- expiry
def test_expiry_to_the_second(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    s3.put_object(Bucket=bucket, Key="soon", Body=b"x")
    puts: list[str] = []

    def presign(expires: int) -> str:  # a PUT signed at the same moment, for the same time
        puts.append(presigner.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "late"}, ExpiresIn=expires
        ))  # fmt: skip
        return str(presigner.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "soon"}, ExpiresIn=expires
        ))  # fmt: skip

    get = _served_then_expired(presign, server.cert)
    put = puts[-1]
    assert _expires_at(put) <= _expires_at(get)
    for resp in (
        requests.get(get, verify=server.cert),
        requests.put(put, data=b"late", verify=server.cert),
    ):
        _expect_error(resp, "AccessDenied")
        assert "Request has expired" in (error_field(resp.content, "Message") or ""), resp.text
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["soon"]


def test_expired_error_fields(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    """AWS reports Expires and ServerTime with a "Request has expired" error."""
    s3.put_object(Bucket=bucket, Key="e", Body=b"x")
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "e"}, ExpiresIn=1
    )
    time.sleep(2.2)
    resp = requests.get(url, verify=server.cert)
    _expect_error(resp, "AccessDenied")
    assert error_field(resp.content, "Expires"), resp.text
    assert error_field(resp.content, "ServerTime"), resp.text


# --------------------------------------------------------------------------- tampering
def test_tampered_key(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    s3.put_object(Bucket=bucket, Key="mine", Body=b"mine")
    s3.put_object(Bucket=bucket, Key="yours", Body=b"yours")
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "mine"}, ExpiresIn=60
    )
    bad = url.replace(f"/{bucket}/mine?", f"/{bucket}/yours?")
    assert bad != url
    _expect_error(requests.get(bad, verify=server.cert), "SignatureDoesNotMatch")
    put = presigner.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "mine"}, ExpiresIn=60
    )
    bad = put.replace(f"/{bucket}/mine?", f"/{bucket}/yours?")
    _expect_error(requests.put(bad, data=b"evil", verify=server.cert), "SignatureDoesNotMatch")
    assert s3.get_object(Bucket=bucket, Key="yours")["Body"].read() == b"yours"


def test_tampered_expiry(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60
    )
    q = _query(url)
    if _is_v4(url):
        longer = _replace_query(url, **{"X-Amz-Expires": "3600"})
        shorter = _replace_query(url, **{"X-Amz-Expires": "30"})
    else:
        longer = _replace_query(url, Expires=str(int(q["Expires"]) + 3600))
        shorter = _replace_query(url, Expires=str(int(q["Expires"]) - 10))
    for bad in (longer, shorter):
        _expect_error(requests.get(bad, verify=server.cert), "SignatureDoesNotMatch")


def test_tampered_v4_date(
    s3: S3Client, client_for: ClientFor, bucket: str, server: ServerProcess
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    c = client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")
    url = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    date = _query(url)["X-Amz-Date"]
    later = date[:-3] + ("00Z" if not date.endswith("00Z") else "01Z")
    bad = _replace_query(url, **{"X-Amz-Date": later})
    _expect_error(requests.get(bad, verify=server.cert), "SignatureDoesNotMatch")


def test_tampered_signed_header(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    url = presigner.generate_presigned_url(
        "put_object",
        Params={"Bucket": bucket, "Key": "h", "ContentType": "image/png", "ACL": "private"},
        ExpiresIn=60,
    )
    headers = {"Content-Type": "image/png", "x-amz-acl": "private"}
    bad = dict(headers, **{"x-amz-acl": "public-read"})
    _expect_error(
        requests.put(url, data=b"x", headers=bad, verify=server.cert), "SignatureDoesNotMatch"
    )
    bad = dict(headers, **{"Content-Type": "text/html"})
    _expect_error(
        requests.put(url, data=b"x", headers=bad, verify=server.cert), "SignatureDoesNotMatch"
    )
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    resp = requests.put(url, data=b"x", headers=headers, verify=server.cert)
    assert resp.status_code == 200, resp.text


def test_tampered_signature_and_access_key(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess, make_user: MakeUser
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = presigner.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=60
    )
    q = _query(url)
    sig_name = "X-Amz-Signature" if _is_v4(url) else "Signature"
    sig = q[sig_name]
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    _expect_error(
        requests.get(_replace_query(url, **{sig_name: flipped}), verify=server.cert),
        "SignatureDoesNotMatch",
    )
    # another user's (valid) access key with this signature: still a mismatch
    other = make_user()
    if _is_v4(url):
        cred = q["X-Amz-Credential"].replace(server.root_access_key, other.access_key)
        bad = _replace_query(url, **{"X-Amz-Credential": cred})
    else:
        bad = _replace_query(url, AWSAccessKeyId=other.access_key)
    _expect_error(requests.get(bad, verify=server.cert), "SignatureDoesNotMatch")


def test_extra_query_parameter_v4_is_signed(
    s3: S3Client, client_for: ClientFor, bucket: str, server: ServerProcess
) -> None:
    """SigV4 signs the whole query string: adding a parameter breaks the signature."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    c = client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")
    url = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    bad = url + "&response-content-type=text%2Fhtml"
    _expect_error(requests.get(bad, verify=server.cert), "SignatureDoesNotMatch")


# --------------------------------------------------------------------------- revoked keys
def _assert_revoked(resp: requests.Response) -> None:
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) in ("InvalidAccessKeyId", "AccessDenied"), resp.text


@pytest.mark.parametrize("action", ["disable", "delete"])
def test_url_of_revoked_key_stops_working(
    server: ServerProcess,
    make_user: MakeUser,
    client_for: ClientFor,
    make_bucket: MakeBucket,
    sigv: str,
    action: str,
) -> None:
    user = make_user()
    owner = client_for(*user)
    name = make_bucket(owner)
    owner.put_object(Bucket=name, Key="doc", Body=b"secret doc")
    signer = client_for(*user, signature_version=sigv)
    get = signer.generate_presigned_url(
        "get_object", Params={"Bucket": name, "Key": "doc"}, ExpiresIn=600
    )
    put = signer.generate_presigned_url(
        "put_object", Params={"Bucket": name, "Key": "new"}, ExpiresIn=600
    )
    assert requests.get(get, verify=server.cert).content == b"secret doc"
    # keep a second key so the bucket can still be inspected and cleaned up
    spare = server.create_key(user.name)
    spare_client = client_for(str(spare["access_key"]), str(spare["secret_key"]))
    server.admin("key", action, user.access_key)
    # at once: no caching of the old key
    _assert_revoked(requests.get(get, verify=server.cert))
    _assert_revoked(requests.put(put, data=b"x", verify=server.cert))
    if action == "delete":
        assert error_code(requests.get(get, verify=server.cert).content) == "InvalidAccessKeyId"
    assert [o["Key"] for o in spare_client.list_objects_v2(Bucket=name)["Contents"]] == ["doc"]
    if action == "disable":
        server.admin("key", "enable", user.access_key)
        assert requests.get(get, verify=server.cert).content == b"secret doc"


def test_url_of_rotated_key_stops_working(
    server: ServerProcess,
    make_user: MakeUser,
    client_for: ClientFor,
    make_bucket: MakeBucket,
    sigv: str,
) -> None:
    user = make_user()
    owner = client_for(*user)
    name = make_bucket(owner)
    owner.put_object(Bucket=name, Key="doc", Body=b"doc")
    url = client_for(*user, signature_version=sigv).generate_presigned_url(
        "get_object", Params={"Bucket": name, "Key": "doc"}, ExpiresIn=600
    )
    assert requests.get(url, verify=server.cert).status_code == 200
    new = server.admin_json("key", "rotate", user.access_key)
    assert isinstance(new, dict)
    _assert_revoked(requests.get(url, verify=server.cert))
    url2 = client_for(
        str(new["access_key"]), str(new["secret_key"]), signature_version=sigv
    ).generate_presigned_url("get_object", Params={"Bucket": name, "Key": "doc"}, ExpiresIn=600)
    assert requests.get(url2, verify=server.cert).content == b"doc"


def test_url_of_other_user_denied(
    s3: S3Client,
    make_user: MakeUser,
    client_for: ClientFor,
    bucket: str,
    server: ServerProcess,
    sigv: str,
) -> None:
    """A valid presigned URL of a user without access to the bucket: AccessDenied."""
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    other = client_for(*make_user(), signature_version=sigv)
    url = other.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    _expect_error(requests.get(url, verify=server.cert), "AccessDenied")
    url = other.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "k"})
    _expect_error(requests.put(url, data=b"evil", verify=server.cert), "AccessDenied")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"


def test_list_uploads_xml_via_presigned(
    s3: S3Client, presigner: S3Client, bucket: str, server: ServerProcess
) -> None:
    """A presigned ListMultipartUploads (sub-resource ?uploads) is signed correctly."""
    uid = s3.create_multipart_upload(Bucket=bucket, Key="u")["UploadId"]
    url = presigner.generate_presigned_url("list_multipart_uploads", Params={"Bucket": bucket})
    resp = requests.get(url, verify=server.cert)
    assert resp.status_code == 200, resp.text
    ids = [findtext(u, "UploadId") for u in findall(xml_root(resp.content), "Upload")]
    assert ids == [uid]
    assert re.search(r"<Key>u</Key>", resp.text)
    s3.abort_multipart_upload(Bucket=bucket, Key="u", UploadId=uid)
