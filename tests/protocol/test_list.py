"""ListObjects (v1), ListObjectsV2, ListObjectVersions, GetBucketVersioning."""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import pytest

from ._s3raw import RawClient, error_code, findall, findtext, xml_root
from ._server import ServerProcess
from ._types import ClientFor, S3Client, UniqueName
from ._util import s3_error

BIG_FLAT = [f"k{i:05d}" for i in range(2400)]
BIG_DIRS = [f"d{j:02d}/f{n}" for j in range(20) for n in range(5)]
BIG_KEYS = sorted(BIG_FLAT + BIG_DIRS)


@pytest.fixture(scope="module")
def big_bucket(
    s3: S3Client, unique_name: UniqueName, client_for: ClientFor, server: ServerProcess
) -> Iterator[str]:
    """A bucket with 2,500 keys, shared by the paging tests of this module."""
    name = unique_name("big")
    s3.create_bucket(Bucket=name)
    uploader = client_for(server.root_access_key, server.root_secret_key, max_pool_connections=16)

    def put(key: str) -> None:
        uploader.put_object(Bucket=name, Key=key, Body=key.encode())

    with cf.ThreadPoolExecutor(12) as ex:
        list(ex.map(put, BIG_KEYS))
    yield name
    from .conftest import empty_and_delete

    empty_and_delete(s3, name)


def _v2_all(s3: S3Client, bucket: str, **kw: Any) -> list[dict[str, Any]]:
    pages, token = [], None
    while True:
        args = dict(kw, Bucket=bucket)
        if token:
            args["ContinuationToken"] = token
        resp = s3.list_objects_v2(**args)
        pages.append(resp)
        if not resp["IsTruncated"]:
            assert "NextContinuationToken" not in resp
            return pages
        token = resp["NextContinuationToken"]
        assert token
        assert len(pages) < 1000


def _v1_all(s3: S3Client, bucket: str, **kw: Any) -> list[dict[str, Any]]:
    pages, marker = [], None
    while True:
        args = dict(kw, Bucket=bucket)
        if marker:
            args["Marker"] = marker
        resp = s3.list_objects(**args)
        pages.append(resp)
        if not resp["IsTruncated"]:
            return pages
        if "Delimiter" in kw:
            assert resp.get("NextMarker"), "NextMarker must be returned with a delimiter"
            marker = resp["NextMarker"]
        else:
            marker = resp.get("NextMarker") or resp["Contents"][-1]["Key"]
        assert len(pages) < 1000


