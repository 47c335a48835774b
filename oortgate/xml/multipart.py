"""Multipart upload documents: InitiateMultipartUploadResult, the
CompleteMultipartUpload request, and CompleteMultipartUploadResult."""

from __future__ import annotations

from dataclasses import dataclass

from oortgate.auth.checksums import ALGORITHMS, checksum_type
from oortgate.errors import S3Error
from oortgate.meta.models import ObjectRecord
from oortgate.numbers import parse_count
from oortgate.xml.core import Node, child_text, document, parse


@dataclass(frozen=True, slots=True)
class RequestedPart:
    """One <Part> of a CompleteMultipartUpload request."""

    part_number: int
    etag: str  # without quotes
    checksums: dict[str, str]  # algorithm -> base64, as the client listed them


def initiate_result(bucket: str, key: str, upload_id: str) -> bytes:
    root = Node("InitiateMultipartUploadResult")
    root.add("Bucket", bucket)
    root.add("Key", key)
    root.add("UploadId", upload_id)
    return document(root)


def parse_complete(body: bytes) -> list[RequestedPart]:
    """The parts a CompleteMultipartUpload lists, in the order listed."""
    root = parse(body)
    if root.tag != "CompleteMultipartUpload":
        raise S3Error("MalformedXML")
    requested = []
    for node in root.findall("Part"):
        number = child_text(node, "PartNumber")
        etag = child_text(node, "ETag")
        parsed = parse_count(number)
        if parsed is None or etag is None:
            raise S3Error("MalformedXML")
        sums = {alg: value for alg in ALGORITHMS
                if (value := child_text(node, "Checksum" + alg))}  # fmt: skip
        requested.append(RequestedPart(parsed, etag.strip().strip('"'), sums))
    return requested


def complete_result(bucket: str, key: str, record: ObjectRecord) -> bytes:
    root = Node("CompleteMultipartUploadResult")
    root.add("Location", f"/{bucket}/{key}")
    root.add("Bucket", bucket)
    root.add("Key", key)
    root.add("ETag", f'"{record.etag}"')
    for algorithm, value in record.checksums.items():
        root.add("Checksum" + algorithm, value)
    if record.checksums:
        root.add("ChecksumType", checksum_type(record.checksums))
    return document(root)
