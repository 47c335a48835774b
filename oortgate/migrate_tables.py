"""What `oortgate admin migrate-meta` copies from the embedded SQLite store to PostgreSQL,
table by table, and the per-table checksums that verify the copy.

Both stores keep the same stored form (see meta.body_rows), so rows are copied as they
are, ids included: users and buckets keep their ids (objects and keys name them), and
the identity sequences are moved past the copied ids afterwards. Left behind, on
purpose: ``sessions``, ``read_leases`` and ``leases`` (the source's workers are gone),
``pending_blobs`` (their writers died with them: the blobs are garbage) and ``garbage``
(not referenced; in a blob store shared with the source, the orphan sweep takes those
files).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    key: tuple[str, ...]  # the primary key: the copy's order and resume point
    columns: tuple[str, ...]
    # Source expressions that differ from the column name (SQLite rows from before a
    # column was NOT NULL are read as the store reads them).
    source_exprs: tuple[tuple[str, str], ...] = ()

    def source_select(self) -> str:
        exprs = dict(self.source_exprs)
        return ", ".join(exprs.get(c, c) for c in self.columns)

    def target_select(self) -> str:
        return ", ".join(self.columns)


def _t(name: str, key: str, columns: str, *exprs: tuple[str, str]) -> Table:
    cols = tuple(c.strip() for c in columns.split(","))
    keys = tuple(k.strip() for k in key.split(","))
    return Table(name, keys, cols, exprs)


# In foreign-key order.
TABLES: tuple[Table, ...] = (
    _t("users", "id", "id, name, canonical_id, created, bucket_count, key_count"),
    _t("access_keys", "access_key",
       "access_key, secret_key, user_id, enabled, created, rate_limit"),
    _t("buckets", "id", "id, name, owner_id, region, created, acl, cors, tier, tags, "
       "ownership, public_access_block, policy, lifecycle, versioning, object_lock"),
    _t("objects", "bucket_id, key", "bucket_id, key, blob_id, size, etag, last_modified, "
       "content_type, system_headers, user_metadata, checksums, storage_class, parts_count, "
       "acl, owner_id, restore_ready, restore_expiry, tags, crc64, version_id"),
    _t("object_parts", "bucket_id, key, idx",
       "bucket_id, key, idx, blob_id, size, part_number, checksum, crc64",
       ("part_number", "COALESCE(part_number, idx + 1)")),
    _t("object_versions", "bucket_id, key, seq", "bucket_id, key, seq, version_id, marker, "
       "blob_id, size, etag, last_modified, content_type, system_headers, user_metadata, "
       "checksums, storage_class, parts_count, acl, owner_id, restore_ready, restore_expiry, "
       "tags, crc64"),
    _t("object_version_parts", "bucket_id, key, seq, idx",
       "bucket_id, key, seq, idx, blob_id, size, part_number, checksum, crc64"),
    _t("object_locks", "bucket_id, key, version_id",
       "bucket_id, key, version_id, mode, retain_until, legal_hold"),
    _t("inline_blobs", "blob_id", "blob_id, data, refs"),
    _t("blobs", "blob_id", "blob_id, refs"),
    _t("uploads", "upload_id", "upload_id, bucket_id, key, initiated, content_type, "
       "system_headers, user_metadata, storage_class, checksum_algorithm, checksum_type, "
       "acl, owner_id, tags, object_lock"),
    _t("upload_parts", "upload_id, part_number", "upload_id, part_number, blob_id, size, "
       "etag, last_modified, checksum, crc64"),
    _t("completed_uploads", "upload_id",
       "upload_id, bucket_id, key, etag, last_modified, completed"),
    _t("console_signouts", "sid", "sid, expires"),
)  # fmt: skip
# read_leases belong to the source's (dead) sessions, leases (the lifecycle worker's)
# to its gateways.
LEFT_BEHIND = ("sessions", "pending_blobs", "garbage", "read_leases", "leases")
# Tables whose identity sequence must move past the copied ids.
IDENTITY_TABLES = ("users", "buckets")


def normalized(value: Any) -> Any:
    """One value as both stores return it: SQLite's 0/1 and PostgreSQL's booleans alike,
    bytea's memoryview as bytes."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


class TableDigest:
    """A table's row count and SHA-256 over its rows in key order; with ``per_bucket``
    (objects), each bucket's key count and key-list digest as well."""

    def __init__(self, per_bucket: bool = False) -> None:
        self.rows = 0
        self._hash = hashlib.sha256()
        self._per_bucket = per_bucket
        self.buckets: dict[int, tuple[int, str]] = {}
        self._bucket: int | None = None
        self._keys = hashlib.sha256()
        self._bucket_rows = 0

    def add(self, row: Sequence[Any]) -> None:
        values = tuple(normalized(v) for v in row)
        self.rows += 1
        self._hash.update(repr(values).encode())
        self._hash.update(b"\n")
        if self._per_bucket:
            bucket, key = int(values[0]), str(values[1])
            if bucket != self._bucket:
                self._close_bucket()
                self._bucket = bucket
            self._keys.update(key.encode("utf-8", "surrogatepass") + b"\x00")
            self._bucket_rows += 1

    def add_all(self, rows: Iterable[Sequence[Any]]) -> TableDigest:
        for row in rows:
            self.add(row)
        self._close_bucket()
        return self

    def _close_bucket(self) -> None:
        if self._bucket is not None:
            self.buckets[self._bucket] = (self._bucket_rows, self._keys.hexdigest())
        self._bucket, self._keys, self._bucket_rows = None, hashlib.sha256(), 0

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
