"""GetObjectAttributes: what HeadObject and ListParts tell of an object, in one body."""

from __future__ import annotations

from collections.abc import Mapping

from oortgate import xml
from oortgate.errors import S3Error
from oortgate.meta.models import ObjectRecord, Segment
from oortgate.ops import tokens
from oortgate.ops.context import Context
from oortgate.ops.metadata import checksum_type, http_date
from oortgate.ops.response import Response, xml_response

ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
MAX_PARTS = 1000
MAX_MARKER = 2**31 - 1
SSE_C_PREFIX = "x-amz-server-side-encryption-customer-"


def requested_attributes(value: str | None) -> frozenset[str]:
    """The names in x-amz-object-attributes (a comma-separated list, as SDKs send it)."""
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    if not names:
        raise S3Error("InvalidRequest", "The x-amz-object-attributes header specifying the "
                      "attributes to be retrieved is either missing or empty")  # fmt: skip
    unknown = next((name for name in names if name not in ATTRIBUTES), None)
    if unknown is not None:
        raise S3Error("InvalidArgument", "Invalid attribute name specified.",
                      ArgumentName="x-amz-object-attributes", ArgumentValue=unknown)  # fmt: skip
    return frozenset(names)


def _reject_sse_c(headers: Mapping[str, str]) -> None:
    """Objects are never stored with customer keys here: such a request asks for a
    feature this gateway lacks."""
    name = next((n for n in headers if n.startswith(SSE_C_PREFIX)), None)
    if name is not None:
        raise S3Error("NotImplemented", f"The header {name} is not implemented.", Header=name)


async def get_object_attributes(ctx: Context) -> Response:
    _reject_sse_c(ctx.headers)
    wanted = requested_attributes(ctx.headers.get("x-amz-object-attributes"))
    max_parts = tokens.int_param(ctx.headers.get("x-amz-max-parts"), "max-parts", MAX_PARTS,
                                 MAX_PARTS)  # fmt: skip
    marker = tokens.int_param(ctx.headers.get("x-amz-part-number-marker"), "part-number-marker",
                              0, MAX_MARKER)  # fmt: skip
    record = ctx.granted_object
    root = xml.Node("GetObjectAttributesResponse")
    if "ETag" in wanted:
        root.add("ETag", record.etag)  # unquoted, unlike the ETag header
    if "Checksum" in wanted and record.checksums:
        _add_checksum(root, record)
    if "ObjectParts" in wanted and record.parts_count:
        _add_parts(root.add("ObjectParts"), record, marker, max_parts)
    if "StorageClass" in wanted:
        root.add("StorageClass", record.storage_class)
    if "ObjectSize" in wanted:
        root.add("ObjectSize", record.size)
    response = xml_response(root)
    response.headers.append(("last-modified", http_date(record.last_modified)))
    return response


def _add_checksum(root: xml.Node, record: ObjectRecord) -> None:
    node = root.add("Checksum")
    for algorithm, value in record.checksums.items():
        # A composite checksum is shown without its "-N" part count, as AWS does here.
        node.add("Checksum" + algorithm, value.split("-")[0])
    node.add("ChecksumType", checksum_type(record))


def _add_parts(node: xml.Node, record: ObjectRecord, marker: int, max_parts: int) -> None:
    """One page of the parts, after part number ``marker``. As AWS, each Part is shown
    only for a composite checksum (a part checksum the client can check a part against);
    otherwise the page says only how many parts there are and where it ends."""
    after = [part for part in record.parts if part.part_number > marker]
    page = after[:max_parts]
    node.add("PartsCount", record.parts_count)
    node.add("PartNumberMarker", marker)
    if page:
        node.add("NextPartNumberMarker", page[-1].part_number)
    node.add("MaxParts", max_parts)
    node.add("IsTruncated", len(after) > len(page))
    if checksum_type(record) == "COMPOSITE":
        algorithm = next(iter(record.checksums))
        node.extend(_part(part, algorithm) for part in page)


def _part(part: Segment, algorithm: str) -> xml.Node:
    node = xml.Node("Part")
    node.add("PartNumber", part.part_number)
    node.add("Size", part.size)
    if part.checksum:
        node.add("Checksum" + algorithm, part.checksum)
    return node
