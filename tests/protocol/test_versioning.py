"""Bucket versioning as AWS S3 does it: Put/GetBucketVersioning, versions on every write,
delete markers, reads/copies/tags by versionId, ListObjectVersions and its paging,
DeleteObjects with version ids, Suspended buckets' null version, and the blobs of
noncurrent versions kept (fsck clean) until their version is deleted."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ._server import PYTHON, REPO_ROOT, ServerProcess
from ._types import RunCli
from ._util import s3_error

BIG = 64 * 1024  # above the inline size: a blob file of its own


def enable(s3: Any, bucket: str, status: str = "Enabled") -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})


def body(s3: Any, bucket: str, key: str, **kw: Any) -> bytes:
    data: bytes = s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()
    return data


def versions_of(s3: Any, bucket: str, **kw: Any) -> list[tuple[str, str, bool, bool]]:
    """(key, version id, is latest, is a delete marker), in the listing's order, every
    page walked with NextKeyMarker / NextVersionIdMarker."""
    out: list[tuple[str, str, bool, bool]] = []
    markers: dict[str, str] = {}
    while True:
        page = s3.list_object_versions(Bucket=bucket, **kw, **markers)
        raw = [(v, False) for v in page.get("Versions", [])]
        raw += [(m, True) for m in page.get("DeleteMarkers", [])]
        # botocore splits the two lists: put them back in the page's order.
        raw.sort(key=lambda e: (e[0]["Key"], -e[0]["LastModified"].timestamp(),
                                e[0]["VersionId"]))  # fmt: skip
        out += [(v["Key"], v["VersionId"], v["IsLatest"], marker) for v, marker in raw]
        if not page["IsTruncated"]:
            return out
        markers = {"KeyMarker": page["NextKeyMarker"]}
        if "NextVersionIdMarker" in page:
            markers["VersionIdMarker"] = page["NextVersionIdMarker"]


def test_bucket_versioning_configuration(s3: Any, bucket: str, raw: Any) -> None:
    got = s3.get_bucket_versioning(Bucket=bucket)
    assert "Status" not in got  # never versioned
    enable(s3, bucket)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    enable(s3, bucket, "Suspended")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    with s3_error("IllegalVersioningConfigurationException", 400):
        enable(s3, bucket, "Disabled")  # there is no way back to unversioned
    with s3_error("NotImplemented", 501):
        s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"}
        )
    with s3_error("NotImplemented", 501):
        s3.put_bucket_versioning(Bucket=bucket, MFA="serial 123456",
                                 VersioningConfiguration={"Status": "Enabled"})  # fmt: skip
    resp = raw.request("PUT", bucket, query={"versioning": ""}, body=b"<VersioningConfiguration>")
    assert resp.status_code == 400 and b"MalformedXML" in resp.content
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


def test_every_write_makes_a_version(s3: Any, bucket: str) -> None:
    enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=os.urandom(BIG))["VersionId"]
    v3 = s3.put_object(Bucket=bucket, Key="k", Body=b"three")["VersionId"]
    assert len({v1, v2, v3}) == 3 and "null" not in (v1, v2, v3)
    assert sorted([v1, v2, v3]) == [v3, v2, v1]  # ids sort newest first
    assert body(s3, bucket, "k") == b"three"
    assert body(s3, bucket, "k", VersionId=v1) == b"one"
    assert len(body(s3, bucket, "k", VersionId=v2)) == BIG
    head = s3.head_object(Bucket=bucket, Key="k", VersionId=v1)
    assert head["VersionId"] == v1 and head["ContentLength"] == 3
    assert s3.get_object(Bucket=bucket, Key="k")["VersionId"] == v3
    assert versions_of(s3, bucket) == [("k", v3, True, False), ("k", v2, False, False),
                                       ("k", v1, False, False)]  # fmt: skip
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["k"]
    with s3_error("NoSuchVersion", 404):
        s3.get_object(Bucket=bucket, Key="k", VersionId="0" * 23)
    with s3_error("InvalidArgument", 400):
        s3.get_object(Bucket=bucket, Key="k", VersionId="not-an-id")


def test_delete_markers(s3: Any, bucket: str) -> None:
    enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"kept")["VersionId"]
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    assert marker != v1
    with s3_error("NoSuchKey", 404) as ei:
        s3.get_object(Bucket=bucket, Key="k")
    headers = ei.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=bucket, Key="k")
    assert head.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert head.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with s3_error("MethodNotAllowed", 405) as ei:
        s3.get_object(Bucket=bucket, Key="k", VersionId=marker)
    headers = ei.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
    assert headers["allow"] == "DELETE" and "last-modified" in headers
    assert body(s3, bucket, "k", VersionId=v1) == b"kept"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert versions_of(s3, bucket) == [("k", marker, True, True), ("k", v1, False, False)]
    # Removing the marker makes the version before it current again.
    gone = s3.delete_object(Bucket=bucket, Key="k", VersionId=marker)
    assert gone["DeleteMarker"] is True and gone["VersionId"] == marker
    assert body(s3, bucket, "k") == b"kept"
    assert versions_of(s3, bucket) == [("k", v1, True, False)]


def test_deleting_the_current_version_promotes_the_previous(s3: Any, bucket: str) -> None:
    enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=os.urandom(BIG))["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    gone = s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert gone["VersionId"] == v2 and "DeleteMarker" not in gone
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["VersionId"] == v1 and got["ContentLength"] == BIG
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
    assert versions_of(s3, bucket) == []
    with s3_error("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)  # nothing left


def test_a_bucket_with_versions_is_not_empty(s3: Any, make_bucket: Any) -> None:
    name = make_bucket()
    enable(s3, name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    s3.delete_object(Bucket=name, Key="k")  # only a marker and a noncurrent version remain
    with s3_error("BucketNotEmpty", 409):
        s3.delete_bucket(Bucket=name)


def test_suspended_bucket_writes_the_null_version(s3: Any, bucket: str) -> None:
    enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"enabled")["VersionId"]
    enable(s3, bucket, "Suspended")
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"null 1")["VersionId"] == "null"
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"null 2")["VersionId"] == "null"
    assert versions_of(s3, bucket) == [("k", "null", True, False), ("k", v1, False, False)]
    assert body(s3, bucket, "k", VersionId="null") == b"null 2"
    enable(s3, bucket)
    v3 = s3.put_object(Bucket=bucket, Key="k", Body=b"enabled again")["VersionId"]
    assert versions_of(s3, bucket) == [("k", v3, True, False), ("k", "null", False, False),
                                       ("k", v1, False, False)]  # fmt: skip
    enable(s3, bucket, "Suspended")
    marker = s3.delete_object(Bucket=bucket, Key="k")  # a null marker replaces the null one
    assert marker["DeleteMarker"] is True and marker["VersionId"] == "null"
    assert versions_of(s3, bucket) == [("k", "null", True, True), ("k", v3, False, False),
                                       ("k", v1, False, False)]  # fmt: skip


def test_unversioned_bucket_has_only_the_null_version(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert "VersionId" not in put  # never versioned: no version header at all
    assert "VersionId" not in s3.get_object(Bucket=bucket, Key="k")
    assert body(s3, bucket, "k", VersionId="null") == b"x"
    assert versions_of(s3, bucket) == [("k", "null", True, False)]
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert "DeleteMarker" not in deleted
    assert versions_of(s3, bucket) == []


def test_listing_versions_pages_prefixes_and_encoding(s3: Any, bucket: str) -> None:
    enable(s3, bucket)
    ids: dict[str, list[str]] = {}
    for key in ("a", "b/1", "b/2", "c d", "e"):
        ids[key] = [s3.put_object(Bucket=bucket, Key=key, Body=key.encode())["VersionId"]
                    for _ in range(3)]  # fmt: skip
    marker = s3.delete_object(Bucket=bucket, Key="e")["VersionId"]
    expected = []
    for key in ("a", "b/1", "b/2", "c d"):
        expected += [(key, v, i == 0, False) for i, v in enumerate(reversed(ids[key]))]
    expected += [("e", marker, True, True)]
    expected += [("e", v, False, False) for v in reversed(ids["e"])]
    assert versions_of(s3, bucket) == expected
    for size in (1, 2, 4, 7):
        assert versions_of(s3, bucket, MaxKeys=size) == expected
    rolled = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["b/"]
    assert {v["Key"] for v in rolled["Versions"]} == {"a", "c d", "e"}
    assert versions_of(s3, bucket, Delimiter="/", MaxKeys=2) == [
        e for e in expected if not e[0].startswith("b/")
    ]
    under = s3.list_object_versions(Bucket=bucket, Prefix="b/")
    assert [v["Key"] for v in under["Versions"]] == ["b/1"] * 3 + ["b/2"] * 3
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=4)
    assert page["IsTruncated"] and page["NextKeyMarker"] == "b/1"
    assert page["NextVersionIdMarker"] == ids["b/1"][2]
    rest = s3.list_object_versions(Bucket=bucket, KeyMarker="b/1",
                                   VersionIdMarker=ids["b/1"][2])  # fmt: skip
    assert [v["VersionId"] for v in rest["Versions"]][:2] == ids["b/1"][1::-1]
    assert rest["Versions"][0]["IsLatest"] is False
    encoded = s3.list_object_versions(Bucket=bucket, Prefix="c", EncodingType="url")
    assert encoded["Versions"][0]["Key"] == "c+d"  # encoded as AWS does (botocore leaves it)
    with s3_error("InvalidArgument", 400):
        s3.list_object_versions(Bucket=bucket, VersionIdMarker=ids["a"][0])
    with s3_error("InvalidArgument", 400):
        s3.list_object_versions(Bucket=bucket, KeyMarker="a", VersionIdMarker="0" * 23)


def test_copy_from_a_version(s3: Any, bucket: str) -> None:
    enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="src", Body=os.urandom(BIG))["VersionId"]
    old = body(s3, bucket, "src", VersionId=v1)
    s3.put_object(Bucket=bucket, Key="src", Body=b"newer")
    old_source = {"Bucket": bucket, "Key": "src", "VersionId": v1}
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource=old_source)
    assert copied["CopySourceVersionId"] == v1 and copied["VersionId"] not in (v1, "null")
    assert body(s3, bucket, "dst") == old
    restored = s3.copy_object(Bucket=bucket, Key="src", CopySource=old_source)  # onto itself
    assert body(s3, bucket, "src") == old and restored["VersionId"] != v1
    attributes = s3.get_object_attributes(Bucket=bucket, Key="src", VersionId=v1,
                                          ObjectAttributes=["ObjectSize"])  # fmt: skip
    assert attributes["ObjectSize"] == BIG and attributes["VersionId"] == v1
    marker = s3.delete_object(Bucket=bucket, Key="src")["VersionId"]
    with s3_error("NoSuchKey", 404):
        s3.copy_object(Bucket=bucket, Key="dst2", CopySource={"Bucket": bucket, "Key": "src"})
    with s3_error("InvalidRequest", 400):
        s3.copy_object(Bucket=bucket, Key="dst2", CopySource={**old_source, "VersionId": marker})
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    part = s3.upload_part_copy(Bucket=bucket, Key="parts", UploadId=upload, PartNumber=1,
                               CopySource=old_source)  # fmt: skip
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="parts", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]},
    )  # fmt: skip
    assert done["VersionId"] not in (v1, "null")
    assert body(s3, bucket, "parts") == old


def test_multipart_upload_makes_a_version(s3: Any, bucket: str) -> None:
    enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"before")["VersionId"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    data = os.urandom(5 * 1024 * 1024)
    etag = s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1,
                          Body=data)["ETag"]  # fmt: skip
    done = s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=upload,
                                        MultipartUpload={"Parts": [{"PartNumber": 1,
                                                                    "ETag": etag}]})  # fmt: skip
    v2 = done["VersionId"]
    assert v2 != v1
    assert body(s3, bucket, "k", VersionId=v2) == data
    assert body(s3, bucket, "k", VersionId=v1) == b"before"
    s3.put_object(Bucket=bucket, Key="k", Body=b"after")  # the multipart one is noncurrent
    assert body(s3, bucket, "k", VersionId=v2) == data
    got = s3.get_object(Bucket=bucket, Key="k", VersionId=v2, PartNumber=1)
    assert got["PartsCount"] == 1


def test_delete_objects_with_version_ids(s3: Any, bucket: str) -> None:
    enable(s3, bucket)
    a1 = s3.put_object(Bucket=bucket, Key="a", Body=b"1")["VersionId"]
    a2 = s3.put_object(Bucket=bucket, Key="a", Body=b"2")["VersionId"]
    s3.put_object(Bucket=bucket, Key="b", Body=b"1")
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "a", "VersionId": a1}, {"Key": "b"}, {"Key": "a", "VersionId": "bogus"},
    ]})  # fmt: skip
    deleted = {(d["Key"], d.get("VersionId")): d for d in resp["Deleted"]}
    assert ("a", a1) in deleted and "DeleteMarker" not in deleted[("a", a1)]
    b_marker = deleted[("b", None)]
    assert b_marker["DeleteMarker"] is True and b_marker["DeleteMarkerVersionId"]
    assert [(e["Key"], e["Code"]) for e in resp["Errors"]] == [("a", "NoSuchVersion")]
    assert versions_of(s3, bucket) == [
        ("a", a2, True, False), ("b", b_marker["DeleteMarkerVersionId"], True, True),
        ("b", versions_of(s3, bucket)[2][1], False, False),
    ]  # fmt: skip
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "b", "VersionId": b_marker["DeleteMarkerVersionId"]},
    ]})  # fmt: skip
    gone = resp["Deleted"][0]
    assert gone["DeleteMarker"] is True
    assert gone["DeleteMarkerVersionId"] == b_marker["DeleteMarkerVersionId"]
    assert body(s3, bucket, "b") == b"1"


def test_conditional_writes_check_the_current_version(s3: Any, bucket: str) -> None:
    enable(s3, bucket)
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    with s3_error("PreconditionFailed", 412):
        s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfNoneMatch="*")
    s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfMatch=first["ETag"])
    with s3_error("PreconditionFailed", 412):
        s3.put_object(Bucket=bucket, Key="k", Body=b"3", IfMatch=first["ETag"])  # now noncurrent
    s3.delete_object(Bucket=bucket, Key="k")
    # The latest version is a delete marker: the key has no current object.
    s3.put_object(Bucket=bucket, Key="k", Body=b"4", IfNoneMatch="*")
    assert body(s3, bucket, "k") == b"4"


def test_tags_and_acl_by_version(s3: Any, bucket: str) -> None:
    enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"2")["VersionId"]
    put = s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=v1,
                                Tagging={"TagSet": [{"Key": "old", "Value": "yes"}]})  # fmt: skip
    assert put["VersionId"] == v1
    got = s3.get_object_tagging(Bucket=bucket, Key="k", VersionId=v1)
    assert got["TagSet"] == [{"Key": "old", "Value": "yes"}] and got["VersionId"] == v1
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    current = s3.get_object_tagging(Bucket=bucket, Key="k")
    assert current["VersionId"] == v2
    s3.put_object_acl(Bucket=bucket, Key="k", VersionId=v1, ACL="public-read")
    grants = s3.get_object_acl(Bucket=bucket, Key="k", VersionId=v1)["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert not any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)


def _fsck(srv: ServerProcess) -> dict[str, Any]:
    res = subprocess.run(
        [PYTHON, "-m", "oortgate", "fsck", "--data-dir", str(srv.data_dir), "--json",
         "--grace", "0"],
        cwd=str(REPO_ROOT), env=srv.env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode in (0, 1), res.stderr
    found: dict[str, Any] = json.loads(res.stdout)
    return found


def test_noncurrent_blobs_stay_until_their_version_goes(
    s3: Any, bucket: str, server: ServerProcess
) -> None:
    enable(s3, bucket)
    old = os.urandom(BIG)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=old)["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=os.urandom(BIG))
    s3.delete_object(Bucket=bucket, Key="k")
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k",
                                                          "VersionId": v1})  # fmt: skip
    clean(_fsck(server))
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)  # the copy still shares its blob
    assert body(s3, bucket, "copy") == old
    clean(_fsck(server))
    for version in versions_of(s3, bucket):
        s3.delete_object(Bucket=bucket, Key=version[0], VersionId=version[1])
    clean(_fsck(server))


def clean(report: dict[str, Any]) -> None:
    """Every blob a version names is there and counted right; no blob is an orphan."""
    for count in ("missing", "orphans", "refcount_mismatch", "database_errors"):
        assert report[count] == 0, report


def test_aws_cli_lists_versions(aws: RunCli, s3: Any, bucket: str) -> None:
    aws("s3api", "put-bucket-versioning", "--bucket", bucket,
        "--versioning-configuration", "Status=Enabled")  # fmt: skip
    status = json.loads(aws("s3api", "get-bucket-versioning", "--bucket", bucket).stdout)
    assert status == {"Status": "Enabled"}
    first = s3.put_object(Bucket=bucket, Key="dir/f", Body=b"1")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="dir/f", Body=b"2")["VersionId"]
    aws("s3", "rm", f"s3://{bucket}/dir/f")  # a delete marker
    out = json.loads(aws("s3api", "list-object-versions", "--bucket", bucket,
                         "--page-size", "1").stdout)  # fmt: skip
    assert [v["VersionId"] for v in out["Versions"]] == [second, first]
    assert [m["IsLatest"] for m in out["DeleteMarkers"]] == [True]
    aws("s3api", "get-object", "--bucket", bucket, "--key", "dir/f", "--version-id", first,
        "/dev/null")  # fmt: skip


def test_a_policy_decides_on_the_version_actions(s3: Any, bucket: str) -> None:
    """Named versions are s3:*ObjectVersion* to a policy, as on AWS: a Deny of
    s3:DeleteObjectVersion keeps every version, while plain deletes still add markers."""
    enable(s3, bucket)
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"1")["VersionId"]
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Action": ["s3:DeleteObjectVersion", "s3:GetObjectVersion"]}]}  # fmt: skip
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(deny))
    try:
        with s3_error("AccessDenied", 403):
            s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
        with s3_error("AccessDenied", 403):
            s3.get_object(Bucket=bucket, Key="k", VersionId=v1)
        with s3_error("AccessDenied", 403):
            s3.copy_object(Bucket=bucket, Key="c",
                           CopySource={"Bucket": bucket, "Key": "k", "VersionId": v1})  # fmt: skip
        assert body(s3, bucket, "k") == b"1"  # s3:GetObject: not denied
        resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
            {"Key": "k", "VersionId": v1}, {"Key": "k"}]})  # fmt: skip
        assert [(e["Key"], e["Code"]) for e in resp["Errors"]] == [("k", "AccessDenied")]
        assert resp["Deleted"][0]["DeleteMarker"] is True
    finally:
        s3.delete_bucket_policy(Bucket=bucket)
    assert body(s3, bucket, "k", VersionId=v1) == b"1"
