"""DeleteObject and DeleteObjects."""

from __future__ import annotations

import pytest

from ._s3raw import (
    RawClient,
    checksum_b64,
    error_code,
    findall,
    findtext,
    md5_b64,
    xml_root,
)
from ._types import S3Client, UniqueName
from ._util import TRICKY_KEYS, s3_error


def _keys(s3: S3Client, bucket: str) -> list[str]:
    out, token = [], None
    while True:
        kw = {"Bucket": bucket}
        if token:
            kw["ContinuationToken"] = token
        resp = s3.list_objects_v2(**kw)
        out += [o["Key"] for o in resp.get("Contents", [])]
        token = resp.get("NextContinuationToken")
        if not token:
            return out


def test_delete_existing(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    resp = s3.delete_object(Bucket=bucket, Key="k")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with s3_error("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key="k")


def test_delete_missing_key_is_204(s3: S3Client, bucket: str) -> None:
    resp = s3.delete_object(Bucket=bucket, Key="never-existed")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_missing_bucket(s3: S3Client, unique_name: UniqueName) -> None:
    with s3_error("NoSuchBucket", 404):
        s3.delete_object(Bucket=unique_name("nob"), Key="k")


def test_delete_version_null(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    resp = s3.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _keys(s3, bucket) == []


def test_delete_objects_per_key_results(s3: S3Client, bucket: str) -> None:
    for k in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    s3.put_object(Bucket=bucket, Key="keep", Body=b"keep")
    resp = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "c"}, {"Key": "missing"}]},
    )
    deleted = sorted(d["Key"] for d in resp.get("Deleted", []))
    # S3 reports keys that did not exist as deleted too
    assert deleted == ["a", "b", "c", "missing"]
    assert resp.get("Errors", []) == []
    assert _keys(s3, bucket) == ["keep"]


def test_delete_objects_quiet(s3: S3Client, bucket: str) -> None:
    for k in ("a", "b"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    resp = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}], "Quiet": True}
    )
    assert resp.get("Deleted", []) == []
    assert resp.get("Errors", []) == []
    assert _keys(s3, bucket) == []


def test_delete_objects_tricky_keys(s3: S3Client, bucket: str) -> None:
    for k in TRICKY_KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in TRICKY_KEYS]})
    assert sorted(d["Key"] for d in resp["Deleted"]) == sorted(TRICKY_KEYS)
    assert _keys(s3, bucket) == []


def test_delete_objects_version_null(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="v", Body=b"x")
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "v", "VersionId": "null"}]})
    assert [d["Key"] for d in resp["Deleted"]] == ["v"]
    assert resp.get("Errors", []) == []
    assert _keys(s3, bucket) == []


def test_delete_objects_1000_ok(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k0000", Body=b"x")
    objs = [{"Key": f"k{i:04d}"} for i in range(1000)]
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": False})
    assert len(resp["Deleted"]) == 1000
    assert _keys(s3, bucket) == []


def test_delete_objects_1001_malformed(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k0000", Body=b"x")
    objs = [{"Key": f"k{i:04d}"} for i in range(1001)]
    with s3_error("MalformedXML", 400):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": objs})
    assert _keys(s3, bucket) == ["k0000"]


def test_delete_objects_empty_list_malformed(raw: RawClient, bucket: str) -> None:
    body = b"<Delete></Delete>"
    resp = raw.request(
        "POST", bucket, query={"delete": ""}, body=body, headers={"Content-MD5": md5_b64(body)}
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "MalformedXML", resp.text


def _delete_xml(keys: list[str], quiet: bool = False) -> bytes:
    from xml.sax.saxutils import escape

    objs = "".join(f"<Object><Key>{escape(k)}</Key></Object>" for k in keys)
    q = "<Quiet>true</Quiet>" if quiet else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{q}{objs}</Delete>'
    ).encode()


def test_delete_objects_with_content_md5_only(s3: S3Client, raw: RawClient, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="m", Body=b"x")
    body = _delete_xml(["m"])
    resp = raw.request(
        "POST", bucket, query={"delete": ""}, body=body, headers={"Content-MD5": md5_b64(body)}
    )
    assert resp.status_code == 200, resp.text
    root = xml_root(resp.content)
    assert [findtext(d, "Key") for d in findall(root, "Deleted")] == ["m"]
    assert _keys(s3, bucket) == []


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"])
def test_delete_objects_with_checksum_header_only(
    s3: S3Client, raw: RawClient, bucket: str, algorithm: str
) -> None:
    s3.put_object(Bucket=bucket, Key="c", Body=b"x")
    body = _delete_xml(["c"])
    resp = raw.request(
        "POST",
        bucket,
        query={"delete": ""},
        body=body,
        headers={
            f"x-amz-checksum-{algorithm.lower()}": checksum_b64(algorithm, body),
            "x-amz-sdk-checksum-algorithm": algorithm,
        },
    )
    assert resp.status_code == 200, resp.text
    assert _keys(s3, bucket) == []


def test_delete_objects_wrong_content_md5(s3: S3Client, raw: RawClient, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="m", Body=b"x")
    body = _delete_xml(["m"])
    resp = raw.request(
        "POST", bucket, query={"delete": ""}, body=body, headers={"Content-MD5": md5_b64(b"other")}
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "BadDigest", resp.text
    assert _keys(s3, bucket) == ["m"]


def test_delete_objects_wrong_checksum(s3: S3Client, raw: RawClient, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="m", Body=b"x")
    body = _delete_xml(["m"])
    resp = raw.request(
        "POST",
        bucket,
        query={"delete": ""},
        body=body,
        headers={"x-amz-checksum-crc32": checksum_b64("CRC32", b"other")},
    )
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "BadDigest", resp.text
    assert _keys(s3, bucket) == ["m"]


def test_delete_objects_quiet_raw_has_no_deleted(s3: S3Client, raw: RawClient, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="q", Body=b"x")
    body = _delete_xml(["q", "nope"], quiet=True)
    resp = raw.request(
        "POST", bucket, query={"delete": ""}, body=body, headers={"Content-MD5": md5_b64(body)}
    )
    assert resp.status_code == 200, resp.text
    root = xml_root(resp.content)
    assert root.tag.endswith("DeleteResult")
    assert findall(root, "Deleted") == []
    assert findall(root, "Error") == []
