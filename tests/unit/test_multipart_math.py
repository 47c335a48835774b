import base64
import hashlib
import zlib

import pytest
from awscrt import checksums as crt

from oortgate.auth.checksums import Checksum
from oortgate.errors import S3Error
from oortgate.meta.models import Part
from oortgate.ops.multipart_math import (
    MIN_PART_SIZE,
    checksum_settings,
    collapse_resent,
    multipart_etag,
    object_checksum,
    part_number,
    requested_etag,
    select_parts,
)
from oortgate.xml.multipart import RequestedPart


def part(n: int, data: bytes, algorithm: str | None = "CRC32", size: int | None = None) -> Part:
    checksum = None
    if algorithm:
        c = Checksum(algorithm)
        c.update(data)
        checksum = c.b64()
    return Part(n, f"blob{n}", size if size is not None else len(data),
                hashlib.md5(data).hexdigest(), 0.0, checksum)  # fmt: skip


def ask(p: Part) -> RequestedPart:
    return RequestedPart(p.part_number, p.etag, {})


def code_of(fn, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(S3Error) as info:
        fn(*args)
    return info.value.code


def test_etag_is_md5_of_part_md5s() -> None:
    parts = [part(1, b"a" * 10), part(2, b"b" * 3)]
    expected = hashlib.md5(hashlib.md5(b"a" * 10).digest() + hashlib.md5(b"b" * 3).digest())
    assert multipart_etag(parts) == f"{expected.hexdigest()}-2"


def test_select_parts_rules() -> None:
    big = MIN_PART_SIZE
    p1, p2, p3 = part(1, b"x", size=big), part(2, b"y", size=big), part(3, b"z", size=1)
    stored = {1: p1, 2: p2, 3: p3}
    assert select_parts([ask(p1), ask(p3)], stored) == [p1, p3]  # a subset is fine
    assert code_of(select_parts, [], stored) == "MalformedXML"
    assert code_of(select_parts, [ask(p2), ask(p1)], stored) == "InvalidPartOrder"
    assert code_of(select_parts, [ask(p1), ask(p2), ask(p1)], stored) == "InvalidPartOrder"
    assert code_of(select_parts, [RequestedPart(4, "00", {})], stored) == "InvalidPart"
    assert code_of(select_parts, [RequestedPart(1, "bad", {})], stored) == "InvalidPart"
    wrong_sum = RequestedPart(1, p1.etag, {"CRC32": "AAAAAA=="})
    assert code_of(select_parts, [wrong_sum], stored) == "InvalidPart"
    small = {1: part(1, b"x", size=big - 1), 2: p2}
    assert code_of(select_parts, [ask(small[1]), ask(p2)], small) == "EntityTooSmall"
    assert select_parts([ask(small[1])], small) == [small[1]]  # the last part may be small


def test_a_part_listed_twice_counts_once_as_its_last_listing() -> None:
    big = MIN_PART_SIZE
    p1, p2 = part(1, b"x", size=big), part(2, b"y", size=1)
    stored = {1: p1, 2: p2}
    resent = RequestedPart(1, "0" * 32, {})  # the ETag of the part's first upload
    assert select_parts([resent, ask(p1), ask(p2)], stored) == [p1, p2]
    assert code_of(select_parts, [ask(p1), resent, ask(p2)], stored) == "InvalidPart"
    assert collapse_resent([resent, ask(p1), ask(p2)]) == [ask(p1), ask(p2)]


def test_requested_etag_is_the_multipart_etag_of_the_listed_parts() -> None:
    p1, p2 = part(1, b"x"), part(2, b"y")
    assert requested_etag([ask(p1), ask(p2)]) == multipart_etag([p1, p2])
    assert requested_etag([ask(p1), ask(p1), ask(p2)]) == multipart_etag([p1, p2])
    assert requested_etag([RequestedPart(1, "not-hex", {})]) is None


def test_full_object_crc_combines_part_crcs() -> None:
    chunks = [b"hello " * 1000, b"world" * 777, b"!"]
    parts = [part(i + 1, c) for i, c in enumerate(chunks)]
    whole = zlib.crc32(b"".join(chunks)).to_bytes(4, "big")
    assert object_checksum("CRC32", "FULL_OBJECT", parts) == base64.b64encode(whole).decode()
    parts64 = [part(i + 1, c, "CRC64NVME") for i, c in enumerate(chunks)]
    whole64 = crt.crc64nvme(b"".join(chunks)).to_bytes(8, "big")
    assert (
        object_checksum("CRC64NVME", "FULL_OBJECT", parts64) == base64.b64encode(whole64).decode()
    )


def test_composite_checksum() -> None:
    chunks = [b"a" * 100, b"b" * 50]
    parts = [part(i + 1, c, "SHA256") for i, c in enumerate(chunks)]
    inner = b"".join(hashlib.sha256(c).digest() for c in chunks)
    expected = base64.b64encode(hashlib.sha256(inner).digest()).decode() + "-2"
    assert object_checksum("SHA256", "COMPOSITE", parts) == expected
    assert object_checksum("SHA256", "COMPOSITE", [*parts, part(3, b"", None)]) is None


@pytest.mark.parametrize(
    ("algorithm", "kind", "expected"),
    [
        (None, None, (None, None)),
        ("crc32", None, ("CRC32", "COMPOSITE")),
        ("CRC64NVME", None, ("CRC64NVME", "FULL_OBJECT")),
        ("CRC32C", "FULL_OBJECT", ("CRC32C", "FULL_OBJECT")),
        ("SHA1", "COMPOSITE", ("SHA1", "COMPOSITE")),
    ],
)
def test_checksum_settings(algorithm: str | None, kind: str | None, expected: object) -> None:
    assert checksum_settings(algorithm, kind) == expected


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [
        (None, "COMPOSITE"),
        ("MD5", None),
        ("CRC64NVME", "COMPOSITE"),
        ("SHA256", "FULL_OBJECT"),
        ("CRC32", "WHOLE"),
    ],
)
def test_bad_checksum_settings(algorithm: str | None, kind: str | None) -> None:
    assert code_of(checksum_settings, algorithm, kind) == "InvalidRequest"


@pytest.mark.parametrize("value", [None, "0", "10001", "-1", "x", "1.5"])
def test_part_number_bounds(value: str | None) -> None:
    assert code_of(part_number, value) == "InvalidArgument"
    assert part_number("1") == 1 and part_number("10000") == 10000
