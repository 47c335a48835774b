"""``oortgate fsck``'s walk of the SQLite metadata (the MetaScan Protocol of
oortgate.meta.scan): every object, every noncurrent version and every part of an open
upload, with the blobs each
needs, and which blob ids any row knows.

The connection is opened ``mode=ro`` (nothing can be written by mistake) and reads page
by page, each page in one short read transaction: the server's writers go on meanwhile
(WAL readers never block them), and no snapshot is held for the whole walk. Each call
runs at once on the caller's loop (a tool's: nothing else waits on it). Only
``repair_reference_counts`` writes, through the store the composition root hands in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from oortgate.meta.scan import (
    FIRST_SEQ,
    PAGE,
    Drift,
    Entry,
    MetadataDamaged,
    MetadataUnusable,
    object_entry,
    part_entry,
)
from oortgate.meta.sqlite_blob_lifecycle import known_blobs
from oortgate.meta.sqlite_integrity import integrity_check, open_read_only
from oortgate.meta.sqlite_refcounts import COUNTED_SINCE, reference_drift
from oortgate.meta.sqlite_schema import SCHEMA_VERSION

T = TypeVar("T")
# The schema version that brought object_versions (an older database has none to check).
VERSIONED_SINCE = 14


def _parts_query(
    columns: str, bucket_id: int, key: str, version: tuple[int, str] | None
) -> tuple[str, tuple[object, ...]]:
    """The parts of a multipart object (current) or of a noncurrent version of one."""
    if version is None:
        return (f"SELECT {columns} FROM object_parts WHERE bucket_id = ? AND key = ?"
                " ORDER BY idx", (bucket_id, key))  # fmt: skip
    return (f"SELECT {columns} FROM object_version_parts WHERE bucket_id = ? AND key = ?"
            " AND seq = ? ORDER BY idx", (bucket_id, key, version[0]))  # fmt: skip


class Recounter(Protocol):
    """The store that sets drifted counts right (the SQLite store's writer)."""

    def repair_reference_counts(self, blob_ids: Sequence[str]) -> int: ...

    def close(self) -> None: ...


class SqliteScan:
    def __init__(self, path: Path, open_writer: Callable[[], Recounter] | None = None) -> None:
        self._open_writer = open_writer
        self._writer: Recounter | None = None
        if not path.is_file():
            raise MetadataUnusable(f"metadata database {path}: no such file")
        self.path = path
        try:
            self._conn = open_read_only(path)
            version = self._conn.execute("PRAGMA user_version").fetchall()[0][0]
        except sqlite3.OperationalError as exc:  # unreadable (permissions, a directory)
            raise MetadataUnusable(f"metadata database {path}: {exc}") from None
        except sqlite3.DatabaseError:
            version = 0  # not a database at all: integrity_check says so
        if version > SCHEMA_VERSION:
            self._conn.close()
            raise MetadataUnusable(f"{path}: schema {version} is newer than this oortgate")
        self.version = version

    async def close(self) -> None:
        self._conn.close()
        if self._writer is not None:
            self._writer.close()

    async def integrity(self) -> list[str]:
        return integrity_check(self._conn).problems

    async def totals(self) -> tuple[int, int]:
        """(entries, bytes): every object, noncurrent version and open upload's part, for
        a progress bar."""
        sql = (
            "SELECT (SELECT COUNT(*) FROM objects) + (SELECT COUNT(*) FROM upload_parts),"
            " (SELECT COALESCE(SUM(size), 0) FROM objects)"
            " + (SELECT COALESCE(SUM(size), 0) FROM upload_parts)"
        )
        count, size = self._read(lambda db: db.execute(sql).fetchall()[0])
        if self.version >= VERSIONED_SINCE:
            sql = "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM object_versions WHERE marker = 0"
            more, more_size = self._read(lambda db: db.execute(sql).fetchall()[0])
            count, size = count + more, size + more_size
        return int(count), int(size)

    async def objects(self) -> AsyncIterator[Entry]:
        after: tuple[int, str] = (-1, "")
        while page := self._read(self._object_page, after):
            for entry in page:
                yield entry
            after = (page[-1].bucket_id, page[-1].key)

    def _object_page(self, db: sqlite3.Connection, after: tuple[int, str]) -> list[Entry]:
        rows = db.execute(
            "SELECT o.bucket_id, b.name, o.key, o.blob_id,"
            " o.size, o.etag, o.checksums, o.parts_count, o.crc64 FROM objects o"
            " LEFT JOIN buckets b ON b.id = o.bucket_id"
            " WHERE (o.bucket_id, o.key) > (?, ?) ORDER BY o.bucket_id, o.key LIMIT ?",
            (*after, PAGE),
        ).fetchall()
        return [self._object(db, row) for row in rows]

    async def versions(self) -> AsyncIterator[Entry]:
        after: tuple[int, str, int] = (-1, "", FIRST_SEQ)
        if self.version < VERSIONED_SINCE:
            return
        while page := self._read(self._version_page, after):
            for entry in page:
                yield entry
            after = (page[-1].bucket_id, page[-1].key, page[-1].seq)

    def _version_page(self, db: sqlite3.Connection, after: tuple[int, str, int]) -> list[Entry]:
        # Delete markers name no blob: nothing of theirs to check.
        rows = db.execute(
            "SELECT v.bucket_id, b.name, v.key, v.blob_id, v.size, v.etag, v.checksums,"
            " v.parts_count, v.crc64, v.seq, v.version_id FROM object_versions v"
            " LEFT JOIN buckets b ON b.id = v.bucket_id"
            " WHERE v.marker = 0 AND (v.bucket_id, v.key, v.seq) > (?, ?, ?)"
            " ORDER BY v.bucket_id, v.key, v.seq LIMIT ?",
            (*after, PAGE),
        ).fetchall()
        return [self._object(db, row[:9], (int(row[9]), str(row[10]))) for row in rows]

    def _object(
        self, db: sqlite3.Connection, row: Sequence[Any], version: tuple[int, str] | None = None
    ) -> Entry:
        """An objects row, or (with its (seq, version id)) an object_versions one."""
        bucket_id, key, parts_count = row[0], row[2], row[7]
        query = _parts_query("blob_id, size, checksum, crc64", bucket_id, key, version)
        return object_entry(row, db.execute(*query) if parts_count else (), version)

    async def upload_parts(self) -> AsyncIterator[Entry]:
        after: tuple[str, int] = ("", -1)
        while page := self._read(self._part_page, after):
            for entry in page:
                yield entry
            after = (page[-1].upload_id or "", page[-1].part_number)

    def _part_page(self, db: sqlite3.Connection, after: tuple[str, int]) -> list[Entry]:
        rows = db.execute(
            "SELECT p.upload_id, p.part_number, p.blob_id, p.size, p.etag, p.checksum,"
            " u.checksum_algorithm, u.key, COALESCE(b.name, '#' || u.bucket_id), p.crc64"
            " FROM upload_parts p LEFT JOIN uploads u ON u.upload_id = p.upload_id"
            " LEFT JOIN buckets b ON b.id = u.bucket_id"
            " WHERE (p.upload_id, p.part_number) > (?, ?)"
            " ORDER BY p.upload_id, p.part_number LIMIT ?",
            (*after, PAGE),
        ).fetchall()
        return [part_entry(row) for row in rows]

    async def blob_ids_now(self, entry: Entry) -> tuple[str, ...]:
        if entry.upload_id is not None:
            sql = "SELECT blob_id FROM upload_parts WHERE upload_id = ? AND part_number = ?"
            args: tuple[object, ...] = (entry.upload_id, entry.part_number)
        elif entry.declared_parts:
            version = None if entry.version_id is None else (entry.seq, entry.version_id)
            sql, args = _parts_query("blob_id", entry.bucket_id, entry.key, version)
        elif entry.version_id is not None:
            sql = "SELECT blob_id FROM object_versions WHERE bucket_id = ? AND key = ? AND seq = ?"
            args = (entry.bucket_id, entry.key, entry.seq)
        else:
            sql = "SELECT blob_id FROM objects WHERE bucket_id = ? AND key = ?"
            args = (entry.bucket_id, entry.key)
        return self._read(lambda db: tuple(row[0] for row in db.execute(sql, args)))

    async def inline_data(self, blob_id: str) -> bytes | None:
        sql = "SELECT data FROM inline_blobs WHERE blob_id = ?"
        rows = self._read(lambda db: db.execute(sql, (blob_id,)).fetchall())
        return bytes(rows[0][0]) if rows else None

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        return self._read(known_blobs, blob_ids)

    async def reference_drift(self) -> list[Drift] | None:
        """None for a schema without counts (the server adds them at its next start)."""
        if self.version < COUNTED_SINCE:
            return None
        return self._read(reference_drift)

    async def repair_reference_counts(self, blob_ids: Sequence[str]) -> int:
        if self._writer is None:
            if self._open_writer is None:
                raise RuntimeError("opened read-only: no repair")
            self._writer = self._open_writer()
        return self._writer.repair_reference_counts(blob_ids)

    def _read(self, work: Callable[..., T], *args: Any) -> T:
        """``work(connection, *args)`` in one read transaction; damage becomes
        MetadataDamaged."""
        try:
            self._conn.execute("BEGIN")
            try:
                return work(self._conn, *args)
            finally:
                self._conn.execute("COMMIT")
        except (sqlite3.DatabaseError, ValueError, TypeError) as exc:
            raise MetadataDamaged(str(exc)) from None
