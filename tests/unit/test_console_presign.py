"""The console's presigner, checked by the gateway's own SigV4 verifier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from oortgate.auth import sigv4
from oortgate.console.presign import BadPresign, presign
from oortgate.errors import S3Error

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HOST = "127.0.0.1:8443"


def _verify(method: str, url: str, secret: str, now: datetime) -> None:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    view = sigv4.RequestView(method=method, path=parts.path, query=query,
                             headers={"host": HOST})  # fmt: skip
    creds = sigv4.parse(view)
    assert creds is not None
    sigv4.verify(view, creds, secret, region="us-east-1", now=now)


@pytest.mark.parametrize(
    ("op", "bucket", "key", "params"),
    [
        ("GetObject", "b", "dir/ünï code+%=&?.txt", {"response-content-disposition": "attachment"}),
        ("ListObjectsV2", "b", "", {"prefix": "a b/", "delimiter": "/", "max-keys": "200"}),
        ("UploadPart", "b", "big", {"partNumber": "2", "uploadId": "u/+="}),
        ("CreateMultipartUpload", "b", "big", {}),
        ("ListBuckets", "", "", {}),
    ],
)
def test_urls_verify_with_the_gateways_verifier(
    op: str, bucket: str, key: str, params: dict[str, str]
) -> None:
    signed = presign(op, bucket, key, params, 300, host=HOST, access_key="AK",
                     secret_key="secret", region="us-east-1", now=NOW)  # fmt: skip
    _verify(signed.method, signed.url, "secret", NOW + timedelta(seconds=10))
    if key:
        assert unquote(urlsplit(signed.url).path) == f"/{bucket}/{key}"
    with pytest.raises(S3Error) as wrong:
        _verify(signed.method, signed.url, "other secret", NOW)
    assert wrong.value.code == "SignatureDoesNotMatch"
    with pytest.raises(S3Error) as late:
        _verify(signed.method, signed.url, "secret", NOW + timedelta(seconds=301))
    assert late.value.code == "AccessDenied"


@pytest.mark.parametrize(
    ("op", "bucket", "key", "params", "expires"),
    [
        ("PutBucketAcl", "b", "", {}, 60),
        ("GetObject", "", "k", {}, 60),
        ("GetObject", "b", "", {}, 60),
        ("GetObject", "a/b", "k", {}, 60),
        ("ListBuckets", "b", "", {}, 60),
        ("GetObject", "b", "k", {"acl": ""}, 60),
        ("GetObject", "b", "k", {}, 0),
        ("GetObject", "b", "k", {}, 7 * 86400 + 1),
        ("DeleteObject", "b", "k", {}, 3600),
        ("PutObject", "b", "k" * 1025, {}, 60),
    ],
)
def test_what_is_not_signed(
    op: str, bucket: str, key: str, params: dict[str, str], expires: int
) -> None:
    with pytest.raises(BadPresign):
        presign(op, bucket, key, params, expires, host=HOST, access_key="AK",
                secret_key="s", region="us-east-1")  # fmt: skip


def test_a_signed_header_is_bound_to_its_value() -> None:
    signed = presign("PutBucketAcl", "b", "", {}, 60, host=HOST, access_key="AK",
                     secret_key="secret", region="us-east-1", now=NOW,
                     headers={"x-amz-acl": "public-read"})  # fmt: skip
    parts = urlsplit(signed.url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    assert dict(query)["X-Amz-SignedHeaders"] == "host;x-amz-acl"
    for value, good in (("public-read", True), ("private", False)):
        view = sigv4.RequestView(method="PUT", path=parts.path, query=query,
                                 headers={"host": HOST, "x-amz-acl": value})  # fmt: skip
        creds = sigv4.parse(view)
        assert creds is not None
        if good:
            sigv4.verify(view, creds, "secret", region="us-east-1", now=NOW)
        else:
            with pytest.raises(S3Error) as wrong:
                sigv4.verify(view, creds, "secret", region="us-east-1", now=NOW)
            assert wrong.value.code == "SignatureDoesNotMatch"
