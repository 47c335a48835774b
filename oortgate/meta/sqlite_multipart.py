"""Multipart uploads on SQLite: uploads, their parts, completion and abort."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

from oortgate.errors import S3Error
from oortgate.meta import body_rows, object_lock, versions
from oortgate.meta.models import CompletedUpload, ObjectRecord, Part, Upload, UploadPage
from oortgate.meta.preconditions import Precondition
from oortgate.meta.sqlite_db import dumps, lower_bound, nullable_dumps, nullable_loads, successor
from oortgate.meta.sqlite_objects import ObjectsStore

_UPLOAD_COLS = (
    "upload_id, bucket_id, key, initiated, content_type, system_headers, user_metadata,"
    " storage_class, checksum_algorithm, checksum_type, acl, owner_id, tags, object_lock"
)
_PART_COLS = "part_number, blob_id, size, etag, last_modified, checksum, crc64"
_COMPLETED_COLS = "upload_id, bucket_id, key, etag, last_modified, completed"
# How long a completed upload is remembered for a retried Complete (SDKs retry within
# minutes; a week covers a client that resumes a saved upload state).
COMPLETED_UPLOAD_DAYS = 7


def _upload(row: Sequence[Any]) -> Upload:
    upload_id, bucket_id, key, initiated, ctype, headers, meta, cls, algorithm, kind = row[:10]
    docs = json.loads(headers), json.loads(meta)
    return Upload(upload_id, bucket_id, key, initiated, ctype, *docs, cls, algorithm, kind,
                  acl=row[10], owner_id=row[11], tags=nullable_loads(row[12]),
                  lock=object_lock.loads(row[13]))  # fmt: skip


class MultipartStore(ObjectsStore):
    def create_upload(self, upload: Upload) -> float:
        u = upload
        row = (
            u.upload_id,
            u.bucket_id,
            u.key,
            u.initiated,
            u.content_type,
            dumps(u.system_headers),
            dumps(u.user_metadata),
            u.storage_class,
            u.checksum_algorithm,
            u.checksum_type,
            u.acl,
            u.owner_id,
            nullable_dumps(u.tags),
            object_lock.dumps(u.lock),
        )
        try:
            with self._write() as db:
                marks = ", ".join("?" * len(row))
                db.execute(f"INSERT INTO uploads ({_UPLOAD_COLS}) VALUES ({marks})", row)
        except sqlite3.IntegrityError:
            raise S3Error("NoSuchBucket") from None
        return u.initiated

    def get_upload(self, upload_id: str) -> Upload | None:
        row = self._one(f"SELECT {_UPLOAD_COLS} FROM uploads WHERE upload_id = ?", upload_id)
        return _upload(row) if row else None

    def put_part(self, upload_id: str, part: Part) -> None:
        """Add or replace a part. Raises NoSuchUpload when the upload is gone (completed
        or aborted meanwhile); the part's pending mark then stays for the caller to drop."""
        p = part
        with self._write() as db:
            if self._one("SELECT 1 FROM uploads WHERE upload_id = ?", upload_id) is None:
                raise S3Error("NoSuchUpload", UploadId=upload_id)
            if not self._claim(p.blob_id):
                raise S3Error("NoSuchUpload", UploadId=upload_id)
            old = self._one(
                "SELECT blob_id FROM upload_parts WHERE upload_id = ? AND part_number = ?",
                upload_id,
                p.part_number,
            )
            db.execute(
                f"INSERT OR REPLACE INTO upload_parts (upload_id, {_PART_COLS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    upload_id,
                    p.part_number,
                    p.blob_id,
                    p.size,
                    p.etag,
                    p.last_modified,
                    p.checksum,
                    p.crc64,
                ),
            )
            if old is not None and old[0] != p.blob_id:
                self._release(old[0])

    def list_parts(self, upload_id: str, after: int = 0, limit: int = 10000) -> list[Part]:
        rows = self._conn.execute(
            f"SELECT {_PART_COLS} FROM upload_parts WHERE upload_id = ? AND part_number > ?"
            " ORDER BY part_number LIMIT ?",
            (upload_id, after, limit),
        )
        return [Part(*row) for row in rows]

    def complete_upload(
        self,
        upload_id: str,
        record: ObjectRecord,
        used: Sequence[Part],
        condition: Precondition | None = None,
        versioned: bool = False,
    ) -> None:
        """Atomically turn the upload into ``record`` (whose parts are ``used``, as the
        caller read them), if the key's current object meets ``condition``. Raises
        NoSuchUpload if the upload is gone, InvalidPart if a used part was replaced
        meanwhile, the condition's error if it fails. Unused parts become garbage; the
        upload is remembered as completed (see get_completed_upload)."""
        with self._write() as db:
            if self._one("SELECT 1 FROM uploads WHERE upload_id = ?", upload_id) is None:
                raise S3Error("NoSuchUpload", UploadId=upload_id)
            for part in used:
                row = self._one(
                    "SELECT blob_id FROM upload_parts WHERE upload_id = ? AND part_number = ?",
                    upload_id,
                    part.part_number,
                )
                if row is None or row[0] != part.blob_id:
                    raise S3Error("InvalidPart", PartNumber=str(part.part_number))
            self._precondition(condition, record.bucket_id, record.key)
            for blob_id in record.blob_ids:  # the upload's parts hold them: never False
                if not self._reference(blob_id):
                    raise S3Error("InvalidPart")
            try:
                if versioned:
                    self._drive(versions.keep_history(record.bucket_id, record.key,
                                                      record.version_id))  # fmt: skip
                    self.write_lock(record)
                self._replace_object(record, body_rows.stored(record.body))
            except sqlite3.IntegrityError:
                raise S3Error("NoSuchBucket") from None
            self._drop_upload(upload_id)
            now = time.time()
            db.execute(
                "DELETE FROM completed_uploads WHERE completed < ?",
                (now - COMPLETED_UPLOAD_DAYS * 86400,),
            )
            db.execute(
                f"INSERT OR REPLACE INTO completed_uploads ({_COMPLETED_COLS})"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (upload_id, record.bucket_id, record.key, record.etag, record.last_modified, now),
            )

    def get_completed_upload(self, upload_id: str) -> CompletedUpload | None:
        sql = f"SELECT {_COMPLETED_COLS} FROM completed_uploads WHERE upload_id = ?"
        row = self._one(sql, upload_id)
        return CompletedUpload(*row) if row else None

    def abort_upload(self, upload_id: str) -> bool:
        with self._write():
            if self._one("SELECT 1 FROM uploads WHERE upload_id = ?", upload_id) is None:
                return False
            self._drop_upload(upload_id)
            return True

    def _drop_upload(self, upload_id: str) -> None:
        """Delete an upload and its parts, releasing their blobs (a completed object's
        parts stay referenced through object_parts)."""
        rows = self._conn.execute(
            "SELECT blob_id FROM upload_parts WHERE upload_id = ?", (upload_id,)
        ).fetchall()
        self._conn.execute("DELETE FROM upload_parts WHERE upload_id = ?", (upload_id,))
        self._conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
        for (blob_id,) in rows:
            self._release(blob_id)

    def _drop_bucket_uploads(self, bucket_id: int) -> None:
        rows = self._conn.execute(
            "SELECT upload_id FROM uploads WHERE bucket_id = ?", (bucket_id,)
        ).fetchall()
        for (upload_id,) in rows:
            self._drop_upload(upload_id)

    def list_uploads(
        self,
        bucket_id: int,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadPage:
        """Uploads in (key, upload id) order after the markers; with a delimiter, keys
        roll up into common prefixes as in object listings. Open uploads are few, so
        this walks the (small) uploads index rather than seeking per prefix."""
        if max_uploads <= 0:
            return UploadPage([], [], False, None, None)
        upper = successor(prefix)
        bound, _ = lower_bound(prefix, key_marker)
        sql = f"SELECT {_UPLOAD_COLS} FROM uploads WHERE bucket_id = ? AND key >= ?"
        args: list[object] = [bucket_id, bound]
        if upper is not None:
            sql += " AND key < ?"
            args.append(upper)
        rows = self._conn.execute(sql + " ORDER BY key, upload_id", args)
        uploads = (_upload(row) for row in rows)
        return walk_uploads(uploads, prefix, delimiter, key_marker, upload_id_marker, max_uploads)


def walk_uploads(
    uploads: Iterable[Upload],
    prefix: str,
    delimiter: str,
    key_marker: str,
    upload_id_marker: str,
    max_uploads: int,
) -> UploadPage:
    """One page of ListMultipartUploads from uploads in (key, upload id) order, from the
    prefix's range on (any store's: this is pure)."""
    entries: list[Upload | str] = []
    for upload in uploads:
        if not upload.key.startswith(prefix) or not _after(upload, key_marker, upload_id_marker):
            continue
        cut = upload.key.find(delimiter, len(prefix)) if delimiter else -1
        if cut >= 0:
            rolled = upload.key[: cut + len(delimiter)]
            if rolled <= key_marker or (entries and entries[-1] == rolled):
                continue
            entries.append(rolled)
        else:
            entries.append(upload)
        if len(entries) > max_uploads:
            break
    truncated = len(entries) > max_uploads
    page = entries[:max_uploads]
    uploads_ = [e for e in page if isinstance(e, Upload)]
    prefixes = [e for e in page if isinstance(e, str)]
    next_key = next_id = None
    if truncated and page:
        last = page[-1]
        next_key = last if isinstance(last, str) else last.key
        next_id = None if isinstance(last, str) else last.upload_id
    return UploadPage(uploads_, prefixes, truncated, next_key, next_id)


def _after(upload: Upload, key_marker: str, upload_id_marker: str) -> bool:
    """S3: with only key-marker, uploads of keys > marker; with upload-id-marker too,
    also the marker key's uploads whose id sorts after it."""
    if not key_marker:
        return True
    if upload.key > key_marker:
        return True
    return (
        bool(upload_id_marker) and upload.key == key_marker and upload.upload_id > upload_id_marker
    )
