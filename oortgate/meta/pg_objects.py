"""Objects, listings and the blob lifecycle on PostgreSQL: one round trip each (a
statement, or a call of one of the functions in oortgate.meta.pg_sql_objects)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from psycopg import errors

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
from oortgate.meta.pg_accounts import PgAccounts
from oortgate.meta.pg_db import Conn, s3_error
from oortgate.meta.pg_sql_objects import CONDITION_ARGS, RECORD_ARGS
from oortgate.meta.preconditions import Current, Precondition, check
from oortgate.meta.sqlite_db import dumps, nullable_dumps, nullable_loads

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
_BLOB_TABLES = ("objects", "object_parts", "upload_parts", "object_versions",
                "object_version_parts", "blobs", "pending_blobs", "garbage")  # fmt: skip
_KNOWN = " UNION ".join(
    f"SELECT blob_id FROM {t} WHERE blob_id = ANY(%s::og_name[])" for t in _BLOB_TABLES
)


def _doc(text: str) -> dict[str, str]:
    doc: dict[str, str] = {} if text == "{}" else json.loads(text)
    return doc


def _object(row: Sequence[Any]) -> ObjectRecord:
    bucket_id, key, blob_id, size, etag, modified, ctype, headers, meta, sums, cls, count = row[:12]
    inline = None if row[18] is None else bytes(row[18])
    segments: list[Segment] = []
    if count and row[19] is not None:
        segments = [Segment(b, int(s), n, c, x) for b, s, n, c, x in zip(*row[19:24], strict=True)]
    body = body_rows.loaded(blob_id, int(size), count, row[17], inline, segments)
    return ObjectRecord(
        int(bucket_id), key, body, int(size), etag, modified, ctype, _doc(headers),
        _doc(meta), _doc(sums), cls, row[12], row[13], row[14], row[15],
        nullable_loads(row[16]), row[24],
    )  # fmt: skip


def record_args(r: ObjectRecord, columns: body_rows.BodyColumns) -> tuple[Any, ...]:
    """The arguments of og_replace_object (RECORD_ARGS), from a record whose body is
    stored as ``columns``."""
    parts = r.body.parts if isinstance(r.body, PartsBody) else ()
    return (
        r.bucket_id, r.key, columns.blob_id, r.size, r.etag, r.content_type,
        dumps(r.system_headers), dumps(r.user_metadata), dumps(r.checksums), r.storage_class,
        columns.parts_count, r.acl, r.owner_id, r.restore_ready, r.restore_expiry,
        nullable_dumps(r.tags), columns.crc64,
        [s.blob_id for s in parts], [s.size for s in parts],
        [s.part_number or i + 1 for i, s in enumerate(parts)], [s.checksum for s in parts],
        [s.crc64 for s in parts],
    )  # fmt: skip


def condition_args(c: Precondition | None) -> tuple[Any, ...]:
    if c is None:
        return (None, False, None, None)
    match = None if c.if_match is None else sorted(_as_text(e) for e in c.if_match)
    return (match, c.if_none_match, c.size, c.last_modified)


def _as_text(etag: str) -> str:
    """An If-Match ETag as PostgreSQL text can hold it: one with U+0000 or with bytes
    that were not UTF-8 (surrogates) becomes U+FFFD, which no stored ETag (hex) holds
    either, so it still matches nothing, as on SQLite (and is not a 500)."""
    if "\0" in etag:
        return "\ufffd"
    try:
        etag.encode()
    except UnicodeEncodeError:
        return "\ufffd"
    return etag


T = TypeVar("T")
_CLOCK = "og_now()"  # "now" for object lock checks: the database clock


async def drive(conn: Conn, steps: versions.Steps[T]) -> T:
    """Run an operation's steps (oortgate.meta.versions) on conn, in its transaction."""
    try:
        step = next(steps)
        while True:
            rows: list[Any] = []
            if isinstance(step, versions.Release):
                await conn.execute(b"SELECT og_release_all(%s::og_name[])", (list(step.blob_ids),))
            elif isinstance(step, versions.Claim):
                claimed = True
                for blob_id in step.blob_ids:
                    cur = await conn.execute(b"SELECT og_claim(%s)", (blob_id,))
                    row = await cur.fetchone()
                    claimed = claimed and bool(row and row[0])
                rows = [(claimed,)]
            else:
                cur = await conn.execute(step.text.replace("?", "%s").encode(), step.args)
                rows = await cur.fetchall() if cur.description is not None else []
            step = steps.send(rows)
    except StopIteration as done:
        result: T = done.value
        return result


async def lock_key(conn: Conn, bucket_id: int, key: str) -> None:
    """The guards a write of (bucket, key) takes, in the order of pg_sql_objects: the
    bucket row (shared: DeleteBucket waits), then the key."""
    cur = await conn.execute(b"SELECT 1 FROM buckets WHERE id = %s FOR SHARE", (bucket_id,))
    if await cur.fetchone() is None:
        raise S3Error("NoSuchBucket")
    await conn.execute(b"SELECT og_lock_key(%s, %s)", (bucket_id, key))


