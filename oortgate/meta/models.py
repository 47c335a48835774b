"""Plain records that travel between the metadata store and the handlers."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace


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
    rate_limit: float | None = None  # requests per second; None: the server's default


@dataclass(frozen=True, slots=True)
class Bucket:
    id: int
    name: str
    owner_id: int
    region: str
    created: float
    acl: str = "private"  # a canned ACL name or explicit grants (see oortgate.policy)
    cors: str | None = None  # the CORS rules as JSON (see oortgate.cors), None if unset
    tier: str = "standard"  # "standard" or "archive": the endpoint it was created on
    ownership: str | None = None  # its ObjectOwnership (see oortgate.bucket_controls)
    public_access_block: str | None = None  # its PublicAccessBlock as JSON, None if unset
    policy: str | None = None  # its bucket policy (JSON, as put), None if unset
    lifecycle: str | None = None  # its lifecycle rules (oortgate.lifecycle JSON), None if unset
    # Its versioning status: None (never versioned), "Enabled" or "Suspended".
    versioning: str | None = None
    # Its object lock configuration as JSON (oortgate.ops.object_lock); None: no lock.
    object_lock: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectLock:
    """One version's object lock: a retention (mode GOVERNANCE or COMPLIANCE until
    retain_until, epoch seconds; both None: none) and a legal hold."""

    mode: str | None = None
    retain_until: float | None = None
    legal_hold: bool = False


@dataclass(frozen=True, slots=True)
class Segment:
    """One stretch of an object's bytes: a whole blob (a plain object's, or a part of a
    multipart object)."""

    blob_id: str
    size: int
    # A multipart object's part: the number the client uploaded it as (0: not a part)
    # and its checksum (base64, of the upload's algorithm), if it has one.
    part_number: int = 0
    checksum: str | None = None
    crc64: str | None = None  # see oortgate.integrity; None: written before it existed


# An object's body says what it is (as Garage's ObjectVersionData does): bytes kept in
# the metadata store, one blob, or the parts of a completed multipart upload. The
# stores' row mappings make them (oortgate.meta.body_rows); handlers match on the type.


@dataclass(frozen=True, slots=True)
class InlineBody:
    """A small object's bytes, kept in the metadata store itself: one commit makes them
    durable (no blob to create, fsync and open)."""

    data: bytes
    crc64: str | None = None  # see oortgate.integrity; None: written before it existed
    # The store's name for its copy of the bytes, which copies of the object share;
    # "" for new bytes (the store names them when it stores them).
    ref: str = ""


@dataclass(frozen=True, slots=True)
class BlobBody:
    """A plain object's bytes: one blob of the blob store."""

    blob_id: str
    size: int
    crc64: str | None = None  # see oortgate.integrity; None: written before it existed


@dataclass(frozen=True, slots=True)
class PartsBody:
    """A completed multipart upload's bytes: one blob per part, in order."""

    parts: tuple[Segment, ...]


Body = InlineBody | BlobBody | PartsBody


def blob_segments(body: Body | None) -> tuple[Segment, ...]:
    """The blobs of the blob store that hold a body's bytes, in order: none for an
    inline body (nor for a listing's record, which has no body)."""
    match body:
        case BlobBody(blob_id=blob_id, size=size, crc64=crc64):
            return (Segment(blob_id, size, crc64=crc64),)
        case PartsBody(parts=parts):
            return parts
    return ()


# Not frozen: a listing builds a thousand of these per page, and a frozen dataclass's
# __init__ costs three times as much. Treat records as values all the same (change them
# with dataclasses.replace).
@dataclass(slots=True)
class ObjectRecord:
    bucket_id: int
    key: str
    # What its bytes are and where (see Body); None in a listing's records (a listing
    # never reads bytes). Kept apart from the fields that name the object.
    body: Body | None
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
    acl: str = "private"  # a canned ACL name or explicit grants (see oortgate.policy)
    owner_id: int | None = None  # the writer; None: an anonymous writer
    # Archive objects under Glacier semantics: restored (readable) from restore_ready
    # (epoch seconds) until restore_expiry; None: no restore requested.
    restore_ready: float | None = None
    restore_expiry: float | None = None
    # Tag key -> value (see oortgate.tagging); listings leave it empty.
    tags: dict[str, str] = field(default_factory=dict)
    # Its version id in a versioned bucket ("": the null version, the only one an
    # unversioned bucket knows); a delete marker has no body and no bytes.
    version_id: str = ""
    delete_marker: bool = False
    # The lock a new version is written with (set only on writes: reads leave it None;
    # MetaStore.get_object_lock reads one).
    lock: ObjectLock | None = None

    @property
    def blob_ids(self) -> tuple[str, ...]:
        """The blob store's blobs its bytes are in (none for an inline object)."""
        return tuple(s.blob_id for s in blob_segments(self.body))


