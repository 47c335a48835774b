"""GetObjectAttributes: what HeadObject and ListParts tell of an object, in one body."""

from __future__ import annotations

from collections.abc import Mapping

from oortgate.errors import S3Error
from oortgate.ops import tokens
from oortgate.ops.context import Context
from oortgate.ops.metadata import http_date
from oortgate.ops.response import Response, xml_response
from oortgate.ops.version_ids import version_headers
from oortgate.xml import attributes as attributes_xml

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
    body = attributes_xml.object_attributes(record, wanted, marker=marker, max_parts=max_parts)
    response = xml_response(body)
    response.headers.append(("last-modified", http_date(record.last_modified)))
    response.headers.extend(version_headers(ctx.granted_bucket, record))
    return response