async def set_version_id(conn: Conn, record: ObjectRecord) -> None:
    """og_replace_object writes the null version: name a versioned write's row."""
    if record.version_id:
        await conn.execute(
            b"UPDATE objects SET version_id = %s WHERE bucket_id = %s AND key = %s",
            (record.version_id, record.bucket_id, record.key),
        )


async def write_keeping_history(
    conn: Conn, record: ObjectRecord, sql: str, args: Sequence[object]
) -> float:
    """A versioned write of ``record`` (its key locked, the current version kept as a
    noncurrent one, then ``sql`` run): the stored time ``sql`` returns."""
    await lock_key(conn, record.bucket_id, record.key)
    await drive(conn, versions.keep_history(record.bucket_id, record.key, record.version_id))
    cur = await conn.execute(sql.encode(), args)
    row = await cur.fetchone()
    assert row is not None
    await set_version_id(conn, record)
    if record.lock is not None:
        await drive(conn, object_lock.write(record.bucket_id, record.key, record.version_id,
                                            record.lock))  # fmt: skip
    return float(row[0])


# A moment given on this host's clock, put on the database clock (its distance from now
# is kept): the argument is ``moment - time.time()``.
_FROM_NOW = "og_now() + %s"
# A blob under a read lease of a registered session waits (see lease_blobs).
_LEASED = (
    "EXISTS (SELECT 1 FROM read_leases l JOIN sessions s ON s.session_id = l.session_id"
    " WHERE l.blob_id = g.blob_id)"
)
_CLAIM_UNLEASED = (
    f"DELETE FROM garbage g WHERE blob_id = ANY(%s::og_name[]) AND NOT {_LEASED} RETURNING blob_id"
).encode()


