"""MetaStore on PostgreSQL (psycopg 3 async, a connection pool per worker).

Assembled like the SQLite store, one class per concern: the pool and call helpers
(``pg_db``), accounts and buckets, the blob lifecycle, objects and listings, versions
and object lock, multipart uploads; sessions and totals here. The schema and its
functions are in ``pg_schema`` and ``pg_sql_*``.

Differences from the SQLite store, by design: a server worker's keys and buckets are
cached until the database announces a change (LISTEN/NOTIFY, see ``pg_lookups``; on
SQLite a commit anywhere clears the cache), so ``refresh`` has nothing to ask; objects are
never cached; ``last_modified``, restore, session and garbage times come from the
database clock; a key holding U+0000 cannot be stored (PostgreSQL text cannot
hold it), which the handlers refuse before any store sees it.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Sequence

from oortgate.meta.body_rows import INLINE_MARK
from oortgate.meta.models import COUNT_NAMES, MetaCounts, Session, StorageUsage
from oortgate.meta.pg_multipart import PgMultipart
from oortgate.meta.pg_schema import MIGRATION_LOCK, ORPHAN_SWEEP_LOCK

_SESSION_COLS = "session_id, host, pid, started, heartbeat"
_INLINE = f"starts_with(blob_id, '{INLINE_MARK}')"
_FILE_BLOB = f"blob_id <> '' AND NOT {_INLINE}"
_COUNT_SQL = {  # MetaCounts field -> a subquery (in COUNT_NAMES order)
    "objects": "SELECT count(*) FROM objects",
    "bytes": "SELECT COALESCE(sum(size), 0) FROM objects",
    "inline_objects": f"SELECT count(*) FROM objects WHERE {_INLINE}",
    "inline_bytes": f"SELECT COALESCE(sum(size), 0) FROM objects WHERE {_INLINE}",
    "inline_blobs": "SELECT count(*) FROM inline_blobs",
    "object_blobs": f"SELECT count(*) FROM (SELECT blob_id FROM objects WHERE {_FILE_BLOB}"
    f" UNION SELECT blob_id FROM object_parts WHERE {_FILE_BLOB}"
    f" UNION SELECT blob_id FROM object_versions WHERE {_FILE_BLOB}"
    f" UNION SELECT blob_id FROM object_version_parts WHERE {_FILE_BLOB}) o",
    "upload_part_blobs": f"SELECT count(DISTINCT blob_id) FROM upload_parts WHERE {_FILE_BLOB}",
    "counted_blobs": "SELECT count(*) FROM blobs",
    "pending": "SELECT count(*) FROM pending_blobs",
    "garbage": "SELECT count(*) FROM garbage",
    "garbage_due": "SELECT count(*) FROM garbage WHERE queued_at <= og_now() + %s",
    "uploads": "SELECT count(*) FROM uploads",
    "buckets": "SELECT count(*) FROM buckets",
    "users": "SELECT count(*) FROM users",
    "keys": "SELECT count(*) FROM access_keys",
}
_COUNTS = ", ".join(f"({_COUNT_SQL[name]})" for name in COUNT_NAMES)


class PgMetaStore(PgMultipart):
    # -- sessions -------------------------------------------------------------------
    @property
    def session_id(self) -> str | None:
        return self._session

    async def open_session(self, host: str, pid: int) -> str:
        return await self._run(lambda conn: self._register(conn, host, pid))

    async def heartbeat(self) -> bool:
        await self._open()
        if self._session is None:
            return False
        sql = "UPDATE sessions SET heartbeat = og_now() WHERE session_id = %s"
        return await self._count(sql, self._session) > 0

    async def list_sessions(self) -> list[Session]:
        rows = await self._rows(f"SELECT {_SESSION_COLS} FROM sessions ORDER BY started")
        return [Session(*row) for row in rows]

    async def end_sessions(self, session_ids: Sequence[str]) -> int:
        """Their pending marks become garbage and their rows go: one statement."""
        row = await self._one(
            "WITH s AS (DELETE FROM sessions WHERE session_id = ANY(%s::og_name[])),"
            " l AS (DELETE FROM read_leases WHERE session_id = ANY(%s::og_name[])),"
            " d AS (DELETE FROM pending_blobs WHERE session_id = ANY(%s::og_name[])"
            " RETURNING blob_id),"
            " g AS (INSERT INTO garbage (blob_id) SELECT blob_id FROM d ON CONFLICT DO NOTHING)"
            " SELECT count(*) FROM d",
            *([list(session_ids)] * 3),
        )
        if self._session in session_ids:
            self._session = None
        return int(row[0]) if row else 0

    @contextlib.asynccontextmanager
    async def bootstrap_lock(self) -> AsyncIterator[None]:
        """The migrations' session advisory lock, on a connection of its own (a gateway
        that dies holding it releases it with its connection)."""
        await self._open()  # migrated first: the migration takes the same lock
        async with self._pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

    @contextlib.asynccontextmanager
    async def orphan_sweep(self) -> AsyncIterator[bool]:
        """A session advisory lock on a connection of its own, held while the sweep
        runs (a gateway that dies mid-sweep releases it with its connection)."""
        await self._open()
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (ORPHAN_SWEEP_LOCK,))
            row = await cur.fetchone()
            mine = bool(row and row[0])
            try:
                yield mine
            finally:
                if mine:
                    await conn.execute("SELECT pg_advisory_unlock(%s)", (ORPHAN_SWEEP_LOCK,))

    # -- read leases (see MetaStore.lease_blobs) ------------------------------------
    async def lease_blobs(self, blob_ids: Sequence[str]) -> str | None:
        await self._open()  # the session is registered on the first connection
        if self._session is None or not blob_ids:
            return None
        lease_id = secrets.token_hex(8)
        row = await self._one("SELECT og_lease(%s, %s, %s::og_name[])",
                              lease_id, self._session, sorted(set(blob_ids)))  # fmt: skip
        if row is None or row[0] is not None:
            raise ValueError(f"blob {row[0] if row else '?'} is being collected")
        return lease_id

    async def drop_lease(self, lease_id: str) -> None:
        await self._count("DELETE FROM read_leases WHERE lease_id = %s", lease_id)

    # -- totals and health ------------------------------------------------------------
    async def counts(self, garbage_due_before: float) -> MetaCounts:
        """One statement (one snapshot): the counts of the SQLite store's, same names."""
        row = await self._one(f"SELECT {_COUNTS}", garbage_due_before - time.time())
        assert row is not None
        return MetaCounts(**dict(zip(COUNT_NAMES, (int(v) for v in row), strict=True)))

    async def usage(self, garbage_due_before: float) -> StorageUsage:
        row = await self._one(
            "SELECT (SELECT COALESCE(SUM(size), 0) FROM objects), (SELECT COUNT(*) FROM objects),"
            " (SELECT COUNT(*) FROM garbage), (SELECT COUNT(*) FROM garbage"
            " WHERE queued_at <= og_now() + %s)",
            garbage_due_before - time.time(),
        )
        assert row is not None
        stored, count, garbage, due = (int(v) for v in row)
        return StorageUsage(stored, count, due, garbage - due)

    # -- console sign-outs ------------------------------------------------------------
    async def end_console_session(self, sid: str, expires: float) -> None:
        """Remember until ``expires``; rows past their time go first (a sign-out is
        rare: two statements, no transaction needed)."""
        await self._count("DELETE FROM console_signouts WHERE expires < %s", time.time())
        await self._count(
            "INSERT INTO console_signouts (sid, expires) VALUES (%s, %s)"
            " ON CONFLICT (sid) DO UPDATE SET expires = EXCLUDED.expires",
            sid, expires,
        )

    async def console_session_ended(self, sid: str) -> bool:
        return await self._one("SELECT 1 FROM console_signouts WHERE sid = %s", sid) is not None

    async def ping(self) -> None:
        await self._one("SELECT 1")
