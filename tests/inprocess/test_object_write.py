"""ops/object_write.py (with write_conditions.py and metadata.py): PutObject, CopyObject."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ._client import Client, Harness

DATA = b"some object bytes"


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_put_stores_bytes_metadata_and_etag(harness: Harness, owner: Client, bucket: str) -> None:
    reply = owner.put(bucket, "k", DATA, content_type="text/x", x_amz_meta_a="1")
    assert reply.status == 200
    assert reply.headers["etag"] == f'"{hashlib.md5(DATA).hexdigest()}"'
    got = owner.get(bucket, "k")
    assert (got.body, got.headers["content-type"], got.headers["x-amz-meta-a"]) == (
        DATA, "text/x", "1",
    )  # fmt: skip


def test_put_overwrites(owner: Client, bucket: str) -> None:
    owner.put(bucket, "k", b"first")
    owner.put(bucket, "k", b"second")
    assert owner.get(bucket, "k").body == b"second"


def test_put_checks_content_md5(owner: Client, bucket: str) -> None:
    assert owner.put(bucket, "k", DATA, content_md5=md5_b64(DATA)).status == 200
    bad = owner.put(bucket, "k2", DATA, content_md5=md5_b64(b"other"))
    assert bad.error == (400, "BadDigest")
    assert owner.get(bucket, "k2").status == 404
    assert owner.put(bucket, "k3", DATA, content_md5="not-base64!").error == (400, "InvalidDigest")


def test_put_refuses_bad_keys_and_metadata(owner: Client, bucket: str) -> None:
    assert owner.put(bucket, "x" * 1025).error == (400, "KeyTooLongError")
    big = {"x_amz_meta_big": "v" * 3000}
    assert owner.put(bucket, "k", DATA, **big).error == (400, "MetadataTooLarge")


def test_put_past_the_size_limit(tmp_path_factory: pytest.TempPathFactory) -> None:
    small = Harness(tmp_path_factory.mktemp("small"), max_object_size=10)
    try:
        user = small.user("u")
        small.bucket(user, "b")
        assert user.put("b", "k", b"x" * 11).error == (400, "EntityTooLarge")
        assert user.put("b", "k", b"x" * 10).status == 200
    finally:
        small.close()


def test_conditional_put(owner: Client, bucket: str) -> None:
    assert owner.put(bucket, "k", DATA, if_none_match="*").status == 200
    assert owner.put(bucket, "k", b"again", if_none_match="*").error == (412, "PreconditionFailed")
    etag = owner.get(bucket, "k").headers["etag"]
    assert owner.put(bucket, "k", b"new", if_match='"0000"').error == (412, "PreconditionFailed")
    assert owner.put(bucket, "k", b"new", if_match=etag).status == 200
    assert owner.put(bucket, "absent", b"new", if_match=etag).error == (404, "NoSuchKey")
    assert owner.get(bucket, "k").body == b"new"


def test_put_needs_write_permission(other: Client, anon: Client, bucket: str) -> None:
    assert other.put(bucket, "k").error == (403, "AccessDenied")
    assert anon.put(bucket, "k").error == (403, "AccessDenied")
    assert other.put("nobucket", "k").error == (404, "NoSuchBucket")


def test_copy_object(owner: Client, bucket: str) -> None:
    owner.put(bucket, "src", DATA, x_amz_meta_a="1")
    reply = owner.put(bucket, "dst", b"", x_amz_copy_source=f"/{bucket}/src")
    assert reply.status == 200
    assert reply.xml().tag == "CopyObjectResult"
    assert reply.xml().findtext("ETag") == f'"{hashlib.md5(DATA).hexdigest()}"'
    copied = owner.get(bucket, "dst")
    assert (copied.body, copied.headers["x-amz-meta-a"]) == (DATA, "1")


def test_copy_replacing_metadata(owner: Client, bucket: str) -> None:
    owner.put(bucket, "src", DATA, x_amz_meta_a="1")
    headers = {"x_amz_copy_source": f"/{bucket}/src", "x_amz_metadata_directive": "REPLACE",
               "x_amz_meta_b": "2"}  # fmt: skip
    assert owner.put(bucket, "dst", b"", **headers).status == 200
    copied = owner.get(bucket, "dst")
    assert "x-amz-meta-a" not in copied.headers
    assert copied.headers["x-amz-meta-b"] == "2"


def test_copy_onto_itself_needs_a_change(owner: Client, bucket: str) -> None:
    owner.put(bucket, "src", DATA)
    reply = owner.put(bucket, "src", b"", x_amz_copy_source=f"/{bucket}/src")
    assert reply.error == (400, "InvalidRequest")


def test_copy_errors(owner: Client, other: Client, harness: Harness, bucket: str) -> None:
    assert owner.put(bucket, "d", b"", x_amz_copy_source=f"/{bucket}/absent").error == (
        404, "NoSuchKey",
    )  # fmt: skip
    owner.put(bucket, "src", DATA)
    etag = owner.get(bucket, "src").headers["etag"]
    refused = owner.put(bucket, "d", b"", x_amz_copy_source=f"/{bucket}/src",
                        x_amz_copy_source_if_none_match=etag)  # fmt: skip
    assert refused.error == (412, "PreconditionFailed")
    # Reading the source needs its own permission: other's bucket, owner's private source.
    harness.bucket(other, "theirs")
    denied = other.put("theirs", "d", b"", x_amz_copy_source=f"/{bucket}/src")
    assert denied.error == (403, "AccessDenied")


def test_put_checks_a_declared_checksum(owner: Client, bucket: str) -> None:
    good = base64.b64encode(hashlib.sha256(DATA).digest()).decode()
    reply = owner.put(bucket, "k", DATA, x_amz_checksum_sha256=good)
    assert reply.status == 200
    assert reply.headers["x-amz-checksum-sha256"] == good
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    assert owner.put(bucket, "k2", DATA, x_amz_checksum_sha256=wrong).error == (400, "BadDigest")
    assert owner.get(bucket, "k2").status == 404


def test_storage_class_and_directives(owner: Client, bucket: str) -> None:
    refused = owner.put(bucket, "k", DATA, x_amz_storage_class="GLACIER_IR")
    assert refused.error == (400, "InvalidStorageClass")
    owner.put(bucket, "src", DATA, x_amz_tagging="a=1")
    bad = owner.put(bucket, "d", b"", x_amz_copy_source=f"/{bucket}/src",
                    x_amz_metadata_directive="MERGE")  # fmt: skip
    assert bad.error == (400, "InvalidArgument")
    replaced = owner.put(bucket, "d", b"", x_amz_copy_source=f"/{bucket}/src",
                         x_amz_tagging_directive="REPLACE", x_amz_tagging="b=2")  # fmt: skip
    assert replaced.status == 200
    tags = owner.request("GET", f"/{bucket}/d", "tagging").texts("TagSet/Tag/Key")
    assert tags == ["b"]
