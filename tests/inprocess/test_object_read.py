"""ops/object_read.py (with conditions.py and ranges.py): GetObject and HeadObject."""

from __future__ import annotations

import hashlib

import pytest

from ._client import Client

SMALL = b"0123456789abcdef"  # stored inline
LARGE = bytes(range(256)) * 200  # 51,200 bytes: past inline_max_size, stored as a blob
OLD = "Mon, 01 Jan 2001 00:00:00 GMT"
FUTURE = "Fri, 01 Jan 2100 00:00:00 GMT"


@pytest.fixture(params=["inline", "blob"])
def stored(request: pytest.FixtureRequest, owner: Client, bucket: str) -> bytes:
    data = SMALL if request.param == "inline" else LARGE
    reply = owner.put(bucket, "obj", data, content_type="text/plain", x_amz_meta_colour="blue")
    assert reply.status == 200
    return data


def test_get_returns_the_bytes_and_stored_headers(
    owner: Client, bucket: str, stored: bytes
) -> None:
    reply = owner.get(bucket, "obj")
    assert reply.status == 200
    assert reply.body == stored
    assert reply.headers["etag"] == f'"{hashlib.md5(stored).hexdigest()}"'
    assert reply.headers["content-length"] == str(len(stored))
    assert reply.headers["content-type"] == "text/plain"
    assert reply.headers["x-amz-meta-colour"] == "blue"
    assert reply.headers["accept-ranges"] == "bytes"


def test_head_has_the_headers_and_no_body(owner: Client, bucket: str, stored: bytes) -> None:
    reply = owner.request("HEAD", f"/{bucket}/obj")
    assert reply.status == 200
    assert reply.body == b""
    assert reply.headers["content-length"] == str(len(stored))


@pytest.mark.parametrize(("spec", "first", "last"), [("bytes=2-5", 2, 5), ("bytes=-4", -4, None),
                                                     ("bytes=10-", 10, None)])  # fmt: skip
def test_ranges(
    owner: Client, bucket: str, stored: bytes, spec: str, first: int, last: int | None
) -> None:
    reply = owner.get(bucket, "obj", range=spec)
    assert reply.status == 206
    want = stored[first : None if last is None else last + 1]
    assert reply.body == want
    start = first % len(stored)
    assert reply.headers["content-range"] == (
        f"bytes {start}-{start + len(want) - 1}/{len(stored)}"
    )


def test_unsatisfiable_range(owner: Client, bucket: str, stored: bytes) -> None:
    reply = owner.get(bucket, "obj", range=f"bytes={len(stored)}-")
    assert reply.error == (416, "InvalidRange")


def test_conditions(owner: Client, bucket: str, stored: bytes) -> None:
    etag = owner.request("HEAD", f"/{bucket}/obj").headers["etag"]
    assert owner.get(bucket, "obj", if_match=etag).status == 200
    assert owner.get(bucket, "obj", if_match='"nope"').error == (412, "PreconditionFailed")
    not_modified = owner.get(bucket, "obj", if_none_match=etag)
    assert (not_modified.status, not_modified.body) == (304, b"")
    assert not_modified.headers["etag"] == etag
    assert owner.get(bucket, "obj", if_modified_since=FUTURE).status == 304
    assert owner.get(bucket, "obj", if_modified_since=OLD).status == 200
    assert owner.get(bucket, "obj", if_unmodified_since=OLD).status == 412
    # AWS: If-Match true wins over If-Unmodified-Since false.
    assert owner.get(bucket, "obj", if_match=etag, if_unmodified_since=OLD).status == 200


def test_response_overrides(owner: Client, bucket: str, stored: bytes) -> None:
    query = "response-content-type=application/x-test&response-cache-control=no-store"
    reply = owner.get(bucket, "obj", query)
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/x-test"
    assert reply.headers["cache-control"] == "no-store"
    bad = owner.get(bucket, "obj", "response-content-type=a\x01b")
    assert bad.error == (400, "InvalidArgument")


def test_part_number_of_a_plain_object(owner: Client, bucket: str, stored: bytes) -> None:
    assert owner.get(bucket, "obj", "partNumber=1").body == stored
    assert owner.get(bucket, "obj", "partNumber=2").error == (416, "InvalidPartNumber")


def test_missing_keys_and_buckets(owner: Client, bucket: str) -> None:
    assert owner.get(bucket, "absent").error == (404, "NoSuchKey")
    assert owner.get("nobucket", "absent").error == (404, "NoSuchBucket")
    assert owner.request("HEAD", f"/{bucket}/absent").status == 404


def test_reads_need_permission(other: Client, anon: Client, bucket: str, stored: bytes) -> None:
    assert other.get(bucket, "obj").error == (403, "AccessDenied")
    assert anon.get(bucket, "obj").error == (403, "AccessDenied")
    assert other.get(bucket, "absent").error == (403, "AccessDenied")  # cannot list: no 404
