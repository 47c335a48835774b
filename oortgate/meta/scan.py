"""What ``oortgate fsck`` reads of a metadata store, on any backend: every object, every
noncurrent version (its bytes are kept as long as the version is) and every part of an
open upload (in bounded pages, each page its own short read: the
server's writers go on meanwhile and no snapshot is held for the whole walk), with the
blobs each needs, which blob ids any row knows, and the reference counts that drifted.
Opened by the composition root (``stores.open_scan``), read-only but for
``repair_reference_counts`` (``fsck --repair``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from oortgate.meta.body_rows import is_inline_ref

PAGE = 500  # rows per read
FIRST_SEQ = -(2**63)  # below every seq (a key's versions count down from -1)


class MetadataDamaged(Exception):
    """The metadata cannot be read (a damaged page, a row that does not decode)."""


class MetadataUnusable(Exception):
    """The metadata cannot be checked at all (missing, unreadable, a newer schema)."""


@dataclass(frozen=True, slots=True)
class BlobRef:
    """One blob an entry's bytes are in, and what is known of it alone."""

    blob_id: str
    size: int
    checksum: tuple[str, str] | None = None  # (algorithm, base64) of these bytes
    crc64: str | None = None  # the integrity CRC (oortgate.integrity), if written with one
    inline: bool = False  # its bytes are an inline_blobs row (see inline_data), not a blob


@dataclass(frozen=True, slots=True)
class Entry:
    """Something whose bytes live in blobs: an object, a noncurrent version of one, or a
    part of an open upload."""

    bucket: str
    key: str
    etag: str  # hex MD5 of the bytes, or (multipart) MD5 of the parts' MD5s + "-N"
    size: int
    blobs: tuple[BlobRef, ...]
    # A multipart object's part count, as its row says (0: not multipart; its ETag is
    # then the "-N" kind): fsck compares it with the part rows found.
    declared_parts: int = 0
    checksums: dict[str, str] = field(default_factory=dict)  # whole-object, base64
    upload_id: str | None = None  # set for a part of an open upload
    part_number: int = 0
    bucket_id: int = 0
    row_damage: str | None = None  # a column of its row that does not decode
    version_id: str | None = None  # set for a noncurrent version (object_versions)
    seq: int = 0  # a noncurrent version's row (bucket_id, key, seq)


@dataclass(frozen=True, slots=True)
class Drift:
    blob_id: str
    counted: int  # what its count row says (0: none)
    referenced: int  # how many rows reference it


def decode_checksums(text: str | None) -> tuple[dict[str, str], str | None]:
    """A checksums column, and what is wrong with it if it does not decode."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        value = None
    if not isinstance(value, dict):
        return {}, f"the checksums column does not decode: {text!r:.60}"
    return {str(k): str(v) for k, v in value.items()}, None


def object_entry(
    row: Sequence[Any], parts: Iterable[Sequence[Any]], version: tuple[int, str] | None = None
) -> Entry:
    """An objects row, or (with its (seq, version id)) an object_versions one: its first
    nine columns bucket_id, the bucket's name (None: no such bucket), key, blob_id, size,
    etag, checksums, parts_count, crc64; ``parts`` a multipart one's (blob_id, size,
    checksum, crc64) in order (read only where parts_count says so)."""
    bucket_id, bucket, key, blob_id, size, etag, checksums, parts_count, crc64 = row[:9]
    sums, damage = decode_checksums(checksums)
    if bucket is None:  # a bucket with objects cannot be deleted: this is damage
        bucket, damage = f"#{bucket_id}", f"no bucket has the id {bucket_id}"
    if not parts_count:
        blobs: tuple[BlobRef, ...] = (
            BlobRef(blob_id, size, crc64=crc64, inline=is_inline_ref(blob_id)),
        )
    else:
        # A part's checksum is of the upload's algorithm: the object's only one.
        algorithm = next(iter(sums)) if len(sums) == 1 else None
        blobs = tuple(
            BlobRef(part_blob, part_size,
                    (algorithm, value) if algorithm and value else None, part_crc)
            for part_blob, part_size, value, part_crc in parts
        )  # fmt: skip
    seq, version_id = version if version is not None else (0, None)
    return Entry(bucket, key, etag, size, blobs, parts_count, sums, bucket_id=bucket_id,
                 row_damage=damage, version_id=version_id, seq=seq)  # fmt: skip


def part_entry(row: Sequence[Any]) -> Entry:
    """An open upload's part: upload_id, part_number, blob_id, size, etag, checksum, the
    upload's checksum_algorithm and key (None: no such upload), the bucket's name, crc64."""
    upload_id, number, blob_id, size, etag, value, algorithm, key, bucket, crc = row
    checksum = (algorithm, value) if algorithm and value else None
    # Completing or aborting an upload drops its parts with it: this is damage.
    damage = None if key is not None else "no upload has this id"
    return Entry(bucket or "", key or "", etag, size, (BlobRef(blob_id, size, checksum, crc),),
                 upload_id=upload_id, part_number=number, row_damage=damage)  # fmt: skip


class MetaScan(Protocol):
    async def integrity(self) -> list[str]:
        """What the database's own check of its files finds (empty: nothing, or a
        server that checks its own pages, as PostgreSQL does)."""
        ...

    async def totals(self) -> tuple[int, int]:
        """(entries, bytes): every object, noncurrent version and open upload's part, for
        a progress bar."""
        ...

    def objects(self) -> AsyncIterator[Entry]:
        """Every object, page by page in (bucket id, key) order."""
        ...

    def versions(self) -> AsyncIterator[Entry]:
        """Every noncurrent version that has bytes (delete markers have none), page by
        page in (bucket id, key, seq) order."""
        ...

    def upload_parts(self) -> AsyncIterator[Entry]:
        """Every part of an open upload, page by page."""
        ...

    async def blob_ids_now(self, entry: Entry) -> tuple[str, ...]:
        """The blobs the entry's row names now (empty: the row is gone): a problem found
        while the server changed that row is no problem."""
        ...

    async def inline_data(self, blob_id: str) -> bytes | None:
        """An inline blob's bytes (at most the inline size limit), None if it has no row."""
        ...

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        """The ids that a row references, marks pending or queues as garbage."""
        ...

    async def reference_drift(self) -> list[Drift] | None:
        """Blobs whose reference count differs from the rows that reference them (one
        statement: one snapshot); None where the schema has no counts yet."""
        ...

    async def repair_reference_counts(self, blob_ids: Sequence[str]) -> int:
        """Set these blobs' counts to their references counted now, in one write
        transaction (a file blob left with none is queued as garbage, an inline one's row
        goes); returns how many changed."""
        ...

    async def close(self) -> None: ...
