"""ops/object_attributes.py: GetObjectAttributes."""

from __future__ import annotations

import base64
import hashlib

from . import _multipart as mp
from ._client import Client


def test_attributes_of_a_plain_object(owner: Client, bucket: str) -> None:
    data = b"attribute bytes"
    owner.put(bucket, "k", data, x_amz_checksum_sha256=base64.b64encode(
        hashlib.sha256(data).digest()).decode())  # fmt: skip
    reply = owner.request("GET", f"/{bucket}/k", "attributes",
        headers={"x-amz-object-attributes": "ETag,ObjectSize,StorageClass,Checksum"})  # fmt: skip
    assert reply.status == 200
    root = reply.xml()
    assert root.findtext("ETag") == hashlib.md5(data).hexdigest()  # unquoted, as AWS shows it
    assert root.findtext("ObjectSize") == str(len(data))
    assert root.findtext("StorageClass") == "STANDARD"
    assert root.findtext("Checksum/ChecksumSHA256") == base64.b64encode(
        hashlib.sha256(data).digest()).decode()  # fmt: skip
    assert "last-modified" in reply.headers
    only_size = owner.request("GET", f"/{bucket}/k", "attributes",
                              headers={"x-amz-object-attributes": "ObjectSize"})  # fmt: skip
    assert only_size.xml().findtext("ETag") is None


def test_object_parts_of_a_multipart_object(owner: Client, bucket: str) -> None:
    upload_id = mp.create(owner, bucket, "big")
    e1 = mp.upload(owner, bucket, "big", upload_id, 1, mp.PART)
    e2 = mp.upload(owner, bucket, "big", upload_id, 2, b"tail")
    done = owner.request("POST", f"/{bucket}/big", f"uploadId={upload_id}",
                         mp.complete_xml([(1, e1), (2, e2)]))  # fmt: skip
    assert done.status == 200
    reply = owner.request("GET", f"/{bucket}/big", "attributes",
        headers={"x-amz-object-attributes": "ObjectParts", "x-amz-max-parts": "1"})  # fmt: skip
    assert reply.status == 200
    root = reply.xml()
    assert root.findtext("ObjectParts/PartsCount") == "2"
    assert root.findtext("ObjectParts/NextPartNumberMarker") == "1"
    assert root.findtext("ObjectParts/IsTruncated") == "true"
    assert reply.texts("ObjectParts/Part") == []  # as AWS: parts only for composite checksums


def test_attribute_errors(owner: Client, other: Client, bucket: str) -> None:
    owner.put(bucket, "k")
    path = f"/{bucket}/k"
    assert owner.request("GET", path, "attributes").error == (400, "InvalidRequest")
    unknown = owner.request("GET", path, "attributes",
                            headers={"x-amz-object-attributes": "Colour"})  # fmt: skip
    assert unknown.error == (400, "InvalidArgument")
    sse = owner.request("GET", path, "attributes", headers={"x-amz-object-attributes": "ETag",
        "x-amz-server-side-encryption-customer-algorithm": "AES256"})  # fmt: skip
    assert sse.error == (501, "NotImplemented")
    missing = owner.request("GET", f"/{bucket}/absent", "attributes",
                            headers={"x-amz-object-attributes": "ETag"})  # fmt: skip
    assert missing.error == (404, "NoSuchKey")
    denied = other.request("GET", path, "attributes", headers={"x-amz-object-attributes": "ETag"})
    assert denied.error == (403, "AccessDenied")
