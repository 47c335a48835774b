"""ops/multipart_listing.py: ListParts and ListMultipartUploads."""

from __future__ import annotations

from . import _multipart as mp
from ._client import Client


def test_list_parts_pages(owner: Client, bucket: str) -> None:
    upload_id = mp.create(owner, bucket, "k")
    etags = [mp.upload(owner, bucket, "k", upload_id, n, bytes([n]) * n) for n in (1, 2, 3)]
    reply = owner.request("GET", f"/{bucket}/k", f"uploadId={upload_id}")
    assert reply.status == 200
    assert reply.texts("Part/PartNumber") == ["1", "2", "3"]
    assert reply.texts("Part/ETag") == etags
    assert reply.texts("Part/Size") == ["1", "2", "3"]
    assert reply.xml().findtext("Owner/ID") == owner.canonical_id
    page = owner.request("GET", f"/{bucket}/k", f"uploadId={upload_id}&max-parts=1"
                         "&part-number-marker=1")  # fmt: skip
    assert page.texts("Part/PartNumber") == ["2"]
    assert page.xml().findtext("IsTruncated") == "true"
    assert page.xml().findtext("NextPartNumberMarker") == "2"


def test_list_parts_errors(owner: Client, other: Client, bucket: str) -> None:
    upload_id = mp.create(owner, bucket, "k")
    assert owner.request("GET", f"/{bucket}/k", "uploadId=nope").error == (404, "NoSuchUpload")
    bad = owner.request("GET", f"/{bucket}/k", f"uploadId={upload_id}&max-parts=-3")
    assert bad.error == (400, "InvalidArgument")
    denied = other.request("GET", f"/{bucket}/k", f"uploadId={upload_id}")
    assert denied.error == (403, "AccessDenied")


def test_list_uploads(owner: Client, other: Client, bucket: str) -> None:
    ids = {key: mp.create(owner, bucket, key) for key in ("a/1", "a/2", "b")}
    reply = owner.request("GET", f"/{bucket}", "uploads")
    assert reply.status == 200
    assert reply.texts("Upload/Key") == ["a/1", "a/2", "b"]
    assert reply.texts("Upload/UploadId") == [ids["a/1"], ids["a/2"], ids["b"]]
    grouped = owner.request("GET", f"/{bucket}", "uploads&delimiter=/")
    assert grouped.texts("Upload/Key") == ["b"]
    assert grouped.texts("CommonPrefixes/Prefix") == ["a/"]
    page = owner.request("GET", f"/{bucket}", "uploads&max-uploads=1")
    assert page.texts("Upload/Key") == ["a/1"]
    assert page.xml().findtext("IsTruncated") == "true"
    assert page.xml().findtext("NextKeyMarker") == "a/1"
    after = owner.request("GET", f"/{bucket}", "uploads&key-marker=a/2")
    assert after.texts("Upload/Key") == ["b"]
    assert other.request("GET", f"/{bucket}", "uploads").error == (403, "AccessDenied")
    bad = owner.request("GET", f"/{bucket}", "uploads&encoding-type=x")
    assert bad.error == (400, "InvalidArgument")
