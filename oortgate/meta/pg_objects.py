"""Objects and listings on PostgreSQL: one round trip each (a statement, or a call of
one of the functions in oortgate.meta.pg_sql_objects). Versions are in pg_versions, the
blob lifecycle in pg_blob_lifecycle."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from oortgate.errors import S3Error
from oortgate.meta import body_rows, sql_steps, versions
from oortgate.meta.models import ObjectPage, ObjectRecord, Segment
from oortgate.meta.pg_blob_lifecycle import PgBlobLifecycle
from oortgate.meta.pg_db import Conn, s3_error
from oortgate.meta.pg_sql_objects import CONDITION_ARGS, RECORD_ARGS
from oortgate.meta.pg_writes import (
    condition_args,
    drive,
    lock_key,
    record_args,
    set_version_id,
    write_keeping_history,
)
from oortgate.meta.preconditions import Precondition
from oortgate.meta.sqlite_db import nullable_dumps, nullable_loads

T = TypeVar("T")

_OBJ_COLS = (
    "o.bucket_id, o.key, o.blob_id, o.size, o.etag, o.last_modified, o.content_type,"
    " o.system_headers, o.user_metadata, o.checksums, o.storage_class, o.parts_count, o.acl,"
    " o.owner_id, o.restore_ready, o.restore_expiry, o.tags, o.crc64"
)
# One statement: the object, its inline bytes, its parts (one snapshot, one round trip).
_GET = (
    f"SELECT {_OBJ_COLS}, i.data, p.blobs, p.sizes, p.numbers, p.sums, p.crcs, o.version_id"
    " FROM objects o LEFT JOIN inline_blobs i ON i.blob_id = o.blob_id"
    " LEFT JOIN LATERAL (SELECT array_agg(x.blob_id::text ORDER BY x.idx) AS blobs,"
    " array_agg(x.size ORDER BY x.idx) AS sizes, array_agg(x.part_number ORDER BY x.idx)"
    " AS numbers, array_agg(x.checksum ORDER BY x.idx) AS sums,"
    " array_agg(x.crc64 ORDER BY x.idx) AS crcs FROM object_parts x"
    " WHERE o.parts_count > 0 AND x.bucket_id = o.bucket_id AND x.key = o.key) p ON true"
    " WHERE o.bucket_id = %s AND o.key = %s"
)


def _object(row: Sequence[Any]) -> ObjectRecord:
    bucket_id, key, blob_id, size, etag, modified, ctype, headers, meta, sums, cls, count = row[:12]
    inline = None if row[18] is None else bytes(row[18])
    segments: list[Segment] = []
    if count and row[19] is not None:
        segments = [Segment(b, int(s), n, c, x) for b, s, n, c, x in zip(*row[19:24], strict=True)]
    body = body_rows.loaded(blob_id, int(size), count, row[17], inline, segments)
    return ObjectRecord(
        int(bucket_id), key, body, int(size), etag, modified, ctype, nullable_loads(headers),
        nullable_loads(meta), nullable_loads(sums), cls, row[12], row[13], row[14], row[15],
        nullable_loads(row[16]), row[24],
    )  # fmt: skip


class PgObjects(PgBlobLifecycle):
    # -- objects --------------------------------------------------------------------
    async def get_object(self, bucket_id: int, key: str) -> ObjectRecord | None:
        row = await self._one(_GET, bucket_id, key)
        return _object(row) if row else None

    async def put_object(
        self, record: ObjectRecord, condition: Precondition | None = None, versioned: bool = False
    ) -> float:
        """Raises NoSuchBucket if the bucket was deleted meanwhile, NoSuchKey if a copy's
        source lost its last reference, or the condition's error (the pending mark then
        stays: the caller drops it). The time stored is the database clock's. Versioned:
        one transaction of a few statements (the unversioned write stays one call)."""
        sql = f"SELECT og_put_object({RECORD_ARGS}, %s, {CONDITION_ARGS})"
        columns = body_rows.stored(record.body)
        args = (*record_args(record, columns), columns.inline, *condition_args(condition))
        if not versioned:
            rows = await self._rows(sql, *args, retry_unique=True)
            return float(rows[0][0])

        async def work(conn: Conn) -> float:
            async with conn.transaction():
                return await write_keeping_history(conn, record, sql, args)

        return await self._run(work, retry_unique=True)

    async def transition_object(self, record: ObjectRecord, condition: Precondition) -> None:
        # og_put_object dates the row by the database's clock: set it back, in the same
        # transaction.
        columns = body_rows.stored(record.body)
        args = (*record_args(record, columns), columns.inline, *condition_args(condition))

        async def work(conn: Conn) -> None:
            async with conn.transaction():
                await conn.execute(
                    f"SELECT og_put_object({RECORD_ARGS}, %s, {CONDITION_ARGS})".encode(), args
                )
                await conn.execute(
                    b"UPDATE objects SET last_modified = %s WHERE bucket_id = %s AND key = %s",
                    (record.last_modified, record.bucket_id, record.key),
                )
                await set_version_id(conn, record)  # (the same version, moved)

        await self._run(work, retry_unique=True)

    async def delete_object(
        self, bucket_id: int, key: str, condition: Precondition | None = None
    ) -> bool:
        sql = f"SELECT og_delete_object(%s, %s, {CONDITION_ARGS})"
        row = await self._one(sql, bucket_id, key, *condition_args(condition))
        return bool(row and row[0])

    async def delete_objects(
        self,
        bucket_id: int,
        keys: Sequence[str],
        conditions: Sequence[Precondition | None] = (),
    ) -> list[S3Error | None]:
        padded = [conditions[i] if i < len(conditions) else None for i in range(len(keys))]
        args = [condition_args(c) for c in padded]
        rows = await self._rows(
            "SELECT idx, code, detail FROM og_delete_objects(%s, %s::og_name[], %s::text[],"
            " %s::boolean[], %s::bigint[], %s::bigint[])",
            bucket_id,
            list(keys),
            [None if a[0] is None else json.dumps(a[0]) for a in args],
            [a[1] for a in args],
            [a[2] for a in args],
            [a[3] for a in args],
        )
        refused: list[S3Error | None] = [None] * len(keys)
        for idx, code, detail in rows:
            refused[idx] = s3_error(code, detail)
        return refused

    async def set_object_acl(
        self, bucket_id: int, key: str, acl: str, version_id: str | None = None
    ) -> bool:
        if version_id is not None:
            return await self._versioned(
                lambda: versions.set_column(bucket_id, key, version_id, "acl", acl)
            )
        sql = "UPDATE objects SET acl = %s WHERE bucket_id = %s AND key = %s"
        return await self._count(sql, acl, bucket_id, key) > 0

    async def set_object_tags(
        self, bucket_id: int, key: str, tags: dict[str, str], version_id: str | None = None
    ) -> bool:
        if version_id is not None:
            text = nullable_dumps(tags)
            return await self._versioned(
                lambda: versions.set_column(bucket_id, key, version_id, "tags", text)
            )
        sql = "UPDATE objects SET tags = %s WHERE bucket_id = %s AND key = %s"
        return await self._count(sql, nullable_dumps(tags), bucket_id, key) > 0

    async def has_objects(self, bucket_id: int) -> bool:
        """Objects, noncurrent versions or delete markers."""
        sql = (
            "SELECT EXISTS (SELECT 1 FROM objects WHERE bucket_id = %s)"
            " OR EXISTS (SELECT 1 FROM object_versions WHERE bucket_id = %s)"
        )
        row = await self._one(sql, bucket_id, bucket_id)
        return bool(row and row[0])

    # -- transactions driving step generators (oortgate.meta.versions and kin) -----
    async def _versioned(
        self, make: Callable[[], sql_steps.Steps[T]], lock: tuple[int, str] | None = None
    ) -> T:
        """One transaction driving ``make()``'s steps (made again if retried), the key's
        guards taken first when ``lock`` names it."""

        async def work(conn: Conn) -> T:
            async with conn.transaction():
                if lock is not None:
                    await lock_key(conn, *lock)
                return await drive(conn, make())

        return await self._run(work)

    async def _snapshot(self, make: Callable[[], sql_steps.Steps[T]]) -> T:
        """A read of several statements, from one snapshot."""

        async def work(conn: Conn) -> T:
            async with conn.transaction():
                await conn.execute(b"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                return await drive(conn, make())

        return await self._run(work)

    # -- listing --------------------------------------------------------------------
    async def list_objects(
        self,
        bucket_id: int,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        """One call of og_list; one entry beyond max_keys is asked for, so is_truncated
        is never a false alarm."""
        if max_keys <= 0:
            return ObjectPage([], [], False, None)
        rows = await self._rows(
            "SELECT * FROM og_list(%s, %s, %s, %s, %s)",
            bucket_id, prefix, delimiter, start_after, max_keys + 1,
        )  # fmt: skip
        truncated = len(rows) > max_keys
        rows = rows[:max_keys]
        objects = [
            ObjectRecord(bucket_id, key, None, int(size), etag, modified,
                         checksums=nullable_loads(sums), storage_class=cls, owner_id=owner)
            for key, rolled, size, etag, modified, sums, cls, _parts, owner in rows
            if not rolled
        ]  # fmt: skip
        prefixes = [row[0] for row in rows if row[1]]
        marker = rows[-1][0] if truncated else None
        return ObjectPage(objects, prefixes, truncated, marker)
