"""GetObject/HeadObject: ranges, conditional requests, response-* overrides, bare 404."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from botocore.exceptions import ClientError

from ._s3raw import error_code
from ._server import ServerProcess
from ._types import S3Client
from ._util import etag, rand, s3_error, status_of

SIZE = 100


@pytest.fixture
def obj(s3: S3Client, bucket: str) -> tuple[str, str, bytes, str, dt.datetime]:
    data = rand(SIZE, seed=7)
    s3.put_object(Bucket=bucket, Key="obj", Body=data, ContentType="application/x-test")
    head = s3.head_object(Bucket=bucket, Key="obj")
    return bucket, "obj", data, head["ETag"], head["LastModified"]


@pytest.mark.parametrize(
    "rng, first, last",
    [
        ("bytes=10-19", 10, 19),  # first-last
        ("bytes=0-0", 0, 0),
        ("bytes=90-", 90, 99),  # open-ended
        ("bytes=0-", 0, 99),
        ("bytes=-10", 90, 99),  # suffix
        ("bytes=-1", 99, 99),
        ("bytes=95-200", 95, 99),  # clamped past the end
        ("bytes=-500", 0, 99),  # suffix longer than the object
        ("bytes=99-99", 99, 99),
    ],
)
def test_range(
    s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime], rng: str, first: int, last: int
) -> None:
    bucket, key, data, tag, _ = obj
    resp = s3.get_object(Bucket=bucket, Key=key, Range=rng)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert resp["Body"].read() == data[first : last + 1]
    assert resp["ContentRange"] == f"bytes {first}-{last}/{SIZE}"
    assert resp["ContentLength"] == last - first + 1
    assert resp["ETag"] == tag
    assert resp["ContentType"] == "application/x-test"


def test_head_with_range(s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime]) -> None:
    bucket, key, *_ = obj
    resp = s3.head_object(Bucket=bucket, Key=key, Range="bytes=10-19")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert resp["ContentLength"] == 10
    assert resp["ContentRange"] == f"bytes 10-19/{SIZE}"


@pytest.mark.parametrize("rng", ["bytes=100-200", "bytes=100-", "bytes=500-600"])
def test_unsatisfiable_range_416(
    s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime], server: ServerProcess, rng: str
) -> None:
    bucket, key, *_ = obj
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    resp = requests.get(url, headers={"Range": rng}, verify=server.cert)
    assert resp.status_code == 416, resp.text
    assert resp.headers.get("Content-Range") == f"bytes */{SIZE}"
    assert error_code(resp.content) == "InvalidRange"
    with s3_error("InvalidRange", 416):
        s3.get_object(Bucket=bucket, Key=key, Range=rng)


def test_range_on_empty_object(s3: S3Client, bucket: str, server: ServerProcess) -> None:
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "empty"})
    # a suffix range on an empty object is answered with the (empty) object, as AWS does
    resp = requests.get(url, headers={"Range": "bytes=-10"}, verify=server.cert)
    assert resp.status_code == 200, resp.text
    assert resp.content == b""
    # any first-byte position is unsatisfiable
    resp = requests.get(url, headers={"Range": "bytes=0-"}, verify=server.cert)
    assert resp.status_code == 416, resp.text
    assert resp.headers.get("Content-Range") == "bytes */0"


@pytest.mark.parametrize("rng", ["bytes=abc", "bytes=5-1", "items=0-5"])
def test_invalid_range_syntax_is_ignored(
    s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime], rng: str
) -> None:
    # RFC 9110: a syntactically invalid Range is ignored; AWS answers 200 with the object.
    bucket, key, data, *_ = obj
    resp = s3.get_object(Bucket=bucket, Key=key, Range=rng)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["Body"].read() == data


# ---------------------------------------------------------------------- conditionals
def _day(ts: dt.datetime, days: int) -> dt.datetime:
    return ts + dt.timedelta(days=days)


def test_if_match(s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime]) -> None:
    bucket, key, data, tag, _ = obj
    assert s3.get_object(Bucket=bucket, Key=key, IfMatch=tag)["Body"].read() == data
    assert s3.get_object(Bucket=bucket, Key=key, IfMatch="*")["Body"].read() == data
    with s3_error("PreconditionFailed", 412):
        s3.get_object(Bucket=bucket, Key=key, IfMatch='"0123456789abcdef0123456789abcdef"')
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key=key, IfMatch='"0123456789abcdef0123456789abcdef"')
    assert status_of(ei.value) == 412


def test_if_none_match(s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime]) -> None:
    bucket, key, data, tag, _ = obj
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key=key, IfNoneMatch=tag)
    assert status_of(ei.value) == 304
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key=key, IfNoneMatch=tag)
    assert status_of(ei.value) == 304
    other = '"0123456789abcdef0123456789abcdef"'
    assert s3.get_object(Bucket=bucket, Key=key, IfNoneMatch=other)["Body"].read() == data


def test_304_carries_etag_and_no_body(
    s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime], server: ServerProcess
) -> None:
    bucket, key, _, tag, _ = obj
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
    resp = requests.get(url, headers={"If-None-Match": tag}, verify=server.cert)
    assert resp.status_code == 304
    assert resp.content == b""
    assert resp.headers.get("ETag") == tag


def test_if_modified_since(s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime]) -> None:
    bucket, key, data, _, lm = obj
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key=key, IfModifiedSince=lm)
    assert status_of(ei.value) == 304
    resp = s3.get_object(Bucket=bucket, Key=key, IfModifiedSince=_day(lm, -1))
    assert resp["Body"].read() == data


def test_if_unmodified_since(s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime]) -> None:
    bucket, key, data, _, lm = obj
    assert s3.get_object(Bucket=bucket, Key=key, IfUnmodifiedSince=lm)["Body"].read() == data
    with s3_error("PreconditionFailed", 412):
        s3.get_object(Bucket=bucket, Key=key, IfUnmodifiedSince=_day(lm, -1))


def test_precedence_if_match_true_if_unmodified_since_false(
    s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime]
) -> None:
    # AWS: If-Match true and If-Unmodified-Since false -> 200 OK
    bucket, key, data, tag, lm = obj
    resp = s3.get_object(Bucket=bucket, Key=key, IfMatch=tag, IfUnmodifiedSince=_day(lm, -1))
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["Body"].read() == data
    head = s3.head_object(Bucket=bucket, Key=key, IfMatch=tag, IfUnmodifiedSince=_day(lm, -1))
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_precedence_if_none_match_false_if_modified_since_true(
    s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime]
) -> None:
    # AWS: If-None-Match false and If-Modified-Since true -> 304 Not Modified
    bucket, key, _, tag, lm = obj
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key=key, IfNoneMatch=tag, IfModifiedSince=_day(lm, -1))
    assert status_of(ei.value) == 304
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key=key, IfNoneMatch=tag, IfModifiedSince=_day(lm, -1))
    assert status_of(ei.value) == 304


def test_if_match_fails_before_range(
    s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime]
) -> None:
    bucket, key, *_ = obj
    with s3_error("PreconditionFailed", 412):
        s3.get_object(
            Bucket=bucket, Key=key, Range="bytes=0-1", IfMatch='"ffffffffffffffffffffffffffffffff"'
        )


def test_conditionals_with_range(
    s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime]
) -> None:
    bucket, key, data, tag, _ = obj
    resp = s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-4", IfMatch=tag)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert resp["Body"].read() == data[:5]


# ---------------------------------------------------------------------- overrides
OVERRIDES = {
    "ResponseContentType": ("content-type", "text/x-override"),
    "ResponseContentDisposition": ("content-disposition", 'attachment; filename="x y.bin"'),
    "ResponseCacheControl": ("cache-control", "no-cache"),
    "ResponseContentEncoding": ("content-encoding", "identity"),
    "ResponseContentLanguage": ("content-language", "fr"),
    "ResponseExpires": ("expires", "Wed, 21 Oct 2037 07:28:00 GMT"),
}


def test_response_overrides_boto3(
    s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime]
) -> None:
    bucket, key, data, *_ = obj
    params: dict[str, str | dt.datetime] = {
        k: v[1] for k, v in OVERRIDES.items() if k != "ResponseExpires"
    }
    params["ResponseExpires"] = dt.datetime(2037, 10, 21, 7, 28, tzinfo=dt.UTC)
    resp = s3.get_object(Bucket=bucket, Key=key, **params)
    assert resp["Body"].read() == data
    hdrs = resp["ResponseMetadata"]["HTTPHeaders"]
    for header, value in OVERRIDES.values():
        assert hdrs.get(header) == value, (header, hdrs)


def test_response_overrides_presigned(
    s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime], server: ServerProcess
) -> None:
    bucket, key, data, *_ = obj
    url = s3.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": bucket,
            "Key": key,
            "ResponseContentType": "image/png",
            "ResponseContentDisposition": 'inline; filename="a b+c.png"',
        },
    )
    resp = requests.get(url, verify=server.cert)
    assert resp.status_code == 200, resp.text
    assert resp.content == data
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["Content-Disposition"] == 'inline; filename="a b+c.png"'


def test_head_missing_key_is_bare_404(s3: S3Client, bucket: str, server: ServerProcess) -> None:
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="missing")
    assert status_of(ei.value) == 404
    url = s3.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": "missing"})
    resp = requests.head(url, verify=server.cert)
    assert resp.status_code == 404
    assert resp.content == b""


def test_head_returns_metadata_without_body(
    s3: S3Client, obj: tuple[str, str, bytes, str, dt.datetime], server: ServerProcess
) -> None:
    bucket, key, data, tag, _ = obj
    url = s3.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": key})
    resp = requests.head(url, verify=server.cert)
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["Content-Length"] == str(len(data))
    assert resp.headers["ETag"] == tag == etag(data)
    assert "Last-Modified" in resp.headers
