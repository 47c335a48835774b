"""What every object operation asks of a bucket's versioning: the id a new version gets,
the headers that show one. Stores name the null version '' (oortgate.meta.versions);
clients see "null"."""

from __future__ import annotations

import re

from oortgate.errors import INVALID_ARGUMENT, S3Error
from oortgate.meta.models import Bucket, ObjectRecord
from oortgate.meta.versions import new_version_id

ENABLED, SUSPENDED = "Enabled", "Suspended"
NULL = "null"
_VERSION_ID = re.compile(r"[0-9a-z]{23}")  # what new_version_id makes


def versioned(bucket: Bucket) -> bool:
    """Enabled or Suspended (writes then keep the history)."""
    return bucket.versioning is not None


def new_version(bucket: Bucket) -> str:
    """The id of a version written now: a new one if versioning is Enabled, else the
    null version ('')."""
    return new_version_id() if bucket.versioning == ENABLED else ""


def shown(version_id: str) -> str:
    return version_id or NULL


def stored(version_id: str, name: str = "versionId") -> str:
    """A version id as a client gave it, as the store names it; a malformed one is
    refused (an id of the right form that does not exist is NoSuchVersion later)."""
    if version_id == NULL:
        return ""
    if not _VERSION_ID.fullmatch(version_id):
        raise S3Error(INVALID_ARGUMENT, "Invalid version id specified", ArgumentName=name,
                      ArgumentValue=version_id)  # fmt: skip
    return version_id


def version_headers(bucket: Bucket, record: ObjectRecord) -> list[tuple[str, str]]:
    """x-amz-version-id, on a bucket that has (or had) versioning."""
    return [("x-amz-version-id", shown(record.version_id))] if versioned(bucket) else []


def marker_headers(record: ObjectRecord) -> dict[str, str]:
    """What AWS sends with the answer about a delete marker."""
    return {"x-amz-delete-marker": "true", "x-amz-version-id": shown(record.version_id)}
