"""GetObjectAttributesResponse (GetObjectAttributes)."""

from __future__ import annotations

from collections.abc import Set

from oortgate.auth.checksums import checksum_type
from oortgate.meta.models import ObjectRecord, PartsBody, Segment
from oortgate.xml.core import Node, document


def object_attributes(
    record: ObjectRecord, wanted: Set[str], *, marker: int, max_parts: int
) -> bytes:
    """The attributes named in ``wanted`` (ETag, Checksum, ObjectParts, StorageClass,
    ObjectSize); ObjectParts shows one page of parts, after part number ``marker``."""
    root = Node("GetObjectAttributesResponse")
    if "ETag" in wanted:
        root.add("ETag", record.etag)  # unquoted, unlike the ETag header
    if "Checksum" in wanted and record.checksums:
        _add_checksum(root, record)
    if "ObjectParts" in wanted and isinstance(record.body, PartsBody):
        _add_parts(root.add("ObjectParts"), record, record.body.parts, marker, max_parts)
    if "StorageClass" in wanted:
        root.add("StorageClass", record.storage_class)
    if "ObjectSize" in wanted:
        root.add("ObjectSize", record.size)
    return document(root)


def _add_checksum(root: Node, record: ObjectRecord) -> None:
    node = root.add("Checksum")
    for algorithm, value in record.checksums.items():
        # A composite checksum is shown without its "-N" part count, as AWS does here.
        node.add("Checksum" + algorithm, value.split("-")[0])
    node.add("ChecksumType", checksum_type(record.checksums))


def _add_parts(
    node: Node, record: ObjectRecord, parts: tuple[Segment, ...], marker: int, max_parts: int
) -> None:
    """As AWS, each Part is shown only for a composite checksum (a part checksum the
    client can check a part against); otherwise the page says only how many parts there
    are and where it ends."""
    after = [part for part in parts if part.part_number > marker]
    page = after[:max_parts]
    node.add("PartsCount", len(parts))
    node.add("PartNumberMarker", marker)
    if page:
        node.add("NextPartNumberMarker", page[-1].part_number)
    node.add("MaxParts", max_parts)
    node.add("IsTruncated", len(after) > len(page))
    if checksum_type(record.checksums) == "COMPOSITE":
        algorithm = next(iter(record.checksums))
        node.extend(_part(part, algorithm) for part in page)


def _part(part: Segment, algorithm: str) -> Node:
    node = Node("Part")
    node.add("PartNumber", part.part_number)
    node.add("Size", part.size)
    if part.checksum:
        node.add("Checksum" + algorithm, part.checksum)
    return node
