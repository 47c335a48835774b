"""The query parameters that name what an operation acts on (upload id, part number,
version id), parsed and validated once, onto the Route, before any handler runs.

Run after authentication: a caller who may not be heard learns nothing of its values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote

from oortgate.errors import INVALID_ARGUMENT, S3Error
from oortgate.headertext import is_text
from oortgate.ops.multipart_math import part_number
from oortgate.ops.operations import Op, Route

_VERSION_ID = re.compile(r"[0-9a-z]{23}")  # what oortgate.meta.versions.new_version_id makes
UPLOAD_OPS = frozenset(
    {Op.UploadPart, Op.UploadPartCopy, Op.CompleteMultipartUpload, Op.AbortMultipartUpload,
     Op.ListParts}
)  # fmt: skip
PART_OPS = frozenset({Op.UploadPart, Op.UploadPartCopy})  # a part number is required
READ_PART_OPS = frozenset({Op.GetObject, Op.HeadObject})  # a part number may be given
# Operations on one version of an object ("null": the null version).
VERSION_OPS = frozenset(
    {Op.GetObject, Op.HeadObject, Op.GetObjectAcl, Op.PutObjectAcl, Op.RestoreObject,
     Op.DeleteObject, Op.GetObjectAttributes, Op.PutObjectTagging, Op.GetObjectTagging,
     Op.DeleteObjectTagging, Op.PutObjectRetention, Op.GetObjectRetention,
     Op.PutObjectLegalHold, Op.GetObjectLegalHold}
)  # fmt: skip


def parse(route: Route, query: Mapping[str, str]) -> None:
    op = route.op
    if op in UPLOAD_OPS:
        route.upload_id = query.get("uploadId", "")
    if op in PART_OPS or (op in READ_PART_OPS and "partNumber" in query):
        route.part_number = part_number(query.get("partNumber"))
    if op in VERSION_OPS and "versionId" in query:
        route.version_id = version_id(query["versionId"])


def version_id(value: str) -> str:
    """"null" or an id of the form this server makes (an unknown one: NoSuchVersion,
    once the bucket is looked up); any other is refused, as AWS does."""
    if value != "null" and not _VERSION_ID.fullmatch(value):
        raise S3Error(
            INVALID_ARGUMENT,
            "Invalid version id specified",
            ArgumentName="versionId",
            ArgumentValue=value,
        )
    return value


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """'/bucket/key?versionId=id' (URL-encoded) -> (bucket, key, version id or None)."""
    path, found, version = value.partition("?versionId=")
    if found and version != "null" and not _VERSION_ID.fullmatch(version):
        raise S3Error("NoSuchVersion", "The specified version does not exist.", VersionId=version)
    try:
        decoded = unquote(path, errors="strict").lstrip("/")
    except UnicodeDecodeError as exc:
        raise S3Error("InvalidArgument", "Invalid copy source encoding") from exc
    if not is_text(decoded):  # a raw byte that was not UTF-8
        raise S3Error("InvalidArgument", "Invalid copy source encoding")
    bucket, _, key = decoded.partition("/")
    if not bucket or not key:
        raise S3Error(
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
            ArgumentValue=value,
        )
    return bucket, key, version if found else None
