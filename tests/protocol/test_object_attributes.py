"""GetObjectAttributes (GET /bucket/key?attributes): ETag, Checksum, ObjectParts,
StorageClass and ObjectSize of single-part and multipart objects, parts paging, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ._s3raw import error_code
from ._util import s3_error

ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
MiB = 1 << 20
PART_DATA = {1: b"a" * (5 * MiB), 3: b"b" * (5 * MiB), 7: b"c" * 1234}


def attributes(s3: Any, bucket: str, key: str, names: list[str], **kw: Any) -> Any:
    return s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=names, **kw)


def multipart(s3: Any, bucket: str, key: str, algorithm: str | None) -> tuple[Any, list[Any]]:
    """Parts 1, 3 and 7 (numbers need not be consecutive); returns the Complete response
    and the UploadPart responses."""
    extra = {"ChecksumAlgorithm": algorithm} if algorithm else {}
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
    uploaded = [
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=n, Body=data, **extra)
        for n, data in PART_DATA.items()
    ]
    listed = [
        {"PartNumber": n, "ETag": resp["ETag"]}
        | ({f"Checksum{algorithm}": resp[f"Checksum{algorithm}"]} if algorithm else {})
        for n, resp in zip(PART_DATA, uploaded, strict=True)
    ]
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
    )
    return done, uploaded


def test_single_part_object(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="one", Body=b"hello world", ChecksumAlgorithm="SHA256")
    got = attributes(s3, bucket, "one", ALL)
    assert got["ETag"] == put["ETag"].strip('"')  # the body's ETag has no quotes
    assert got["ObjectSize"] == 11
    assert got["StorageClass"] == "STANDARD"
    checksum = {"ChecksumSHA256": put["ChecksumSHA256"], "ChecksumType": "FULL_OBJECT"}
    assert got["Checksum"] == checksum
    assert "ObjectParts" not in got  # not a multipart object
    assert got["LastModified"] == s3.head_object(Bucket=bucket, Key="one")["LastModified"]
    # Only what was asked for.
    only = attributes(s3, bucket, "one", ["ObjectSize"], VersionId="null")
    assert only["ObjectSize"] == 11
    assert not {"ETag", "Checksum", "StorageClass", "ObjectParts"} & set(only)


def test_object_without_checksum_has_no_checksum_element(s3: Any, raw: Any, bucket: str) -> None:
    assert raw.request("PUT", bucket, "plain", body=b"abc").status_code == 200
    got = attributes(s3, bucket, "plain", ["Checksum", "ETag"])
    assert "Checksum" not in got
    assert got["ETag"] == "900150983cd24fb0d6963f7d28e17f72"


def test_multipart_composite_parts_paged(s3: Any, bucket: str) -> None:
    done, uploaded = multipart(s3, bucket, "mp", "CRC32")
    got = attributes(s3, bucket, "mp", ALL)
    assert got["ETag"] == done["ETag"].strip('"')
    assert got["ObjectSize"] == sum(len(d) for d in PART_DATA.values())
    # The composite checksum without its "-3" part count, as AWS shows it here.
    assert got["Checksum"] == {
        "ChecksumCRC32": done["ChecksumCRC32"].split("-")[0],
        "ChecksumType": "COMPOSITE",
    }
    parts = got["ObjectParts"]
    assert parts["TotalPartsCount"] == 3
    assert (parts["PartNumberMarker"], parts["MaxParts"], parts["IsTruncated"]) == (0, 1000, False)
    assert parts["NextPartNumberMarker"] == 7
    expected = [
        {"PartNumber": n, "Size": len(data), "ChecksumCRC32": resp["ChecksumCRC32"]}
        for (n, data), resp in zip(PART_DATA.items(), uploaded, strict=True)
    ]
    assert parts["Parts"] == expected

    pages, marker = [], 0
    while True:
        page = attributes(s3, bucket, "mp", ["ObjectParts"], MaxParts=1,
                          PartNumberMarker=marker)["ObjectParts"]  # fmt: skip
        assert (page["TotalPartsCount"], page["MaxParts"], page["PartNumberMarker"]) == (
            3, 1, marker,
        )  # fmt: skip
        pages.append(page["Parts"])
        if not page["IsTruncated"]:
            break
        marker = page["NextPartNumberMarker"]
    assert pages == [[part] for part in expected]
    past_end = attributes(s3, bucket, "mp", ["ObjectParts"], PartNumberMarker=7)["ObjectParts"]
    assert past_end["IsTruncated"] is False and "Parts" not in past_end


def test_multipart_without_checksum_counts_parts_only(s3: Any, raw: Any, bucket: str) -> None:
    multipart(s3, bucket, "plain-mp", None)
    got = attributes(s3, bucket, "plain-mp", ["ObjectParts", "Checksum"], MaxParts=2)
    assert "Checksum" not in got
    parts = got["ObjectParts"]
    # As AWS: without a part checksum no Part element, but the count and the paging.
    assert parts["TotalPartsCount"] == 3
    assert (parts["MaxParts"], parts["IsTruncated"], parts["NextPartNumberMarker"]) == (2, True, 3)
    assert "Parts" not in parts


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "InvalidRequest"),
        ({"x-amz-object-attributes": ""}, "InvalidRequest"),
        ({"x-amz-object-attributes": ","}, "InvalidRequest"),
        ({"x-amz-object-attributes": "ETag,Size"}, "InvalidArgument"),
        ({"x-amz-object-attributes": "etag"}, "InvalidArgument"),
        ({"x-amz-object-attributes": "ObjectParts", "x-amz-max-parts": "many"}, "InvalidArgument"),
        ({"x-amz-object-attributes": "ETag", "x-amz-part-number-marker": "-1"}, "InvalidArgument"),
    ],
)
def test_bad_attribute_headers(raw: Any, bucket: str, headers: dict[str, str], code: str) -> None:
    assert raw.request("PUT", bucket, "o", body=b"x").status_code == 200
    resp = raw.request("GET", bucket, "o", query={"attributes": ""}, headers=headers)
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == code, resp.text


def test_errors(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o", Body=b"x")
    with s3_error("InvalidRequest", 400):
        attributes(s3, bucket, "o", [])
    with s3_error("InvalidArgument", 400):
        attributes(s3, bucket, "o", ["ETag", "Bogus"])
    with s3_error("InvalidArgument", 400):
        attributes(s3, bucket, "o", ["ETag"], VersionId="3HL4kqtJlcpXroDTDmJ")
    with s3_error("NoSuchKey", 404):
        attributes(s3, bucket, "missing", ["ETag"])
    with s3_error("NoSuchBucket", 404):
        attributes(s3, bucket + "-none", "o", ["ETag"])
    with s3_error("NotImplemented", 501):
        attributes(s3, bucket, "o", ["ETag"], SSECustomerAlgorithm="AES256",
                   SSECustomerKey="k" * 32)  # fmt: skip


def test_needs_read_permission_on_the_object(
    s3: Any, bucket: str, make_user: Callable[..., Any], client_for: Callable[..., Any]
) -> None:
    s3.put_object(Bucket=bucket, Key="private", Body=b"x")
    s3.put_object(Bucket=bucket, Key="public", Body=b"y", ACL="public-read")
    other = client_for(*make_user())
    with s3_error("AccessDenied", 403):
        attributes(other, bucket, "private", ["ETag"])
    with s3_error("AccessDenied", 403):  # may not list: learns nothing of missing keys
        attributes(other, bucket, "missing", ["ETag"])
    assert attributes(other, bucket, "public", ["ObjectSize"])["ObjectSize"] == 1
