"""Multipart uploads on PostgreSQL: each write one call (oortgate.meta.pg_sql_uploads)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from psycopg import errors

from oortgate.errors import S3Error
from oortgate.meta import body_rows, object_lock
from oortgate.meta.models import CompletedUpload, ObjectRecord, Part, Upload, UploadPage
from oortgate.meta.pg_db import Conn
from oortgate.meta.pg_sql_objects import CONDITION_ARGS, RECORD_ARGS
from oortgate.meta.pg_versions import PgVersions
from oortgate.meta.pg_writes import condition_args, record_args, write_keeping_history
from oortgate.meta.preconditions import Precondition
from oortgate.meta.sqlite_db import dumps, nullable_dumps, nullable_loads, successor
from oortgate.meta.sqlite_multipart import COMPLETED_UPLOAD_DAYS, walk_uploads

_UPLOAD_COLS = (
    "upload_id, bucket_id, key, initiated, content_type, system_headers, user_metadata,"
    " storage_class, checksum_algorithm, checksum_type, acl, owner_id, tags, object_lock"
)
_PART_COLS = "part_number, blob_id, size, etag, last_modified, checksum, crc64"
_COMPLETED_COLS = "upload_id, bucket_id, key, etag, last_modified, completed"


def _upload(row: Sequence[Any]) -> Upload:
    upload_id, bucket_id, key, initiated, ctype, headers, meta, cls, algorithm, kind = row[:10]
    docs = json.loads(headers), json.loads(meta)
    return Upload(upload_id, int(bucket_id), key, initiated, ctype, *docs, cls, algorithm, kind,
                  acl=row[10], owner_id=row[11], tags=nullable_loads(row[12]),
                  lock=object_lock.loads(row[13]))  # fmt: skip


def _part(row: Sequence[Any]) -> Part:
    return Part(row[0], row[1], int(row[2]), *row[3:])


class PgMultipart(PgVersions):
    async def create_upload(self, upload: Upload) -> float:
        """``initiated`` from the database clock, as every stored time here."""
        u = upload
        row = (
            u.upload_id, u.bucket_id, u.key, u.content_type,
            dumps(u.system_headers), dumps(u.user_metadata), u.storage_class,
            u.checksum_algorithm, u.checksum_type, u.acl, u.owner_id, nullable_dumps(u.tags),
            object_lock.dumps(u.lock),
        )  # fmt: skip
        marks = ", ".join(["%s", "%s", "%s", "og_now()"] + ["%s"] * (len(row) - 3))
        try:  # the bucket row's key-share lock (the foreign key) guards against its delete
            rows = await self._rows(f"INSERT INTO uploads ({_UPLOAD_COLS}) VALUES ({marks})"
                                    " RETURNING initiated", *row)  # fmt: skip
        except errors.ForeignKeyViolation:
            raise S3Error("NoSuchBucket") from None
        return float(rows[0][0])

    async def get_upload(self, upload_id: str) -> Upload | None:
        sql = f"SELECT {_UPLOAD_COLS} FROM uploads WHERE upload_id = %s"
        row = await self._one(sql, upload_id)
        return _upload(row) if row else None

    async def put_part(self, upload_id: str, part: Part) -> float:
        p = part
        rows = await self._rows(  # (og_now(): the same moment the function stores)
            "SELECT og_put_part(%s, %s, %s, %s, %s, %s, %s), og_now()",
            upload_id, p.part_number, p.blob_id, p.size, p.etag, p.checksum, p.crc64,
            retry_unique=True,
        )  # fmt: skip
        return float(rows[0][1])

    async def list_parts(self, upload_id: str, after: int = 0, limit: int = 10000) -> list[Part]:
        rows = await self._rows(
            f"SELECT {_PART_COLS} FROM upload_parts WHERE upload_id = %s AND part_number > %s"
            " ORDER BY part_number LIMIT %s",
            upload_id, after, limit,
        )  # fmt: skip
        return [_part(row) for row in rows]

    async def complete_upload(
        self,
        upload_id: str,
        record: ObjectRecord,
        used: Sequence[Part],
        condition: Precondition | None = None,
        versioned: bool = False,
    ) -> float:
        sql = (
            "SELECT og_complete_upload(%s, %s::integer[], %s::og_name[], %s,"
            f" {RECORD_ARGS}, {CONDITION_ARGS})"
        )
        args = (
            upload_id, [p.part_number for p in used], [p.blob_id for p in used],
            COMPLETED_UPLOAD_DAYS, *record_args(record, body_rows.stored(record.body)),
            *condition_args(condition),
        )  # fmt: skip
        if not versioned:
            rows = await self._rows(sql, *args, retry_unique=True)
            return float(rows[0][0])

        async def work(conn: Conn) -> float:
            # The guards in og_complete_upload's order: bucket, upload, key.
            async with conn.transaction():
                await conn.execute(b"SELECT 1 FROM buckets WHERE id = %s FOR SHARE",
                                   (record.bucket_id,))  # fmt: skip
                await conn.execute(b"SELECT 1 FROM uploads WHERE upload_id = %s FOR UPDATE",
                                   (upload_id,))  # fmt: skip
                return await write_keeping_history(conn, record, sql, args)

        return await self._run(work, retry_unique=True)

    async def get_completed_upload(self, upload_id: str) -> CompletedUpload | None:
        sql = f"SELECT {_COMPLETED_COLS} FROM completed_uploads WHERE upload_id = %s"
        row = await self._one(sql, upload_id)
        return CompletedUpload(row[0], int(row[1]), *row[2:]) if row else None

    async def abort_upload(self, upload_id: str) -> bool:
        row = await self._one("SELECT og_abort_upload(%s)", upload_id)
        return bool(row and row[0])

    async def list_uploads(
        self,
        bucket_id: int,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadPage:
        """As on SQLite: open uploads are few, so the range is read in one statement and
        rolled up here."""
        if max_uploads <= 0:
            return UploadPage([], [], False, None, None)
        bound = key_marker if key_marker >= prefix else prefix
        rows = await self._rows(
            f"SELECT {_UPLOAD_COLS} FROM uploads WHERE bucket_id = %s AND key >= %s"
            " AND (%s::og_name IS NULL OR key < %s::og_name) ORDER BY key, upload_id",
            bucket_id, bound, *([successor(prefix)] * 2),
        )  # fmt: skip
        uploads = [_upload(row) for row in rows]
        return walk_uploads(uploads, prefix, delimiter, key_marker, upload_id_marker, max_uploads)
