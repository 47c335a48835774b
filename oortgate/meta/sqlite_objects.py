"""Objects on SQLite: reads, writes, deletes, ACLs and tags, and the driver of the
store-neutral step generators (oortgate.meta.versions and kin) the other stores build on.
Versions are in sqlite_versions, listings in sqlite_listing, the blob lifecycle in
sqlite_blob_lifecycle."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, TypeVar

from oortgate.errors import S3Error
from oortgate.meta import body_rows, object_lock, sql_steps, versions
from oortgate.meta.models import ObjectRecord, PartsBody, Segment
from oortgate.meta.preconditions import Current, Precondition, check
from oortgate.meta.sqlite_db import dumps, nullable_dumps, nullable_loads, qualified
from oortgate.meta.sqlite_refcounts import CountedReferences

T = TypeVar("T")

OBJ_COLS = (
    "bucket_id, key, blob_id, size, etag, last_modified, content_type,"
    " system_headers, user_metadata, checksums, storage_class, parts_count, acl, owner_id,"
    " restore_ready, restore_expiry, tags, crc64, version_id"
)


# One statement reads a plain object and, when it is inline, its bytes: a single
# statement sees one state of the database without a BEGIN/COMMIT around it.
_GET_PLAIN = (
    f"SELECT {qualified('objects', OBJ_COLS)}, inline_blobs.data FROM objects"
    " LEFT JOIN inline_blobs ON inline_blobs.blob_id = objects.blob_id"
    " WHERE objects.bucket_id = ? AND objects.key = ?"
)


_COLUMNS = len(OBJ_COLS.split(","))  # (in _GET_PLAIN's row, the inline bytes come next)


def _object(
    row: Sequence[Any], inline: bytes | None = None, parts: Sequence[Segment] = ()
) -> ObjectRecord:
    bucket_id, key, blob_id, size, etag, modified, ctype, headers, meta, sums, cls, count = row[:12]
    body = body_rows.loaded(blob_id, size, count, row[17], inline, parts)
    return ObjectRecord(
        bucket_id, key, body, size, etag, modified, ctype, nullable_loads(headers),
        nullable_loads(meta), nullable_loads(sums), cls, acl=row[12], owner_id=row[13],
        restore_ready=row[14], restore_expiry=row[15], tags=nullable_loads(row[16]),
        version_id=row[18],
    )  # fmt: skip


def _part_row(r: ObjectRecord, i: int, s: Segment) -> tuple[Any, ...]:
    return (r.bucket_id, r.key, i, s.blob_id, s.size, s.part_number or i + 1, s.checksum, s.crc64)


class ObjectsStore(CountedReferences):
    # -- objects --------------------------------------------------------------------
    def get_object(self, bucket_id: int, key: str) -> ObjectRecord | None:
        row = self._one(_GET_PLAIN, bucket_id, key)
        if row is None:
            return None
        if not row[11]:  # parts_count: a plain object, complete in that one row
            return _object(row, row[_COLUMNS])
        where = "WHERE bucket_id = ? AND key = ?"
        with self._snapshot():  # the object and its parts from one state
            row = self._one(f"SELECT {OBJ_COLS} FROM objects {where}", bucket_id, key)
            if row is None:
                return None
            rows = self._conn.execute(
                "SELECT blob_id, size, COALESCE(part_number, idx + 1), checksum, crc64"
                f" FROM object_parts {where} ORDER BY idx",
                (bucket_id, key),
            )
            parts = [Segment(b, size, n, sums, crc) for b, size, n, sums, crc in rows]
        return _object(row, None, parts)

    def put_object(
        self, record: ObjectRecord, condition: Precondition | None = None, versioned: bool = False
    ) -> None:
        """Raises S3Error NoSuchBucket if the bucket was deleted meanwhile, or the
        condition's error if it does not hold (the pending mark then stays: the caller
        drops it). ``versioned``: the key's current version is kept as a noncurrent one
        (see oortgate.meta.versions)."""
        try:
            with self._write():
                self._precondition(condition, record.bucket_id, record.key)
                columns = body_rows.stored(record.body)
                if columns.inline is not None:
                    self._claim_inline(columns.blob_id, columns.inline)
                elif not all(self._claim(blob_id) for blob_id in record.blob_ids):
                    raise S3Error("NoSuchKey", Key=record.key)  # a copy whose source vanished
                if versioned:
                    self._drive(versions.keep_history(record.bucket_id, record.key,
                                                      record.version_id))  # fmt: skip
                    self.write_lock(record)
                self._replace_object(record, columns)
        except sqlite3.IntegrityError:
            raise S3Error("NoSuchBucket") from None

    def _replace_object(self, r: ObjectRecord, columns: body_rows.BodyColumns) -> None:
        """Write r (its body stored as ``columns``) over whatever (bucket_id, key) held;
        the old blobs are released after the new references exist, so blobs shared by
        both stay alive. In a write transaction whose caller has claimed r's blobs."""
        old = self._remove_object(r.bucket_id, r.key)
        row = (r.bucket_id, r.key, columns.blob_id, r.size, r.etag, r.last_modified,
               r.content_type)  # fmt: skip
        docs = (dumps(r.system_headers), dumps(r.user_metadata), dumps(r.checksums))
        self._conn.execute(
            f"INSERT INTO objects ({OBJ_COLS}) VALUES ({', '.join('?' * _COLUMNS)})",
            (
                *row,
                *docs,
                r.storage_class,
                columns.parts_count,
                r.acl,
                r.owner_id,
                r.restore_ready,
                r.restore_expiry,
                nullable_dumps(r.tags),
                columns.crc64,
                r.version_id,
            ),
        )
        if isinstance(r.body, PartsBody):
            self._conn.executemany(
                "INSERT INTO object_parts (bucket_id, key, idx, blob_id, size, part_number,"
                " checksum, crc64) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [_part_row(r, i, s) for i, s in enumerate(r.body.parts)],
            )
        for blob_id in old:
            self._release(blob_id)

    def _precondition(self, condition: Precondition | None, bucket_id: int, key: str) -> None:
        """Raise unless ``condition`` holds in this write transaction; without one, the
        row is not read (most writes carry none)."""
        if condition is not None:
            check(condition, self._current(bucket_id, key), key)

    def _current(self, bucket_id: int, key: str) -> Current | None:
        """What a precondition compares, as this (write) transaction sees it."""
        sql = "SELECT etag, size, last_modified FROM objects WHERE bucket_id = ? AND key = ?"
        row = self._one(sql, bucket_id, key)
        return None if row is None else Current(*row)

    def _remove_object(self, bucket_id: int, key: str) -> list[str]:
        """Delete the rows of (bucket_id, key); returns the blob ids they stored (an
        inline body's row id among them), not yet released (none if there was no such
        object)."""
        where = "WHERE bucket_id = ? AND key = ?"
        row = self._one(f"SELECT blob_id, parts_count FROM objects {where}", bucket_id, key)
        if row is None:
            return []
        blob_ids = [row[0]]
        if row[1]:
            parts = self._conn.execute(
                f"SELECT blob_id FROM object_parts {where}", (bucket_id, key)
            )
            blob_ids = [blob_id for (blob_id,) in parts]
            self._conn.execute(f"DELETE FROM object_parts {where}", (bucket_id, key))
        self._conn.execute(f"DELETE FROM objects {where}", (bucket_id, key))
        return blob_ids

    def delete_object(
        self, bucket_id: int, key: str, condition: Precondition | None = None
    ) -> bool:
        with self._write():
            self._precondition(condition, bucket_id, key)
            return self._delete(bucket_id, key)

    def delete_objects(
        self,
        bucket_id: int,
        keys: Sequence[str],
        conditions: Sequence[Precondition | None] = (),
    ) -> list[S3Error | None]:
        """conditions[i] (if given) guards keys[i]; a key whose condition fails is kept
        and its error returned at its index, the others are deleted all the same."""
        refused: list[S3Error | None] = []
        with self._write():
            for i, key in enumerate(keys):
                condition = conditions[i] if i < len(conditions) else None
                try:
                    self._precondition(condition, bucket_id, key)
                except S3Error as err:
                    refused.append(err)
                    continue
                refused.append(None)
                self._delete(bucket_id, key)
        return refused

    def _delete(self, bucket_id: int, key: str) -> bool:
        old = self._remove_object(bucket_id, key)
        for blob_id in old:
            self._release(blob_id)
        return bool(old)

    def set_object_acl(
        self, bucket_id: int, key: str, acl: str, version_id: str | None = None
    ) -> bool:
        if version_id is not None:
            with self._write():
                return self._drive(versions.set_column(bucket_id, key, version_id, "acl", acl))
        sql = "UPDATE objects SET acl = ? WHERE bucket_id = ? AND key = ?"
        with self._write() as db:
            return db.execute(sql, (acl, bucket_id, key)).rowcount > 0

    def set_object_tags(
        self, bucket_id: int, key: str, tags: dict[str, str], version_id: str | None = None
    ) -> bool:
        if version_id is not None:
            steps = versions.set_column(bucket_id, key, version_id, "tags", nullable_dumps(tags))
            with self._write():
                return self._drive(steps)
        sql = "UPDATE objects SET tags = ? WHERE bucket_id = ? AND key = ?"
        with self._write() as db:
            return db.execute(sql, (nullable_dumps(tags), bucket_id, key)).rowcount > 0

    def has_objects(self, bucket_id: int) -> bool:
        """Objects, noncurrent versions or delete markers."""
        return any(
            self._one(f"SELECT 1 FROM {table} WHERE bucket_id = ? LIMIT 1", bucket_id)
            for table in ("objects", "object_versions")
        )

    # -- step generators (oortgate.meta.versions and kin), in the caller's transaction
    def _drive(self, steps: sql_steps.Steps[T]) -> T:
        """Run an operation's steps on this connection (inside the caller's transaction)."""
        try:
            step = next(steps)
            while True:
                rows: list[Any] = []
                if isinstance(step, sql_steps.Release):
                    for blob_id in step.blob_ids:
                        self._release(blob_id)
                elif isinstance(step, sql_steps.Claim):
                    rows = [(all([self._claim(b) for b in step.blob_ids]),)]
                else:
                    rows = self._conn.execute(step.text, step.args).fetchall()
                step = steps.send(rows)
        except StopIteration as done:
            result: T = done.value
            return result

    def write_lock(self, record: ObjectRecord) -> None:
        """A versioned write's lock, in the caller's write transaction."""
        if record.lock is not None:
            self._drive(object_lock.write(record.bucket_id, record.key, record.version_id,
                                          record.lock))  # fmt: skip
