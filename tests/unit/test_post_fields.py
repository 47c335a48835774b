"""POST form fields beyond the policy: integrity fields, refused features, the answer's
URLs (oortgate.ops.post_fields)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from oortgate.auth.checksums import Checksum
from oortgate.errors import S3Error
from oortgate.ops.post_fields import Integrity, object_url, redirect_url, reject_unsupported

DATA = b"hello from a form"


def b64(algorithm: str, data: bytes = DATA) -> str:
    checksum = Checksum(algorithm)
    checksum.update(data)
    return checksum.b64()


def expect(code: str, fields: dict[str, str]) -> S3Error:
    with pytest.raises(S3Error) as ei:
        Integrity.from_fields(fields)
    assert ei.value.code == code, ei.value.message
    assert ei.value.status == 400
    return ei.value


# -- integrity fields ---------------------------------------------------------------


def test_no_integrity_fields() -> None:
    assert Integrity.from_fields({"key": "k"}) == Integrity(None, None, None)


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_checksum_field_is_read_and_verified(algorithm: str) -> None:
    value = b64(algorithm)
    integrity = Integrity.from_fields({f"x-amz-checksum-{algorithm.lower()}": value})
    assert (integrity.algorithm, integrity.checksum) == (algorithm, value)
    integrity.verify(hashlib.md5(DATA).digest(), (algorithm, value))
    with pytest.raises(S3Error) as ei:
        integrity.verify(hashlib.md5(DATA).digest(), (algorithm, b64(algorithm, b"other")))
    assert ei.value.code == "BadDigest"
    assert (
        ei.value.message == f"The {algorithm} you specified did not match the calculated checksum."
    )


def test_algorithm_field_alone_asks_for_the_checksum_to_be_computed() -> None:
    integrity = Integrity.from_fields({"x-amz-checksum-algorithm": "crc32c"})
    assert (integrity.algorithm, integrity.checksum) == ("CRC32C", None)


def test_algorithm_field_must_agree_with_the_checksum_sent() -> None:
    expect(
        "InvalidRequest",
        {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-crc32": b64("CRC32")},
    )
    fields = {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-sha256": b64("SHA256")}
    assert Integrity.from_fields(fields).algorithm == "SHA256"


def test_unknown_algorithm_is_invalid_request() -> None:
    err = expect("InvalidRequest", {"x-amz-checksum-algorithm": "MD5"})
    assert "x-amz-checksum-algorithm" in err.message


def test_two_checksums_are_invalid_request() -> None:
    expect(
        "InvalidRequest", {"x-amz-checksum-crc32": b64("CRC32"), "x-amz-checksum-sha1": b64("SHA1")}
    )


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"12345").decode(), ""])
def test_malformed_checksum_value_is_invalid_request(value: str) -> None:
    err = expect("InvalidRequest", {"x-amz-checksum-crc32": value})
    assert err.message == "Value for x-amz-checksum-crc32 header is invalid."


def test_content_md5_field_is_verified() -> None:
    md5 = hashlib.md5(DATA).digest()
    integrity = Integrity.from_fields({"content-md5": base64.b64encode(md5).decode()})
    integrity.verify(md5, None)
    with pytest.raises(S3Error) as ei:
        integrity.verify(hashlib.md5(b"other").digest(), None)
    assert ei.value.code == "BadDigest"
    expect("InvalidDigest", {"content-md5": "nope"})


# -- refused features ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["x-amz-tagging", "x-amz-server-side-encryption", "x-amz-grant-read", "x-amz-object-lock-mode"],
)
def test_unsupported_fields_are_not_implemented(name: str) -> None:
    with pytest.raises(S3Error) as ei:
        reject_unsupported({"key": "k", name: "v"})
    assert ei.value.code == "NotImplemented"
    assert name in ei.value.message


def test_other_fields_pass() -> None:
    reject_unsupported(
        {"key": "k", "x-amz-meta-a": "1", "x-amz-checksum-crc32": "x", "x-ignore-z": "1"}
    )


# -- the answer's URLs ----------------------------------------------------------------


def test_object_url_path_style_encodes_the_key() -> None:
    url = object_url("s3.example.test:8443", "bkt", "dir/a b+c=é.txt")
    assert url == "https://s3.example.test:8443/bkt/dir%2Fa%20b%2Bc%3D%C3%A9.txt"


def test_object_url_virtual_host() -> None:
    assert object_url("bkt.s3.example.test", None, "k/1") == "https://bkt.s3.example.test/k%2F1"


def test_redirect_url_appends_bucket_key_etag() -> None:
    url = redirect_url("https://app.test/done", "bkt", "a b", '"e"')
    assert url == "https://app.test/done?bucket=bkt&key=a+b&etag=%22e%22"
    assert redirect_url("https://app.test/done?x=1", "b", "k", "e") == (
        "https://app.test/done?x=1&bucket=b&key=k&etag=e"
    )


@pytest.mark.parametrize("target", ["not a url", "/relative/path", "ftp://host/x", "https://"])
def test_uninterpretable_redirect_is_ignored(target: str) -> None:
    assert redirect_url(target, "b", "k", "e") is None
