"""What fsck --deep compares: ETags (single and multipart), part and whole-object
checksums, fed chunk by chunk."""

from __future__ import annotations

import hashlib

from oortgate.auth.checksums import Checksum
from oortgate.fsck_digests import (
    EntryDigests,
    composite_etag,
    expected_etag,
    whole_object_algorithms,
)
from oortgate.meta.models import Part
from oortgate.ops.multipart_math import multipart_etag


def _b64(algorithm: str, data: bytes) -> str:
    checksum = Checksum(algorithm)
    checksum.update(data)
    return checksum.b64()


def test_composite_etag_is_the_multipart_etag() -> None:
    parts = [b"a" * 10, b"b" * 20, b"c"]
    md5s = [hashlib.md5(p).digest() for p in parts]
    stored = [Part(n, "x", len(p), md5.hex(), 0.0)
              for n, (p, md5) in enumerate(zip(parts, md5s, strict=True), 1)]  # fmt: skip
    assert composite_etag(md5s) == multipart_etag(stored)
    assert expected_etag(md5s[:1], multipart=False) == md5s[0].hex()
    assert expected_etag(md5s[:1], multipart=True).endswith("-1")


def test_whole_object_algorithms_skip_composite_and_unknown() -> None:
    sums = {"CRC32": "AAAAAA==", "SHA256": "x" * 43 + "=", "CRC32C": "abcd-3", "MD7": "zz"}
    assert whole_object_algorithms(sums) == ["CRC32", "SHA256"]


def test_a_single_blob_in_chunks_matches() -> None:
    data = bytes(range(256)) * 1000
    sums = {alg: _b64(alg, data) for alg in ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")}
    digests = EntryDigests(hashlib.md5(data).hexdigest(), False, sums)
    digests.start_blob()
    for start in range(0, len(data), 7000):
        digests.update(data[start : start + 7000])
    assert digests.mismatches() == []


def test_a_changed_byte_shows_in_etag_and_checksum() -> None:
    data = b"hello world" * 100
    digests = EntryDigests(hashlib.md5(data).hexdigest(), False, {"CRC32": _b64("CRC32", data)})
    digests.start_blob()
    digests.update(data[:-1] + b"D")
    found = digests.mismatches()
    assert len(found) == 2
    assert "ETag" in found[0] and "CRC32" in found[1]


def test_multipart_parts_checked_through_the_etag_and_their_own_checksums() -> None:
    parts = [b"1" * 5000, b"2" * 300]
    etag = composite_etag([hashlib.md5(p).digest() for p in parts])
    composite = {"CRC32": "whatever-2"}  # a checksum of checksums: not over the bytes

    def run(second: bytes) -> list[str]:
        digests = EntryDigests(etag, True, composite)
        for part, data in zip(parts, (parts[0], second), strict=True):
            digests.start_blob(("CRC32", _b64("CRC32", part)))
            digests.update(data)
        return digests.mismatches()

    assert run(parts[1]) == []
    found = run(b"2" * 299 + b"3")
    assert len(found) == 2 and "ETag" in found[0] and found[1].startswith("part 2: CRC32")


def test_an_etag_in_capitals_still_matches() -> None:
    digests = EntryDigests(hashlib.md5(b"x").hexdigest().upper(), False, {})
    digests.start_blob()
    digests.update(b"x")
    assert digests.mismatches() == []


def test_no_bytes_at_all_compares_nothing() -> None:
    """A multipart object whose part rows are missing: the size check reports it."""
    assert EntryDigests("abc-2", True, {}).mismatches() == []


def test_the_integrity_crc_is_compared_per_blob() -> None:
    from oortgate import integrity

    data = b"some bytes"
    good = EntryDigests(hashlib.md5(data).hexdigest(), False, {})
    good.start_blob(None, integrity.of(data))
    good.update(data)
    assert good.mismatches() == []
    bad = EntryDigests(hashlib.md5(data).hexdigest(), False, {})
    bad.start_blob(None, integrity.of(b"other bytes"))
    bad.update(data)
    (line,) = bad.mismatches()  # the ETag agrees: the stored CRC is what differs
    assert line.startswith("blob 1: integrity CRC-64 is ")
