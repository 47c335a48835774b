"""CopyObject: URL-encoded sources, directives, conditions, self-copy, cross-bucket."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from ._s3raw import RawClient, error_code, findtext, s3_quote, xml_root
from ._types import MakeBucket, S3Client, UniqueName
from ._util import TRICKY_KEYS, etag, rand, s3_error


@pytest.mark.parametrize("key", TRICKY_KEYS)
def test_copy_tricky_keys(s3: S3Client, bucket: str, key: str) -> None:
    data = rand(3000)
    s3.put_object(Bucket=bucket, Key=key, Body=data, Metadata={"src": "yes"})
    dest = key + ".copy"
    resp = s3.copy_object(Bucket=bucket, Key=dest, CopySource={"Bucket": bucket, "Key": key})
    assert resp["CopyObjectResult"]["ETag"] == etag(data)
    got = s3.get_object(Bucket=bucket, Key=dest)
    assert got["Body"].read() == data
    assert got["Metadata"] == {"src": "yes"}
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == sorted([key, dest])
    # and back onto a tricky destination from a plain source
    s3.copy_object(Bucket=bucket, Key=key + "2", CopySource=f"{bucket}/{key}")
    assert s3.get_object(Bucket=bucket, Key=key + "2")["Body"].read() == data


@pytest.mark.parametrize(
    "header",
    [
        "{bucket}/{qkey}",
        "/{bucket}/{qkey}",
        "{bucket}/{qkey}?versionId=null",
    ],
    ids=["no-slash", "leading-slash", "version-null"],
)
def test_copy_source_raw_encodings(raw: RawClient, s3: S3Client, bucket: str, header: str) -> None:
    key = "sp ace+plus=eq{b}é"
    s3.put_object(Bucket=bucket, Key=key, Body=b"raw copy")
    value = header.format(bucket=bucket, qkey=s3_quote(key))
    resp = raw.request("PUT", bucket, "dest", headers={"x-amz-copy-source": value})
    assert resp.status_code == 200, resp.text
    root = xml_root(resp.content)
    assert findtext(root, "ETag") == etag(b"raw copy")
    assert findtext(root, "LastModified")
    assert s3.get_object(Bucket=bucket, Key="dest")["Body"].read() == b"raw copy"


def test_copy_directive_copy_keeps_metadata(s3: S3Client, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket,
        Key="src",
        Body=b"abc",
        Metadata={"a": "1"},
        ContentType="text/plain",
        CacheControl="no-store",
        ContentDisposition="inline",
    )
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="COPY",
    )
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["Metadata"] == {"a": "1"}
    assert head["ContentType"] == "text/plain"
    assert head["CacheControl"] == "no-store"
    assert head["ContentDisposition"] == "inline"


def test_copy_directive_replace(s3: S3Client, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket,
        Key="src",
        Body=b"abc",
        Metadata={"a": "1", "b": "2"},
        ContentType="text/plain",
    )
    s3.copy_object(
        Bucket=bucket,
        Key="dst",
        CopySource={"Bucket": bucket, "Key": "src"},
        MetadataDirective="REPLACE",
        Metadata={"c": "3"},
        ContentType="application/json",
    )
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["Metadata"] == {"c": "3"}
    assert head["ContentType"] == "application/json"
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"abc"
    # the source is untouched
    src = s3.head_object(Bucket=bucket, Key="src")
    assert src["Metadata"] == {"a": "1", "b": "2"}
    assert src["ContentType"] == "text/plain"


def test_copy_invalid_directive(s3_noretry: S3Client, bucket: str) -> None:
    s3 = s3_noretry
    s3.put_object(Bucket=bucket, Key="src", Body=b"abc")
    with s3_error("InvalidArgument", 400):
        s3.copy_object(
            Bucket=bucket,
            Key="dst",
            CopySource={"Bucket": bucket, "Key": "src"},
            MetadataDirective="MOVE",
        )


def test_copy_onto_itself_without_change(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="self", Body=b"same", Metadata={"a": "1"})
    with s3_error("InvalidRequest", 400):
        s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"})
    with s3_error("InvalidRequest", 400):
        s3.copy_object(
            Bucket=bucket,
            Key="self",
            CopySource={"Bucket": bucket, "Key": "self"},
            MetadataDirective="COPY",
        )
    assert s3.head_object(Bucket=bucket, Key="self")["Metadata"] == {"a": "1"}


def test_copy_onto_itself_with_replace(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="self", Body=b"same", Metadata={"a": "1"})
    before = s3.head_object(Bucket=bucket, Key="self")
    time.sleep(1.1)
    s3.copy_object(
        Bucket=bucket,
        Key="self",
        CopySource={"Bucket": bucket, "Key": "self"},
        MetadataDirective="REPLACE",
        Metadata={"a": "2"},
    )
    after = s3.head_object(Bucket=bucket, Key="self")
    assert after["Metadata"] == {"a": "2"}
    assert after["ETag"] == before["ETag"]
    assert after["LastModified"] > before["LastModified"]
    assert s3.get_object(Bucket=bucket, Key="self")["Body"].read() == b"same"


def test_copy_cross_bucket(s3: S3Client, make_bucket: MakeBucket) -> None:
    b1, b2 = make_bucket(), make_bucket()
    data = rand(50_000)
    s3.put_object(Bucket=b1, Key="a/b c", Body=data, Metadata={"x": "y"})
    resp = s3.copy_object(Bucket=b2, Key="z/b c", CopySource={"Bucket": b1, "Key": "a/b c"})
    assert resp["CopyObjectResult"]["ETag"] == etag(data)
    got = s3.get_object(Bucket=b2, Key="z/b c")
    assert got["Body"].read() == data
    assert got["Metadata"] == {"x": "y"}
    # deleting the source leaves the copy intact (shared blobs must be reference counted)
    s3.delete_object(Bucket=b1, Key="a/b c")
    assert s3.get_object(Bucket=b2, Key="z/b c")["Body"].read() == data


def test_copy_then_overwrite_source(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"v1")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    s3.put_object(Bucket=bucket, Key="src", Body=b"v2")
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"v1"
    assert s3.get_object(Bucket=bucket, Key="src")["Body"].read() == b"v2"


def test_copy_missing_source(s3: S3Client, bucket: str, unique_name: UniqueName) -> None:
    with s3_error("NoSuchKey", 404):
        s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "missing"})
    with s3_error("NoSuchBucket", 404):
        s3.copy_object(
            Bucket=bucket, Key="d", CopySource={"Bucket": unique_name("nob"), "Key": "x"}
        )


def test_copy_to_missing_bucket(s3: S3Client, bucket: str, unique_name: UniqueName) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    with s3_error("NoSuchBucket", 404):
        s3.copy_object(
            Bucket=unique_name("nob"), Key="d", CopySource={"Bucket": bucket, "Key": "src"}
        )


def test_copy_malformed_source(raw: RawClient, bucket: str) -> None:
    resp = raw.request("PUT", bucket, "dest", headers={"x-amz-copy-source": "no-slash-here"})
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) in ("InvalidArgument", "InvalidRequest"), resp.text


@pytest.fixture
def src(s3: S3Client, bucket: str) -> tuple[str, str, dt.datetime]:
    s3.put_object(Bucket=bucket, Key="src", Body=b"conditional source")
    head = s3.head_object(Bucket=bucket, Key="src")
    return bucket, head["ETag"], head["LastModified"]


def _copy(s3: S3Client, bucket: str, **cond: Any) -> dict[str, Any]:
    resp: dict[str, Any] = s3.copy_object(
        Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"}, **cond
    )
    return resp


DAY = dt.timedelta(days=1)
WRONG = '"0123456789abcdef0123456789abcdef"'


def test_copy_source_if_match(s3: S3Client, src: tuple[str, str, dt.datetime]) -> None:
    bucket, tag, _ = src
    _copy(s3, bucket, CopySourceIfMatch=tag)
    with s3_error("PreconditionFailed", 412):
        _copy(s3, bucket, CopySourceIfMatch=WRONG)


def test_copy_source_if_none_match(s3: S3Client, src: tuple[str, str, dt.datetime]) -> None:
    bucket, tag, _ = src
    _copy(s3, bucket, CopySourceIfNoneMatch=WRONG)
    with s3_error("PreconditionFailed", 412):
        _copy(s3, bucket, CopySourceIfNoneMatch=tag)


def test_copy_source_if_modified_since(s3: S3Client, src: tuple[str, str, dt.datetime]) -> None:
    bucket, _, lm = src
    _copy(s3, bucket, CopySourceIfModifiedSince=lm - DAY)
    with s3_error("PreconditionFailed", 412):
        _copy(s3, bucket, CopySourceIfModifiedSince=lm)


def test_copy_source_if_unmodified_since(s3: S3Client, src: tuple[str, str, dt.datetime]) -> None:
    bucket, _, lm = src
    _copy(s3, bucket, CopySourceIfUnmodifiedSince=lm)
    with s3_error("PreconditionFailed", 412):
        _copy(s3, bucket, CopySourceIfUnmodifiedSince=lm - DAY)


def test_copy_source_precedence(s3: S3Client, src: tuple[str, str, dt.datetime]) -> None:
    bucket, tag, lm = src
    # if-match true + if-unmodified-since false -> copy happens
    _copy(s3, bucket, CopySourceIfMatch=tag, CopySourceIfUnmodifiedSince=lm - DAY)
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"conditional source"
    # if-none-match false + if-modified-since true -> 412
    with s3_error("PreconditionFailed", 412):
        _copy(s3, bucket, CopySourceIfNoneMatch=tag, CopySourceIfModifiedSince=lm - DAY)


def test_failed_copy_condition_leaves_destination(
    s3: S3Client, src: tuple[str, str, dt.datetime]
) -> None:
    bucket, *_ = src
    s3.put_object(Bucket=bucket, Key="dst", Body=b"existing")
    with s3_error("PreconditionFailed", 412):
        _copy(s3, bucket, CopySourceIfMatch=WRONG)
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"existing"
