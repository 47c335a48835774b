"""The flexible checksums S3 carries in ``x-amz-checksum-*`` headers and trailers.

Values are the base64 of the big-endian digest, exactly as AWS sends and returns them.
CRCs come from awscrt (native, incremental via the ``previous`` argument).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Final

from awscrt import checksums as _crt

from oortgate.errors import S3Error

ALGORITHMS: Final = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")

# Digest sizes in bytes, used to validate client-sent values before comparing.
DIGEST_SIZE: Final[dict[str, int]] = {
    "CRC32": 4,
    "CRC32C": 4,
    "CRC64NVME": 8,
    "SHA1": 20,
    "SHA256": 32,
}

CHECKSUM_HEADER_PREFIX: Final = "x-amz-checksum-"


class Checksum:
    """An incremental checksum of one of ``ALGORITHMS``."""

    def __init__(self, algorithm: str) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unknown checksum algorithm: {algorithm!r}")
        self.algorithm = algorithm
        self._crc = 0
        self._hash = hashlib.new(algorithm.lower()) if algorithm.startswith("SHA") else None

    def update(self, data: bytes) -> None:
        if self._hash is not None:
            self._hash.update(data)
        elif self.algorithm == "CRC32":
            self._crc = int(_crt.crc32(data, self._crc))
        elif self.algorithm == "CRC32C":
            self._crc = int(_crt.crc32c(data, self._crc))
        else:
            self._crc = int(_crt.crc64nvme(data, self._crc))

    def digest(self) -> bytes:
        if self._hash is not None:
            return self._hash.digest()
        return self._crc.to_bytes(DIGEST_SIZE[self.algorithm], "big")

    def b64(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


def header_name(algorithm: str) -> str:
    """``"CRC32"`` -> ``"x-amz-checksum-crc32"``."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown checksum algorithm: {algorithm!r}")
    return CHECKSUM_HEADER_PREFIX + algorithm.lower()


def checksum_type(values: Mapping[str, str]) -> str:
    """An object's checksum type from its stored values: a composite multipart checksum
    ends in "-N" (base64 never contains "-")."""
    return "COMPOSITE" if any("-" in v for v in values.values()) else "FULL_OBJECT"


def algorithm_for_header(name: str) -> str | None:
    """``"X-Amz-Checksum-CRC32C"`` -> ``"CRC32C"``; None for anything else
    (including ``x-amz-checksum-type`` and ``x-amz-checksum-algorithm``)."""
    lower = name.strip().lower()
    if not lower.startswith(CHECKSUM_HEADER_PREFIX):
        return None
    algorithm = lower[len(CHECKSUM_HEADER_PREFIX) :].upper()
    return algorithm if algorithm in ALGORITHMS else None


def named_algorithm(values: Mapping[str, str], name: str) -> str | None:
    """The checksum algorithm a header (or form field) ``name`` names, as AWS spells it;
    None when absent; InvalidRequest when it names none this server computes."""
    value = values.get(name)
    if value is None:
        return None
    algorithm = value.strip().upper()
    if algorithm not in ALGORITHMS:
        raise S3Error("InvalidRequest", f"Value for {name} header is invalid.")
    return algorithm


def is_valid_b64(algorithm: str, value: str) -> bool:
    """True when ``value`` is strict base64 of a digest of the right size."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except ValueError:
        return False
    return len(raw) == DIGEST_SIZE[algorithm]


def content_md5(headers: Mapping[str, str]) -> bytes | None:
    """The digest a Content-MD5 header announces (None without one)."""
    value = headers.get("content-md5")
    return None if value is None else decode_md5(value)


def decode_md5(value: str) -> bytes:
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise S3Error("InvalidDigest", ContentMD5=value) from exc
    if len(digest) != 16:
        raise S3Error("InvalidDigest", ContentMD5=value)
    return digest
