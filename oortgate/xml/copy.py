"""The results of copies: CopyObjectResult (CopyObject) and CopyPartResult
(UploadPartCopy)."""

from __future__ import annotations

from oortgate.meta.models import ObjectRecord, Part
from oortgate.xml.core import Node, document, timestamp


def copy_object_result(record: ObjectRecord) -> bytes:
    root = Node("CopyObjectResult")
    root.add("ETag", f'"{record.etag}"')
    root.add("LastModified", timestamp(record.last_modified))
    for algorithm, value in record.checksums.items():
        root.add("Checksum" + algorithm, value)
    return document(root)


def copy_part_result(part: Part, algorithm: str | None) -> bytes:
    """algorithm: the upload's checksum algorithm (None: the part shows no checksum)."""
    root = Node("CopyPartResult")
    root.add("ETag", f'"{part.etag}"')
    root.add("LastModified", timestamp(part.last_modified))
    if part.checksum and algorithm:
        root.add("Checksum" + algorithm, part.checksum)
    return document(root)