# ------------------------------------------------------------------------- paging
@pytest.mark.parametrize("page", [1000, 7])
def test_v2_paging_2500(s3: S3Client, big_bucket: str, page: int) -> None:
    pages = _v2_all(s3, big_bucket, MaxKeys=page)
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert keys == BIG_KEYS
    assert len(pages) == -(-len(BIG_KEYS) // page)
    for p in pages:
        assert p["KeyCount"] == len(p.get("Contents", []))
        assert p["MaxKeys"] == page
    assert pages[-1]["IsTruncated"] is False


@pytest.mark.parametrize("page", [1000, 7])
def test_v1_paging_2500(s3: S3Client, big_bucket: str, page: int) -> None:
    pages = _v1_all(s3, big_bucket, MaxKeys=page)
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert keys == BIG_KEYS
    assert len(pages) == -(-len(BIG_KEYS) // page)


def test_v2_default_and_capped_max_keys(s3: S3Client, big_bucket: str) -> None:
    resp = s3.list_objects_v2(Bucket=big_bucket)
    assert resp["KeyCount"] == 1000
    assert resp["IsTruncated"] is True
    resp = s3.list_objects_v2(Bucket=big_bucket, MaxKeys=5000)
    assert resp["KeyCount"] == 1000
    assert resp["IsTruncated"] is True


def test_v2_paging_with_delimiter(s3: S3Client, big_bucket: str) -> None:
    pages = _v2_all(s3, big_bucket, MaxKeys=7, Delimiter="/")
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    assert keys == BIG_FLAT
    assert prefixes == [f"d{j:02d}/" for j in range(20)]
    for p in pages:
        n = len(p.get("Contents", [])) + len(p.get("CommonPrefixes", []))
        assert p["KeyCount"] == n
        assert n <= 7


def test_v1_paging_with_delimiter(s3: S3Client, big_bucket: str) -> None:
    pages = _v1_all(s3, big_bucket, MaxKeys=7, Delimiter="/")
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    assert keys == BIG_FLAT
    assert prefixes == [f"d{j:02d}/" for j in range(20)]


def test_v2_start_after_and_prefix_on_big(s3: S3Client, big_bucket: str) -> None:
    resp = s3.list_objects_v2(Bucket=big_bucket, StartAfter="k02397")
    assert [o["Key"] for o in resp["Contents"]] == ["k02398", "k02399"]
    assert resp["StartAfter"] == "k02397"
    resp = s3.list_objects_v2(Bucket=big_bucket, Prefix="k0012")
    assert [o["Key"] for o in resp["Contents"]] == [f"k0012{i}" for i in range(10)]


# ------------------------------------------------------------------------- small listings
@pytest.fixture
def tree(s3: S3Client, bucket: str) -> tuple[str, list[str]]:
    keys = ["a/1", "a/2", "b/1", "b/sub/2", "c", "d", "e/"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    return bucket, keys


def test_v2_fields(s3: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, keys = tree
    resp = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in resp["Contents"]] == sorted(keys)
    assert resp["KeyCount"] == len(keys)
    assert resp["IsTruncated"] is False
    assert "NextContinuationToken" not in resp
    assert resp["Name"] == bucket
    assert resp["MaxKeys"] == 1000
    o = resp["Contents"][0]
    assert o["Size"] == len(b"a/1")
    assert o["ETag"].startswith('"') and len(o["ETag"]) == 34
    assert o["StorageClass"] == "STANDARD"
    assert "LastModified" in o
    assert "Owner" not in o  # only with FetchOwner


def test_v2_fetch_owner(s3: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, _ = tree
    resp = s3.list_objects_v2(Bucket=bucket, FetchOwner=True)
    for o in resp["Contents"]:
        assert o["Owner"]["DisplayName"] == "root"
        assert o["Owner"]["ID"]
    owner_id = s3.list_buckets()["Owner"]["ID"]
    assert resp["Contents"][0]["Owner"]["ID"] == owner_id


def test_v2_delimiter_keycount(s3: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, _ = tree
    resp = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == ["c", "d"]
    assert [c["Prefix"] for c in resp["CommonPrefixes"]] == ["a/", "b/", "e/"]
    assert resp["KeyCount"] == 5
    assert resp["Delimiter"] == "/"


def test_v2_prefix_and_delimiter(s3: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, _ = tree
    resp = s3.list_objects_v2(Bucket=bucket, Prefix="b/", Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == ["b/1"]
    assert [c["Prefix"] for c in resp["CommonPrefixes"]] == ["b/sub/"]
    assert resp["Prefix"] == "b/"
    assert resp["KeyCount"] == 2
    resp = s3.list_objects_v2(Bucket=bucket, Prefix="e/", Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == ["e/"]


def test_v2_max_keys_counts_prefixes(s3: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, _ = tree
    resp = s3.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=2)
    assert [c["Prefix"] for c in resp["CommonPrefixes"]] == ["a/", "b/"]
    assert "Contents" not in resp
    assert resp["KeyCount"] == 2
    assert resp["IsTruncated"] is True
    resp2 = s3.list_objects_v2(
        Bucket=bucket, Delimiter="/", MaxKeys=2, ContinuationToken=resp["NextContinuationToken"]
    )
    assert [o["Key"] for o in resp2.get("Contents", [])] == ["c", "d"]
    assert [c["Prefix"] for c in resp2.get("CommonPrefixes", [])] == []
    assert resp2["KeyCount"] == 2
    assert resp2["IsTruncated"] is True
    assert resp2["ContinuationToken"] == resp["NextContinuationToken"]
    resp3 = s3.list_objects_v2(
        Bucket=bucket, Delimiter="/", MaxKeys=2, ContinuationToken=resp2["NextContinuationToken"]
    )
    assert [c["Prefix"] for c in resp3["CommonPrefixes"]] == ["e/"]
    assert resp3["KeyCount"] == 1
    assert resp3["IsTruncated"] is False
    assert "NextContinuationToken" not in resp3


def test_v2_exact_page_has_no_token(s3: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, keys = tree
    resp = s3.list_objects_v2(Bucket=bucket, MaxKeys=len(keys))
    assert resp["KeyCount"] == len(keys)
    assert resp["IsTruncated"] is False
    assert "NextContinuationToken" not in resp


def test_v2_start_after(s3: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, _ = tree
    resp = s3.list_objects_v2(Bucket=bucket, StartAfter="b/1")
    assert [o["Key"] for o in resp["Contents"]] == ["b/sub/2", "c", "d", "e/"]
    resp = s3.list_objects_v2(Bucket=bucket, StartAfter="zzz")
    assert resp["KeyCount"] == 0
    assert "Contents" not in resp


def test_v2_empty_bucket(s3: S3Client, bucket: str) -> None:
    resp = s3.list_objects_v2(Bucket=bucket)
    assert resp["KeyCount"] == 0
    assert resp["IsTruncated"] is False
    assert "Contents" not in resp


def test_v2_invalid_continuation_token(s3_noretry: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, _ = tree
    with s3_error("InvalidArgument", 400):
        s3_noretry.list_objects_v2(Bucket=bucket, ContinuationToken="!!not-a-token!!")


def test_v1_marker_and_next_marker(s3: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, _ = tree
    resp = s3.list_objects(Bucket=bucket, Marker="b/1")
    assert [o["Key"] for o in resp["Contents"]] == ["b/sub/2", "c", "d", "e/"]
    assert resp["Marker"] == "b/1"
    resp = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert [o["Key"] for o in resp["Contents"]] == ["a/1", "a/2"]
    assert resp["IsTruncated"] is True
    for o in resp["Contents"]:
        assert o["Owner"]["ID"]
    # with a delimiter, NextMarker is returned: the last key or common prefix
    resp = s3.list_objects(Bucket=bucket, MaxKeys=3, Delimiter="/")
    assert [c["Prefix"] for c in resp["CommonPrefixes"]] == ["a/", "b/"]
    assert [o["Key"] for o in resp["Contents"]] == ["c"]
    assert resp["IsTruncated"] is True
    assert resp["NextMarker"] == "c"
    resp = s3.list_objects(Bucket=bucket, MaxKeys=1, Delimiter="/")
    assert resp["NextMarker"] == "a/"
    # continuing after a common prefix skips everything under it
    resp = s3.list_objects(Bucket=bucket, MaxKeys=1, Delimiter="/", Marker="a/")
    assert [c["Prefix"] for c in resp.get("CommonPrefixes", [])] == ["b/"]
    assert resp.get("Contents", []) == []
    assert resp["NextMarker"] == "b/"


def test_v1_paging_delimiter_no_duplicates(s3: S3Client, tree: tuple[str, list[str]]) -> None:
    bucket, _ = tree
    pages = _v1_all(s3, bucket, MaxKeys=1, Delimiter="/")
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    prefixes = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
    assert keys == ["c", "d"]
    assert prefixes == ["a/", "b/", "e/"]


# ------------------------------------------------------------------------- encoding-type=url
ENC_KEYS = ["enc dir/a b+c=d%é&<>", "enc dir/sub dir/x y", "enc dir/zz\u00fc?#", "enc dir/a"]


def _assert_url_encoded(text: str | None, original: str) -> None:
    assert text is not None
    assert text.isascii(), text
    assert " " not in text and "&" not in text and "<" not in text, text
    assert unquote_plus(text) == original, (text, original)


def test_v2_encoding_type_url_raw(s3: S3Client, raw: RawClient, bucket: str) -> None:
    for k in ENC_KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    resp = raw.request(
        "GET",
        bucket,
        query=[
            ("list-type", "2"),
            ("encoding-type", "url"),
            ("prefix", "enc dir/"),
            ("delimiter", "/"),
            ("start-after", "enc dir/a"),
        ],
    )
    assert resp.status_code == 200, resp.text
    root = xml_root(resp.content)
    assert findtext(root, "EncodingType") == "url"
    keys = [findtext(c, "Key") for c in findall(root, "Contents")]
    expected_keys = ["enc dir/a b+c=d%é&<>", "enc dir/zz\u00fc?#"]
    assert len(keys) == len(expected_keys)
    for got, want in zip(keys, expected_keys, strict=True):
        _assert_url_encoded(got, want)
    prefixes = [findtext(c, "Prefix") for c in findall(root, "CommonPrefixes")]
    assert len(prefixes) == 1
    _assert_url_encoded(prefixes[0], "enc dir/sub dir/")
    _assert_url_encoded(findtext(root, "Prefix"), "enc dir/")
    _assert_url_encoded(findtext(root, "StartAfter"), "enc dir/a")
    _assert_url_encoded(findtext(root, "Delimiter"), "/")
    assert findtext(root, "KeyCount") == "3"


def test_v1_encoding_type_url_raw(s3: S3Client, raw: RawClient, bucket: str) -> None:
    for k in ENC_KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    resp = raw.request(
        "GET",
        bucket,
        query=[
            ("encoding-type", "url"),
            ("prefix", "enc dir/"),
            ("delimiter", "/"),
            ("marker", "enc dir/a"),
            ("max-keys", "1"),
        ],
    )
    assert resp.status_code == 200, resp.text
    root = xml_root(resp.content)
    keys = [findtext(c, "Key") for c in findall(root, "Contents")]
    assert len(keys) == 1
    _assert_url_encoded(keys[0], "enc dir/a b+c=d%é&<>")
    _assert_url_encoded(findtext(root, "Prefix"), "enc dir/")
    _assert_url_encoded(findtext(root, "Marker"), "enc dir/a")
    _assert_url_encoded(findtext(root, "NextMarker"), "enc dir/a b+c=d%é&<>")


def test_list_without_encoding_type_is_plain_xml(s3: S3Client, raw: RawClient, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="plain a+b&c", Body=b"x")
    resp = raw.request("GET", bucket, query=[("list-type", "2")])
    assert resp.status_code == 200
    root = xml_root(resp.content)
    assert [findtext(c, "Key") for c in findall(root, "Contents")] == ["plain a+b&c"]


def test_boto3_decodes_url_encoded_keys(s3: S3Client, bucket: str) -> None:
    for k in ENC_KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    resp = s3.list_objects_v2(Bucket=bucket, Prefix="enc dir/", Delimiter="/")
    assert [o["Key"] for o in resp["Contents"]] == sorted(k for k in ENC_KEYS if k.count("/") == 1)
    assert [c["Prefix"] for c in resp["CommonPrefixes"]] == ["enc dir/sub dir/"]
    resp = s3.list_objects(Bucket=bucket, Prefix="enc dir/")
    assert [o["Key"] for o in resp["Contents"]] == sorted(ENC_KEYS)


def test_invalid_encoding_type(raw: RawClient, bucket: str) -> None:
    resp = raw.request("GET", bucket, query=[("list-type", "2"), ("encoding-type", "base64")])
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "InvalidArgument", resp.text


def test_url_encoding_is_the_form_aws_sends(s3: S3Client, raw: RawClient, bucket: str) -> None:
    """A space as "+", a "+" as %2B, "%" as %25, UTF-8 percent-encoded, "/" kept: two
    keys that differ only by " " and "+" stay distinct for a client that decodes."""
    for k in ("form/a b", "form/a+b", "form/100%", "form/\u00e9&"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    for query in ([], [("list-type", "2")], [("versions", "")]):
        q = [*query, ("encoding-type", "url"), ("prefix", "form/")]
        root = xml_root(raw.request("GET", bucket, query=q).content)
        entries = findall(root, "Version") or findall(root, "Contents")
        keys = [findtext(e, "Key") for e in entries]
        assert keys == ["form/100%25", "form/a+b", "form/a%2Bb", "form/%C3%A9%26"], query


# Keys with spaces, "+", "%", "&", unicode and XML specials under a prefix that has some.
RAW_KEYS = ["p +%&é/a b", "p +%&é/a+b", "p +%&é/d&r/x", "p +%&é/d&r/y", "p +%&é/z%<>"]
RAW_PREFIX = "p +%&é/"


@pytest.fixture
def raw_keys(s3: S3Client, bucket: str) -> str:
    for k in RAW_KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    return bucket


def test_boto3_v1_values_come_back_raw(s3: S3Client, raw_keys: str) -> None:
    """boto3 asks for encoding-type=url by itself and decodes Key, Marker, NextMarker,
    Delimiter and CommonPrefixes: all of them come back as the client wrote them."""
    bucket = raw_keys
    entries, prefixes, marker = [], [], ""
    while True:
        resp = s3.list_objects(
            Bucket=bucket, Prefix=RAW_PREFIX, Delimiter="&", Marker=marker, MaxKeys=1
        )
        assert resp["EncodingType"] == "url"
        assert resp["Marker"] == marker
        assert resp["Delimiter"] == "&"
        # AWS encodes v1's Prefix too (its documentation; the Java SDKs decode it), but
        # botocore does not decode that one element: against AWS boto3 shows it encoded.
        assert resp["Prefix"] == quote_plus(RAW_PREFIX, safe="/") == "p+%2B%25%26%C3%A9/"
        entries += [o["Key"] for o in resp.get("Contents", [])]
        prefixes += [c["Prefix"] for c in resp.get("CommonPrefixes", [])]
        if not resp["IsTruncated"]:
            break
        marker = resp["NextMarker"]
        assert marker in entries + prefixes
    assert entries == ["p +%&é/a b", "p +%&é/a+b", "p +%&é/z%<>"]
    assert prefixes == ["p +%&é/d&"]


def test_boto3_v2_and_versions_values_come_back_raw(s3: S3Client, raw_keys: str) -> None:
    bucket = raw_keys
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=RAW_PREFIX, Delimiter="&", StartAfter="p +%&é/a b",
        PaginationConfig={"PageSize": 1},
    )  # fmt: skip
    keys, prefixes = [], []
    for page in pages:
        assert (page["Prefix"], page["Delimiter"]) == (RAW_PREFIX, "&")
        assert page["StartAfter"] == "p +%&é/a b"
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [c["Prefix"] for c in page.get("CommonPrefixes", [])]
    assert keys == ["p +%&é/a+b", "p +%&é/z%<>"]
    assert prefixes == ["p +%&é/d&"]

    seen: list[str] = []
    kw: dict[str, str] = {}
    while True:
        resp = s3.list_object_versions(Bucket=bucket, Prefix=RAW_PREFIX, MaxKeys=2, **kw)
        assert resp["Prefix"] == RAW_PREFIX
        assert resp["KeyMarker"] == kw.get("KeyMarker", "")
        seen += [v["Key"] for v in resp.get("Versions", [])]
        if not resp["IsTruncated"]:
            break
        kw = {"KeyMarker": resp["NextKeyMarker"], "VersionIdMarker": "null"}
        assert kw["KeyMarker"] == seen[-1]
    assert seen == RAW_KEYS


# ------------------------------------------------------------------------- versions
def test_get_bucket_versioning_unversioned(s3: S3Client, bucket: str) -> None:
    resp = s3.get_bucket_versioning(Bucket=bucket)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Status" not in resp
    assert "MFADelete" not in resp


def test_list_object_versions_null(s3: S3Client, bucket: str) -> None:
    for k in ("a", "b/c", "d e"):
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    resp = s3.list_object_versions(Bucket=bucket)
    versions = resp["Versions"]
    assert [v["Key"] for v in versions] == ["a", "b/c", "d e"]
    for v in versions:
        assert v["VersionId"] == "null"
        assert v["IsLatest"] is True
        assert v["Size"] == len(v["Key"])
        assert v["ETag"].startswith('"')
    assert resp.get("DeleteMarkers", []) == []
    resp = s3.list_object_versions(Bucket=bucket, Prefix="b/")
    assert [v["Key"] for v in resp["Versions"]] == ["b/c"]
    resp = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [v["Key"] for v in resp["Versions"]] == ["a", "d e"]
    assert [c["Prefix"] for c in resp["CommonPrefixes"]] == ["b/"]


def test_list_object_versions_paging(s3: S3Client, bucket: str) -> None:
    keys = [f"v{i:02d}" for i in range(5)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    seen: list[str] = []
    kw: dict[str, str] = {}
    while True:
        resp = s3.list_object_versions(Bucket=bucket, MaxKeys=2, **kw)
        seen += [v["Key"] for v in resp.get("Versions", [])]
        if not resp["IsTruncated"]:
            break
        kw = {
            "KeyMarker": resp["NextKeyMarker"],
            "VersionIdMarker": resp.get("NextVersionIdMarker", "null"),
        }
        assert len(seen) <= 5
    assert seen == keys


def test_version_id_null_on_get_and_head(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="v", Body=b"versioned?")
    assert s3.get_object(Bucket=bucket, Key="v", VersionId="null")["Body"].read() == b"versioned?"
    assert s3.head_object(Bucket=bucket, Key="v", VersionId="null")["ContentLength"] == 10
