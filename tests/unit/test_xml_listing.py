"""oortgate.xml.listing: each listing document, read back by botocore's own parser and
checked against the S3 model's shapes (ListBuckets, ListObjects, ListObjectsV2,
ListObjectVersions, ListParts, ListMultipartUploads)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from oortgate.meta.models import (
    Bucket,
    ObjectPage,
    ObjectRecord,
    Part,
    Upload,
    UploadPage,
    VersionPage,
)
from oortgate.xml import listing
from oortgate.xml.listing import Listing
from tests.unit._shapes import parsed, unknown_elements

T = 1_700_000_000.25
ETAG = "0123456789abcdef0123456789abcdef"
OWNERS: listing.Owners = {7: ("c0ffee", "alice"), None: ("65a011", "anonymous")}


def _record(key: str, **fields: Any) -> ObjectRecord:
    return ObjectRecord(1, key, None, 42, ETAG, T, owner_id=7, **fields)


PAGE = ObjectPage(
    [_record("a&b <c>"), _record("d", checksums={"CRC32": "AAAAAA=="}, storage_class="GLACIER")],
    ["photos/"],
    True,
    "photos/",
)
LAST_PAGE = ObjectPage([_record("z")], [], False, None)


def _listing(url: bool = False, delimiter: str = "/") -> Listing:
    return Listing("bkt", "", delimiter, 2, url)


def _clean(body: bytes, operation: str) -> dict[str, Any]:
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    assert unknown_elements(body, operation) == []
    return parsed(body, operation)


def test_list_objects_v2_as_botocore_reads_it() -> None:
    body = listing.list_objects_v2(
        _listing(), PAGE, None, token="prev", next_token="next", start_after="a"
    )
    out = _clean(body, "ListObjectsV2")
    assert {k: out[k] for k in ("Name", "Prefix", "Delimiter", "MaxKeys", "KeyCount")} == {
        "Name": "bkt", "Prefix": "", "Delimiter": "/", "MaxKeys": 2, "KeyCount": 3,
    }  # fmt: skip
    assert (out["IsTruncated"], out["ContinuationToken"], out["NextContinuationToken"]) == (
        True, "prev", "next",
    )  # fmt: skip
    assert out["StartAfter"] == "a"
    first, second = out["Contents"]
    assert first["Key"] == "a&b <c>" and first["ETag"] == f'"{ETAG}"' and first["Size"] == 42
    assert first["LastModified"].timestamp() == 1_700_000_000.25
    assert "Owner" not in first and "ChecksumAlgorithm" not in first
    assert first["StorageClass"] == "STANDARD"
    assert second["ChecksumAlgorithm"] == ["CRC32"] and second["ChecksumType"] == "FULL_OBJECT"
    assert second["StorageClass"] == "GLACIER"
    assert out["CommonPrefixes"] == [{"Prefix": "photos/"}]
    assert "EncodingType" not in out


def test_list_objects_v2_last_page_and_fetch_owner() -> None:
    body = listing.list_objects_v2(
        _listing(delimiter=""), LAST_PAGE, OWNERS, token=None, next_token=None, start_after=None
    )
    out = _clean(body, "ListObjectsV2")
    assert out["IsTruncated"] is False
    for absent in ("NextContinuationToken", "ContinuationToken", "StartAfter", "Delimiter"):
        assert absent not in out
    assert out["Contents"][0]["Owner"] == {"ID": "c0ffee", "DisplayName": "alice"}


def test_url_encoding_covers_keys_prefixes_and_the_delimiter() -> None:
    req = Listing("bkt", "a b/", "+", 2, True)
    page = ObjectPage([_record("a b/é+x")], ["a b/c+"], False, None)
    body = listing.list_objects_v2(req, page, None, token=None, next_token=None, start_after="a b")
    root = ET.fromstring(body)
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    assert root.findtext("s3:Contents/s3:Key", namespaces=ns) == "a+b/%C3%A9%2Bx"
    assert root.findtext("s3:Prefix", namespaces=ns) == "a+b/"
    assert root.findtext("s3:Delimiter", namespaces=ns) == "%2B"
    assert root.findtext("s3:StartAfter", namespaces=ns) == "a+b"
    assert root.findtext("s3:CommonPrefixes/s3:Prefix", namespaces=ns) == "a+b/c%2B"
    assert root.findtext("s3:EncodingType", namespaces=ns) == "url"
    assert unknown_elements(body, "ListObjectsV2") == []


def test_list_objects_v1() -> None:
    out = _clean(listing.list_objects(_listing(), "a", PAGE, OWNERS), "ListObjects")
    assert (out["Marker"], out["NextMarker"], out["MaxKeys"]) == ("a", "photos/", 2)
    assert [c["Owner"]["DisplayName"] for c in out["Contents"]] == ["alice", "alice"]
    assert "NextMarker" not in _clean(
        listing.list_objects(_listing(), "", LAST_PAGE, OWNERS), "ListObjects"
    )


VERSIONS = VersionPage(
    [(_record("a&b <c>", version_id="v2"), True), (_record("a&b <c>"), False),
     (_record("d", version_id="m1", delete_marker=True), True)],
    ["photos/"], True, "d", "m1",
)  # fmt: skip


def test_list_object_versions() -> None:
    body = listing.list_object_versions(
        _listing(), VERSIONS, OWNERS, key_marker="a", version_id_marker=""
    )
    out = _clean(body, "ListObjectVersions")
    assert (out["KeyMarker"], out["VersionIdMarker"]) == ("a", "")
    assert (out["NextKeyMarker"], out["NextVersionIdMarker"]) == ("d", "m1")
    first, second = out["Versions"]
    assert (first["Key"], first["VersionId"], first["IsLatest"]) == ("a&b <c>", "v2", True)
    assert (second["VersionId"], second["IsLatest"]) == ("null", False)
    assert first["Owner"] == {"ID": "c0ffee", "DisplayName": "alice"}
    assert first["ETag"] == f'"{ETAG}"' and first["Size"] == 42
    [marker] = out["DeleteMarkers"]
    assert (marker["Key"], marker["VersionId"], marker["IsLatest"]) == ("d", "m1", True)
    assert "ETag" not in marker and "Size" not in marker
    assert out["CommonPrefixes"] == [{"Prefix": "photos/"}]
    prefix_last = VersionPage([], ["photos/"], True, "photos/", None)
    body = listing.list_object_versions(_listing(), prefix_last, OWNERS, key_marker="",
                                        version_id_marker="")  # fmt: skip
    out = _clean(body, "ListObjectVersions")
    assert out["NextKeyMarker"] == "photos/" and "NextVersionIdMarker" not in out


def test_version_entries_read_back_in_order() -> None:
    body = listing.list_object_versions(
        _listing(), VERSIONS, OWNERS, key_marker="", version_id_marker=""
    )
    stamp = "2023-11-14T22:13:20.250Z"
    assert listing.parse_version_entries(body) == [
        listing.ListedVersion("a&b <c>", "v2", True, False, stamp, 42, ETAG),
        listing.ListedVersion("a&b <c>", "null", False, False, stamp, 42, ETAG),
        listing.ListedVersion("d", "m1", True, True, stamp, 0, ""),
    ]


@pytest.mark.parametrize("token", [None, "tok"])
def test_list_buckets(token: str | None) -> None:
    buckets = [Bucket(1, "one", 7, "us-east-1", T), Bucket(2, "two", 7, "us-east-1", T)]
    body = listing.list_buckets(buckets, "eu-1", ("c0ffee", "alice"), token=token, prefix="t")
    out = _clean(body, "ListBuckets")
    assert [b["Name"] for b in out["Buckets"]] == ["one", "two"]
    assert out["Buckets"][0]["BucketRegion"] == "eu-1"
    assert out["Buckets"][0]["CreationDate"].timestamp() == T
    assert out["Owner"] == {"ID": "c0ffee", "DisplayName": "alice"}
    assert out.get("ContinuationToken") == token and out["Prefix"] == "t"
    empty = listing.list_buckets([], "eu-1", ("c0ffee", "alice"), token=None, prefix="")
    assert b"<Buckets/>" in empty and "Prefix" not in _clean(empty, "ListBuckets")


def _upload(algorithm: str | None = "CRC32") -> Upload:
    kind = "COMPOSITE" if algorithm else None
    return Upload("up1", 1, "k&y", T, checksum_algorithm=algorithm, checksum_type=kind,
                  owner_id=7)  # fmt: skip


def test_list_parts() -> None:
    parts = [Part(1, "b1", 5, ETAG, T, "AAAAAA=="), Part(3, "b3", 1, ETAG, T)]
    body = listing.list_parts(
        "bkt", _upload(), parts, ("c0ffee", "alice"), marker=0, max_parts=2, truncated=True
    )
    out = _clean(body, "ListParts")
    assert (out["Bucket"], out["Key"], out["UploadId"]) == ("bkt", "k&y", "up1")
    assert (out["PartNumberMarker"], out["NextPartNumberMarker"], out["MaxParts"]) == (0, 3, 2)
    assert out["IsTruncated"] is True
    first, second = out["Parts"]
    assert (first["PartNumber"], first["Size"], first["ChecksumCRC32"]) == (1, 5, "AAAAAA==")
    assert "ChecksumCRC32" not in second and second["ETag"] == f'"{ETAG}"'
    assert out["Initiator"] == out["Owner"] == {"ID": "c0ffee", "DisplayName": "alice"}
    assert (out["ChecksumAlgorithm"], out["ChecksumType"]) == ("CRC32", "COMPOSITE")
    bare = _clean(listing.list_parts("bkt", _upload(None), [], ("c", "a"), marker=0,
                                     max_parts=2, truncated=False), "ListParts")  # fmt: skip
    assert "NextPartNumberMarker" not in bare and "ChecksumAlgorithm" not in bare


def test_list_multipart_uploads() -> None:
    page = UploadPage([_upload(), _upload(None)], ["dir/"], True, "k&y", "up1")
    body = listing.list_multipart_uploads(
        Listing("bkt", "", "/", 2, False), page, OWNERS, key_marker="", upload_id_marker=""
    )
    out = _clean(body, "ListMultipartUploads")
    assert (out["Bucket"], out["MaxUploads"], out["IsTruncated"]) == ("bkt", 2, True)
    assert (out["NextKeyMarker"], out["NextUploadIdMarker"]) == ("k&y", "up1")
    first, second = out["Uploads"]
    assert (first["Key"], first["UploadId"], first["StorageClass"]) == ("k&y", "up1", "STANDARD")
    assert first["Initiator"] == first["Owner"] == {"ID": "c0ffee", "DisplayName": "alice"}
    assert first["Initiated"].timestamp() == T and first["ChecksumAlgorithm"] == "CRC32"
    assert "ChecksumAlgorithm" not in second
    assert out["CommonPrefixes"] == [{"Prefix": "dir/"}]


def test_the_shape_check_sees_a_misspelt_element() -> None:
    body = listing.list_objects_v2(
        _listing(), PAGE, None, token=None, next_token="n", start_after=None
    )
    wrong = body.replace(b"KeyCount>", b"KeyCounts>").replace(b"<Size>", b"<Sise>")
    wrong = wrong.replace(b"</Size>", b"</Sise>")
    assert unknown_elements(wrong, "ListObjectsV2") == [
        "ListBucketResult/KeyCounts", "ListBucketResult/Contents/Sise",
        "ListBucketResult/Contents/Sise",
    ]  # fmt: skip


def test_url_encoding_a_key_is_quote_plus_whatever_the_characters() -> None:
    # The plain-key shortcut must give exactly what quote_plus(safe="/") gives.
    from urllib.parse import quote_plus

    from oortgate.xml.listing import _url_encoded

    for code in [*range(0x250), 0x2603, 0x1F600]:
        for value in (chr(code), f"a{chr(code)}b/{chr(code)}", f"dir/{chr(code)}.txt"):
            assert _url_encoded(value) == quote_plus(value, safe="/"), repr(value)
    assert _url_encoded("l/0001_a-b.c~d") == "l/0001_a-b.c~d"
