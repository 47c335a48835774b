"""Objects, listings and the blob lifecycle on SQLite."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Generator, Sequence
from contextlib import closing
from itertools import islice
from typing import Any, TypeVar

from oortgate.errors import S3Error
from oortgate.meta import body_rows, object_lock, version_lifecycle, version_restore, versions
from oortgate.meta.models import (
    ObjectLock,
    ObjectPage,
    ObjectRecord,
    PartsBody,
    Segment,
    VersionPage,
)
from oortgate.meta.preconditions import Current, Precondition, check
from oortgate.meta.sqlite_db import (
    BLOB_TABLES,
    chunks,
    dumps,
    key_range,
    lower_bound,
    nullable_dumps,
    nullable_loads,
    qualified,
    successor,
)
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


# What a listing shows of an object: its records carry no headers, user metadata or
# restore state (nor a body).
_LIST_COLS = "key, size, etag, last_modified, checksums, storage_class, owner_id"


def _listed(bucket_id: int, row: Sequence[Any]) -> ObjectRecord:
    key, size, etag, modified, sums, cls, owner_id = row
    return ObjectRecord(bucket_id, key, None, size, etag, modified, checksums=_doc(sums),
                        storage_class=cls, owner_id=owner_id)  # fmt: skip


def _doc(text: str) -> dict[str, str]:
    doc: dict[str, str] = {} if text == "{}" else json.loads(text)
    return doc


def _object(
    row: Sequence[Any], inline: bytes | None = None, parts: Sequence[Segment] = ()
) -> ObjectRecord:
    bucket_id, key, blob_id, size, etag, modified, ctype, headers, meta, sums, cls, count = row[:12]
    body = body_rows.loaded(blob_id, size, count, row[17], inline, parts)
    return ObjectRecord(
        bucket_id, key, body, size, etag, modified, ctype, _doc(headers), _doc(meta),
        _doc(sums), cls, acl=row[12], owner_id=row[13], restore_ready=row[14],
        restore_expiry=row[15], tags=nullable_loads(row[16]), version_id=row[18],
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

    # -- versions (oortgate.meta.versions) ------------------------------------------
    def _drive(self, steps: versions.Steps[T]) -> T:
        """Run an operation's steps on this connection (inside the caller's transaction)."""
        try:
            step = next(steps)
            while True:
                rows: list[Any] = []
                if isinstance(step, versions.Release):
                    for blob_id in step.blob_ids:
                        self._release(blob_id)
                elif isinstance(step, versions.Claim):
                    rows = [(all([self._claim(b) for b in step.blob_ids]),)]
                else:
                    rows = self._conn.execute(step.text, step.args).fetchall()
                step = steps.send(rows)
        except StopIteration as done:
            result: T = done.value
            return result

    def add_delete_marker(
        self, bucket_id: int, key: str, version_id: str, owner_id: int | None,
        condition: Precondition | None = None,
    ) -> float:  # fmt: skip
        now = time.time()
        try:
            with self._write():
                check(condition, self._current(bucket_id, key), key)
                self._drive(versions.add_delete_marker(bucket_id, key, version_id, owner_id,
                                                       repr(now)))  # fmt: skip
        except sqlite3.IntegrityError:
            raise S3Error("NoSuchBucket") from None
        return now

    def delete_version(
        self, bucket_id: int, key: str, version_id: str, bypass_governance: bool = False
    ) -> bool | None:
        now = repr(time.time())
        with self._write():
            return self._drive(object_lock.guarded_delete(bucket_id, key, version_id,
                                                          bypass_governance, now))  # fmt: skip

    # -- object lock (oortgate.meta.object_lock) -------------------------------------
    def write_lock(self, record: ObjectRecord) -> None:
        """A versioned write's lock, in the caller's write transaction."""
        if record.lock is not None:
            self._drive(object_lock.write(record.bucket_id, record.key, record.version_id,
                                          record.lock))  # fmt: skip

    def get_object_lock(self, bucket_id: int, key: str, version_id: str) -> ObjectLock | None:
        with self._snapshot():
            return self._drive(object_lock.read(bucket_id, key, version_id))

    def set_object_retention(
        self, bucket_id: int, key: str, version_id: str, mode: str | None,
        until: float | None, bypass_governance: bool = False,
    ) -> bool:  # fmt: skip
        now = repr(time.time())
        with self._write():
            return self._drive(object_lock.set_retention(bucket_id, key, version_id, mode, until,
                                                         bypass_governance, now))  # fmt: skip

    def set_object_legal_hold(self, bucket_id: int, key: str, version_id: str, on: bool) -> bool:
        with self._write():
            return self._drive(object_lock.set_legal_hold(bucket_id, key, version_id, on))

    def set_version_restore(
        self, bucket_id: int, key: str, version_id: str, ready: float, expiry: float
    ) -> bool:
        now = time.time()
        with self._write():
            return self._drive(version_restore.set_restore(bucket_id, key, version_id,
                                                           ready - now, expiry - now,
                                                           repr(now)))  # fmt: skip

    def transition_version(self, record: ObjectRecord) -> bool:
        with self._write():
            return self._drive(version_lifecycle.transition_version(record))

    def expire_delete_marker(self, bucket_id: int, key: str, version_id: str) -> bool:
        with self._write():
            return self._drive(version_lifecycle.expire_lone_marker(bucket_id, key, version_id))

    def get_object_version(self, bucket_id: int, key: str, version_id: str) -> ObjectRecord | None:
        with self._snapshot():
            return self._drive(versions.get_version(bucket_id, key, version_id))

    def current_delete_marker(self, bucket_id: int, key: str) -> ObjectRecord | None:
        with self._snapshot():
            return self._drive(versions.current_delete_marker(bucket_id, key))

    def list_object_versions(
        self, bucket_id: int, prefix: str = "", delimiter: str = "", key_marker: str = "",
        version_id_marker: str | None = None, max_keys: int = 1000,
    ) -> VersionPage:  # fmt: skip
        steps = versions.list_versions(bucket_id, prefix, delimiter, key_marker,
                                       version_id_marker, max_keys)  # fmt: skip
        with self._snapshot():
            return self._drive(steps)

    # -- listing --------------------------------------------------------------------
    def list_objects(
        self,
        bucket_id: int,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        """max_keys <= 0 returns an empty, untruncated page (as AWS does for max-keys=0).
        One entry beyond max_keys is looked up, so is_truncated is never a false alarm."""
        if max_keys <= 0:
            return ObjectPage([], [], False, None)
        walk = self._walk(bucket_id, prefix, delimiter, start_after, max_keys + 1)
        with self._snapshot(), closing(walk):
            entries = list(islice(walk, max_keys + 1))
        truncated = len(entries) > max_keys
        entries = entries[:max_keys]
        objects = [e for e in entries if isinstance(e, ObjectRecord)]
        prefixes = [e for e in entries if isinstance(e, str)]
        marker = None
        if truncated:
            last = entries[-1]
            marker = last if isinstance(last, str) else last.key
        return ObjectPage(objects, prefixes, truncated, marker)

    def _walk(
        self, bucket_id: int, prefix: str, delimiter: str, start_after: str, batch: int
    ) -> Generator[ObjectRecord | str, None, None]:
        """Objects and common prefixes in key order. After a common prefix P, the next
        seek starts at successor(P): its keys are skipped by the index, not read."""
        upper = successor(prefix)
        bound, inclusive = lower_bound(prefix, start_after)
        while True:
            rolled: str | None = None
            seen = 0
            cond, args = key_range("key", bound, inclusive, upper)
            sql = f"SELECT {_LIST_COLS} FROM objects WHERE bucket_id = ? AND {cond} ORDER BY key"
            with closing(self._conn.execute(sql + " LIMIT ?", [bucket_id, *args, batch])) as rows:
                for row in rows:
                    seen += 1
                    key: str = row[0]
                    cut = key.find(delimiter, len(prefix)) if delimiter else -1
                    if cut >= 0:
                        rolled = key[: cut + len(delimiter)]
                        break
                    yield _listed(bucket_id, row)
                    bound, inclusive = key, False
            if rolled is None:
                if seen < batch:
                    return  # the range is exhausted
                continue  # a full batch of plain keys: seek on from the last one
            # A start_after inside (or equal to) this prefix means its keys were listed
            # on an earlier page: skip it without returning it again.
            if rolled > start_after:
                yield rolled
            after = successor(rolled)
            if after is None or (upper is not None and after >= upper):
                return
            bound, inclusive = after, True

    # -- blob lifecycle -------------------------------------------------------------
    def add_pending_blob(self, blob_id: str) -> None:
        try:
            with self._write():
                self._one(
                    "INSERT INTO pending_blobs (blob_id, created, session_id) VALUES (?, ?, ?)",
                    blob_id,
                    time.time(),
                    self._session,
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"blob id already pending: {blob_id}") from None

    def drop_pending_blob(self, blob_id: str) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM pending_blobs WHERE blob_id = ?", (blob_id,)).rowcount:
                self._one("INSERT OR IGNORE INTO garbage (blob_id) VALUES (?)", blob_id)

    def take_garbage(self, limit: int = 1000, queued_before: float | None = None) -> list[str]:
        """Claims and deletes the rows in one write transaction: two workers' collectors
        never take the same id."""
        # INDEXED BY: for ORDER BY ... LIMIT the planner would rather scan every row.
        # A blob under a read lease of a registered session waits (see lease_blobs).
        sql = (
            "DELETE FROM garbage WHERE blob_id IN (SELECT blob_id FROM garbage"
            " INDEXED BY garbage_queued WHERE queued_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM read_leases l JOIN sessions s"
            " ON s.session_id = l.session_id WHERE l.blob_id = garbage.blob_id)"
            " ORDER BY blob_id LIMIT ?) RETURNING blob_id"
        )
        before = math.inf if queued_before is None else queued_before
        with self._write() as db:
            return sorted(row[0] for row in db.execute(sql, (before, limit)).fetchall())

    def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        known: set[str] = set()
        with self._snapshot() as db:
            for chunk in chunks(list(blob_ids)):
                marks = ", ".join("?" * len(chunk))
                for table in BLOB_TABLES:
                    sql = f"SELECT DISTINCT blob_id FROM {table} WHERE blob_id IN ({marks})"
                    known.update(row[0] for row in db.execute(sql, chunk))
        return known

    def recover_pending(self) -> int:
        """Pending marks of no registered session become garbage: written before
        sessions existed, by a session-less tool, or by a session ended meanwhile.
        A live session's marks are never touched."""
        orphaned = (
            "FROM pending_blobs WHERE session_id IS NULL OR NOT EXISTS"
            " (SELECT 1 FROM sessions WHERE sessions.session_id = pending_blobs.session_id)"
        )
        if self._one(f"SELECT 1 {orphaned} LIMIT 1") is None:
            return 0  # the usual case: no write transaction for nothing
        with self._write() as db:
            db.execute(f"INSERT OR IGNORE INTO garbage (blob_id) SELECT blob_id {orphaned}")
            return db.execute(f"DELETE {orphaned}").rowcount