class PgObjects(PgAccounts):
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

    # -- versions (oortgate.meta.versions) ------------------------------------------
    async def _versioned(
        self, make: Callable[[], versions.Steps[T]], lock: tuple[int, str] | None = None
    ) -> T:
        """One transaction driving ``make()``'s steps (made again if retried), the key's
        guards taken first when ``lock`` names it."""

        async def work(conn: Conn) -> T:
            async with conn.transaction():
                if lock is not None:
                    await lock_key(conn, *lock)
                return await drive(conn, make())

        return await self._run(work)

    async def _snapshot(self, make: Callable[[], versions.Steps[T]]) -> T:
        """A read of several statements, from one snapshot."""

        async def work(conn: Conn) -> T:
            async with conn.transaction():
                await conn.execute(b"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                return await drive(conn, make())

        return await self._run(work)

    async def set_bucket_versioning(self, bucket_id: int, status: str) -> None:
        await self._set_bucket("versioning", bucket_id, status)

    async def add_delete_marker(
        self, bucket_id: int, key: str, version_id: str, owner_id: int | None,
        condition: Precondition | None = None,
    ) -> float:  # fmt: skip
        async def work(conn: Conn) -> float:
            async with conn.transaction():
                await lock_key(conn, bucket_id, key)
                cur = await conn.execute(
                    b"SELECT etag, size, last_modified FROM objects"
                    b" WHERE bucket_id = %s AND key = %s FOR UPDATE",
                    (bucket_id, key),
                )
                found = await cur.fetchone()
                check(condition, None if found is None else Current(found[0], int(found[1]),
                                                                     found[2]), key)  # fmt: skip
                cur = await conn.execute(b"SELECT og_now()")
                now = await cur.fetchone()
                assert now is not None
                clock = repr(float(now[0]))
                await drive(conn, versions.add_delete_marker(bucket_id, key, version_id,
                                                             owner_id, clock))  # fmt: skip
                return float(now[0])

        return await self._run(work)

    async def delete_version(
        self, bucket_id: int, key: str, version_id: str, bypass_governance: bool = False
    ) -> bool | None:
        return await self._versioned(
            lambda: object_lock.guarded_delete(bucket_id, key, version_id, bypass_governance,
                                               _CLOCK), (bucket_id, key)
        )  # fmt: skip

    # -- object lock (oortgate.meta.object_lock; retention compared on the database clock)
    async def set_bucket_object_lock(self, bucket_id: int, config: str) -> None:
        sql = "UPDATE buckets SET object_lock = %s, versioning = 'Enabled' WHERE id = %s"
        await self._changed(self._count(sql, config, bucket_id))

    async def get_object_lock(self, bucket_id: int, key: str, version_id: str) -> ObjectLock | None:
        return await self._snapshot(lambda: object_lock.read(bucket_id, key, version_id))

    async def set_object_retention(
        self, bucket_id: int, key: str, version_id: str, mode: str | None,
        until: float | None, bypass_governance: bool = False,
    ) -> bool:  # fmt: skip
        return await self._versioned(
            lambda: object_lock.set_retention(bucket_id, key, version_id, mode, until,
                                              bypass_governance, _CLOCK), (bucket_id, key)
        )  # fmt: skip

    async def set_object_legal_hold(
        self, bucket_id: int, key: str, version_id: str, on: bool
    ) -> bool:
        return await self._versioned(
            lambda: object_lock.set_legal_hold(bucket_id, key, version_id, on), (bucket_id, key)
        )

    async def set_version_restore(
        self, bucket_id: int, key: str, version_id: str, ready: float, expiry: float
    ) -> bool:
        now = time.time()  # the moments are kept as distances from now, on the db clock
        return await self._versioned(
            lambda: version_restore.set_restore(bucket_id, key, version_id, ready - now,
                                                expiry - now, _CLOCK), (bucket_id, key)
        )  # fmt: skip

    async def transition_version(self, record: ObjectRecord) -> bool:
        return await self._versioned(lambda: version_lifecycle.transition_version(record),
                                     (record.bucket_id, record.key))  # fmt: skip

    async def expire_delete_marker(self, bucket_id: int, key: str, version_id: str) -> bool:
        return await self._versioned(
            lambda: version_lifecycle.expire_lone_marker(bucket_id, key, version_id),
            (bucket_id, key),
        )

    async def get_object_version(
        self, bucket_id: int, key: str, version_id: str
    ) -> ObjectRecord | None:
        return await self._snapshot(lambda: versions.get_version(bucket_id, key, version_id))

    async def current_delete_marker(self, bucket_id: int, key: str) -> ObjectRecord | None:
        return await self._snapshot(lambda: versions.current_delete_marker(bucket_id, key))

    async def list_object_versions(
        self, bucket_id: int, prefix: str = "", delimiter: str = "", key_marker: str = "",
        version_id_marker: str | None = None, max_keys: int = 1000,
    ) -> VersionPage:  # fmt: skip
        return await self._snapshot(
            lambda: versions.list_versions(bucket_id, prefix, delimiter, key_marker,
                                           version_id_marker, max_keys)
        )  # fmt: skip

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
            ObjectRecord(bucket_id, key, None, int(size), etag, modified, checksums=_doc(sums),
                         storage_class=cls, owner_id=owner)
            for key, rolled, size, etag, modified, sums, cls, _parts, owner in rows
            if not rolled
        ]  # fmt: skip
        prefixes = [row[0] for row in rows if row[1]]
        marker = rows[-1][0] if truncated else None
        return ObjectPage(objects, prefixes, truncated, marker)

    # -- blob lifecycle -------------------------------------------------------------
    async def add_pending_blob(self, blob_id: str) -> None:
        await self._open()  # first: a worker's first mark needs its session, opened then
        try:
            await self._count(
                "INSERT INTO pending_blobs (blob_id, created, session_id)"
                " VALUES (%s, og_now(), %s)",
                blob_id,
                self._session,
            )
        except errors.UniqueViolation:
            raise ValueError(f"blob id already pending: {blob_id}") from None

    async def drop_pending_blob(self, blob_id: str) -> None:
        await self._count(
            "WITH d AS (DELETE FROM pending_blobs WHERE blob_id = %s RETURNING blob_id)"
            " INSERT INTO garbage (blob_id) SELECT blob_id FROM d ON CONFLICT DO NOTHING",
            blob_id,
        )

    async def take_garbage(
        self, limit: int = 1000, queued_before: float | None = None
    ) -> list[str]:
        """One transaction: lock due rows no other collector holds (SKIP LOCKED, so
        collectors split the work), then delete those still under no live lease. The
        lease check is a second statement, whose snapshot follows the locks: a lease
        committed before them is seen, one taken after waits for this claim (see
        og_lease) and finds its blob gone."""
        args: tuple[float, ...] = ()
        if queued_before is None:
            due = "TRUE"
        else:  # the grace is measured on the database clock
            due, args = f"queued_at <= {_FROM_NOW}", (queued_before - time.time(),)

        async def claim(conn: Conn) -> list[str]:
            async with conn.transaction():
                cur = await conn.execute(  # (leased ones skipped here too: no batch of them)
                    f"SELECT blob_id FROM garbage g WHERE {due} AND NOT {_LEASED}"
                    " ORDER BY blob_id LIMIT %s FOR UPDATE SKIP LOCKED".encode(),
                    (*args, limit),
                )
                locked = [row[0] for row in await cur.fetchall()]
                if not locked:
                    return []
                cur = await conn.execute(_CLAIM_UNLEASED, (locked,))
                return sorted(row[0] for row in await cur.fetchall())

        return await self._run(claim)

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        ids = list(blob_ids)
        rows = await self._rows(_KNOWN, *([ids] * len(_BLOB_TABLES)))
        return {row[0] for row in rows}

    async def recover_pending(self) -> int:
        """Marks of no registered session become garbage (one statement)."""
        row = await self._one(
            "WITH d AS (DELETE FROM pending_blobs p WHERE p.session_id IS NULL OR NOT EXISTS"
            " (SELECT 1 FROM sessions s WHERE s.session_id = p.session_id) RETURNING blob_id),"
            " g AS (INSERT INTO garbage (blob_id) SELECT blob_id FROM d ON CONFLICT DO NOTHING)"
            " SELECT count(*) FROM d"
        )
        return int(row[0]) if row else 0
