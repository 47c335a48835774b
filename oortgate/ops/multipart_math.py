"""The arithmetic of completing a multipart upload: validation, ETag, checksums. Pure."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence
from itertools import pairwise

from awscrt import checksums as crt

from oortgate.auth.checksums import ALGORITHMS, Checksum, algorithm_for_header
from oortgate.errors import S3Error
from oortgate.meta.models import Part
from oortgate.numbers import parse_count
from oortgate.xml.multipart import RequestedPart

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10000
FULL_OBJECT_ONLY = frozenset({"CRC64NVME"})
COMPOSITE_ONLY = frozenset({"SHA1", "SHA256"})
_COMBINE = {
    "CRC32": (crt.combine_crc32, 4),
    "CRC32C": (crt.combine_crc32c, 4),
    "CRC64NVME": (crt.combine_crc64nvme, 8),
}


def checksum_settings(algorithm: str | None, kind: str | None) -> tuple[str | None, str | None]:
    """Validate x-amz-checksum-algorithm/-type of CreateMultipartUpload; fill the default
    type (FULL_OBJECT for CRC64NVME, COMPOSITE otherwise)."""
    if algorithm is None:
        if kind is not None:
            raise S3Error("InvalidRequest", "The x-amz-checksum-type header can only be used "
                          "with the x-amz-checksum-algorithm header.")  # fmt: skip
        return None, None
    algorithm = algorithm.upper()
    if algorithm not in ALGORITHMS:
        raise S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. Please "
                      "try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, "
                      "SHA1, SHA256]")  # fmt: skip
    kind = (kind or ("FULL_OBJECT" if algorithm in FULL_OBJECT_ONLY else "COMPOSITE")).upper()
    if kind not in ("COMPOSITE", "FULL_OBJECT"):
        raise S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.")
    if (kind == "COMPOSITE" and algorithm in FULL_OBJECT_ONLY) or (
        kind == "FULL_OBJECT" and algorithm in COMPOSITE_ONLY
    ):
        raise S3Error("InvalidRequest", f"The {kind} checksum type cannot be used with the "
                      f"{algorithm.lower()} checksum algorithm.")  # fmt: skip
    return algorithm, kind


def part_number(value: str | None) -> int:
    number = parse_count(value) if value and value.isdigit() else None
    if number is None or not 1 <= number <= MAX_PART_NUMBER:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, "
                      "inclusive", ArgumentName="partNumber", ArgumentValue=str(value))  # fmt: skip
    return number


def collapse_resent(requested: Sequence[RequestedPart]) -> list[RequestedPart]:
    """The list with each part number once. A number listed several times in a row (a
    client that logged each upload of a resent part) counts as its last listing: only
    that one's ETag must match. A number smaller than the one before is InvalidPartOrder."""
    if any(b.part_number < a.part_number for a, b in pairwise(requested)):
        raise S3Error("InvalidPartOrder", "The list of parts was not in ascending order. "
                      "Parts must be ordered by part number.")  # fmt: skip
    kept: list[RequestedPart] = []
    for ask in requested:
        if kept and kept[-1].part_number == ask.part_number:
            kept[-1] = ask
        else:
            kept.append(ask)
    return kept


def requested_etag(requested: Sequence[RequestedPart]) -> str | None:
    """The ETag the listed parts make (None if one is not an MD5): a retried Complete
    of an upload already completed must list the parts that made its object."""
    try:
        digests = [bytes.fromhex(ask.etag) for ask in collapse_resent(requested)]
    except ValueError:
        return None
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def select_parts(requested: Sequence[RequestedPart], stored: dict[int, Part]) -> list[Part]:
    """The stored parts the client asked for, checked as S3 checks them."""
    if not requested:
        raise S3Error("MalformedXML")
    requested = collapse_resent(requested)
    chosen: list[Part] = []
    for ask in requested:
        part = stored.get(ask.part_number)
        if part is None or part.etag != ask.etag or _checksum_differs(ask, part):
            raise S3Error("InvalidPart", "One or more of the specified parts could not be found. "
                          "The part may not have been uploaded, or the specified entity tag "
                          "may not match the part's entity tag.",
                          PartNumber=str(ask.part_number), ETag=ask.etag)  # fmt: skip
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise S3Error("EntityTooSmall", ProposedSize=str(part.size),
                          MinSizeAllowed=str(MIN_PART_SIZE), PartNumber=str(part.part_number),
                          ETag=part.etag)  # fmt: skip
    return chosen


def _checksum_differs(ask: RequestedPart, part: Part) -> bool:
    """A checksum the client lists for a part must match what the part was stored with."""
    return any(value != part.checksum for value in ask.checksums.values() if part.checksum)


def multipart_etag(parts: Sequence[Part]) -> str:
    digest = hashlib.md5(b"".join(bytes.fromhex(p.etag) for p in parts)).hexdigest()
    return f"{digest}-{len(parts)}"


def object_checksum(algorithm: str, kind: str, parts: Sequence[Part]) -> str | None:
    """COMPOSITE: the checksum of the concatenated part checksums, suffixed "-N".
    FULL_OBJECT: the CRC of the whole object, combined from the part CRCs (no bytes read).
    None if a part lacks its checksum."""
    values: list[bytes] = []
    for part in parts:
        if part.checksum is None:
            return None
        try:
            values.append(base64.b64decode(part.checksum, validate=True))
        except (binascii.Error, ValueError):
            return None
    if kind == "FULL_OBJECT":
        combine, size = _COMBINE[algorithm]
        crc = int.from_bytes(values[0], "big")
        for part, value in zip(parts[1:], values[1:], strict=True):
            crc = int(combine(crc, int.from_bytes(value, "big"), part.size))
        return base64.b64encode(crc.to_bytes(size, "big")).decode()
    whole = Checksum(algorithm)
    whole.update(b"".join(values))
    return f"{whole.b64()}-{len(parts)}"


def check_declared(
    headers: Mapping[str, str], algorithm: str | None, kind: str | None, size: int
) -> None:
    """What CompleteMultipartUpload's headers say of the object must hold: its checksum
    type (x-amz-checksum-type), its size (x-amz-mp-object-size), and a whole-object
    checksum only of the upload's algorithm (its value is compared once computed)."""
    declared_kind = headers.get("x-amz-checksum-type")
    if declared_kind is not None and declared_kind.upper() != kind:
        raise S3Error("BadDigest", f"The checksum type {declared_kind} does not match the "
                      f"upload's ({kind or 'none'}).")  # fmt: skip
    declared_size = headers.get("x-amz-mp-object-size")
    if declared_size is not None:
        declared = parse_count(declared_size)
        if declared is None:
            raise S3Error("InvalidArgument", "x-amz-mp-object-size must be an integer.",
                          ArgumentName="x-amz-mp-object-size",
                          ArgumentValue=declared_size)  # fmt: skip
        if declared != size:
            raise S3Error("InvalidRequest", f"The provided x-amz-mp-object-size {declared_size} "
                          f"does not match the object's size {size}.")  # fmt: skip
    for name in headers:
        other = algorithm_for_header(name)
        if other is not None and other != algorithm:
            raise S3Error("InvalidRequest", f"The upload was created with "
                          f"{'the ' + algorithm if algorithm else 'no'} checksum algorithm: "
                          f"its {other} checksum cannot be checked.")  # fmt: skip
