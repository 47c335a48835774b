"""Step generators (oortgate.meta.versions, object_lock, version_restore,
version_lifecycle) run on a PostgreSQL connection, and the pieces of a write that
objects, versions and multipart uploads share: the arguments of og_put_object and
og_replace_object, the key's guards, a versioned write."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from oortgate.errors import S3Error
from oortgate.meta import body_rows, object_lock, sql_steps, versions
from oortgate.meta.models import ObjectRecord, PartsBody
from oortgate.meta.pg_db import Conn
from oortgate.meta.preconditions import Precondition
from oortgate.meta.sqlite_db import dumps, nullable_dumps

T = TypeVar("T")
CLOCK = "og_now()"  # "now" for object lock checks: the database clock


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


async def drive(conn: Conn, steps: sql_steps.Steps[T]) -> T:
    """Run an operation's steps (oortgate.meta.versions) on conn, in its transaction."""
    try:
        step = next(steps)
        while True:
            rows: list[Any] = []
            if isinstance(step, sql_steps.Release):
                await conn.execute(b"SELECT og_release_all(%s::og_name[])", (list(step.blob_ids),))
            elif isinstance(step, sql_steps.Claim):
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
