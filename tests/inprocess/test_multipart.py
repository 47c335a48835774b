"""ops/multipart.py: Create, UploadPart, UploadPartCopy, Complete, Abort."""

from __future__ import annotations

import hashlib

from . import _multipart as mp
from ._client import Client, Harness


def test_upload_complete_and_read_back(harness: Harness, owner: Client, bucket: str) -> None:
    upload_id = mp.create(owner, bucket, "big", content_type="application/x-big")
    e1 = mp.upload(owner, bucket, "big", upload_id, 1, mp.PART)
    e2 = mp.upload(owner, bucket, "big", upload_id, 2, b"tail")
    assert e2 == f'"{hashlib.md5(b"tail").hexdigest()}"'
    body = mp.complete_xml([(1, e1), (2, e2)])
    reply = owner.request("POST", f"/{bucket}/big", f"uploadId={upload_id}", body)
    assert reply.status == 200
    etag = reply.xml().findtext("ETag")
    digests = hashlib.md5(mp.PART).digest() + hashlib.md5(b"tail").digest()
    assert etag == f'"{hashlib.md5(digests).hexdigest()}-2"'
    got = owner.get(bucket, "big")
    assert got.status == 200
    assert got.headers["content-type"] == "application/x-big"
    assert got.headers["content-length"] == str(len(mp.PART) + 4)
    assert got.body[-4:] == b"tail"
    assert owner.get(bucket, "big", "partNumber=2").body == b"tail"
    assert harness.run(harness.meta.get_upload(upload_id)) is None


def test_complete_refuses_bad_part_lists(owner: Client, bucket: str) -> None:
    upload_id = mp.create(owner, bucket, "k")
    e1 = mp.upload(owner, bucket, "k", upload_id, 1, b"small")
    e2 = mp.upload(owner, bucket, "k", upload_id, 2, b"tail")
    path, query = f"/{bucket}/k", f"uploadId={upload_id}"
    cases = [
        (mp.complete_xml([(2, e2), (1, e1)]), "InvalidPartOrder"),
        (mp.complete_xml([(1, '"00000000000000000000000000000000"')]), "InvalidPart"),
        (mp.complete_xml([(3, e1)]), "InvalidPart"),
        (mp.complete_xml([(1, e1), (2, e2)]), "EntityTooSmall"),  # part 1 under 5 MiB
        (b"<CompleteMultipartUpload>", "MalformedXML"),
        (mp.complete_xml([]), "MalformedXML"),
    ]
    for body, code in cases:
        assert owner.request("POST", path, query, body).error == (400, code), code
    # The upload is still there: the last part alone completes it.
    assert owner.request("POST", path, query, mp.complete_xml([(2, e2)])).status == 200


def test_upload_part_errors(owner: Client, bucket: str) -> None:
    upload_id = mp.create(owner, bucket, "k")
    path = f"/{bucket}/k"
    assert owner.request("PUT", path, "partNumber=1&uploadId=nope", b"x").error == (
        404, "NoSuchUpload",
    )  # fmt: skip
    wrong_key = owner.request("PUT", f"/{bucket}/other", f"partNumber=1&uploadId={upload_id}")
    assert wrong_key.error == (404, "NoSuchUpload")
    for number in ("0", "10001", "x"):
        reply = owner.request("PUT", path, f"partNumber={number}&uploadId={upload_id}", b"x")
        assert reply.error == (400, "InvalidArgument"), number
    bad_md5 = owner.request("PUT", path, f"partNumber=1&uploadId={upload_id}", b"x",
                            {"content-md5": "1B2M2Y8AsgTpgAmY7PhCfg=="})  # fmt: skip
    assert bad_md5.error == (400, "BadDigest")


def test_upload_part_copy(owner: Client, bucket: str) -> None:
    owner.put(bucket, "src", b"0123456789")
    upload_id = mp.create(owner, bucket, "k")
    query = f"partNumber=1&uploadId={upload_id}"
    headers = {"x-amz-copy-source": f"/{bucket}/src", "x-amz-copy-source-range": "bytes=2-5"}
    reply = owner.request("PUT", f"/{bucket}/k", query, headers=headers)
    assert reply.status == 200
    etag = reply.xml().findtext("ETag")
    assert etag == f'"{hashlib.md5(b"2345").hexdigest()}"'
    assert etag is not None
    done = owner.request("POST", f"/{bucket}/k", f"uploadId={upload_id}",
                         mp.complete_xml([(1, etag)]))  # fmt: skip
    assert done.status == 200
    assert owner.get(bucket, "k").body == b"2345"
    headers["x-amz-copy-source-range"] = "bytes=5-50"
    other_id = mp.create(owner, bucket, "k2")
    bad = owner.request("PUT", f"/{bucket}/k2", f"partNumber=1&uploadId={other_id}",
                        headers=headers)  # fmt: skip
    assert bad.error == (416, "InvalidRange")


def test_abort(harness: Harness, owner: Client, bucket: str) -> None:
    upload_id = mp.create(owner, bucket, "k")
    mp.upload(owner, bucket, "k", upload_id, 1, b"x")
    assert owner.request("DELETE", f"/{bucket}/k", f"uploadId={upload_id}").status == 204
    assert harness.run(harness.meta.get_upload(upload_id)) is None
    again = owner.request("DELETE", f"/{bucket}/k", f"uploadId={upload_id}")
    assert again.error == (404, "NoSuchUpload")
    # With x-amz-if-match-initiated-time, an upload already gone is a success.
    conditional = owner.request("DELETE", f"/{bucket}/k", f"uploadId={upload_id}",
        headers={"x-amz-if-match-initiated-time": "Mon, 01 Jan 2001 00:00:00 GMT"})  # fmt: skip
    assert conditional.status == 204


def test_multipart_needs_write_permission(other: Client, owner: Client, bucket: str) -> None:
    reply = other.request("POST", f"/{bucket}/k", "uploads")
    assert reply.error == (403, "AccessDenied")
    upload_id = mp.create(owner, bucket, "k")
    denied = other.request("PUT", f"/{bucket}/k", f"partNumber=1&uploadId={upload_id}", b"x")
    assert denied.error == (403, "AccessDenied")
    assert other.request("DELETE", f"/{bucket}/k", f"uploadId={upload_id}").status == 403