def dated(record: ObjectRecord, stored_at: float) -> ObjectRecord:
    """``record`` as its store dated it (PostgreSQL by its own clock): the same record
    when that is the time it carries, as on SQLite, else a copy (a replace costs ~6 us)."""
    if stored_at == record.last_modified:
        return record
    return replace(record, last_modified=stored_at)


@dataclass(frozen=True, slots=True)
class ObjectPage:
    """One page of a listing: objects and common prefixes, both in key order."""

    objects: list[ObjectRecord]
    common_prefixes: list[str]
    is_truncated: bool
    # The last key or common prefix this page returned (when truncated): where the
    # next page starts after.
    next_marker: str | None


@dataclass(frozen=True, slots=True)
class VersionPage:
    """One page of ListObjectVersions: (version or delete marker, is latest) in key
    order, newest first within a key, and common prefixes."""

    versions: list[tuple[ObjectRecord, bool]]
    common_prefixes: list[str]
    is_truncated: bool
    # Where the next page starts after (when truncated): a key and the version id of its
    # last version listed, or a common prefix and None.
    next_key_marker: str | None
    next_version_id_marker: str | None


@dataclass(frozen=True, slots=True)
class Upload:
    """An open multipart upload: what CreateMultipartUpload fixed for the final object."""

    upload_id: str
    bucket_id: int
    key: str
    initiated: float
    content_type: str = "binary/octet-stream"
    system_headers: dict[str, str] = field(default_factory=dict)
    user_metadata: dict[str, str] = field(default_factory=dict)
    storage_class: str = "STANDARD"
    checksum_algorithm: str | None = None  # "CRC32", ... as AWS spells it
    checksum_type: str | None = None  # "COMPOSITE" or "FULL_OBJECT"
    acl: str = "private"
    owner_id: int | None = None
    tags: dict[str, str] = field(default_factory=dict)  # applied to the completed object
    # The lock its x-amz-object-lock-* headers asked for (None: none; the bucket's
    # default retention then applies at Complete).
    lock: ObjectLock | None = None


@dataclass(frozen=True, slots=True)
class CompletedUpload:
    """A multipart upload that became an object: what a retried Complete answers with,
    as long as that object is still the one at the key (same etag and last_modified)."""

    upload_id: str
    bucket_id: int
    key: str
    etag: str
    last_modified: float  # the completed object's
    completed: float  # when (epoch seconds): remembered for COMPLETED_UPLOAD_DAYS


@dataclass(frozen=True, slots=True)
class Part:
    part_number: int
    blob_id: str
    size: int
    etag: str  # hex MD5, without quotes
    last_modified: float
    checksum: str | None = None  # base64, of the upload's checksum algorithm
    crc64: str | None = None  # see oortgate.integrity


@dataclass(frozen=True, slots=True)
class UploadPage:
    uploads: list[Upload]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None


@dataclass(frozen=True, slots=True)
class StorageUsage:
    """What the store holds, for the metrics: objects' bytes (as uploaded) and count,
    and garbage blobs due for collection or still in their grace period."""

    stored_bytes: int
    objects: int
    garbage_due: int
    garbage_waiting: int


@dataclass(frozen=True, slots=True)
class MetaCounts:
    """Every count ``oortgate admin stats`` reports from the metadata, read in one
    snapshot (aggregate queries: a tool's, never the request path's)."""

    objects: int
    bytes: int
    inline_objects: int
    inline_bytes: int
    inline_blobs: int  # rows of inline bytes (copies share one)
    object_blobs: int  # distinct blob files objects and versions (or their parts) name
    upload_part_blobs: int  # distinct blob files open uploads' parts name
    counted_blobs: int  # blob files with a reference count row
    pending: int
    garbage: int
    garbage_due: int  # queued at or before the time asked for
    uploads: int
    buckets: int
    users: int
    keys: int


COUNT_NAMES = tuple(f.name for f in fields(MetaCounts))


@dataclass(frozen=True, slots=True)
class BucketUsage:
    """One bucket's totals, for the console's dashboard and bucket list."""

    name: str
    tier: str
    created: float
    objects: int
    size: int


@dataclass(frozen=True, slots=True)
class Session:
    """A worker process that may write: its pending blobs and temp files are its own.
    ``started`` and ``heartbeat`` are epoch seconds (the heartbeat is refreshed
    periodically while the process lives)."""

    session_id: str
    host: str
    pid: int
    started: float
    heartbeat: float
