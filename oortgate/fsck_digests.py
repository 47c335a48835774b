"""What ``oortgate fsck --deep`` computes over an object's bytes, and how it compares with
what the metadata says. Pure: the bytes are fed in, chunk by chunk, blob by blob.

- The ETag: a single blob's is the hex MD5 of its bytes; a multipart object's is the MD5
  of its parts' MD5s followed by "-N", so every part's MD5 is checked through it.
- Each part's own checksum (of the upload's algorithm), when it was kept.
- Each blob's integrity CRC (oortgate.integrity), when it was written with one.
- Whole-object checksums (CRC32, CRC32C, CRC64NVME, SHA1, SHA256); a composite one
  ("...-N", a checksum of the part checksums) is covered by the parts' own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from oortgate import integrity
from oortgate.auth.checksums import ALGORITHMS, Checksum


def composite_etag(part_md5s: Sequence[bytes]) -> str:
    return f"{hashlib.md5(b''.join(part_md5s)).hexdigest()}-{len(part_md5s)}"


def expected_etag(part_md5s: Sequence[bytes], multipart: bool) -> str:
    """The ETag these blobs' bytes make: one blob's MD5, or the multipart kind."""
    if multipart:
        return composite_etag(part_md5s)
    return part_md5s[0].hex() if len(part_md5s) == 1 else composite_etag(part_md5s)


def whole_object_algorithms(checksums: Mapping[str, str]) -> list[str]:
    """The checksums computed over all the bytes (not composite ones, nor unknown names)."""
    return [alg for alg, value in checksums.items() if alg in ALGORITHMS and "-" not in value]


class EntryDigests:
    """Feed ``start_blob(checksum)``, ``update(data)``... for each blob in order, then
    read ``mismatches()``."""

    def __init__(self, etag: str, multipart: bool, checksums: Mapping[str, str]) -> None:
        self._etag = etag
        self._multipart = multipart
        self._checksums = dict(checksums)
        self._whole = {alg: Checksum(alg) for alg in whole_object_algorithms(checksums)}
        self._md5s: list[bytes] = []
        self._md5: hashlib._Hash | None = None
        self._part: tuple[str, Checksum] | None = None  # (expected value, running)
        self._crc: tuple[str, integrity.Crc64] | None = None  # (expected, running)
        self._part_errors: list[str] = []

    def start_blob(
        self, checksum: tuple[str, str] | None = None, crc64: str | None = None
    ) -> None:
        self._end_blob()
        self._md5 = hashlib.md5()
        self._crc = (crc64, integrity.Crc64()) if crc64 else None
        algorithm, value = checksum if checksum else (None, None)
        if algorithm in ALGORITHMS and value:
            self._part = (value, Checksum(algorithm))

    def update(self, data: bytes) -> None:
        assert self._md5 is not None, "start_blob first"
        self._md5.update(data)
        for running in self._whole.values():
            running.update(data)
        if self._part is not None:
            self._part[1].update(data)
        if self._crc is not None:
            self._crc[1].update(data)

    def _end_blob(self) -> None:
        number = len(self._md5s) + 1  # of the blob ending (1-based)
        if self._crc is not None:
            expected, crc = self._crc
            self._compare(f"blob {number}: integrity CRC-64", crc.hex(), expected)
            self._crc = None
        if self._md5 is not None:
            self._md5s.append(self._md5.digest())
            self._md5 = None
        if self._part is not None:
            expected, running = self._part
            self._compare(f"part {number}: {running.algorithm}", running.b64(), expected)
            self._part = None

    def _compare(self, what: str, computed: str, stored: str) -> None:
        if computed != stored:
            self._part_errors.append(f"{what} is {computed}, the metadata says {stored}")

    def mismatches(self) -> list[str]:
        """What differs, one line each; empty when every digest matches."""
        self._end_blob()
        found = []
        if self._md5s:
            etag = expected_etag(self._md5s, self._multipart)
            if etag != self._etag.lower():
                found.append(f"the bytes' ETag is {etag}, the metadata says {self._etag}")
        found += self._part_errors
        for algorithm, running in self._whole.items():
            if running.b64() != self._checksums[algorithm]:
                found.append(
                    f"the bytes' {algorithm} is {running.b64()}, "
                    f"the metadata says {self._checksums[algorithm]}"
                )
        return found
