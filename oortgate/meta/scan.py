"""What ``oortgate fsck`` reads of a metadata store, on any backend: every object, every
noncurrent version (its bytes are kept as long as the version is) and every part of an
open upload (in bounded pages, each page its own short read: the
server's writers go on meanwhile and no snapshot is held for the whole walk), with the
blobs each needs, which blob ids any row knows, and the reference counts that drifted.
Opened by the composition root (``stores.open_scan``), read-only but for
``repair_reference_counts`` (``fsck --repair``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

PAGE = 500  # rows per read


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
