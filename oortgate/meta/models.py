"""Plain records that travel between the metadata store and the handlers."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    canonical_id: str  # 64 hex chars, shown as Owner/ID as AWS does
    created: float  # epoch seconds


@dataclass(frozen=True, slots=True)
class AccessKey:
    access_key: str
    secret_key: str
    user_id: int
    enabled: bool
    created: float


@dataclass(frozen=True, slots=True)
class Bucket:
    id: int
    name: str
    owner_id: int
    region: str
    created: float


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    bucket_id: int
    key: str
    blob_id: str
    size: int
    etag: str  # without quotes: hex MD5, or "hex-N" for a multipart object
    last_modified: float  # epoch seconds
    content_type: str = "binary/octet-stream"
    # lowercase header name -> value: content-encoding, content-disposition,
    # content-language, cache-control, expires
    system_headers: dict[str, str] = field(default_factory=dict)
    # lowercase name without the "x-amz-meta-" prefix -> value
    user_metadata: dict[str, str] = field(default_factory=dict)
    # algorithm name as AWS spells it ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
    # -> base64 value
    checksums: dict[str, str] = field(default_factory=dict)
    storage_class: str = "STANDARD"


@dataclass(frozen=True, slots=True)
class ObjectPage:
    """One page of a listing: objects and common prefixes, both in key order."""

    objects: list[ObjectRecord]
    common_prefixes: list[str]
    is_truncated: bool
    # The last key or common prefix this page returned (when truncated): where the
    # next page starts after.
    next_marker: str | None
