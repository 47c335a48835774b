"""Flexible checksums agree with botocore's own implementations."""

from __future__ import annotations

import random

import pytest
from botocore.httpchecksum import (
    CrtCrc32cChecksum,
    CrtCrc32Checksum,
    CrtCrc64NvmeChecksum,
    Sha1Checksum,
    Sha256Checksum,
)

from oortgate.auth.checksums import (
    ALGORITHMS,
    Checksum,
    algorithm_for_header,
    header_name,
    is_valid_b64,
)

BOTOCORE = {
    "CRC32": CrtCrc32Checksum,
    "CRC32C": CrtCrc32cChecksum,
    "CRC64NVME": CrtCrc64NvmeChecksum,
    "SHA1": Sha1Checksum,
    "SHA256": Sha256Checksum,
}

# Well-known values for b"hello world" (as S3 returns them).
KNOWN = {
    "CRC32": "DUoRhQ==",
    "CRC32C": "yZRlqg==",
    "SHA1": "Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
    "SHA256": "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=",
}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("size", [0, 1, 7, 1000, 70000])
def test_matches_botocore(algorithm: str, size: int) -> None:
    data = random.Random(size).randbytes(size)
    ours = Checksum(algorithm)
    ours.update(data)
    theirs = BOTOCORE[algorithm]()
    theirs.update(data)
    assert ours.b64() == theirs.b64digest()
    assert is_valid_b64(algorithm, ours.b64())


@pytest.mark.parametrize(("algorithm", "value"), KNOWN.items())
def test_known_values(algorithm: str, value: str) -> None:
    c = Checksum(algorithm)
    c.update(b"hello world")
    assert c.b64() == value


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_split_updates_equal_one_shot(algorithm: str) -> None:
    rng = random.Random(42)
    data = rng.randbytes(10000)
    whole = Checksum(algorithm)
    whole.update(data)
    parts = Checksum(algorithm)
    pos = 0
    while pos < len(data):
        step = rng.randrange(0, 300)
        parts.update(data[pos : pos + step])
        pos += step
    assert parts.b64() == whole.b64()
    assert parts.digest() == whole.digest()


def test_digest_sizes() -> None:
    sizes = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
    for algorithm, size in sizes.items():
        assert len(Checksum(algorithm).digest()) == size


def test_unknown_algorithm() -> None:
    with pytest.raises(ValueError):
        Checksum("MD5")
    with pytest.raises(ValueError):
        header_name("crc32")


def test_header_names() -> None:
    assert header_name("CRC64NVME") == "x-amz-checksum-crc64nvme"
    assert algorithm_for_header("X-Amz-Checksum-CRC32C") == "CRC32C"
    assert algorithm_for_header("x-amz-checksum-sha256") == "SHA256"
    assert algorithm_for_header("x-amz-checksum-type") is None
    assert algorithm_for_header("x-amz-checksum-algorithm") is None
    assert algorithm_for_header("content-md5") is None
    for algorithm in ALGORITHMS:
        assert algorithm_for_header(header_name(algorithm)) == algorithm


def test_is_valid_b64() -> None:
    assert is_valid_b64("CRC32", "DUoRhQ==")
    assert not is_valid_b64("CRC32", "DUoRhQ")  # bad padding
    assert not is_valid_b64("CRC32", "!!!!!!==")
    assert not is_valid_b64("CRC64NVME", "DUoRhQ==")  # wrong length
