"""DeleteObjects: the Delete request and the DeleteResult document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oortgate.errors import S3Error
from oortgate.xml.core import Node, child_text, document, parse

MAX_DELETE_KEYS = 1000


@dataclass(frozen=True, slots=True)
class DeleteEntry:
    """One <Object> of a Delete request: its key, and what the client gave of the rest
    (the condition texts are checked by the caller)."""

    key: str
    version_id: str | None = None
    etag: str | None = None
    size: str | None = None
    last_modified_time: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteRequest:
    quiet: bool
    objects: list[DeleteEntry]


def parse_delete(body: bytes) -> DeleteRequest:
    """A Delete document: 1 to 1,000 <Object>s, each with a non-empty Key."""
    root = parse(body)
    if root.tag != "Delete":
        raise S3Error("MalformedXML")
    quiet = (child_text(root, "Quiet") or "false").strip().lower() == "true"
    objects: list[DeleteEntry] = []
    for node in root.findall("Object"):
        key = child_text(node, "Key")
        if not key:
            raise S3Error("MalformedXML")
        objects.append(
            DeleteEntry(key, child_text(node, "VersionId"), child_text(node, "ETag"),
                        child_text(node, "Size"), child_text(node, "LastModifiedTime"))
        )  # fmt: skip
    if not objects or len(objects) > MAX_DELETE_KEYS:
        raise S3Error("MalformedXML")
    return DeleteRequest(quiet, objects)


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    key: str
    version_id: str | None
    error: S3Error | None  # None: deleted
    # A delete marker's id, when one was written or removed (DeleteMarker true).
    marker_version_id: str | None = None


def delete_result(outcomes: Sequence[DeleteOutcome], *, quiet: bool) -> bytes:
    """DeleteResult: every error, and (unless quiet) every deletion, in request order."""
    root = Node("DeleteResult")
    for outcome in outcomes:
        if outcome.error is not None:
            node = root.add("Error")
            node.add("Key", outcome.key)
            if outcome.version_id is not None:
                node.add("VersionId", outcome.version_id)
            node.add("Code", outcome.error.code)
            node.add("Message", outcome.error.message)
        elif not quiet:
            deleted = root.add("Deleted")
            deleted.add("Key", outcome.key)
            if outcome.version_id is not None:
                deleted.add("VersionId", outcome.version_id)
            if outcome.marker_version_id is not None:
                deleted.add("DeleteMarker", True)
                deleted.add("DeleteMarkerVersionId", outcome.marker_version_id)
    return document(root)
